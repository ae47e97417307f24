"""At the gate: finding a booking by its code, checking the visitors' identity, and the
visit's steps (arrival, start, end, no-show); walk-in visits.

Every service takes the staff ``actor`` and needs ``visits.manage`` at the booking's
institution. A booking code of an institution where the actor does not hold it answers
exactly like an unknown code (``not_found``, 404), and nothing is written. Each step is one
transaction with its audit entry on the institution's chain; a wrong identity card is audited
too (in its own transaction) before the refusal is raised.

The steps follow one another::

    booked / flagged --arrive--> arrived --start--> in_progress --end--> completed
    booked / flagged --no_show (after the session's start)--> no_show

The places taken in the session and the allowance of the week are not given back at the end
of a visit nor for a no-show: the visit took place, or the family did not come.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.core.scoping import access_for
from idmaj.inmates.models import CustodyPeriod, Detention

from ..constants import BookingChannel, BookingStatus
from ..models import Booking, BookingVisitor, Visitor, VisitPolicy, VisitSession
from ._common import clean_or_raise, require_perm

__all__ = [
    "GATE_PERMISSION",
    "normalise_booking_code",
    "normalise_cin",
    "booking_find_by_code",
    "visitor_identity_check",
    "booking_arrive",
    "booking_start",
    "booking_end",
    "booking_no_show",
    "walk_in_record",
]

GATE_PERMISSION = "visits.manage"
OVERRIDE = "visits.override"

# Crockford's base32 reads O as 0 and I, L as 1; spaces and dashes are only for reading.
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")
_ARRIVABLE = (BookingStatus.BOOKED, BookingStatus.FLAGGED)
_CHECKABLE = (
    BookingStatus.BOOKED,
    BookingStatus.FLAGGED,
    BookingStatus.ARRIVED,
    BookingStatus.IN_PROGRESS,
)
_STEP_FIELDS = ("status", "arrived_at", "started_at", "ended_at")


def normalise_booking_code(raw: str) -> str:
    """A booking code as typed or read out: upper case, without spaces or dashes, with the
    letters people confuse with digits (O, I, L) read as the digits."""
    return _SEPARATORS.sub("", (raw or "").strip().upper()).translate(_CONFUSABLES)


def normalise_cin(raw: str) -> str:
    """A CIN as typed: upper case, without spaces or dashes."""
    return _SEPARATORS.sub("", (raw or "").strip().upper())


def _masked(cin: str) -> str:
    """A CIN in the audit trail of a refusal: enough to recognise it, not all of it."""
    return ("*" * max(len(cin) - 3, 0)) + cin[-3:] if cin else ""


def _not_found() -> DomainError:
    return DomainError("not_found", _("No booking has this code here."), field="code", status=404)


def _gate_qs():
    return Booking.objects.select_related(
        "session__room", "facility", "custody__person", "detention"
    )


def booking_find_by_code(*, actor, code: str) -> Booking:
    """The booking with this code at an institution where ``actor`` holds ``visits.manage``.

    The code is normalised (``normalise_booking_code``). Unknown, malformed and "another
    institution's" codes all raise the same ``DomainError("not_found")`` (HTTP 404) and
    write nothing; a booking found is noted in the audit trail (who opened it at the gate).
    """
    key = normalise_booking_code(code)
    if not key or len(key) > Booking._meta.get_field("code").max_length:
        raise _not_found()
    qs = _gate_qs().filter(code=key)
    if actor is not None:
        ids = access_for(actor).perm_facility_ids(GATE_PERMISSION)
        if ids is not None:
            qs = qs.filter(facility_id__in=ids)
    booking = qs.first()
    if booking is None:
        raise _not_found()
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditEntry.Action.READ,
            obj=booking,
            facility_id=booking.facility_id,
            verb="visit_gate_lookup",
            after={"code": booking.code, "status": booking.status},
        )
    return booking


def _lock(booking: Booking) -> Booking:
    """The booking locked for the change, with its session (``select_for_update`` over the
    joined rows locks the session's row too on PostgreSQL; harmless: one visit at a time)."""
    return (
        Booking.objects.select_for_update(of=("self",)).select_related("session").get(pk=booking.pk)
    )


def _same_day(session: VisitSession, at: datetime) -> bool:
    return timezone.localtime(at).date() == session.date


def _refresh(target: Booking, source: Booking) -> Booking:
    """Copy the step fields of the saved row onto the caller's object (they may hold it)."""
    for name in (*_STEP_FIELDS, "cancelled_at"):
        setattr(target, name, getattr(source, name))
    return target


def _step(
    booking: Booking,
    *,
    actor,
    allowed: tuple,
    status: str,
    stamp: str,
    at: datetime,
    verb: str,
    check=None,
) -> Booking:
    """One step of the visit: checks, status and its moment, audit; one transaction."""
    require_perm(actor, GATE_PERMISSION, booking.facility_id)
    with transaction.atomic():
        locked = _lock(booking)
        if locked.status not in allowed:
            raise ConflictError(
                "wrong_status",
                _("Not possible for a booking that is “%(status)s”.")
                % {"status": locked.get_status_display()},
            )
        if locked.session.cancelled_at is not None:
            raise ConflictError("session_cancelled", _("This session was cancelled."))
        if check is not None:
            check(locked)
        before = audit.snapshot(locked, _STEP_FIELDS)
        locked.status = status
        setattr(locked, stamp, at)
        clean_or_raise(locked)
        locked.save(update_fields=["status", stamp])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb=verb,
            before=before,
            after={**audit.snapshot(locked, _STEP_FIELDS), "code": locked.code},
        )
    return _refresh(booking, locked)


