"""Reads of the gate: today's sessions and bookings of an institution, one booking's
check-in page, the daily sheet of a room (HTML context and PDF).

Scoped on each row's ``facility_id``: a user sees an institution's gate when
``access_for(user)`` grants ``visits.view`` there; anything else answers 404 like a missing
row. Each read is a fixed, small number of queries whatever the number of bookings.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility
from idmaj.inmates import pdf
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CustodyPeriod

from ..constants import ACTIVE_BOOKING, BookingStatus
from ..models import Booking, BookingVisitor, Visitor, VisitPolicy, VisitRoom, VisitSession

__all__ = [
    "GATE_VIEW",
    "SHEET_LANGUAGES",
    "SHEET_TEMPLATE",
    "gate_facilities",
    "get_gate_facility_for_user_or_404",
    "get_gate_booking_for_user_or_404",
    "get_gate_room_or_404",
    "get_gate_session_for_user_or_404",
    "gate_walk_in_visitors",
    "gate_booking_visitors",
    "gate_walk_ins_allowed",
    "gate_walk_in_custody",
    "today_overview",
    "daily_sheet",
    "sheet_language",
    "daily_sheet_pdf",
    "visitor_age",
]

GATE_VIEW = "visits.view"
SHEET_LANGUAGES = ("ar", "fr")
SHEET_TEMPLATE = "visits/pdf/daily_sheet.html"
# Bookings shown at the gate: the live ones and those done; cancelled ones are left out.
_SHOWN = (*ACTIVE_BOOKING, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def _ids(user, perm: str = GATE_VIEW) -> frozenset[int] | None:
    return access_for(user).perm_facility_ids(perm)


def gate_facilities(*, fetched_by) -> QuerySet[Facility]:
    """Institutions whose gate the user sees (``visits.view``), by code."""
    qs = Facility.objects.order_by("code")
    ids = _ids(fetched_by)
    return qs if ids is None else qs.filter(pk__in=ids)


def get_gate_facility_for_user_or_404(*, user, code: str) -> Facility:
    """One institution by code whose gate the user sees; 404 alike for missing and not
    yours."""
    facility = Facility.objects.filter(code=code).first()
    if facility is None or not access_for(user).has_perm(GATE_VIEW, facility.pk):
        raise Http404
    return facility


def get_gate_booking_for_user_or_404(*, user, uuid, perm: str = GATE_VIEW) -> Booking:
    """One booking by UUID with its session, room, prisoner and institution; 404 alike for
    missing, malformed and "not yours" (``perm`` at its institution)."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    qs = Booking.objects.select_related(
        "session__room", "facility", "custody__person", "detention"
    ).filter(uuid=key)
    ids = _ids(user, perm)
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    booking = qs.first()
    if booking is None:
        raise Http404
    return booking


def get_gate_room_or_404(*, facility: Facility, uuid) -> VisitRoom:
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    room = VisitRoom.objects.filter(facility_id=facility.pk, uuid=key).first()
    if room is None:
        raise Http404
    return room


def get_gate_session_for_user_or_404(*, user, uuid) -> VisitSession:
    """One session by UUID at an institution whose gate the user sees; 404 otherwise."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    qs = VisitSession.objects.select_related("room", "facility").filter(uuid=key)
    ids = _ids(user)
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    session = qs.first()
    if session is None:
        raise Http404
    return session


def gate_walk_in_visitors(*, custody: CustodyPeriod, uuids) -> list[Visitor]:
    """The visitors of the prisoner's list with these UUIDs (others are left out: the
    caller compares the counts)."""
    return list(
        Visitor.objects.filter(detention_id=custody.detention_id, uuid__in=list(uuids)).order_by(
            "guardian_id", "pk"
        )
    )


def visitor_age(birth_date: date | None, on: date) -> int | None:
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _visitors_prefetch() -> Prefetch:
    return Prefetch(
        "visitors",
        queryset=BookingVisitor.objects.select_related("visitor").order_by("is_child", "pk"),
        to_attr="gate_visitors",
    )


def _decorate(booking: Booking, on: date) -> Booking:
    """``adult_visitors``/``child_visitors`` lists (each with ``age``), ``checked`` count."""
    rows = getattr(booking, "gate_visitors", None)
    if rows is None:
        rows = list(
            BookingVisitor.objects.filter(booking_id=booking.pk)
            .select_related("visitor")
            .order_by("is_child", "pk")
        )
    for bv in rows:
        bv.age = visitor_age(bv.visitor.birth_date, on)
    booking.adult_visitors = [bv for bv in rows if not bv.is_child]
    booking.child_visitors = [bv for bv in rows if bv.is_child]
    booking.checked = sum(1 for bv in booking.adult_visitors if bv.checked_at)
    return booking


def gate_booking_visitors(booking: Booking) -> Booking:
    """The booking with its visitors for the check-in page (one query)."""
    return _decorate(booking, booking.session.date)


def gate_walk_ins_allowed(facility: Facility) -> bool:
    policy = VisitPolicy.objects.filter(facility_id=facility.pk).only("walk_ins_allowed").first()
    return True if policy is None else policy.walk_ins_allowed


def gate_walk_in_custody(
    *, facility: Facility, committal_number: str = "", uuid=None
) -> CustodyPeriod | None:
    """The prisoner held at the institution under this committal number (or custody UUID),
    for a walk-in visit (the caller has checked the user's permission there)."""
    qs = CustodyPeriod.objects.select_related("person").filter(
        facility_id=facility.pk, status=CustodyStatus.IN_CUSTODY
    )
    if uuid:
        return qs.filter(uuid=uuid).first()
    number = (committal_number or "").strip()
    return qs.filter(committal_number=number).first() if number else None


@dataclass
class SessionRow:
    session: VisitSession
    bookings: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)


