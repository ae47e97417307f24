"""A restriction added on a visitor cancels or flags the future bookings it concerns; a day
without visits cancels its sessions and their bookings (``services.changes``, reached through
``services.lists.restriction_add`` and ``services.sessions.excluded_date_add``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone, translation

from idmaj.core.models import AuditEntry, Notification

from ..constants import BookingStatus, CancelReason, RestrictionKind, VisitMode
from ..models import VisitorRestriction, VisitSession
from ..services import excluded_date_add, restriction_add, visits_on_restriction_added
from . import changes_fixtures as fx
from .factories import FamilyAccountFactory, approve_on_list, session_at


def _restrict(vs, kind, *, visitor=None, child=None, starts_on=None, ends_on=None):
    return restriction_add(
        actor=vs.officer,
        visitor=visitor or vs.adult,
        kind=kind,
        reason="Objet interdit découvert à la fouille",
        starts_on=starts_on or timezone.localdate(),
        ends_on=ends_on,
        child=child,
    )


def _second_adult(vs):
    account = FamilyAccountFactory(first_name="Omar")
    adult, _ = approve_on_list(account, vs.custody, relationship="brother")
    return adult


def test_ban_cancels_a_booking_where_the_visitor_is_the_only_adult(vs):
    booking = fx.book(vs, vs.sessions[0])
    past = fx.past_booking(vs)
    Notification.objects.all().delete()
    _restrict(vs, RestrictionKind.BANNED)
    booking = fx.fresh(booking)
    assert (booking.status, booking.cancel_reason) == (BookingStatus.CANCELLED, CancelReason.BANNED)
    assert fx.counters(vs.sessions[0]) == (0, 0)
    assert fx.allowance_used(vs, vs.sessions[0].date) == 0
    assert fx.fresh(past).status == BookingStatus.COMPLETED
    assert "booking_cancelled" in {n.template for n in fx.sms()}


def test_ban_flags_a_booking_with_another_adult(vs):
    other = _second_adult(vs)
    booking = fx.book(vs, vs.sessions[0], [vs.adult, other, vs.child], actor=vs.officer)
    with translation.override("fr"):
        _restrict(vs, RestrictionKind.BANNED)
        expected = translation.gettext("%(name)s is banned from visiting.") % {
            "name": vs.adult.full_name
        }
    booking = fx.fresh(booking)
    assert booking.status == BookingStatus.FLAGGED
    assert booking.flag_reason == expected
    assert fx.counters(vs.sessions[0]) == (1, 3)  # keeps its place until the officer decides


def test_only_bookings_within_the_restriction_dates(vs):
    inside = fx.book(vs, vs.sessions[0])
    outside = fx.book(vs, vs.sessions[3])
    _restrict(
        vs, RestrictionKind.BANNED, starts_on=vs.sessions[0].date, ends_on=vs.sessions[0].date
    )
    assert fx.fresh(inside).status == BookingStatus.CANCELLED
    assert fx.fresh(outside).status == BookingStatus.BOOKED
    later = fx.book(vs, vs.sessions[1])
    _restrict(vs, RestrictionKind.CLOSED_ONLY, starts_on=vs.sessions[3].date)
    assert fx.fresh(outside).status == BookingStatus.FLAGGED
    assert fx.fresh(later).status == BookingStatus.BOOKED


def test_closed_only_flags_bookings_in_other_sessions(vs):
    closed = session_at(
        vs.room, vs.sessions[3].date, start=dt.time(14), end=dt.time(15), mode=VisitMode.CLOSED
    )
    open_booking = fx.book(vs, vs.sessions[0])
    closed_booking = fx.book(vs, closed)
    _restrict(vs, RestrictionKind.CLOSED_ONLY)
    assert fx.fresh(open_booking).status == BookingStatus.FLAGGED
    assert fx.fresh(closed_booking).status == BookingStatus.BOOKED
    assert "booking_flagged" in {n.template for n in fx.sms()}


def test_not_with_child_flags_bookings_naming_both(vs):
    both = fx.book(vs, vs.sessions[0])
    alone = fx.book(vs, vs.sessions[3], [vs.adult])
    _restrict(vs, RestrictionKind.NOT_WITH_CHILD, child=vs.child)
    assert fx.fresh(both).status == BookingStatus.FLAGGED
    assert fx.fresh(alone).status == BookingStatus.BOOKED


def test_restriction_on_a_visitor_without_bookings_changes_no_booking(vs):
    other = _second_adult(vs)
    booking = fx.book(vs, vs.sessions[0])
    _restrict(vs, RestrictionKind.BANNED, visitor=other)
    assert fx.fresh(booking).status == BookingStatus.BOOKED
    assert not AuditEntry.objects.filter(verb__in=["booking_cancel", "booking_flag"]).exists()


def test_a_lifted_restriction_does_nothing(vs):
    booking = fx.book(vs, vs.sessions[0])
    restriction = VisitorRestriction.objects.create(
        visitor=vs.adult,
        facility_id=vs.facility.pk,
        kind=RestrictionKind.BANNED,
        reason="x",
        starts_on=timezone.localdate(),
        lifted_at=timezone.now(),
    )
    before = fx.state(vs)
    assert visits_on_restriction_added(restriction=restriction, actor=vs.officer) == {
        "cancelled": [],
        "flagged": [],
    }
    assert fx.state(vs) == before
    assert fx.fresh(booking).status == BookingStatus.BOOKED


# -- days without visits ---------------------------------------------------------------------
def test_excluded_date_cancels_sessions_and_bookings(vs, django_capture_on_commit_callbacks):
    booking = fx.book(vs, vs.sessions[0])
    kept = fx.book(vs, vs.sessions[3])
    Notification.objects.all().delete()
    day = vs.sessions[0].date
    with django_capture_on_commit_callbacks(execute=True):
        excluded = excluded_date_add(
            actor=vs.officer, facility=vs.facility, starts_on=day, reason="Aïd al-Adha"
        )
    session = fx.fresh(vs.sessions[0])
    assert session.cancelled_at is not None and session.cancel_reason == "Aïd al-Adha"
    booking = fx.fresh(booking)
    assert (booking.status, booking.cancel_reason) == (
        BookingStatus.CANCELLED,
        CancelReason.EXCLUDED_DATE,
    )
    assert fx.counters(session) == (0, 0)
    assert fx.fresh(kept).status == BookingStatus.BOOKED
    assert fx.fresh(vs.sessions[3]).cancelled_at is None
    assert [n.template for n in fx.sms()] == ["booking_cancelled"]
    entry = AuditEntry.objects.get(verb="session_cancel_excluded_date")
    assert entry.chain == vs.facility.pk
    assert entry.after["excluded_date_uuid"] == str(excluded.uuid)
    assert entry.after["bookings_cancelled"] == [booking.code]


def test_excluded_date_elsewhere_or_past_sessions_untouched(vs):
    booking = fx.book(vs, vs.sessions[0])
    past = fx.past_booking(vs, days_ago=1)
    excluded_date_add(
        actor=vs.other_officer,
        facility=vs.other_facility,
        starts_on=vs.sessions[0].date,
        reason="Travaux",
    )
    assert fx.fresh(booking).status == BookingStatus.BOOKED
    assert fx.fresh(vs.sessions[0]).cancelled_at is None
    from ..models import ExcludedDate
    from ..services import visits_on_excluded_date

    yesterday = ExcludedDate.objects.create(
        facility=vs.facility,
        starts_on=past.session.date,
        ends_on=past.session.date,
        reason="Grève",
    )
    assert visits_on_excluded_date(excluded=yesterday, actor=vs.officer) == {
        "sessions": [],
        "cancelled": [],
    }
    assert fx.fresh(past).status == BookingStatus.COMPLETED
    assert VisitSession.objects.get(pk=past.session_id).cancelled_at is None
