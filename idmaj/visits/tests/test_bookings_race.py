"""Booking under racing clients: many families press "book" for the last places of one
session at the same moment, several members of one family book the same prisoner with an
allowance of one, the same prisoner twice in one session, and cancels racing bookings.
Real concurrent clients: threads, each with its own database connection (file database on
SQLite, the test database on PostgreSQL). Run on both."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db.models import Sum

from idmaj.core.errors import ConflictError
from idmaj.core.models import AuditEntry, Notification
from idmaj.inmates.tests.factories import CustodyPeriodFactory
from idmaj.visits import services
from idmaj.visits.constants import ACTIVE_BOOKING, BookingStatus
from idmaj.visits.models import AllowanceCounter, Booking, BookingVisitor, VisitSession

from .bookings_fixtures import born_years_ago, other_family, run_threads
from .factories import FamilyAccountFactory, approve_on_list, session_at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def assert_counters_match():
    """Every session's counters equal what its live bookings hold, within capacity."""
    for s in VisitSession.objects.all():
        live = Booking.objects.filter(session=s, status__in=ACTIVE_BOOKING)
        normal = live.filter(over_capacity=False)
        assert s.booked_visits == normal.count() <= s.capacity_visits
        assert (s.booked_visitors or 0) == (normal.aggregate(n=Sum("adults"))["n"] or 0) + (
            normal.aggregate(n=Sum("children"))["n"] or 0
        )
        assert s.booked_visitors <= s.capacity_visitors
    for c in AllowanceCounter.objects.all():
        assert c.used <= c.allowance
        assert (
            c.used
            == Booking.objects.filter(
                detention_id=c.detention_id, week_start=c.week_start, status__in=ACTIVE_BOOKING
            ).count()
        )


def families_of_prisoners(vs, n):
    """``n`` prisoners of the institution, each with one approved family."""
    out = []
    for _ in range(n):
        custody = CustodyPeriodFactory(facility=vs.facility)
        account = FamilyAccountFactory()
        adult, _kids = approve_on_list(account, custody)
        out.append((custody, account, adult))
    return out


def test_last_places_of_one_session(vs):
    """Sixteen families race for a session with three places left: three bookings."""
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(capacity_visits=3, capacity_visitors=30)
    people = families_of_prisoners(vs, 16)

    def press_book(i):
        custody, account, adult = people[i]
        return services.visit_book(
            session=s, detention=custody.detention, visitors=[adult], account=account
        ).pk

    results, errors = run_threads(16, press_book)
    assert len(results) == 3, errors
    assert len(errors) == 13
    assert all(isinstance(e, ConflictError) and e.code == "session_full" for e in errors), errors
    s.refresh_from_db()
    assert s.booked_visits == 3 == Booking.objects.filter(session=s).count()
    assert s.booked_visitors == 3 == BookingVisitor.objects.count()
    assert AuditEntry.objects.filter(verb="visit_book").count() == 3
    assert Notification.objects.filter(template="booking_confirmed").count() == 3
    assert_counters_match()


def test_last_seats_of_one_session(vs):
    """Seats run out before places: families of two race for five seats: two bookings."""
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(capacity_visits=10, capacity_visitors=5)
    people = []
    for custody, _account, _adult in families_of_prisoners(vs, 8):
        _a, kids = approve_on_list(
            FamilyAccountFactory(), custody, children=[("Walid", born_years_ago(7))]
        )
        people.append((custody, _a, kids[0]))

    def press_book(i):
        custody, adult, kid = people[i]
        return services.visit_book(
            session=s, detention=custody.detention, visitors=[adult, kid], account=adult.account
        ).pk

    results, errors = run_threads(8, press_book)
    assert len(results) == 2, errors
    assert all(e.code == "session_full" for e in errors), errors
    s.refresh_from_db()
    assert (s.booked_visits, s.booked_visitors) == (2, 4)
    assert_counters_match()


def test_allowance_of_one_raced_by_one_family(vs):
    """Six members of one family book the same prisoner in six sessions of one week with an
    allowance of one visit: one booking."""
    vs.policy.weekly_visits_remand = 1
    vs.policy.save()
    first = vs.sessions[0]
    sessions = [first] + [
        session_at(vs.room, first.date, start=dt.time(12 + h, 0), end=dt.time(12 + h, 45))
        for h in range(5)
    ]
    members = [(vs.account, vs.adult)] + [other_family(vs)[:2] for _ in range(5)]

    def press_book(i):
        account, adult = members[i]
        return services.visit_book(
            session=sessions[i], detention=vs.custody.detention, visitors=[adult], account=account
        ).pk

    results, errors = run_threads(6, press_book)
    assert len(results) == 1, errors
    assert all(e.code == "allowance_used" for e in errors), errors
    counter = AllowanceCounter.objects.get(detention=vs.custody.detention)
    assert (counter.used, counter.allowance) == (1, 1)
    assert sum(VisitSession.objects.values_list("booked_visits", flat=True)) == 1
    assert Booking.objects.count() == 1
    assert_counters_match()


def test_same_prisoner_same_session_once(vs):
    """Six family members book the same prisoner in the same session at once: one booking,
    the others ``duplicate`` (or the allowance, when it ran out first); nothing leaks."""
    vs.policy.weekly_visits_remand = 10
    vs.policy.save()
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(capacity_visits=20, capacity_visitors=40)
    members = [(vs.account, vs.adult)] + [other_family(vs)[:2] for _ in range(5)]

    def press_book(i):
        account, adult = members[i]
        return services.visit_book(
            session=s, detention=vs.custody.detention, visitors=[adult], account=account
        ).pk

    results, errors = run_threads(6, press_book)
    assert len(results) == 1, errors
    assert all(e.code == "duplicate" for e in errors), errors
    s.refresh_from_db()
    assert s.booked_visits == 1 and AllowanceCounter.objects.get().used == 1
    assert_counters_match()


def test_cancels_and_books_race_for_freed_places(vs):
    """Two bookings are cancelled while eight families race for the session: never more
    bookings than places, counters equal to the live bookings."""
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(capacity_visits=2, capacity_visitors=10)
    holders = families_of_prisoners(vs, 2)
    held = [
        services.visit_book(session=s, detention=c.detention, visitors=[a], account=acc)
        for c, acc, a in holders
    ]
    racers = families_of_prisoners(vs, 8)

    def act(i):
        if i < 2:
            return services.booking_cancel(booking=held[i], account=holders[i][1], reason="").pk
        custody, account, adult = racers[i - 2]
        return services.visit_book(
            session=s, detention=custody.detention, visitors=[adult], account=account
        ).pk

    results, errors = run_threads(10, act)
    assert all(e.code == "session_full" for e in errors), errors
    live = Booking.objects.filter(session=s, status=BookingStatus.BOOKED).count()
    assert live <= 2
    assert Booking.objects.filter(status=BookingStatus.CANCELLED).count() == 2
    assert len(results) == 2 + live
    assert_counters_match()