def visitor_identity_check(*, actor, booking: Booking, cin: str) -> BookingVisitor:
    """Check the identity card shown at the gate against the adults named on the booking.

    A match sets ``checked_at`` of that visitor on the booking (again if already checked);
    a mismatch is audited, then refused with ``identity_mismatch``. Only on the session's
    day, for a booking still running (booked, flagged, arrived or in progress).
    """
    require_perm(actor, GATE_PERMISSION, booking.facility_id)
    given = normalise_cin(cin)
    if not given:
        raise DomainError("invalid", _("Type the number of the identity card."), field="cin")
    now = timezone.now()
    matched: BookingVisitor | None = None
    with transaction.atomic():
        locked = _lock(booking)
        if locked.status not in _CHECKABLE:
            raise ConflictError(
                "wrong_status",
                _("Not possible for a booking that is “%(status)s”.")
                % {"status": locked.get_status_display()},
            )
        if not _same_day(locked.session, now):
            raise DomainError("not_today", _("This visit is not today."))
        adults = list(
            BookingVisitor.objects.filter(booking_id=locked.pk, is_child=False)
            .select_related("visitor")
            .order_by("pk")
        )
        for bv in adults:
            if bv.visitor.cin and normalise_cin(bv.visitor.cin) == given:
                matched = bv
                break
        if matched is None:
            audit.record(
                actor=actor,
                action=AuditEntry.Action.ACTION,
                obj=locked,
                facility_id=locked.facility_id,
                verb="visit_identity_mismatch",
                after={"code": locked.code, "cin_given": _masked(given)},
            )
        else:
            matched.checked_at = now
            matched.save(update_fields=["checked_at"])
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=locked,
                facility_id=locked.facility_id,
                verb="visit_identity_checked",
                after={
                    "code": locked.code,
                    "visitor": str(matched.visitor.uuid),
                    "checked_at": now,
                },
            )
    if matched is None:
        raise DomainError(
            "identity_mismatch",
            _("This identity card is not that of an adult visitor named on the booking."),
            field="cin",
        )
    return matched


def booking_arrive(*, actor, booking: Booking, at: datetime | None = None) -> Booking:
    """The visitors have arrived: on the session's day only, for a booked (or flagged)
    booking, once at least one adult's identity card has been checked."""
    at = at or timezone.now()

    def check(locked: Booking) -> None:
        if not _same_day(locked.session, at):
            raise DomainError("not_today", _("This visit is not today."))
        checked = BookingVisitor.objects.filter(
            booking_id=locked.pk, is_child=False, checked_at__isnull=False
        ).exists()
        if not checked:
            raise DomainError(
                "identity_not_checked",
                _("Check the identity card of at least one adult visitor first."),
                field="cin",
            )

    return _step(
        booking,
        actor=actor,
        allowed=_ARRIVABLE,
        status=BookingStatus.ARRIVED,
        stamp="arrived_at",
        at=at,
        verb="visit_arrived",
        check=check,
    )


