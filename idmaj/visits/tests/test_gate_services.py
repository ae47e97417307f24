"""The gate's services: code lookup, identity check, arrival, start, end, no-show,
walk-ins. Bookings are made directly in the tables (``gate_fixtures.make_booking``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry

from .. import services
from ..constants import BookingChannel, BookingStatus
from ..models import Booking, BookingVisitor, VisitPolicy, VisitSession
from ..services import gate as gate_services
from .factories import session_at
from .gate_fixtures import (
    audit_count,
    booking_state,
    make_booking,
    other_booking,
    today_session,
    user_with,
)


@pytest.fixture
def today(vs):
    return today_session(vs)


@pytest.fixture
def booking(vs, today):
    return make_booking(vs, today, code="7K0Q1ZX01A")


# -- code lookup -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    ["7K0Q1ZX01A", "7k0q1zx01a", " 7K0Q-1ZX0-1A ", "7KOQIZXOLA", "7koq lzx o1a", "7K0Q–1ZX0–1A"],
)
def test_lookup_reads_confusables_spaces_and_dashes(vs, booking, typed):
    found = services.booking_find_by_code(actor=vs.officer, code=typed)
    assert found.pk == booking.pk
    entry = AuditEntry.objects.filter(verb="visit_gate_lookup").get()
    assert entry.object_id == str(booking.uuid) and entry.facility_id == vs.facility.pk


def test_normalise_booking_code():
    assert gate_services.normalise_booking_code(" ab-cd ef_o1il ") == "ABCDEF0111"
    assert gate_services.normalise_booking_code("") == ""


def test_unknown_and_foreign_codes_answer_alike_and_write_nothing(vs, booking):
    foreign = other_booking(vs, code="9Z9Z9Z9Z9Z")
    before = audit_count()
    errors = []
    for actor, code in [
        (vs.officer, "9Z9Z9Z9Z9Z"),  # the other institution's booking
        (vs.other_officer, booking.code),  # ours, asked by the other institution
        (vs.officer, "0000000000"),  # nobody's
        (vs.officer, "x" * 40),
    ]:
        with pytest.raises(DomainError) as exc:
            services.booking_find_by_code(actor=actor, code=code)
        errors.append((exc.value.code, str(exc.value.message), exc.value.status))
    assert len(set(errors)) == 1
    assert errors[0][0] == "not_found" and errors[0][2] == 404
    assert audit_count() == before
    assert booking_state(foreign)[0] == BookingStatus.BOOKED


def test_lookup_needs_manage_not_only_view(vs, booking):
    auditor = user_with("auditor")  # visits.view nationally, no visits.manage
    with pytest.raises(DomainError) as exc:
        services.booking_find_by_code(actor=auditor, code=booking.code)
    assert exc.value.code == "not_found"


# -- identity --------------------------------------------------------------------------------
def test_identity_check_matches_an_adult(vs, booking):
    typed = f" {vs.adult.cin.lower()[:2]}-{vs.adult.cin[2:]} "
    bv = services.visitor_identity_check(actor=vs.officer, booking=booking, cin=typed)
    assert bv.visitor == vs.adult and bv.checked_at is not None
    rows = BookingVisitor.objects.filter(booking=booking)
    assert rows.get(visitor=vs.adult).checked_at is not None
    assert rows.get(visitor=vs.child).checked_at is None
    entry = AuditEntry.objects.get(verb="visit_identity_checked")
    assert entry.after["visitor"] == str(vs.adult.uuid)


def test_identity_mismatch_is_refused_and_audited(vs, booking):
    before = booking_state(booking)
    with pytest.raises(DomainError) as exc:
        services.visitor_identity_check(actor=vs.officer, booking=booking, cin="ZZ999999")
    assert exc.value.code == "identity_mismatch" and exc.value.field == "cin"
    assert booking_state(booking) == before
    entry = AuditEntry.objects.get(verb="visit_identity_mismatch")
    assert entry.facility_id == vs.facility.pk and entry.object_id == str(booking.uuid)
    # the CIN typed is kept masked in the trail
    assert entry.after["cin_given"] == "*****999"


def test_identity_of_a_child_on_the_booking_does_not_count(vs, today):
    vs.child.cin = "CH123456"
    vs.child.save(update_fields=["cin"])
    booking = make_booking(vs, today)
    with pytest.raises(DomainError) as exc:
        services.visitor_identity_check(actor=vs.officer, booking=booking, cin="CH123456")
    assert exc.value.code == "identity_mismatch"


def test_identity_check_by_another_institution_is_denied(vs, booking):
    before, entries = booking_state(booking), audit_count()
    with pytest.raises(PermissionDenied):
        services.visitor_identity_check(actor=vs.other_officer, booking=booking, cin=vs.adult.cin)
    assert booking_state(booking) == before and audit_count() == entries


def test_identity_check_not_on_another_day(vs):
    booking = make_booking(vs, vs.sessions[0])
    with pytest.raises(DomainError) as exc:
        services.visitor_identity_check(actor=vs.officer, booking=booking, cin=vs.adult.cin)
    assert exc.value.code == "not_today"
    assert booking_state(booking)[4] == (None, None)


# -- arrival ---------------------------------------------------------------------------------
def test_arrival_needs_an_identity_checked(vs, booking):
    before = booking_state(booking)
    with pytest.raises(DomainError) as exc:
        services.booking_arrive(actor=vs.officer, booking=booking)
    assert exc.value.code == "identity_not_checked"
    assert booking_state(booking) == before


def test_arrival_on_the_day(vs, booking):
    services.visitor_identity_check(actor=vs.officer, booking=booking, cin=vs.adult.cin)
    done = services.booking_arrive(actor=vs.officer, booking=booking)
    assert done.status == BookingStatus.ARRIVED and done.arrived_at is not None
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.status == BookingStatus.ARRIVED
    entry = AuditEntry.objects.get(verb="visit_arrived")
    assert entry.before["status"] == "booked" and entry.after["status"] == "arrived"


def test_a_flagged_booking_may_arrive(vs, today):
    booking = make_booking(vs, today, status=BookingStatus.FLAGGED)
    services.visitor_identity_check(actor=vs.officer, booking=booking, cin=vs.adult.cin)
    assert services.booking_arrive(actor=vs.officer, booking=booking).status == "arrived"


@pytest.mark.parametrize("days", [3, -1])
def test_arrival_refused_before_and_after_the_day(vs, days):
    day = timezone.localdate() + dt.timedelta(days=days)
    session = vs.sessions[0] if days == 3 else session_at(vs.room, day)
    booking = make_booking(vs, session)
    # the identity was checked (as if on a previous attempt): only the day is refused
    BookingVisitor.objects.filter(booking=booking, visitor=vs.adult).update(
        checked_at=timezone.now()
    )
    before, entries = booking_state(booking), audit_count()
    with pytest.raises(DomainError) as exc:
        services.booking_arrive(actor=vs.officer, booking=booking)
    assert exc.value.code == "not_today"
    assert booking_state(booking) == before and audit_count() == entries


@pytest.mark.parametrize(
    "status", [BookingStatus.CANCELLED, BookingStatus.NO_SHOW, BookingStatus.COMPLETED]
)
def test_arrival_refused_unless_booked_or_flagged(vs, today, status):
    booking = make_booking(vs, today, status=status)
    BookingVisitor.objects.filter(booking=booking).update(checked_at=timezone.now())
    before = booking_state(booking)
    with pytest.raises(ConflictError) as exc:
        services.booking_arrive(actor=vs.officer, booking=booking)
    assert exc.value.code == "wrong_status"
    assert booking_state(booking) == before


def test_arrival_by_a_viewer_is_denied(vs, booking):
    BookingVisitor.objects.filter(booking=booking).update(checked_at=timezone.now())
    regional = user_with("regional_director", region=vs.facility.region)
    before = booking_state(booking)
    with pytest.raises(PermissionDenied):
        services.booking_arrive(actor=regional, booking=booking)
    assert booking_state(booking) == before


# -- start, end ------------------------------------------------------------------------------
def test_start_and_end(vs, booking):
    with pytest.raises(ConflictError):
        services.booking_start(actor=vs.officer, booking=booking)
    with pytest.raises(ConflictError):
        services.booking_end(actor=vs.officer, booking=booking)
    services.visitor_identity_check(actor=vs.officer, booking=booking, cin=vs.adult.cin)
    services.booking_arrive(actor=vs.officer, booking=booking)
    started = services.booking_start(actor=vs.officer, booking=booking)
    assert started.status == BookingStatus.IN_PROGRESS and started.started_at
    ended = services.booking_end(actor=vs.officer, booking=booking)
    assert ended.status == BookingStatus.COMPLETED and ended.ended_at
    assert list(
        AuditEntry.objects.filter(object_id=str(booking.uuid))
        .order_by("seq")
        .values_list("verb", flat=True)
    ) == ["visit_identity_checked", "visit_arrived", "visit_started", "visit_ended"]
    # the place stays taken: the visit took place
    session = VisitSession.objects.get(pk=booking.session_id)
    assert session.booked_visits == 1 and session.booked_visitors == 2


# -- no-show ---------------------------------------------------------------------------------
def test_no_show_before_the_start_is_refused(vs):
    booking = make_booking(vs, vs.sessions[0])
    before, entries = booking_state(booking), audit_count()
    with pytest.raises(DomainError) as exc:
        services.booking_no_show(actor=vs.officer, booking=booking)
    assert exc.value.code == "session_not_started"
    assert booking_state(booking) == before and audit_count() == entries


def test_no_show_later_in_the_day_is_refused_before_its_start(vs):
    now = timezone.localtime()
    later = now + dt.timedelta(hours=1)
    if later.date() != now.date():
        pytest.skip("less than an hour left today")
    session = session_at(
        vs.room, now.date(), start=later.time().replace(microsecond=0), end=dt.time(23, 59, 59)
    )
    booking = make_booking(vs, session)
    with pytest.raises(DomainError) as exc:
        services.booking_no_show(actor=vs.officer, booking=booking)
    assert exc.value.code == "session_not_started"
    assert booking_state(booking)[0] == BookingStatus.BOOKED


def test_no_show_after_the_start(vs, booking):
    done = services.booking_no_show(actor=vs.officer, booking=booking)
    assert done.status == BookingStatus.NO_SHOW
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.NO_SHOW
    assert AuditEntry.objects.filter(verb="visit_no_show").count() == 1
    session = VisitSession.objects.get(pk=booking.session_id)
    assert session.booked_visits == 1  # the place is not given back
    with pytest.raises(ConflictError):
        services.booking_no_show(actor=vs.officer, booking=booking)


# -- walk-ins --------------------------------------------------------------------------------
def test_walk_in_refused_where_not_allowed(vs, today, monkeypatch):
    VisitPolicy.objects.filter(pk=vs.facility.pk).update(walk_ins_allowed=False)
    called = []
    monkeypatch.setattr(
        services.bookings, "visit_book", lambda **kw: called.append(kw), raising=False
    )
    bookings, entries = Booking.objects.count(), audit_count()
    with pytest.raises(DomainError) as exc:
        services.walk_in_record(
            actor=vs.officer, session=today, custody=vs.custody, visitors=[vs.adult]
        )
    assert exc.value.code == "walk_ins_not_allowed"
    assert called == []
    assert Booking.objects.count() == bookings and audit_count() == entries


def test_walk_in_only_in_todays_sessions(vs, monkeypatch):
    monkeypatch.setattr(
        services.bookings, "visit_book", lambda **kw: pytest.fail("booked"), raising=False
    )
    with pytest.raises(DomainError) as exc:
        services.walk_in_record(
            actor=vs.officer, session=vs.sessions[0], custody=vs.custody, visitors=[vs.adult]
        )
    assert exc.value.code == "not_today"
    assert not Booking.objects.exists()


def test_walk_in_by_another_institution_is_denied(vs, today):
    with pytest.raises(PermissionDenied):
        services.walk_in_record(
            actor=vs.other_officer, session=today, custody=vs.custody, visitors=[vs.adult]
        )
    assert not Booking.objects.exists()


def test_walk_in_books_through_the_booking_service_then_arrives(vs, today, monkeypatch):
    """The booking itself is the booking service's (stood in for here): the gate asks for
    channel walk_in with the officer as actor, then records the arrival."""
    calls = []

    def fake_visit_book(**kw):
        calls.append(kw)
        return make_booking(vs, kw["session"], visitors=kw["visitors"], channel=kw["channel"])

    monkeypatch.setattr(services.bookings, "visit_book", fake_visit_book, raising=False)
    booking = services.walk_in_record(
        actor=vs.officer,
        session=today,
        custody=vs.custody,
        visitors=[vs.adult, vs.child],
        reason="Famille venue de loin",
    )
    (call,) = calls
    assert call["actor"] == vs.officer and call["channel"] == BookingChannel.WALK_IN
    assert call["detention"].pk == vs.custody.detention_id
    # the officer may not exceed capacity: the reason is only noted
    assert call["over_capacity_reason"] == ""
    assert call.get("account") is None
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.status == BookingStatus.ARRIVED and fresh.arrived_at is not None
    assert BookingVisitor.objects.get(booking=fresh, visitor=vs.adult).checked_at is not None
    assert BookingVisitor.objects.get(booking=fresh, visitor=vs.child).checked_at is None
    entry = AuditEntry.objects.get(verb="visit_arrived")
    assert entry.after["walk_in"] is True and entry.after["reason"] == "Famille venue de loin"


def test_walk_in_reason_exceeds_capacity_for_an_override_holder(vs, today, monkeypatch):
    calls = []

    def fake_visit_book(**kw):
        calls.append(kw)
        return make_booking(vs, kw["session"], visitors=kw["visitors"], channel=kw["channel"])

    monkeypatch.setattr(services.bookings, "visit_book", fake_visit_book, raising=False)
    services.walk_in_record(
        actor=vs.director, session=today, custody=vs.custody, visitors=[vs.adult], reason=" Deuil "
    )
    assert calls[0]["over_capacity_reason"] == "Deuil"


def test_walk_in_with_the_real_booking_service(vs, today):
    if not hasattr(services.bookings, "visit_book"):
        pytest.skip("services.bookings.visit_book is not there yet")
    booking = services.walk_in_record(
        actor=vs.officer, session=today, custody=vs.custody, visitors=[vs.adult]
    )
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.channel == BookingChannel.WALK_IN
    assert fresh.status == BookingStatus.ARRIVED
    assert fresh.booked_by == vs.officer
    assert (
        VisitSession.objects.get(pk=today.pk).booked_visits
        + VisitSession.objects.get(pk=today.pk).extra_visits
        == 1
    )
