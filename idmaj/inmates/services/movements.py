"""Registry services: movements. A prisoner leaves an institution by

* a **transfer** to another institution (``inmate_transfer``): the custody period here ends
  (``transferred_out``) and a new one opens there, continuing the same detention;
* a **temporary absence** (court appearance, hospital visit, other): out, then back
  (``temporary_absence_start`` / ``temporary_absence_end``); the person stays on the roll;
* a **release** (``inmate_release``), with its checklist and its certificate number;
* an **escape** or a **death in custody** (``inmate_escape_record``, ``inmate_death_record``),
  recorded with the facts the Nelson Mandela rules require (69 to 72).

Every service here checks the permission first, locks the open custody period
(``_lock_open_custody``: of two officers acting on the same prisoner at once, the second
sees what the first did and is refused), and refuses a moment earlier than the last recorded
event of the custody period (committal, legal status change, cell move, absence).

Locks are always taken in the same order so that two services never wait for each other:
the custody period's row (alone: not the institution's row, which every insert referring to
it must be able to share), the destination's committal counter (transfer) or the
institution row ``FOR NO KEY UPDATE`` (release certificate numbers), then the audit chains,
the lower institution id first. Two transfers crossing between two institutions at the same
moment both succeed (tested on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.constants import Channel
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.core.notifications import notify
from idmaj.facilities.constants import HOUSING_STATUSES
from idmaj.facilities.models import Facility, FacilityStatusPeriod

from ..constants import (
    RELEASE_REASONS,
    TEMPORARY_ABSENCES,
    ConditionalReleaseStatus,
    CustodyStatus,
    DetentionEnd,
    MovementKind,
    PardonKind,
    PropertyStatus,
)
from ..models import (
    CellAssignment,
    ConditionalRelease,
    CustodyIncident,
    CustodyPeriod,
    LegalStatusPeriod,
    Movement,
    PardonGrant,
    PropertyItem,
    ReleaseRecord,
)
from ..signals import custody_left
from ._common import ALERT_PERMISSION, alert_recipients, lock_open_custody, not_in_future
from ._common import clean_or_raise as _clean
from ._common import require_perm as _require
from .admission import CUSTODY_AUDIT_FIELDS, next_committal_number
from .housing import cell_vacate

__all__ = [
    "MOVE",
    "RELEASE",
    "INCIDENT",
    "INCIDENT_ALERT_PERMISSION",
    "TRANSFER_AUTHORITY_DEFAULT",
    "ChecklistItem",
    "RELEASE_CHECKLIST",
    "release_checklist_missing",
    "inmate_transfer",
    "temporary_absence_start",
    "temporary_absence_end",
    "inmate_release",
    "inmate_escape_record",
    "inmate_death_record",
    "incident_recipients",
    "facility_houses_prisoners_on",
]

MOVE = "inmates.move"
RELEASE = "inmates.release"
INCIDENT = "inmates.incident"
INCIDENT_ALERT_PERMISSION = ALERT_PERMISSION

# Who ordered a transfer when the order does not say otherwise: the central administration.
TRANSFER_AUTHORITY_DEFAULT = "DGAPR"

MOVEMENT_AUDIT_FIELDS = (
    "kind",
    "facility",
    "to_facility",
    "out_at",
    "expected_back_at",
    "back_at",
    "destination",
    "reason",
    "escort",
    "authority_reference",
)
RELEASE_AUDIT_FIELDS = (
    "reason",
    "released_at",
    "authority",
    "decision_reference",
    "checklist",
    "certificate_number",
    "note",
)
INCIDENT_AUDIT_FIELDS = (
    "kind",
    "occurred_at",
    "place",
    "circumstances",
    "cause",
    "authority_notified",
    "authority_notified_at",
    "family_notified_at",
    "investigation_reference",
    "autopsy_requested",
)
_END_FIELDS = ("status", "released_at")


# -- the release checklist (data) ------------------------------------------------------------
@dataclass(frozen=True)
class ChecklistItem:
    """One check made by the officer before the person walks out.

    ``required`` items must be ticked. ``property_returned`` is required exactly when the
    detention still has personal property kept in storage (ticking it returns every item).
    """

    code: str
    label: Promise
    required: bool
    help: Promise | str = ""


PROPERTY_RETURNED = "property_returned"

RELEASE_CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "identity_verified",
        _("Identity verified (photo, identity card, fingerprints where taken)"),
        True,
    ),
    ChecklistItem(
        "order_checked",
        _("Release order checked against the file (names, committal number, case)"),
        True,
    ),
    ChecklistItem(
        "no_other_detention_order",
        _("No other detention order on file for another case"),
        True,
    ),
    ChecklistItem(
        PROPERTY_RETURNED,
        _("Personal property returned"),
        False,
        _("Required while property is kept in storage: ticking it records every item returned."),
    ),
    ChecklistItem(
        "documents_handed_over",
        _("Documents handed over (identity card, release certificate)"),
        True,
    ),
    ChecklistItem("money_paid_out", _("Money held for the prisoner paid out"), False),
    ChecklistItem("medical_summary_offered", _("Medical summary offered"), False),
    ChecklistItem("family_informed", _("Family or contact person informed"), False),
)
_CHECKLIST_CODES = {item.code for item in RELEASE_CHECKLIST}


def _ticked(checklist: Mapping[str, bool] | Iterable[str] | None) -> dict[str, bool]:
    """The checklist as ``{code: ticked}`` for every item; unknown codes are refused."""
    if checklist is None:
        given: dict[str, bool] = {}
    elif isinstance(checklist, Mapping):
        given = {str(k): bool(v) for k, v in checklist.items()}
    else:
        given = dict.fromkeys((str(c) for c in checklist), True)
    unknown = sorted(set(given) - _CHECKLIST_CODES)
    if unknown:
        raise DomainError(
            "invalid",
            _("Unknown checklist item: %(codes)s.") % {"codes": ", ".join(unknown)},
            field="checklist",
        )
    return {item.code: given.get(item.code, False) for item in RELEASE_CHECKLIST}


def release_checklist_missing(
    checklist: Mapping[str, bool] | Iterable[str] | None, *, property_kept: bool
) -> list[ChecklistItem]:
    """The required items not ticked (``property_returned`` counts while property is kept)."""
    ticked = _ticked(checklist)
    return [
        item
        for item in RELEASE_CHECKLIST
        if not ticked[item.code]
        and (item.required or (item.code == PROPERTY_RETURNED and property_kept))
    ]


# -- shared rules ----------------------------------------------------------------------------
def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _shown(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def facility_houses_prisoners_on(facility: Facility, on: date) -> bool:
    """Whether ``facility`` held prisoners on ``on`` according to its status history
    (operating, or under renovation: its wings in service still hold prisoners). An
    institution with no status history at all is judged on its current status."""
    period = (
        FacilityStatusPeriod.objects.filter(facility=facility, since__lte=on)
        .order_by("-since")
        .values_list("status", flat=True)
        .first()
    )
    if period is None:
        if FacilityStatusPeriod.objects.filter(facility=facility).exists():
            return False  # its history begins later: not open yet on that date
        return facility.current_status in HOUSING_STATUSES
    return period in HOUSING_STATUSES


def _open_absence(custody: CustodyPeriod) -> Movement | None:
    return (
        Movement.objects.filter(custody=custody, back_at__isnull=True)
        .exclude(kind=MovementKind.TRANSFER)
        .first()
    )


def _refuse_if_out(custody: CustodyPeriod) -> None:
    absence = _open_absence(custody)
    if absence is not None:
        raise ConflictError(
            "out_on_absence",
            _(
                "This person is out (%(kind)s, since %(when)s): record the return to the "
                "institution first."
            )
            % {"kind": absence.get_kind_display(), "when": _shown(absence.out_at)},
        )


def _last_event_at(custody: CustodyPeriod) -> datetime:
    """The latest moment recorded for this custody period: committal, legal status change,
    cell move, departure or return of an absence. Nothing can end before it."""
    moments = [custody.committed_at]
    moments.append(
        LegalStatusPeriod.objects.filter(custody=custody).aggregate(m=Max("valid_from"))["m"]
    )
    moves = Movement.objects.filter(custody=custody).aggregate(o=Max("out_at"), b=Max("back_at"))
    moments += [moves["o"], moves["b"]]
    moments.append(
        CellAssignment.objects.filter(custody=custody).aggregate(m=Max("started_at"))["m"]
    )
    return max(m for m in moments if m is not None)


def _refuse_before_last_event(custody: CustodyPeriod, moment: datetime, *, field: str) -> None:
    last = _last_event_at(custody)
    if moment < last:
        raise DomainError(
            "invalid",
            _(
                "This date and time comes before the last event recorded for this "
                "custody period (%(when)s)."
            )
            % {"when": _shown(last)},
            field=field,
        )


def _required_text(value: str, *, field: str, message) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise DomainError("required", message, field=field)
    return value


def _close_legal_status(custody: CustodyPeriod, at: datetime) -> None:
    LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).update(valid_to=at)


def _end_custody(custody: CustodyPeriod, *, status: str, at: datetime) -> dict:
    """Vacate the cell, close the legal status, end the custody period here; returns the
    audit ``before`` snapshot."""
    before = audit.snapshot(custody, (*_END_FIELDS, "cell"))
    cell_vacate(custody=custody, at=at)
    _close_legal_status(custody, at)
    custody.status = status
    custody.released_at = at
    _clean(custody)
    custody.save(update_fields=list(_END_FIELDS))
    return before


def _end_detention(custody: CustodyPeriod, *, reason: str, at: datetime) -> None:
    detention = custody.detention
    detention.ended_at = at
    detention.end_reason = reason
    _clean(detention)
    detention.save(update_fields=["ended_at", "end_reason"])


# -- transfer --------------------------------------------------------------------------------
def inmate_transfer(
    *,
    actor,
    custody: CustodyPeriod,
    to_facility: Facility,
    at: datetime,
    reason: str,
    escort: str = "",
    authority_reference: str,
    authority: str = "",
) -> CustodyPeriod:
    """Transfer the prisoner of ``custody`` to ``to_facility`` at ``at``; returns the new
    custody period at the destination.

    One transaction between the two institutions: the custody period here ends
    (``transferred_out``, ``released_at=at``; cell vacated, legal status closed); a new one
    opens there for the same person and detention, with a committal number of the
    destination, ``committed_at=at``, the transfer order as its committing authority
    (``authority``, the DGAPR by default) and warrant (``authority_reference``), the same
    legal status, court, case and offences, and ``transferred_from`` the old period. The
    detention's kept property moves with the person. A ``Movement`` (kind ``transfer``) is
    seen by both institutions; each chain gets its audit entries.

    Refused (nothing changes): without ``inmates.move`` at the sending institution, while
    the person is out on a temporary absence, to the same institution, to an institution
    that holds no prisoners on that date (status history), before the last recorded event.
    """
    _require(actor, MOVE, custody.facility_id)
    at = not_in_future(at, field="at")
    reason = _required_text(reason, field="reason", message=_("Give the reason of the transfer."))
    authority_reference = _required_text(
        authority_reference,
        field="authority_reference",
        message=_("Give the reference of the transfer order."),
    )
    authority = " ".join((authority or "").split()) or TRANSFER_AUTHORITY_DEFAULT
    escort = " ".join((escort or "").split())
    if to_facility is None:
        raise DomainError("required", _("Choose the destination institution."), field="to_facility")
    with transaction.atomic():
        old = lock_open_custody(custody)
        if to_facility.pk == old.facility_id:
            raise DomainError(
                "same_facility",
                _("The destination is the institution the person is already in."),
                field="to_facility",
            )
        if not facility_houses_prisoners_on(to_facility, _local_date(at)):
            raise DomainError(
                "facility_not_operating",
                _("%(facility)s does not hold prisoners on %(date)s (status history).")
                % {
                    "facility": to_facility,
                    "date": formats.date_format(_local_date(at), "DATE_FORMAT"),
                },
                field="to_facility",
            )
        _refuse_if_out(old)
        _refuse_before_last_event(old, at, field="at")

        before = _end_custody(old, status=CustodyStatus.TRANSFERRED_OUT, at=at)
        new = CustodyPeriod(
            person=old.person,
            detention=old.detention,
            facility=to_facility,
            committal_number=next_committal_number(to_facility, at),
            committed_at=at,
            committing_authority=authority,
            court=old.court,
            warrant_reference=authority_reference,
            case_number=old.case_number,
            legal_status=old.legal_status,
            escort=escort,
            status=CustodyStatus.IN_CUSTODY,
            transferred_from=old,
        )
        _clean(new)
        new.save(force_insert=True)
        offences = list(old.offences.all())
        new.offences.set(offences)
        LegalStatusPeriod.objects.create(
            custody=new, facility=to_facility, status=new.legal_status, valid_from=at
        )
        property_moved = PropertyItem.objects.filter(
            detention_id=old.detention_id, status=PropertyStatus.KEPT
        ).update(facility=to_facility)
        movement = Movement(
            detention_id=old.detention_id,
            custody=old,
            facility_id=old.facility_id,
            to_facility=to_facility,
            kind=MovementKind.TRANSFER,
            out_at=at,
            back_at=at,
            reason=reason,
            escort=escort,
            authority_reference=authority_reference,
        )
        _clean(movement)
        movement.save(force_insert=True)

        # Other domains follow (before the audit chain heads are locked: see ``signals``).
        custody_left.send(sender=CustodyPeriod, custody=old, successor=new, actor=actor)
        # Audit: each institution's chain, the lower institution id first (lock order).
        entries = {
            old.facility_id: [
                {
                    "action": AuditEntry.Action.UPDATE,
                    "obj": old,
                    "verb": "transfer_out",
                    "before": before,
                    "after": {
                        **audit.snapshot(old, (*_END_FIELDS, "cell")),
                        "to_facility": to_facility.code,
                        "movement_uuid": str(movement.uuid),
                    },
                },
                {
                    "action": AuditEntry.Action.CREATE,
                    "obj": movement,
                    "verb": "transfer",
                    "after": audit.snapshot(movement, MOVEMENT_AUDIT_FIELDS),
                },
            ],
            to_facility.pk: [
                {
                    "action": AuditEntry.Action.CREATE,
                    "obj": new,
                    "verb": "transfer_in",
                    "after": {
                        **audit.snapshot(new, CUSTODY_AUDIT_FIELDS),
                        "person_uuid": str(old.person.uuid),
                        "from_facility": old.facility.code,
                        "transferred_from": old.committal_number,
                        "movement_uuid": str(movement.uuid),
                        "offences": [o.code for o in offences],
                        "property_items_moved": property_moved,
                    },
                },
            ],
        }
        for facility_id in sorted(entries):
            for entry in entries[facility_id]:
                audit.record(actor=actor, facility_id=facility_id, **entry)
    return new


# -- temporary absences ----------------------------------------------------------------------
def temporary_absence_start(
    *,
    actor,
    custody: CustodyPeriod,
    kind: str,
    out_at: datetime,
    expected_back_at: datetime | None = None,
    destination: str,
    reason: str = "",
    escort: str = "",
    authority_reference: str = "",
) -> Movement:
    """The person leaves the institution for a while (court, hospital, other) and stays on
    its roll. One open absence at most: a second one is refused (``already_out``), also
    when two officers record it at the same moment (the database constraint decides)."""
    _require(actor, MOVE, custody.facility_id)
    if kind not in TEMPORARY_ABSENCES:
        raise DomainError("invalid", _("Choose the kind of absence."), field="kind")
    out_at = not_in_future(out_at, field="out_at")
    if expected_back_at is not None:
        expected_back_at = (
            expected_back_at
            if timezone.is_aware(expected_back_at)
            else timezone.make_aware(expected_back_at)
        )
        if expected_back_at <= out_at:
            raise DomainError(
                "invalid",
                _("The expected return must come after the departure."),
                field="expected_back_at",
            )
    destination = _required_text(
        destination, field="destination", message=_("Give the destination (court, hospital).")
    )
    with transaction.atomic():
        locked = lock_open_custody(custody)
        _refuse_already_out(locked)
        _refuse_before_last_event(locked, out_at, field="out_at")
        movement = Movement(
            detention_id=locked.detention_id,
            custody=locked,
            facility_id=locked.facility_id,
            kind=kind,
            out_at=out_at,
            expected_back_at=expected_back_at,
            destination=destination,
            reason=" ".join((reason or "").split()),
            escort=" ".join((escort or "").split()),
            authority_reference=" ".join((authority_reference or "").split()),
        )
        _clean(movement, validate_constraints=False)
        try:
            with transaction.atomic():
                movement.save(force_insert=True)
        except IntegrityError as exc:  # lost a race the lock did not see: the constraint
            raise _already_out_error() from exc
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=movement,
            facility_id=locked.facility_id,
            verb="absence_out",
            after={
                **audit.snapshot(movement, MOVEMENT_AUDIT_FIELDS),
                "custody_uuid": str(locked.uuid),
                "committal_number": locked.committal_number,
            },
        )
    return movement


def _already_out_error() -> ConflictError:
    return ConflictError(
        "already_out",
        _("This person is already out on a temporary absence: record the return first."),
    )


def _refuse_already_out(custody: CustodyPeriod) -> None:
    if _open_absence(custody) is not None:
        raise _already_out_error()


def temporary_absence_end(*, actor, movement: Movement, back_at: datetime) -> Movement:
    """The person is back from a temporary absence at ``back_at``."""
    _require(actor, MOVE, movement.facility_id)
    back_at = not_in_future(back_at, field="back_at")
    with transaction.atomic():
        lock_open_custody(movement.custody)
        locked = Movement.objects.select_for_update().get(pk=movement.pk)
        if locked.kind == MovementKind.TRANSFER:
            raise DomainError("invalid", _("A transfer has no return."))
        if locked.back_at is not None:
            raise ConflictError(
                "already_back",
                _("The return was already recorded (%(when)s).") % {"when": _shown(locked.back_at)},
            )
        if back_at < locked.out_at:
            raise DomainError(
                "invalid",
                _("The return cannot come before the departure (%(when)s).")
                % {"when": _shown(locked.out_at)},
                field="back_at",
            )
        before = audit.snapshot(locked, ("back_at",))
        locked.back_at = back_at
        _clean(locked, validate_constraints=False)
        locked.save(update_fields=["back_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb="absence_back",
            before=before,
            after=audit.snapshot(locked, ("back_at",)),
        )
    return locked


# -- release ---------------------------------------------------------------------------------
def _certificate_number(facility_id: int, at: datetime) -> str:
    """``<FACILITY>-L-<year>-<6 digits>``, the next of the institution for the local year of
    the release. The institution row is locked (``FOR NO KEY UPDATE``: it does not block the
    rows that refer to the institution) so that two releases never compute the same number;
    the unique constraint backs it up."""
    facility = Facility.objects.select_for_update(no_key=True).get(pk=facility_id)
    prefix = f"{facility.code}-L-{_local_date(at).year}-"
    last = (
        ReleaseRecord.objects.filter(facility_id=facility_id, certificate_number__startswith=prefix)
        .order_by("-certificate_number")
        .values_list("certificate_number", flat=True)
        .first()
    )
    number = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{number:06d}"


def _check_release_reason(
    custody: CustodyPeriod, *, reason: str, at: datetime, authority: str, decision_reference: str
) -> None:
    detention = custody.detention
    if reason == DetentionEnd.END_OF_SENTENCE:
        if detention.life_sentence:
            raise DomainError(
                "no_release_date",
                _("A life sentence has no end: release needs a pardon or another decision."),
                field="reason",
            )
        if detention.expected_release is None:
            raise DomainError(
                "no_release_date",
                _(
                    "No expected release date is computed for this detention: record the "
                    "sentences first."
                ),
                field="reason",
            )
        if _local_date(at) < detention.expected_release:
            raise DomainError(
                "before_release_date",
                _("The sentence ends on %(date)s: release at the end of sentence comes then.")
                % {"date": formats.date_format(detention.expected_release, "DATE_FORMAT")},
                field="at",
            )
        return
    if not authority:
        raise DomainError(
            "required", _("Give the authority that ordered the release."), field="authority"
        )
    if not decision_reference:
        raise DomainError(
            "required", _("Give the reference of the decision."), field="decision_reference"
        )
    if reason == DetentionEnd.CONDITIONAL_RELEASE:
        decision = (
            ConditionalRelease.objects.filter(
                detention=detention, status=ConditionalReleaseStatus.GRANTED
            )
            .order_by("-decided_on", "-pk")
            .first()
        )
        if decision is None:
            raise DomainError(
                "no_decision",
                _("No conditional release granted to this prisoner is on file."),
                field="reason",
            )
        if decision.release_on and _local_date(at) < decision.release_on:
            raise DomainError(
                "before_release_date",
                _("The conditional release decision sets the release on %(date)s.")
                % {"date": formats.date_format(decision.release_on, "DATE_FORMAT")},
                field="at",
            )
    elif reason == DetentionEnd.PARDON:
        if not PardonGrant.objects.filter(detention=detention, kind=PardonKind.RELEASE).exists():
            raise DomainError(
                "no_decision",
                _("No royal pardon releasing this prisoner is on file."),
                field="reason",
            )


def inmate_release(
    *,
    actor,
    custody: CustodyPeriod,
    reason: str,
    at: datetime,
    authority: str = "",
    decision_reference: str = "",
    checklist: Mapping[str, bool] | Iterable[str] | None = None,
    note: str = "",
) -> ReleaseRecord:
    """Release the prisoner of ``custody`` at ``at`` for ``reason`` (one of
    ``constants.RELEASE_REASONS``); returns the release record with its certificate number.

    Rules (refused, nothing changes):
    * the person is not out on a temporary absence;
    * ``end_of_sentence``: on or after the expected release date of the detention (never
      for a life sentence or without a computed date);
    * any other reason: the ordering ``authority`` and ``decision_reference`` are given;
      ``conditional_release`` needs a granted conditional release of the detention (on or
      after its release date), ``pardon`` a royal pardon grant of kind release;
    * every required item of ``RELEASE_CHECKLIST`` is ticked (the error lists those
      missing); ``property_returned`` is required while property is kept, and ticking it
      marks every kept item of the detention returned to the person.

    Then: the cell is vacated, the legal status closed, the custody period ``released``,
    the detention ended, the release record written, each step audited.
    """
    _require(actor, RELEASE, custody.facility_id)
    if reason not in RELEASE_REASONS:
        raise DomainError("invalid", _("Choose the reason of the release."), field="reason")
    at = not_in_future(at, field="at")
    authority = " ".join((authority or "").split())
    decision_reference = " ".join((decision_reference or "").split())
    ticked = _ticked(checklist)
    try:
        with transaction.atomic():
            locked = lock_open_custody(custody)
            _refuse_if_out(locked)
            _refuse_before_last_event(locked, at, field="at")
            _check_release_reason(
                locked,
                reason=reason,
                at=at,
                authority=authority,
                decision_reference=decision_reference,
            )
            kept = PropertyItem.objects.filter(
                detention_id=locked.detention_id, status=PropertyStatus.KEPT
            )
            missing = release_checklist_missing(ticked, property_kept=kept.exists())
            if missing:
                raise DomainError(
                    "checklist_incomplete",
                    _("The release checklist is not complete: %(items)s.")
                    % {"items": "; ".join(str(item.label) for item in missing)},
                    field="checklist",
                )
            returned = 0
            if ticked[PROPERTY_RETURNED]:
                person = locked.person
                recipient = (person.full_name_ar or person.full_name_latin)[:200]
                returned = kept.update(
                    status=PropertyStatus.RETURNED, closed_at=at, recipient=recipient
                )
            before = _end_custody(locked, status=CustodyStatus.RELEASED, at=at)
            _end_detention(locked, reason=reason, at=at)
            record = ReleaseRecord(
                custody=locked,
                facility_id=locked.facility_id,
                reason=reason,
                released_at=at,
                authority=authority,
                decision_reference=decision_reference,
                checklist=ticked,
                certificate_number=_certificate_number(locked.facility_id, at),
                note=(note or "").strip(),
            )
            _clean(record, validate_constraints=False)
            record.save(force_insert=True)
            custody_left.send(sender=CustodyPeriod, custody=locked, successor=None, actor=actor)
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=locked,
                facility_id=locked.facility_id,
                verb="release",
                before=before,
                after={**audit.snapshot(locked, (*_END_FIELDS, "cell")), "reason": reason},
            )
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=record,
                facility_id=locked.facility_id,
                verb="release",
                after={
                    **audit.snapshot(record, RELEASE_AUDIT_FIELDS),
                    "custody_uuid": str(locked.uuid),
                    "committal_number": locked.committal_number,
                    "property_items_returned": returned,
                },
            )
    except IntegrityError as exc:
        if ReleaseRecord.objects.filter(custody_id=custody.pk).exists():
            raise ConflictError(
                "not_in_custody", _("This person has already been released.")
            ) from exc
        raise ConflictError(
            "retry", _("Another release was being recorded at the same moment: try again.")
        ) from exc
    return record


# -- escape and death in custody -------------------------------------------------------------
incident_recipients = alert_recipients


def _notify_directors(custody: CustodyPeriod, incident: CustodyIncident) -> None:
    """One message per director: e-mail when the user has an address, otherwise SMS when
    they have a mobile phone. It names the committal and the kind of incident, never the
    facts (those stay in the system)."""
    context = {
        "kind": incident.kind,
        "committal_number": custody.committal_number,
        "facility": custody.facility,
        "occurred_at": incident.occurred_at,
    }
    for user in incident_recipients(custody.facility):
        if user.email:
            channel, recipient, template = Channel.EMAIL, user.email, "inmates_incident_email"
        elif user.phone:
            channel, recipient, template = Channel.SMS, user.phone, "inmates_incident_sms"
        else:
            continue
        notify(
            channel=channel,
            recipient=recipient,
            template=template,
            context=context,
            language=user.preferred_language or "ar",
            facility_id=custody.facility_id,
            idempotency_key=f"inmates-incident:{incident.uuid}:{user.uuid}",
        )


def _record_incident(
    *,
    actor,
    custody: CustodyPeriod,
    kind: str,
    occurred_at: datetime,
    place: str,
    circumstances: str,
    authority_notified: str,
    authority_notified_at: datetime | None,
    family_notified_at: datetime | None,
    cause: str = "",
    investigation_reference: str = "",
    autopsy_requested: bool = False,
) -> CustodyIncident:
    _require(actor, INCIDENT, custody.facility_id)
    occurred_at = not_in_future(occurred_at, field="occurred_at")
    place = _required_text(place, field="place", message=_("Give the place."))
    circumstances = (circumstances or "").strip()
    if not circumstances:
        raise DomainError("required", _("Describe the circumstances."), field="circumstances")
    authority_notified = _required_text(
        authority_notified,
        field="authority_notified",
        message=_("Give the judicial authority informed (Nelson Mandela rules 69 to 72)."),
    )
    if authority_notified_at is None:
        raise DomainError(
            "required",
            _("Give when the judicial authority was informed."),
            field="authority_notified_at",
        )
    authority_notified_at = not_in_future(authority_notified_at, field="authority_notified_at")
    if authority_notified_at < occurred_at:
        raise DomainError(
            "invalid",
            _("The authority cannot have been informed before the facts."),
            field="authority_notified_at",
        )
    if family_notified_at is not None:
        family_notified_at = not_in_future(family_notified_at, field="family_notified_at")
        if family_notified_at < occurred_at:
            raise DomainError(
                "invalid",
                _("The family cannot have been informed before the facts."),
                field="family_notified_at",
            )
    escape = kind == CustodyIncident.Kind.ESCAPE
    with transaction.atomic():
        # Allowed during a temporary absence (an escape from the court, a death at the
        # hospital): the absence stays without a return.
        locked = lock_open_custody(custody)
        _refuse_before_last_event(locked, occurred_at, field="occurred_at")
        before = _end_custody(
            locked,
            status=CustodyStatus.ESCAPED if escape else CustodyStatus.DECEASED,
            at=occurred_at,
        )
        _end_detention(
            locked, reason=DetentionEnd.ESCAPE if escape else DetentionEnd.DEATH, at=occurred_at
        )
        incident = CustodyIncident(
            custody=locked,
            facility_id=locked.facility_id,
            kind=kind,
            occurred_at=occurred_at,
            place=place,
            circumstances=circumstances,
            cause=(cause or "").strip(),
            authority_notified=authority_notified,
            authority_notified_at=authority_notified_at,
            family_notified_at=family_notified_at,
            investigation_reference=" ".join((investigation_reference or "").split()),
            autopsy_requested=bool(autopsy_requested),
        )
        _clean(incident, validate_constraints=False)
        incident.save(force_insert=True)
        custody_left.send(sender=CustodyPeriod, custody=locked, successor=None, actor=actor)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb=kind,
            before=before,
            after=audit.snapshot(locked, (*_END_FIELDS, "cell")),
        )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=incident,
            facility_id=locked.facility_id,
            verb=kind,
            after={
                **audit.snapshot(incident, INCIDENT_AUDIT_FIELDS),
                "custody_uuid": str(locked.uuid),
                "committal_number": locked.committal_number,
            },
        )
        _notify_directors(locked, incident)
    return incident


def inmate_escape_record(
    *,
    actor,
    custody: CustodyPeriod,
    occurred_at: datetime,
    place: str,
    circumstances: str,
    authority_notified: str,
    authority_notified_at: datetime,
    family_notified_at: datetime | None = None,
) -> CustodyIncident:
    """Record an escape: the custody period ends (``escaped``), the detention ends
    (``escape``), the cell is vacated, the director(s) are notified. The judicial authority
    informed, and when, are required. A recaptured person is admitted again through the
    normal admission, linked to the person on file (a new detention)."""
    return _record_incident(
        actor=actor,
        custody=custody,
        kind=CustodyIncident.Kind.ESCAPE,
        occurred_at=occurred_at,
        place=place,
        circumstances=circumstances,
        authority_notified=authority_notified,
        authority_notified_at=authority_notified_at,
        family_notified_at=family_notified_at,
    )


def inmate_death_record(
    *,
    actor,
    custody: CustodyPeriod,
    occurred_at: datetime,
    place: str,
    circumstances: str,
    cause: str,
    authority_notified: str,
    authority_notified_at: datetime,
    family_notified_at: datetime | None,
    investigation_reference: str,
    autopsy_requested: bool,
) -> CustodyIncident:
    """Record a death in custody (Nelson Mandela rules 69 to 72): the judicial authority
    informed and when (required), the family informed (when), the investigation reference
    and whether an autopsy was requested. The custody period ends (``deceased``), the
    detention ends (``death``), the cell is vacated, the director(s) are notified."""
    return _record_incident(
        actor=actor,
        custody=custody,
        kind=CustodyIncident.Kind.DEATH,
        occurred_at=occurred_at,
        place=place,
        circumstances=circumstances,
        cause=cause,
        authority_notified=authority_notified,
        authority_notified_at=authority_notified_at,
        family_notified_at=family_notified_at,
        investigation_reference=investigation_reference,
        autopsy_requested=autopsy_requested,
    )
