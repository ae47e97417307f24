"""Registry reads: movements, releases, escapes and deaths in custody.

Movements are scoped on **either end**: a user sees a movement when they hold
``inmates.view`` for the institution it left (``facility``) or, for a transfer, for the
institution it went to (``to_facility``). Both institutions of a transfer thus see it, while
each custody period stays visible to its own institution only: after a transfer the sending
institution keeps its closed period, the receiving one sees the new period, whose page says
where the person came from, as text.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from idmaj.core.scoping import access_for

from .. import pdf
from ..constants import TEMPORARY_ABSENCES, CustodyStatus, MovementKind
from ..models import CustodyIncident, CustodyPeriod, Movement, ReleaseRecord

__all__ = [
    "movement_scope_ids",
    "movement_list",
    "movements_with_files",
    "custody_movement_list",
    "custody_absence_list",
    "absences_out_now",
    "get_absence_for_user_or_404",
    "custody_open_absence",
    "custody_release_record",
    "custody_incident",
    "transfer_origin",
    "CERTIFICATE_LANGUAGES",
    "CERTIFICATE_TEMPLATE",
    "certificate_language",
    "release_certificate_context",
    "release_certificate_pdf",
]

VIEW = "inmates.view"
_RELATED = (
    "facility",
    "to_facility",
    "custody__person",
    "custody__transferred_to",
)


def movement_scope_ids(user) -> frozenset[int] | None:
    """Institutions whose movements ``user`` sees: those they see and hold ``inmates.view``
    for (``None``: all of them) — the scoping rule of ``CustodyPeriod.visible_to``."""
    access = access_for(user)
    visible = access.facility_ids()
    allowed = access.perm_facility_ids(VIEW)
    if visible is None:
        return allowed
    if allowed is None:
        return visible
    return visible & allowed


def _scoped(user) -> QuerySet[Movement]:
    qs = Movement.objects.all()
    ids = movement_scope_ids(user)
    if ids is not None:
        qs = qs.filter(Q(facility_id__in=ids) | Q(to_facility_id__in=ids))
    return qs


def _day_start(on: date) -> datetime:
    return timezone.make_aware(datetime.combine(on, time.min))


def movement_list(
    *,
    fetched_by,
    facility=None,
    since: date | None = None,
    until: date | None = None,
    kind: str | None = None,
    direction: str | None = None,
) -> QuerySet[Movement]:
    """Movements the user sees, newest departure first.

    ``facility``: the movements of one institution, in both directions (left from it, or
    transferred to it); ``direction`` ``"out"`` or ``"in"`` keeps one. ``since`` and
    ``until`` are days (local time, both included) of the departure.
    """
    qs = _scoped(fetched_by).select_related(*_RELATED)
    if facility is not None:
        if direction == "out":
            qs = qs.filter(facility_id=facility.pk)
        elif direction == "in":
            qs = qs.filter(to_facility_id=facility.pk)
        else:
            qs = qs.filter(Q(facility_id=facility.pk) | Q(to_facility_id=facility.pk))
    if since is not None:
        qs = qs.filter(out_at__gte=_day_start(since))
    if until is not None:
        qs = qs.filter(out_at__lt=_day_start(until + timedelta(days=1)))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-out_at", "-pk")


def movements_with_files(movements: Iterable[Movement], *, fetched_by) -> list[Movement]:
    """Each movement with ``file``: the custody period of it the user may open (the one it
    left, or for a transfer the one it opened at the destination), or None. No query when
    the movements come from ``movement_list`` (related rows selected)."""
    ids = movement_scope_ids(fetched_by)
    out = []
    for m in movements:
        m.file = None
        if ids is None or m.custody.facility_id in ids:
            m.file = m.custody
        elif m.kind == MovementKind.TRANSFER:
            new = getattr(m.custody, "transferred_to", None)
            if new is not None and new.facility_id in ids:
                m.file = new
        out.append(m)
    return out


def custody_movement_list(*, fetched_by, custody: CustodyPeriod) -> list[Movement]:
    """The movements of the detention of ``custody`` the user sees (at this institution and,
    for transfers, at either end), oldest first, each with ``file`` as above."""
    qs = (
        _scoped(fetched_by)
        .filter(detention_id=custody.detention_id)
        .select_related(*_RELATED)
        .order_by("out_at", "pk")
    )
    return movements_with_files(qs, fetched_by=fetched_by)


def custody_absence_list(*, custody: CustodyPeriod) -> QuerySet[Movement]:
    """The temporary absences of one custody period (the caller has already checked that
    the user sees it), newest first."""
    return (
        Movement.objects.filter(custody=custody, kind__in=TEMPORARY_ABSENCES)
        .select_related("facility")
        .order_by("-out_at", "-pk")
    )


def absences_out_now(*, fetched_by, facility=None, now: datetime | None = None) -> QuerySet:
    """Persons out on a temporary absence now, per institution, longest out first;
    ``overdue`` is true when the expected return has passed."""
    now = now or timezone.now()
    ids = movement_scope_ids(fetched_by)
    qs = Movement.objects.filter(
        kind__in=TEMPORARY_ABSENCES,
        back_at__isnull=True,
        custody__status=CustodyStatus.IN_CUSTODY,
    )
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    if facility is not None:
        qs = qs.filter(facility_id=facility.pk)
    return (
        qs.select_related("facility", "custody__person")
        .annotate(
            overdue=Case(
                When(expected_back_at__lt=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("facility__code", "out_at", "pk")
    )


def get_absence_for_user_or_404(*, user, uuid) -> Movement:
    """One temporary absence by UUID, at an institution the user sees; 404 alike for
    missing, malformed, a transfer and not yours."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    qs = Movement.objects.filter(uuid=key, kind__in=TEMPORARY_ABSENCES)
    ids = movement_scope_ids(user)
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    movement = qs.select_related("facility", "custody__person", "custody__facility").first()
    if movement is None:
        raise Http404
    return movement


