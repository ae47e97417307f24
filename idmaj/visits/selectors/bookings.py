"""Reads of bookings: a family's own bookings, the staff lists of an institution's day, the
sessions a family may book for one prisoner, and the QR code of a booking.

A family reaches only its own bookings and the prisoners it is approved for (its own approved
``Visitor`` entries): anything else answers 404 like a missing row. Staff reach the bookings
of the institutions where they hold ``visits.view``.
"""

from __future__ import annotations

from datetime import date, timedelta

import segno
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.inmates.constants import REMAND_SIDE, CustodyStatus
from idmaj.inmates.models import CustodyPeriod

from ..constants import VisitorStatus
from ..models import Booking, FamilyAccount, Visitor, VisitPolicy, VisitSession

__all__ = [
    "booking_list",
    "booking_qr_svg",
    "booking_visitors",
    "family_bookable_sessions",
    "family_bookable_session_rows",
    "family_bookings",
    "family_side_visitors",
    "get_booking_for_user_or_404",
    "get_family_booking_or_404",
    "get_family_visitor_or_404",
    "family_booking_parties",
    "family_own_entry",
    "session_for_booking",
    "staff_bookable_sessions",
    "staff_custody_for_booking",
]

VIEW = "visits.view"
MANAGE = "visits.manage"

_BOOKING_RELATED = ("session__room", "facility", "custody__person")


def _bookings() -> QuerySet:
    return Booking.objects.select_related(*_BOOKING_RELATED)


# -- family ------------------------------------------------------------------------------------
def family_bookings(*, account: FamilyAccount) -> QuerySet:
    """The family's own bookings (made by it or for it at the desk), newest session first."""
    return (
        _bookings()
        .filter(account=account)
        .prefetch_related("visitors__visitor")
        .order_by("-session__starts_at", "-created_at")
    )


def get_family_booking_or_404(*, account: FamilyAccount, uuid) -> Booking:
    booking = _bookings().filter(account=account, uuid=uuid).first()
    if booking is None:
        raise Http404
    return booking


def get_family_visitor_or_404(*, account: FamilyAccount, uuid) -> Visitor:
    """The family's own approved entry on a prisoner's list (``uuid`` of that ``Visitor``),
    with the prisoner's detention: the way a family names "its" prisoner."""
    visitor = (
        Visitor.objects.select_related("detention")
        .filter(uuid=uuid, account=account, status=VisitorStatus.APPROVED)
        .first()
    )
    if visitor is None:
        raise Http404
    return visitor


def family_booking_parties(*, account: FamilyAccount, prisoner, visitors) -> tuple:
    """One query: the family's own approved entry ``prisoner`` (404 when not theirs) and the
    visitors named by UUID on that prisoner's list (unknown ones are left out: the service
    then refuses an empty or incomplete choice)."""
    wanted = {str(v) for v in visitors}
    rows = list(
        Visitor.objects.select_related("detention").filter(
            Q(uuid=prisoner, account=account, status=VisitorStatus.APPROVED) | Q(uuid__in=wanted)
        )
    )
    adult = next(
        (v for v in rows if str(v.uuid) == str(prisoner) and v.account_id == account.pk), None
    )
    if adult is None:
        raise Http404
    chosen = [v for v in rows if str(v.uuid) in wanted and v.detention_id == adult.detention_id]
    return adult, chosen, len(chosen) == len(wanted)


def family_own_entry(*, account: FamilyAccount, detention_id: int) -> Visitor:
    """The family's own approved entry on the list of the prisoner of ``detention_id``."""
    visitor = Visitor.objects.filter(
        account=account, detention_id=detention_id, status=VisitorStatus.APPROVED
    ).first()
    if visitor is None:
        raise Http404
    return visitor


def session_for_booking(uuid) -> VisitSession | None:
    return VisitSession.objects.select_related("room").filter(uuid=uuid).first()