def booking_start(*, actor, booking: Booking, at: datetime | None = None) -> Booking:
    """The visit begins (the visitors are in the room)."""
    at = at or timezone.now()

    def check(locked: Booking) -> None:
        if not _same_day(locked.session, at):
            raise DomainError("not_today", _("This visit is not today."))

    return _step(
        booking,
        actor=actor,
        allowed=(BookingStatus.ARRIVED,),
        status=BookingStatus.IN_PROGRESS,
        stamp="started_at",
        at=at,
        verb="visit_started",
        check=check,
    )


def booking_end(*, actor, booking: Booking, at: datetime | None = None) -> Booking:
    """The visit is over."""
    return _step(
        booking,
        actor=actor,
        allowed=(BookingStatus.IN_PROGRESS,),
        status=BookingStatus.COMPLETED,
        stamp="ended_at",
        at=at or timezone.now(),
        verb="visit_ended",
    )


def booking_no_show(*, actor, booking: Booking) -> Booking:
    """Nobody came: possible once the session has started, for a booked (or flagged) one.
    The place and the allowance stay used (the family did not cancel)."""
    now = timezone.now()

    def check(locked: Booking) -> None:
        if now < locked.session.starts_at:
            raise DomainError(
                "session_not_started", _("A no-show can be recorded once the session has begun.")
            )

    return _step(
        booking,
        actor=actor,
        allowed=_ARRIVABLE,
        status=BookingStatus.NO_SHOW,
        stamp="ended_at",
        at=now,
        verb="visit_no_show",
        check=check,
    )


def _policy(facility_id: int) -> VisitPolicy:
    """The institution's rules (the model's defaults while none are saved)."""
    return VisitPolicy.objects.filter(facility_id=facility_id).first() or VisitPolicy(
        facility_id=facility_id
    )


def walk_in_record(
    *,
    actor,
    session: VisitSession,
    detention: Detention | None = None,
    custody: CustodyPeriod | None = None,
    visitors: list[Visitor],
    reason: str = "",
) -> Booking:
    """A visit without booking, recorded at the gate where the institution allows them
    (``policy.walk_ins_allowed``), in one of today's sessions.

    The booking is made by ``services.bookings.visit_book`` (channel ``walk_in``: every rule
    of a staff booking applies), then marked arrived. ``reason`` (why the visit was not
    booked) goes into the audit entry; for a holder of ``visits.override`` it is also the
    reason to exceed a full session's capacity. The officer records a walk-in with the
    visitors and their identity cards in front of them: the adults' identity counts as
    checked.
    """
    from . import bookings  # noqa: PLC0415  (written by another module; imported late)

    require_perm(actor, GATE_PERMISSION, session.facility_id)
    if detention is None and custody is None:
        raise DomainError("invalid", _("Choose the prisoner."), field="custody")
    if detention is None:
        detention = custody.detention
    if not _policy(session.facility_id).walk_ins_allowed:
        raise DomainError(
            "walk_ins_not_allowed", _("This institution does not take visits without booking.")
        )
    now = timezone.now()
    if session.date != timezone.localdate(now):
        raise DomainError("not_today", _("A visit without booking is for one of today's sessions."))
    if not visitors:
        raise DomainError("invalid", _("Choose the visitors."), field="visitors")
    reason = (reason or "").strip()
    may_exceed = actor is None or access_for(actor).has_perm(OVERRIDE, session.facility_id)
    with transaction.atomic():
        booking = bookings.visit_book(
            session=session,
            detention=detention,
            visitors=list(visitors),
            actor=actor,
            channel=BookingChannel.WALK_IN,
            over_capacity_reason=reason if may_exceed else "",
        )
        BookingVisitor.objects.filter(booking_id=booking.pk, is_child=False).update(checked_at=now)
        before = audit.snapshot(booking, _STEP_FIELDS)
        Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.ARRIVED, arrived_at=now)
        booking.status = BookingStatus.ARRIVED
        booking.arrived_at = now
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=booking,
            facility_id=booking.facility_id,
            verb="visit_arrived",
            before=before,
            after={
                **audit.snapshot(booking, _STEP_FIELDS),
                "code": booking.code,
                "walk_in": True,
                "reason": reason,
            },
        )
    return booking
