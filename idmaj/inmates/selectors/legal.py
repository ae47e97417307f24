"""Registry reads: legal — the legal file of a custody period (hearings, sentences, pardons,
conditional release, the expected release explained), pardon decrees and their grants, the
prisoners due for release.

Scoping goes through ``CustodyPeriod.objects.visible_to`` only:

* the legal records belong to the detention and follow the prisoner on transfer; the
  institution holding them now sees the whole file. For a custody period that ended by
  transfer, the sending institution sees the file **as it was when the prisoner left**:
  records created up to the end of its period, decisions and quashes made later shown as
  they were before them (restored from the audit trail), the expected release computed from
  those records only;
* a hearing or a sentence is visible to whoever sees a custody period of its detention
  through which it is visible (the period holding the prisoner, or one that ended by
  transfer after the record was created), else 404 like a missing one;
* pardon decrees are national records, seen by whoever holds ``inmates.view`` or
  ``inmates.pardon`` anywhere; their grants are seen by the institutions they were applied
  in (a custody period of the grant's detention, in the grant's institution, visible to
  the user).
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from ..constants import (
    ConditionalReleaseStatus,
    CustodyStatus,
    HearingOutcome,
    PardonKind,
    SentenceStatus,
)
from ..models import (
    ConditionalRelease,
    CustodyPeriod,
    Hearing,
    LegalStatusPeriod,
    PardonDecree,
    PardonGrant,
    Sentence,
)
from ..services.legal import PARDON_PERM, ReleaseInfo, release_info

__all__ = [
    "SentenceRow",
    "LegalFile",
    "legal_file",
    "get_hearing_for_user_or_404",
    "get_sentence_for_user_or_404",
    "can_see_pardons",
    "pardon_decree_list",
    "get_pardon_decree_for_user_or_404",
    "pardon_grant_list",
    "releases_due",
    "releases_due_facilities",
    "current_custody_for_user",
    "RELEASES_DUE_MAX_DAYS",
]

RELEASES_DUE_MAX_DAYS = 366


def _key(value) -> uuid_lib.UUID:
    try:
        return value if isinstance(value, uuid_lib.UUID) else uuid_lib.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


# -- the legal file of a custody period ------------------------------------------------------
@dataclass
class SentenceRow:
    """A sentence as shown: its number in the explanation (in-force sentences, 1-based),
    the day it ends (release day; None for life or quashed), pardon days, commutation."""

    sentence: Sentence
    number: int | None
    end: date | None
    pardon_days: int = 0
    commuted: PardonGrant | None = None
    follows: int | None = None  # number of the sentence it is consecutive to
    consecutive_to_uuid: uuid_lib.UUID | None = None
    hearing_uuid: uuid_lib.UUID | None = None


@dataclass
class LegalFile:
    custody: CustodyPeriod
    as_of: datetime | None  # set for a period that ended by transfer: the file as it was
    hearings_upcoming: list[Hearing] = field(default_factory=list)
    hearings_past: list[Hearing] = field(default_factory=list)
    sentences: list[SentenceRow] = field(default_factory=list)
    grants: list[PardonGrant] = field(default_factory=list)
    conditional_releases: list[ConditionalRelease] = field(default_factory=list)
    status_history: list[LegalStatusPeriod] = field(default_factory=list)
    release: ReleaseInfo | None = None

    @property
    def in_force(self) -> list[Sentence]:
        return [r.sentence for r in self.sentences if r.number is not None]


# What the audit trail holds of a change made after a transfer: per record type, the verbs
# whose ``before`` restores the record as it was (a decision, a quash, a correction).
_RESTORED = {
    "inmates.hearing": ("decide", "correct"),
    "inmates.sentence": ("quash", "correct"),
}
_RESTORABLE = {
    "inmates.hearing": {f.name: f for f in Hearing._meta.concrete_fields},
    "inmates.sentence": {f.name: f for f in Sentence._meta.concrete_fields},
}


def _restore_as_of(hearings: list[Hearing], sentences: list[Sentence], end: datetime) -> None:
    """Put back the fields that a decision, a quash or a correction made after ``end``
    changed, from the audit entries' ``before`` (in memory only: the objects are for
    display). For each field, the earliest later change holds its value at ``end``. One
    query."""
    objects = {("inmates.hearing", str(o.uuid)): o for o in hearings}
    objects.update({("inmates.sentence", str(o.uuid)): o for o in sentences})
    if not objects:
        return
    cond = Q()
    for object_type, verbs in _RESTORED.items():
        ids = [i for t, i in objects if t == object_type]
        if ids:
            cond |= Q(object_type=object_type, verb__in=verbs, object_id__in=ids)
    entries = (
        AuditEntry.objects.filter(cond, at__gt=end)
        .order_by("at", "id")
        .values_list("object_type", "object_id", "before")
    )
    restored: set[tuple[str, str, str]] = set()
    for object_type, object_id, before in entries:
        obj = objects[(object_type, object_id)]
        fields = _RESTORABLE[object_type]
        for name, value in (before or {}).items():
            model_field = fields.get(name)
            if model_field is None or (object_type, object_id, name) in restored:
                continue
            restored.add((object_type, object_id, name))
            setattr(obj, model_field.attname, model_field.to_python(value))


def legal_file(*, custody: CustodyPeriod, now: datetime | None = None) -> LegalFile:
    """The legal file of a custody period already fetched through a scoped helper, in a
    constant number of queries (six, seven for a period that ended by transfer)."""
    now = now or timezone.now()
    detention_id = custody.detention_id
    as_of = custody.released_at if custody.status == CustodyStatus.TRANSFERRED_OUT else None
    hearings = Hearing.objects.filter(detention_id=detention_id).select_related("facility")
    sentences = Sentence.objects.filter(detention_id=detention_id).select_related("facility")
    grants = PardonGrant.objects.filter(detention_id=detention_id).select_related(
        "decree", "facility"
    )
    decisions = ConditionalRelease.objects.filter(detention_id=detention_id).select_related(
        "facility"
    )
    if as_of is not None:
        hearings = hearings.filter(created_at__lte=as_of)
        sentences = sentences.filter(created_at__lte=as_of)
        grants = grants.filter(applied_at__lte=as_of)
        decisions = decisions.filter(created_at__lte=as_of)
    hearings_l = list(hearings.order_by("scheduled_at", "pk"))
    sentences_l = list(sentences.order_by("pk"))
    grants_l = list(grants.order_by("applied_at", "pk"))
    decisions_l = list(decisions.order_by("decided_on", "pk"))
    if as_of is not None:
        _restore_as_of(hearings_l, sentences_l, as_of)
        hearings_l.sort(key=lambda h: (h.scheduled_at, h.pk))
    in_force = [s for s in sentences_l if s.status == SentenceStatus.IN_FORCE]
    info = release_info(sentences=in_force, grants=grants_l, conditional_releases=decisions_l)
    numbers = {s.pk: i + 1 for i, s in enumerate(in_force)}
    sentence_uuids = {s.pk: s.uuid for s in sentences_l}
    hearing_uuids = {h.pk: h.uuid for h in hearings_l}
    rows = [
        SentenceRow(
            sentence=s,
            number=numbers.get(s.pk),
            end=info.ends.get(s.pk) if s.pk in numbers else None,
            pardon_days=info.pardon_days.get(s.pk, 0),
            commuted=info.commuted.get(s.pk),
            follows=numbers.get(s.consecutive_to_id) if s.consecutive_to_id else None,
            consecutive_to_uuid=sentence_uuids.get(s.consecutive_to_id),
            hearing_uuid=hearing_uuids.get(s.hearing_id),
        )
        for s in sentences_l
    ]
    moment = as_of or now
    return LegalFile(
        custody=custody,
        as_of=as_of,
        hearings_upcoming=[
            h
            for h in hearings_l
            if h.outcome == HearingOutcome.PENDING and h.scheduled_at >= moment
        ],
        hearings_past=[
            h
            for h in reversed(hearings_l)
            if not (h.outcome == HearingOutcome.PENDING and h.scheduled_at >= moment)
        ],
        sentences=rows,
        grants=grants_l,
        conditional_releases=list(reversed(decisions_l)),
        status_history=list(
            LegalStatusPeriod.objects.filter(custody=custody).order_by("valid_from", "pk")
        ),
        release=info,
    )


def _visible_through(user, created_field: str) -> Exists:
    """A custody period of the record's detention, visible to ``user``, through which the
    record is seen: one that did not end by transfer, or ended by transfer after the record
    was created."""
    return Exists(
        CustodyPeriod.objects.visible_to(user)
        .filter(detention_id=OuterRef("detention_id"))
        .filter(
            ~Q(status=CustodyStatus.TRANSFERRED_OUT) | Q(released_at__gte=OuterRef(created_field))
        )
    )


def current_custody_for_user(*, user, detention_id: int) -> CustodyPeriod | None:
    """The custody period holding the detention's prisoner now, when the user sees it (the
    one through which a hearing or a sentence can be acted upon), else None."""
    return (
        CustodyPeriod.objects.visible_to(user)
        .filter(detention_id=detention_id, status=CustodyStatus.IN_CUSTODY)
        .select_related("person", "facility")
        .first()
    )


def get_hearing_for_user_or_404(*, user, uuid) -> Hearing:
    obj = (
        Hearing.objects.filter(uuid=_key(uuid))
        .filter(_visible_through(user, "created_at"))
        .select_related("detention", "facility")
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def get_sentence_for_user_or_404(*, user, uuid) -> Sentence:
    obj = (
        Sentence.objects.filter(uuid=_key(uuid))
        .filter(_visible_through(user, "created_at"))
        .select_related("detention", "facility")
        .first()
    )
    if obj is None:
        raise Http404
    return obj


# -- pardon decrees --------------------------------------------------------------------------
def can_see_pardons(user) -> bool:
    access = access_for(user)
    return access.has_perm("inmates.view") or access.has_perm(PARDON_PERM)


def _visible_grants(user) -> Exists:
    """The grant's institution is one whose prisoner records (of that detention) the user
    sees: the one scoping rule, applied to the grant's institution."""
    return Exists(
        CustodyPeriod.objects.visible_to(user).filter(
            detention_id=OuterRef("detention_id"), facility_id=OuterRef("facility_id")
        )
    )