def family_side_visitors(adult: Visitor) -> list[Visitor]:
    """Who the family may bring: the adult entry itself and the approved children listed
    with it."""
    children = Visitor.objects.filter(
        guardian=adult, detention_id=adult.detention_id, status=VisitorStatus.APPROVED
    ).order_by("full_name")
    return [adult, *children]


def _current_custody(detention_id: int) -> CustodyPeriod | None:
    return (
        CustodyPeriod.objects.select_related("facility__visit_policy", "cell", "person")
        .filter(detention_id=detention_id, status=CustodyStatus.IN_CUSTODY)
        .first()
    )


def _policy(custody: CustodyPeriod) -> VisitPolicy:
    try:
        return custody.facility.visit_policy
    except VisitPolicy.DoesNotExist:
        return VisitPolicy(facility_id=custody.facility_id)


def _sessions_between(*, custody: CustodyPeriod, first: date, last: date) -> list[VisitSession]:
    """Sessions of the prisoner's institution between two days that fit the prisoner's
    regime and wing and have a free place (``selectors.sessions.bookable_sessions``)."""
    from .sessions import bookable_sessions

    rows = bookable_sessions(
        detention=custody.detention, custody=custody, on_or_after=first, until=last
    )
    return list(rows)


def _sessions_fitting(
    *, custody: CustodyPeriod, first: date, last: date, include_full: bool = False
) -> list[VisitSession]:
    from django.db.models import F, Q

    from idmaj.inmates.constants import REMAND_SIDE

    from ..constants import RegimeFilter
    from ..models import ExcludedDate

    regimes = [RegimeFilter.ALL]
    regimes.append(
        RegimeFilter.REMAND if custody.legal_status in REMAND_SIDE else RegimeFilter.CONVICTED
    )
    qs = (
        VisitSession.objects.select_related("room")
        .filter(
            facility_id=custody.facility_id,
            date__gte=first,
            date__lte=last,
            cancelled_at__isnull=True,
            ends_at__gt=timezone.now(),
            regime__in=regimes,
        )
        .order_by("starts_at", "room__name")
    )
    if not include_full:
        qs = qs.filter(
            booked_visits__lt=F("capacity_visits"), booked_visitors__lt=F("capacity_visitors")
        )
    wing_id = custody.cell.wing_id if custody.cell_id else None
    qs = qs.filter(Q(wings__isnull=True) | Q(wings=wing_id)).distinct()
    excluded = list(
        ExcludedDate.objects.filter(
            facility_id=custody.facility_id, starts_on__lte=last, ends_on__gte=first
        ).values_list("starts_on", "ends_on")
    )
    return [s for s in qs if not any(a <= s.date <= b for a, b in excluded)]


def family_bookable_sessions(*, adult: Visitor) -> tuple[CustodyPeriod | None, list]:
    """The prisoner's current custody and the sessions the family may book now (within the
    booking window of the institution)."""
    custody = _current_custody(adult.detention_id)
    if custody is None:
        return None, []
    policy = _policy(custody)
    today = timezone.localdate()
    return custody, _sessions_between(
        custody=custody,
        first=today + timedelta(days=policy.book_until_days),
        last=today + timedelta(days=policy.book_from_days),
    )


def _row(session: VisitSession) -> dict:
    """One bookable session as the portal's API shows it (ready for JSON)."""
    return {
        "uuid": str(session.uuid),
        "starts_at": timezone.localtime(session.starts_at).isoformat(),
        "ends_at": timezone.localtime(session.ends_at).isoformat(),
        "mode": session.mode,
        "room": session.room.name,
        "free_visits": max(0, session.capacity_visits - session.booked_visits),
        "free_visitors": max(0, session.capacity_visitors - session.booked_visitors),
        "_starts": session.starts_at.timestamp(),
    }


