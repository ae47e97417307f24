"""Helpers of the gate and figures tests: bookings made directly in the tables (as the
booking service leaves them: visitors named, the session's counters taken), today's
sessions, a second institution's booking, users with a given role."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..constants import BookingChannel, BookingStatus
from ..models import Booking, BookingVisitor, VisitSession
from ..services._common import week_start
from .factories import FamilyAccountFactory, VisitRoomFactory, approve_on_list, session_at

__all__ = [
    "make_booking",
    "today_session",
    "other_booking",
    "user_with",
    "audit_count",
    "booking_state",
]


def today_session(vs, *, room=None, start=dt.time(0, 0), end=dt.time(23, 59), **kw):
    """A session of today that has begun (from midnight), so that every step is possible
    whatever the hour the tests run."""
    return session_at(room or vs.room, timezone.localdate(), start=start, end=end, **kw)


def make_booking(
    vs,
    session: VisitSession,
    *,
    custody=None,
    visitors=None,
    account=None,
    channel: str = BookingChannel.ONLINE,
    status: str = BookingStatus.BOOKED,
    code: str | None = None,
    take_place: bool = True,
) -> Booking:
    """A booking in ``session`` for the scenario's prisoner (or ``custody``'s), with its
    visitors; the session's counters are taken (unless ``take_place`` is false, as after a
    cancellation)."""
    custody = custody or vs.custody
    visitors = list(visitors if visitors is not None else [vs.adult, vs.child])
    children = sum(1 for v in visitors if v.guardian_id)
    values = {
        "facility_id": session.facility_id,
        "session": session,
        "detention_id": custody.detention_id,
        "custody": custody,
        "account": account if account is not None else vs.account,
        "channel": channel,
        "status": status,
        "week_start": week_start(session.date),
        "adults": len(visitors) - children,
        "children": children,
    }
    if status == BookingStatus.CANCELLED:
        values["cancelled_at"] = timezone.now()
        values["cancel_reason"] = "family"
    if code:
        values["code"] = code
    booking = Booking.objects.create(**values)
    BookingVisitor.objects.bulk_create(
        [
            BookingVisitor(
                booking=booking,
                visitor=v,
                facility_id=session.facility_id,
                is_child=bool(v.guardian_id),
            )
            for v in visitors
        ]
    )
    if take_place and status != BookingStatus.CANCELLED:
        VisitSession.objects.filter(pk=session.pk).update(
            booked_visits=F("booked_visits") + 1,
            booked_visitors=F("booked_visitors") + len(visitors),
        )
    return booking


def other_booking(vs, *, day=None, code=None):
    """A booking today at the scenario's other institution, with its own prisoner, family,
    room and session."""
    custody = CustodyPeriodFactory(facility=vs.other_facility)
    account = FamilyAccountFactory()
    adult, kids = approve_on_list(account, custody)
    room = VisitRoomFactory(facility=vs.other_facility, name="Parloir B", places=4, seats=12)
    session = session_at(
        room, day or timezone.localdate(), start=dt.time(0, 0), end=dt.time(23, 59)
    )
    return make_booking(vs, session, custody=custody, visitors=[adult], account=account, code=code)


def user_with(role: str, *, facility=None, region=None, username=None):
    user = UserFactory(**({"username": username} if username else {}))
    grant(user, role, facility=facility, region=region)
    return user


def audit_count() -> int:
    return AuditEntry.objects.count()


def booking_state(booking: Booking) -> tuple:
    """What the gate may change on a booking and its visitors, fresh from the table."""
    b = Booking.objects.get(pk=booking.pk)
    checked = tuple(
        BookingVisitor.objects.filter(booking_id=b.pk)
        .order_by("pk")
        .values_list("checked_at", flat=True)
    )
    return (b.status, b.arrived_at, b.started_at, b.ended_at, checked)