def custody_open_absence(*, custody: CustodyPeriod) -> Movement | None:
    return (
        Movement.objects.filter(custody=custody, kind__in=TEMPORARY_ABSENCES, back_at__isnull=True)
        .order_by("-out_at")
        .first()
    )


def custody_release_record(*, custody: CustodyPeriod) -> ReleaseRecord | None:
    """The release of a custody period the caller has already fetched for the user."""
    return ReleaseRecord.objects.filter(custody=custody).first()


def custody_incident(*, custody: CustodyPeriod) -> CustodyIncident | None:
    return CustodyIncident.objects.filter(custody=custody).first()


def transfer_origin(*, custody: CustodyPeriod) -> CustodyPeriod | None:
    """The period a transferred custody continues, with its institution, to be shown as
    text ("transferred from <institution> (<committal number>)"): the old file itself stays
    with the sending institution."""
    if custody.transferred_from_id is None:
        return None
    return CustodyPeriod.objects.select_related("facility").get(pk=custody.transferred_from_id)


# -- the release certificate -----------------------------------------------------------------
CERTIFICATE_LANGUAGES = ("ar", "fr")
CERTIFICATE_TEMPLATE = "inmates/movements/release_certificate.html"


def certificate_language(requested: str | None) -> str:
    """``ar`` or ``fr``: the one asked for, else the page's language, else Arabic."""
    if requested in CERTIFICATE_LANGUAGES:
        return requested
    current = (get_language() or "ar")[:2]
    return current if current in CERTIFICATE_LANGUAGES else "ar"


def release_certificate_context(*, custody: CustodyPeriod) -> dict:
    """What the certificate shows, for a custody period the caller has already fetched for
    the user (``get_custody_for_user_or_404``); 404 when it has no release record."""
    record = custody_release_record(custody=custody)
    if record is None:
        raise Http404
    return {
        "record": record,
        "custody": custody,
        "person": custody.person,
        "detention": custody.detention,
        "facility": custody.facility,
        "issued_on": timezone.localdate(),
        "qr": pdf.qr_data_uri(record.certificate_number),
    }


def release_certificate_pdf(*, custody: CustodyPeriod, language: str) -> tuple[bytes, str]:
    """The release certificate as PDF bytes in ``language`` (``ar`` right to left, or
    ``fr``), with its file name."""
    context = release_certificate_context(custody=custody)
    data = pdf.render_pdf(CERTIFICATE_TEMPLATE, context, language=language)
    return data, f"{context['record'].certificate_number}-{language}.pdf"