def family_bookable_session_rows(*, adult: Visitor) -> list[dict]:
    """``family_bookable_sessions`` as plain rows for the portal's API, shared for
    ``settings.VISITS_SESSIONS_CACHE_SECONDS`` by the families of every prisoner of the same
    institution, regime side and wing: in a holiday rush thousands of families ask for the
    same list, and reading it once a second per institution spares the database and the
    server. The free places shown may be that many seconds old; the booking itself is the
    authority (a full session answers ``session_full``)."""
    custody = _current_custody(adult.detention_id)
    if custody is None:
        return []
    ttl = settings.VISITS_SESSIONS_CACHE_SECONDS
    side = "remand" if custody.legal_status in REMAND_SIDE else "convicted"
    wing = custody.cell.wing_id if custody.cell_id else 0
    key = f"visits:bookable:{custody.facility_id}:{side}:{wing}:{timezone.localdate()}"
    rows = cache.get(key) if ttl else None
    if rows is None:
        policy = _policy(custody)
        today = timezone.localdate()
        rows = [
            _row(s)
            for s in _sessions_between(
                custody=custody,
                first=today + timedelta(days=policy.book_until_days),
                last=today + timedelta(days=policy.book_from_days),
            )
        ]
        if ttl:
            cache.set(key, rows, ttl)
    now = timezone.now().timestamp()
    return [
        {k: v for k, v in row.items() if k != "_starts"} for row in rows if row["_starts"] > now
    ]


# -- staff -------------------------------------------------------------------------------------
def _staff_ids(user, perm: str = VIEW):
    access = access_for(user)
    allowed = access.perm_facility_ids(perm)
    visible = access.facility_ids()
    if allowed is None:
        return visible
    return allowed if visible is None else allowed & visible


def booking_list(*, fetched_by, facility, date: date) -> QuerySet:
    """Bookings of ``facility`` on ``date`` (sessions of that day), for staff holding
    ``visits.view`` there; an empty list otherwise."""
    qs = _bookings().filter(facility_id=facility.pk, session__date=date)
    if not access_for(fetched_by).has_perm(VIEW, facility.pk):
        return qs.none()
    return qs.prefetch_related("visitors__visitor").order_by("session__starts_at", "created_at")


def get_booking_for_user_or_404(*, user, uuid) -> Booking:
    """One booking by UUID (or by its code), 404 alike for missing and not yours."""
    ids = _staff_ids(user)
    qs = _bookings().select_related("account", "booked_by", "replaced_by")
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    booking = qs.filter(uuid=uuid).first()
    if booking is None:
        raise Http404
    return booking


def booking_visitors(booking: Booking) -> list:
    return list(booking.visitors.select_related("visitor").order_by("is_child", "id"))


def staff_custody_for_booking(*, user, committal_number: str) -> CustodyPeriod | None:
    """The prisoner in custody under ``committal_number`` at one of the institutions where
    ``user`` may book (``visits.manage``)."""
    number = (committal_number or "").strip()
    if not number:
        return None
    qs = CustodyPeriod.objects.select_related(
        "facility__visit_policy", "person", "cell", "detention"
    ).filter(committal_number__iexact=number, status=CustodyStatus.IN_CUSTODY)
    ids = _staff_ids(user, MANAGE)
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    return qs.first()


def staff_bookable_sessions(*, custody: CustodyPeriod, include_full: bool = False) -> list:
    """Sessions staff may book for the prisoner: from now (the window's last days included)
    to the end of the window, fitting the prisoner's regime and wing; full ones too for a
    holder of ``visits.override``."""
    policy = _policy(custody)
    today = timezone.localdate()
    rows = _sessions_fitting(
        custody=custody,
        first=today,
        last=today + timedelta(days=policy.book_from_days),
        include_full=include_full,
    )
    return rows


def booking_qr_svg(booking: Booking) -> str:
    """The booking's QR code (content: the booking code only) as an inline SVG string."""
    qr = segno.make(booking.code, error="m", micro=False)  # a full QR code: scanners read it
    return qr.svg_inline(scale=6, border=2, title=booking.code)
