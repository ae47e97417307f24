"""Reads of visit configuration and dated sessions.

Staff reads are scoped on each row's institution through ``core.scoping`` (``visits.view``
to read); ``bookable_sessions`` is the one query behind the family portal's and the desk's
"sessions with free places" for one prisoner.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.facilities.models import Cell, Facility, Installation, Wing
from idmaj.inmates.constants import REMAND_SIDE

from ..constants import RegimeFilter
from ..models import (
    ExcludedDate,
    OnlineBookingPause,
    SessionTemplate,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)

__all__ = [
    "bookable_sessions",
    "excluded_date_list",
    "pause_list",
    "template_list",
    "get_excluded_date_for_user_or_404",
    "get_pause_for_user_or_404",
    "get_room_for_user_or_404",
    "get_session_for_user_or_404",
    "get_template_for_user_or_404",
    "get_visit_facility_for_user_or_404",
    "session_list",
    "visit_facilities",
    "visit_settings",
]

VIEW = "visits.view"
CONFIGURE = "visits.configure"
SESSION_LIST_MAX_DAYS = 62


# -- institutions ----------------------------------------------------------------------------
def visit_facilities(*, fetched_by, perm: str = VIEW) -> QuerySet[Facility]:
    """The institutions where the user holds ``perm``, by code."""
    access = access_for(fetched_by)
    qs = Facility.objects.select_related("region").order_by("code")
    allowed = access.perm_facility_ids(perm)
    if not access.has_perm(perm):
        return qs.none()
    if allowed is not None:
        qs = qs.filter(pk__in=allowed)
    return qs


def get_visit_facility_for_user_or_404(*, user, code: str, perm: str = VIEW) -> Facility:
    """One institution by code: 404 alike for missing and not the user's."""
    facility = Facility.objects.select_related("region").filter(code=code).first()
    if facility is None or not access_for(user).has_perm(perm, facility.pk):
        raise Http404
    return facility


def _scoped_one(qs: QuerySet, user, perm: str, **lookup):
    obj = qs.filter(**lookup).first()
    if obj is None or not access_for(user).has_perm(perm, obj.facility_id):
        raise Http404
    return obj


def get_room_for_user_or_404(*, user, uuid, perm: str = VIEW) -> VisitRoom:
    return _scoped_one(VisitRoom.objects.select_related("facility"), user, perm, uuid=uuid)


def get_template_for_user_or_404(*, user, uuid, perm: str = VIEW) -> SessionTemplate:
    return _scoped_one(
        SessionTemplate.objects.select_related("room", "facility").prefetch_related("wings"),
        user,
        perm,
        uuid=uuid,
    )


def get_excluded_date_for_user_or_404(*, user, uuid, perm: str = VIEW) -> ExcludedDate:
    return _scoped_one(ExcludedDate.objects.select_related("facility"), user, perm, uuid=uuid)


def get_pause_for_user_or_404(*, user, uuid, perm: str = VIEW) -> OnlineBookingPause:
    return _scoped_one(OnlineBookingPause.objects.select_related("facility"), user, perm, uuid=uuid)


def get_session_for_user_or_404(*, user, uuid, perm: str = VIEW) -> VisitSession:
    return _scoped_one(
        VisitSession.objects.select_related("room", "facility").prefetch_related("wings"),
        user,
        perm,
        uuid=uuid,
    )


# -- the settings page -----------------------------------------------------------------------
def visit_settings(*, fetched_by, facility: Facility, today: dt.date | None = None) -> dict:
    """Everything the settings page shows for one institution: rules, rooms, weekly
    sessions in use or to come, days without visits to come, pauses in force or to come,
    the installations register's entry. 404 unless the user may read the institution."""
    if not access_for(fetched_by).has_perm(VIEW, facility.pk):
        raise Http404
    from ..services.sessions import ONLINE_BOOKING_INSTALLATION, online_pause_active

    today = today or timezone.localdate()
    now = timezone.now()
    policy = VisitPolicy.objects.filter(facility_id=facility.pk).first() or VisitPolicy(
        facility=facility
    )
    rooms = list(VisitRoom.objects.filter(facility_id=facility.pk).order_by("name"))
    templates = list(template_list(facility=facility, today=today))
    excluded = list(excluded_date_list(facility=facility, today=today))
    pauses = list(pause_list(facility=facility, now=now))
    installation = (
        Installation.objects.filter(
            facility_id=facility.pk,
            type__code=ONLINE_BOOKING_INSTALLATION,
            removed_on__isnull=True,
        )
        .order_by("-installed_on")
        .first()
    )
    return {
        "facility": facility,
        "policy": policy,
        "rooms": rooms,
        "templates": templates,
        "excluded": excluded,
        "pauses": pauses,
        "active_pause": online_pause_active(facility, now),
        "installation": installation,
        "can_configure": access_for(fetched_by).has_perm(CONFIGURE, facility.pk),
        "today": today,
    }


