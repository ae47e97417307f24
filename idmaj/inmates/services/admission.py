"""Writes of the inmate registry.

Every service takes ``actor`` (``None`` for the system itself: imports, demo data), checks the
actor's permission for the institution, works in one ``transaction.atomic`` block, runs
``full_clean()`` before saving and appends its audit entries in the same transaction, on the
institution's chain.

Admission follows "search before create": ``inmate_admit`` refuses to create a new person
when ``person_find_duplicates`` finds likely duplicates, unless the officer either links the
admission to one of them (``existing_person``) or confirms that the person is new
(``confirm_new_person=True``). A national identity card number already on file can never be
confirmed as new: that person must be linked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.facilities.models import Facility

from ..constants import CustodyStatus
from ..models import (
    CommittalCounter,
    CustodyPeriod,
    Detention,
    LegalStatusPeriod,
    Offence,
    Person,
    normalise_cin,
)
from ..names import name_tokens, search_key
from ._common import clean_or_raise as _clean
from ._common import require_perm as _require

__all__ = [
    "PERSON_FIELDS",
    "CUSTODY_AUDIT_FIELDS",
    "PersonData",
    "CommittalData",
    "DuplicateCandidate",
    "PossibleDuplicateError",
    "person_find_duplicates",
    "inmate_admit",
    "person_name_keys_refresh",
    "fill_name_keys",
    "next_committal_number",
]

PERSON_FIELDS = (
    "first_name_ar",
    "family_name_ar",
    "father_name_ar",
    "mother_name_ar",
    "first_name_latin",
    "family_name_latin",
    "father_name_latin",
    "mother_name_latin",
    "birth_date",
    "birth_place",
    "sex",
    "nationality",
    "cin",
    "distinguishing_marks",
    "languages",
)
CUSTODY_AUDIT_FIELDS = (
    "person",
    "facility",
    "committal_number",
    "committed_at",
    "committing_authority",
    "court",
    "warrant_reference",
    "case_number",
    "legal_status",
    "escort",
    "status",
    "injuries_observed",
    "ill_treatment_complaint",
)


@dataclass
class PersonData:
    """Identity of a person as entered at admission."""

    sex: str
    first_name_ar: str = ""
    family_name_ar: str = ""
    father_name_ar: str = ""
    mother_name_ar: str = ""
    first_name_latin: str = ""
    family_name_latin: str = ""
    father_name_latin: str = ""
    mother_name_latin: str = ""
    birth_date: date | None = None
    birth_place: str = ""
    nationality: str = "MA"
    cin: str = ""
    distinguishing_marks: str = ""
    languages: str = ""


@dataclass
class CommittalData:
    """The committal (écrou) as written on the warrant."""

    committed_at: datetime
    committing_authority: str
    warrant_reference: str
    legal_status: str
    court: str = ""
    case_number: str = ""
    escort: str = ""
    offence_codes: list[str] = field(default_factory=list)
    # Mandela rule 7: what the officer saw and what the person said at admission. Either one
    # raises an ``AdmissionAlert`` for the director (``records.admission_alert_raise``).
    injuries_observed: str = ""
    ill_treatment_complaint: str = ""


@dataclass
class DuplicateCandidate:
    """A person on file who may be the one being admitted, and why."""

    person: Person
    reasons: list[str]  # "cin", "names_ar", "names_latin" (the latter two: with birth date)


class PossibleDuplicateError(ConflictError):
    """Admission stopped: persons on file may be the one being admitted (``candidates``)."""

    def __init__(self, code: str, message, *, candidates: list[DuplicateCandidate]):
        super().__init__(code, message)
        self.candidates = candidates


def fill_name_keys(person: Person) -> None:
    person.name_key_ar = search_key(f"{person.first_name_ar} {person.family_name_ar}")[:220]
    person.name_key_latin = search_key(f"{person.first_name_latin} {person.family_name_latin}")[
        :220
    ]


def next_committal_number(facility: Facility, committed_at: datetime) -> str:
    """The next committal number of ``facility`` for the year of ``committed_at``, taken
    under a row lock on the (institution, year) counter: two officers never get the same."""
    year = timezone.localtime(committed_at).year
    CommittalCounter.objects.bulk_create(
        [CommittalCounter(facility=facility, year=year)], ignore_conflicts=True
    )
    counter = CommittalCounter.objects.select_for_update().get(facility=facility, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{facility.code}-{year}-{counter.last_number:06d}"


def _offences(codes: list[str]) -> list[Offence]:
    codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    found = {o.code: o for o in Offence.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise DomainError(
            "invalid",
            _("Unknown offence code: %(codes)s.") % {"codes": ", ".join(unknown)},
            field="offence_codes",
        )
    return [found[c] for c in codes]


# -- search before create --------------------------------------------------------------------
def person_find_duplicates(
    *,
    cin: str = "",
    first_name_ar: str = "",
    family_name_ar: str = "",
    first_name_latin: str = "",
    family_name_latin: str = "",
    birth_date: date | None = None,
    exclude: Person | None = None,
) -> list[DuplicateCandidate]:
    """Persons on file who are likely the same person: the same CIN, or the same first and
    family names (normalised, in either order, in Arabic or in Latin script) and the same
    date of birth. Same-CIN candidates come first.

    This is a national look-up on purpose (a person may have been held elsewhere); callers
    show only identity fields to the officer.
    """
    found: dict[int, DuplicateCandidate] = {}
    cin = normalise_cin(cin)
    if cin:
        for p in Person.objects.filter(cin=cin):
            found[p.pk] = DuplicateCandidate(p, ["cin"])
    wanted = {
        "names_ar": sorted(name_tokens(f"{first_name_ar} {family_name_ar}"))
        if first_name_ar.strip() and family_name_ar.strip()
        else None,
        "names_latin": sorted(name_tokens(f"{first_name_latin} {family_name_latin}"))
        if first_name_latin.strip() and family_name_latin.strip()
        else None,
    }
    if birth_date is not None and any(wanted.values()):
        for p in Person.objects.filter(birth_date=birth_date).order_by("pk"):
            have = {
                "names_ar": sorted(p.name_key_ar.split()),
                "names_latin": sorted(p.name_key_latin.split()),
            }
            reasons = [k for k, v in wanted.items() if v and v == have[k]]
            if reasons:
                found.setdefault(p.pk, DuplicateCandidate(p, [])).reasons.extend(reasons)
    if exclude is not None:
        found.pop(exclude.pk, None)
    return sorted(found.values(), key=lambda c: ("cin" not in c.reasons, c.person.pk))


# -- admission -------------------------------------------------------------------------------
def inmate_admit(
    *,
    actor,
    facility: Facility,
    committal: CommittalData,
    person_data: PersonData | None = None,
    existing_person: Person | None = None,
    confirm_new_person: bool = False,
) -> CustodyPeriod:
    """Commit a person to ``facility``: a new custody period with its committal number.

    Give either ``person_data`` (a person not yet on file) or ``existing_person`` (a person
    found by the search, admitted again: their record is kept, with one more custody
    period; ``person_data`` is then ignored). Raises ``PossibleDuplicateError`` (409,
    ``possible_duplicate`` or ``cin_on_file``) carrying the candidates when the new person
    looks like one on file, ``ConflictError("already_in_custody")`` when the person is in
    custody somewhere, ``PermissionDenied`` without ``inmates.admit`` for ``facility``.
    """
    from .records import admission_alert_raise  # records imports this module

    _require(actor, "inmates.admit", facility.id)
    if (person_data is None) == (existing_person is None):
        raise DomainError("invalid", _("Give either a new person or a person on file."))
    committed_at = committal.committed_at
    if timezone.is_naive(committed_at):
        committed_at = timezone.make_aware(committed_at)
    if committed_at > timezone.now() + timedelta(minutes=5):
        raise DomainError(
            "invalid",
            _("The committal date and time cannot be in the future."),
            field="committed_at",
        )
    offences = _offences(committal.offence_codes)

    new_person: Person | None = None
    if existing_person is None:
        assert person_data is not None
        values = {name: getattr(person_data, name) for name in PERSON_FIELDS}
        values["cin"] = normalise_cin(values["cin"])
        values["nationality"] = (values["nationality"] or "").strip().upper()
        for name in PERSON_FIELDS:
            if isinstance(values[name], str) and name not in ("cin", "nationality"):
                values[name] = " ".join(values[name].split())
        new_person = Person(**values)
        fill_name_keys(new_person)
        # Uniqueness of the CIN is answered below as a duplicate, with the person on file.
        _clean(new_person, exclude=["name_key_ar", "name_key_latin"], validate_constraints=False)
        candidates = person_find_duplicates(
            cin=new_person.cin,
            first_name_ar=new_person.first_name_ar,
            family_name_ar=new_person.family_name_ar,
            first_name_latin=new_person.first_name_latin,
            family_name_latin=new_person.family_name_latin,
            birth_date=new_person.birth_date,
        )
        if any("cin" in c.reasons for c in candidates):
            raise PossibleDuplicateError(
                "cin_on_file",
                _("A person with this identity card number is on file: admit that person."),
                candidates=candidates,
            )
        if candidates and not confirm_new_person:
            raise PossibleDuplicateError(
                "possible_duplicate",
                _(
                    "Persons on file may be the one you are admitting: choose one of them, "
                    "or confirm that this is a new person."
                ),
                candidates=candidates,
            )

    try:
        with transaction.atomic():
            if new_person is not None:
                new_person.save(force_insert=True)
                person = new_person
            else:
                assert existing_person is not None
                # Two officers admitting the same person: the second waits here, then sees
                # the first admission (the database constraint backs this up).
                person = Person.objects.select_for_update().get(pk=existing_person.pk)
                _refuse_if_in_custody(person)
            detention = Detention.objects.create(person=person, started_at=committed_at)
            custody = CustodyPeriod(
                person=person,
                detention=detention,
                facility=facility,
                committal_number=next_committal_number(facility, committed_at),
                committed_at=committed_at,
                committing_authority=committal.committing_authority.strip(),
                court=committal.court.strip(),
                warrant_reference=committal.warrant_reference.strip(),
                case_number=committal.case_number.strip(),
                legal_status=committal.legal_status,
                escort=committal.escort.strip(),
                status=CustodyStatus.IN_CUSTODY,
                injuries_observed=(committal.injuries_observed or "").strip(),
                ill_treatment_complaint=(committal.ill_treatment_complaint or "").strip(),
            )
            _clean(custody)
            custody.save(force_insert=True)
            custody.offences.set(offences)
            LegalStatusPeriod.objects.create(
                custody=custody,
                facility=facility,
                status=custody.legal_status,
                valid_from=committed_at,
            )
            if new_person is not None:
                audit.record(
                    actor=actor,
                    action=AuditEntry.Action.CREATE,
                    obj=person,
                    facility_id=facility.id,
                    after={
                        **audit.snapshot(person, PERSON_FIELDS),
                        "confirmed_new": bool(confirm_new_person),
                    },
                )
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=custody,
                facility_id=facility.id,
                verb="admit",
                after={
                    **audit.snapshot(custody, CUSTODY_AUDIT_FIELDS),
                    "person_uuid": str(person.uuid),
                    "offences": [o.code for o in offences],
                },
            )
            admission_alert_raise(actor=actor, custody=custody)
    except IntegrityError as exc:
        # Lost a race with another officer: the database constraints decide.
        if (
            new_person is not None
            and new_person.cin
            and Person.objects.filter(cin=new_person.cin).exists()
        ):
            raise ConflictError(
                "cin_on_file",
                _("A person with this identity card number is on file: admit that person."),
            ) from exc
        if existing_person is not None:
            _refuse_if_in_custody(existing_person)
        raise
    return custody


def _refuse_if_in_custody(person: Person) -> None:
    current = (
        CustodyPeriod.objects.filter(person=person, status=CustodyStatus.IN_CUSTODY)
        .select_related("facility")
        .first()
    )
    if current is not None:
        raise ConflictError(
            "already_in_custody",
            _("This person is already in custody (%(where)s).") % {"where": current.facility},
        )


# -- maintenance -----------------------------------------------------------------------------
def person_name_keys_refresh(*, batch_size: int = 1000) -> int:
    """Recompute every person's normalised name keys (after a change of ``inmates.names``);
    returns how many changed. Keys are derived data: no audit entry."""
    changed = 0
    last_pk = 0
    while True:
        rows = list(
            Person.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only(
                "pk",
                "first_name_ar",
                "family_name_ar",
                "first_name_latin",
                "family_name_latin",
                "name_key_ar",
                "name_key_latin",
            )[:batch_size]
        )
        if not rows:
            return changed
        stale = []
        for p in rows:
            old = (p.name_key_ar, p.name_key_latin)
            fill_name_keys(p)
            if (p.name_key_ar, p.name_key_latin) != old:
                stale.append(p)
        with transaction.atomic():
            Person.objects.bulk_update(stale, ["name_key_ar", "name_key_latin"])
        changed += len(stale)
        last_pk = rows[-1].pk