@dataclass
class RoomRow:
    room: VisitRoom
    sessions: list = field(default_factory=list)


def _count(bookings: list[Booking]) -> dict:
    counts = {s.value: 0 for s in BookingStatus}
    visitors = 0
    for b in bookings:
        counts[b.status] = counts.get(b.status, 0) + 1
        visitors += b.adults + b.children
    counts["total"] = len(bookings)
    counts["visitors"] = visitors
    counts["waiting"] = counts[BookingStatus.BOOKED] + counts[BookingStatus.FLAGGED]
    return counts


def _day_bookings(facility_id: int, session_ids: list[int], on: date) -> dict[int, list]:
    rows = (
        Booking.objects.filter(
            facility_id=facility_id, session_id__in=session_ids, status__in=_SHOWN
        )
        .select_related("custody__person")
        .prefetch_related(_visitors_prefetch())
        .order_by("session__starts_at", "created_at", "pk")
    )
    by_session: dict[int, list] = {}
    for b in rows:
        by_session.setdefault(b.session_id, []).append(_decorate(b, on))
    return by_session


def today_overview(*, fetched_by, facility: Facility, on: date | None = None) -> dict:
    """The day's sessions of an institution, room by room, each with its bookings (the
    prisoner, the visitors, the status) and counts; three queries whatever the size.

    404 unless the user holds ``visits.view`` there.
    """
    if not access_for(fetched_by).has_perm(GATE_VIEW, facility.pk):
        raise Http404
    on = on or timezone.localdate()
    sessions = list(
        VisitSession.objects.filter(facility_id=facility.pk, date=on, cancelled_at__isnull=True)
        .select_related("room")
        .order_by("room__name", "starts_at", "pk")
    )
    by_session = _day_bookings(facility.pk, [s.pk for s in sessions], on) if sessions else {}
    rooms: dict[int, RoomRow] = {}
    all_bookings: list[Booking] = []
    for s in sessions:
        bookings = by_session.get(s.pk, [])
        all_bookings.extend(bookings)
        rooms.setdefault(s.room_id, RoomRow(room=s.room)).sessions.append(
            SessionRow(session=s, bookings=bookings, counts=_count(bookings))
        )
    return {
        "facility": facility,
        "on": on,
        "is_today": on == timezone.localdate(),
        "rooms": list(rooms.values()),
        "counts": _count(all_bookings),
        "sessions": len(sessions),
    }


def daily_sheet(*, fetched_by, facility: Facility, room: VisitRoom, on: date) -> dict:
    """What the printed sheet of one room and day shows: its sessions in time order, each
    with its bookings (cancelled ones left out). 404 unless the user holds ``visits.view``
    at the institution (the room must be the institution's)."""
    if room.facility_id != facility.pk or not access_for(fetched_by).has_perm(
        GATE_VIEW, facility.pk
    ):
        raise Http404
    sessions = list(
        VisitSession.objects.filter(
            facility_id=facility.pk, room_id=room.pk, date=on, cancelled_at__isnull=True
        ).order_by("starts_at", "pk")
    )
    by_session = _day_bookings(facility.pk, [s.pk for s in sessions], on) if sessions else {}
    rows = []
    total = []
    for s in sessions:
        s.room = room
        bookings = by_session.get(s.pk, [])
        total.extend(bookings)
        rows.append(SessionRow(session=s, bookings=bookings, counts=_count(bookings)))
    return {
        "facility": facility,
        "room": room,
        "on": on,
        "sessions": rows,
        "counts": _count(total),
        "printed_at": timezone.localtime(),
    }


def sheet_language(requested: str | None) -> str:
    """``ar`` or ``fr``: the one asked for, else the page's language, else Arabic."""
    if requested in SHEET_LANGUAGES:
        return requested
    current = (get_language() or "ar")[:2]
    return current if current in SHEET_LANGUAGES else "ar"


def daily_sheet_pdf(*, sheet: dict, language: str) -> tuple[bytes, str]:
    """The daily sheet as PDF bytes in ``language`` (``ar`` right to left, or ``fr``), with
    its file name."""
    data = pdf.render_pdf(SHEET_TEMPLATE, sheet, language=language)
    room = sheet["room"]
    name = f"visits-{sheet['facility'].code}-{sheet['on'].isoformat()}-{room.uuid.hex[:8]}"
    return data, f"{name}-{language}.pdf"