def template_list(*, facility: Facility, today: dt.date | None = None) -> QuerySet:
    """Weekly sessions in use or to come (callers check the user's access)."""
    today = today or timezone.localdate()
    return (
        SessionTemplate.objects.filter(facility_id=facility.pk)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("room")
        .prefetch_related(Prefetch("wings", queryset=Wing.objects.order_by("name")))
        .order_by("weekday", "start_time", "room__name")
    )


def excluded_date_list(*, facility: Facility, today: dt.date | None = None) -> QuerySet:
    """Days without visits still to come (or under way)."""
    today = today or timezone.localdate()
    return ExcludedDate.objects.filter(facility_id=facility.pk, ends_on__gte=today).order_by(
        "starts_on"
    )


def pause_list(*, facility: Facility, now: dt.datetime | None = None) -> QuerySet:
    """Pauses of online booking in force or to come."""
    now = now or timezone.now()
    return (
        OnlineBookingPause.objects.filter(facility_id=facility.pk)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("starts_at")
    )


# -- dated sessions --------------------------------------------------------------------------
def session_list(
    *, fetched_by, facility: Facility, date_from: dt.date, date_to: dt.date
) -> QuerySet[VisitSession]:
    """The dated sessions of one institution in a period (at most two months), cancelled
    ones included, with their room and wings. Empty unless the user may read there."""
    qs = VisitSession.objects.none()
    if not access_for(fetched_by).has_perm(VIEW, facility.pk):
        return qs
    date_to = min(date_to, date_from + dt.timedelta(days=SESSION_LIST_MAX_DAYS))
    return (
        VisitSession.objects.filter(facility_id=facility.pk, date__gte=date_from, date__lte=date_to)
        .select_related("room")
        .prefetch_related(Prefetch("wings", queryset=Wing.objects.order_by("name")))
        .order_by("starts_at", "room__name")
    )


def bookable_sessions(
    *,
    detention,
    custody,
    on_or_after: dt.date | None = None,
    until: dt.date | None = None,
    now: dt.datetime | None = None,
    policy: VisitPolicy | None = None,
) -> QuerySet[VisitSession]:
    """The sessions this prisoner can be booked into: at the institution holding them
    (``custody``), not cancelled, starting after ``now``, within the booking window of the
    rules (from ``book_until_days`` to ``book_from_days`` days ahead), for the prisoner's
    regime (appealing counts as remand), for all wings or the prisoner's wing, not on a day
    without visits, in a room in service, with a free visit and a free seat. Annotated with
    ``free_visits`` and ``free_visitors``, ordered by start. One query (two when the rules
    are not given). Whether online booking is live or paused is the booking's concern.
    """
    if policy is None:
        policy = VisitPolicy.objects.filter(facility_id=custody.facility_id).first()
    if policy is None or custody.detention_id != getattr(detention, "pk", detention):
        return VisitSession.objects.none()
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today + dt.timedelta(days=policy.book_until_days)
    last = today + dt.timedelta(days=policy.book_from_days)
    if on_or_after is not None:
        first = max(first, on_or_after)
    if until is not None:
        last = min(last, until)
    if last < first:
        return VisitSession.objects.none()
    remand_side = custody.legal_status in REMAND_SIDE
    regimes = [RegimeFilter.ALL, RegimeFilter.REMAND if remand_side else RegimeFilter.CONVICTED]
    through = VisitSession.wings.through
    any_wing = through.objects.filter(visitsession_id=OuterRef("pk"))
    if custody.cell_id is None:
        wing_ok = ~Exists(any_wing)
    else:
        cell = custody._state.fields_cache.get("cell")
        wing_id = (
            cell.wing_id
            if cell is not None
            else Subquery(Cell.objects.filter(pk=custody.cell_id).values("wing_id")[:1])
        )
        wing_ok = ~Exists(any_wing) | Exists(any_wing.filter(wing_id=wing_id))
    excluded = ExcludedDate.objects.filter(
        facility_id=OuterRef("facility_id"),
        starts_on__lte=OuterRef("date"),
        ends_on__gte=OuterRef("date"),
    )
    return (
        VisitSession.objects.filter(
            facility_id=custody.facility_id,
            cancelled_at__isnull=True,
            date__gte=first,
            date__lte=last,
            starts_at__gt=now,
            regime__in=[str(r) for r in regimes],
            room__in_service=True,
            booked_visits__lt=F("capacity_visits"),
            booked_visitors__lt=F("capacity_visitors"),
        )
        .filter(wing_ok)
        .exclude(Exists(excluded))
        .select_related("room")
        .annotate(
            free_visits=F("capacity_visits") - F("booked_visits"),
            free_visitors=F("capacity_visitors") - F("booked_visitors"),
        )
        .order_by("starts_at", "room__name")
    )