def pardon_decree_list(*, fetched_by) -> QuerySet[PardonDecree]:
    """Every decree (national records), newest first, with ``grants_seen``: how many of its
    grants the user sees (one query)."""
    if not can_see_pardons(fetched_by):
        return PardonDecree.objects.none()
    seen = (
        PardonGrant.objects.filter(decree=OuterRef("pk"))
        .filter(_visible_grants(fetched_by))
        .order_by()
        .values("decree")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return PardonDecree.objects.annotate(
        grants_seen=Subquery(seen, output_field=IntegerField())
    ).order_by("-signed_on", "-pk")


def get_pardon_decree_for_user_or_404(*, user, uuid) -> PardonDecree:
    if not can_see_pardons(user):
        raise Http404
    obj = PardonDecree.objects.filter(uuid=_key(uuid)).first()
    if obj is None:
        raise Http404
    return obj


def pardon_grant_list(*, fetched_by, decree: PardonDecree) -> QuerySet[PardonGrant]:
    """The grants of ``decree`` the user sees, with the committal number and custody UUID of
    the prisoner in the grant's institution (``committal_number``, ``custody_uuid``)."""
    custody = CustodyPeriod.objects.filter(
        detention_id=OuterRef("detention_id"), facility_id=OuterRef("facility_id")
    ).order_by("-committed_at", "-pk")
    return (
        PardonGrant.objects.filter(decree=decree)
        .filter(_visible_grants(fetched_by))
        .select_related("detention__person", "facility", "sentence")
        .annotate(
            committal_number=Subquery(custody.values("committal_number")[:1]),
            custody_uuid=Subquery(custody.values("uuid")[:1]),
        )
        .order_by("facility__code", "committal_number", "pk")
    )


# -- releases due ----------------------------------------------------------------------------
def releases_due_facilities(user) -> QuerySet[Facility]:
    """The institutions whose releases due the user may list (the page's choices): those
    whose prisoners they see."""
    access = access_for(user)
    qs = access.filter(Facility.objects.order_by("code"), "id")
    ids = access.perm_facility_ids("inmates.view")
    return qs if ids is None else qs.filter(pk__in=ids)


def releases_due(
    *, fetched_by, facility=None, days: int = 30, on: date | None = None
) -> list[CustodyPeriod]:
    """Prisoners in custody whose expected release falls within ``days`` days from ``on``
    (today by default), overdue ones included (expected release already past, still held):
    ordered by date, so the overdue come first. Each row carries ``overdue`` (bool),
    ``due_in`` (days from ``on``, negative when overdue) and ``basis``
    (``pardon``, ``conditional_release`` or ``sentence``). Two queries whatever the number.
    """
    on = on or timezone.localdate()
    days = max(0, min(int(days), RELEASES_DUE_MAX_DAYS))
    until = on + timedelta(days=days)
    qs = CustodyPeriod.objects.visible_to(fetched_by).filter(
        status=CustodyStatus.IN_CUSTODY,
        detention__expected_release__isnull=False,
        detention__expected_release__lte=until,
    )
    if facility is not None:
        qs = qs.filter(facility_id=facility.pk)
    qs = (
        qs.select_related("person", "facility", "detention")
        .annotate(
            pardon_release=Exists(
                PardonGrant.objects.filter(
                    detention_id=OuterRef("detention_id"),
                    kind=PardonKind.RELEASE,
                    decree__signed_on=OuterRef("detention__expected_release"),
                )
            ),
            conditional=Exists(
                ConditionalRelease.objects.filter(
                    detention_id=OuterRef("detention_id"),
                    status=ConditionalReleaseStatus.GRANTED,
                    release_on=OuterRef("detention__expected_release"),
                )
            ),
        )
        .order_by("detention__expected_release", "facility__code", "committal_number")
    )
    rows = list(qs)
    for c in rows:
        expected = c.detention.expected_release
        c.due_in = (expected - on).days
        c.overdue = expected < on
        c.basis = (
            "pardon" if c.pardon_release else "conditional_release" if c.conditional else "sentence"
        )
    return rows
