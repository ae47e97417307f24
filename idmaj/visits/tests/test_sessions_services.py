"""Visit configuration services: rules (validation, installations register), rooms, weekly
sessions, days without visits, pauses, generation of dated sessions, cancel and capacity;
scoping (another institution's officer: refused, nothing changed)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.facilities.models import Installation, InstallationType

from ..constants import BookingStatus, CancelReason, RegimeFilter, RoomKind, VisitMode
from ..models import ExcludedDate, SessionTemplate, VisitPolicy, VisitRoom, VisitSession
from ..services import sessions as svc
from ..services.bookings import visit_book
from ..tests.factories import VisitRoomFactory, session_at
from .sessions_fixtures import next_weekday, other_wing, state, today


def _template(vs, **kw):
    values = {
        "actor": vs.officer,
        "facility": vs.facility,
        "room": vs.room,
        "weekday": 2,
        "start_time": dt.time(14),
        "end_time": dt.time(16),
        "capacity_visits": 2,
        "capacity_visitors": 5,
    }
    values.update(kw)
    return svc.template_create(**values)


# -- rules -------------------------------------------------------------------------------------
def test_policy_for_creates_default_once(vs):
    other = vs.other_facility
    assert not VisitPolicy.objects.filter(facility=other).exists()
    policy = svc.policy_for(other)
    assert policy.online_booking is False and policy.book_from_days == 28
    assert svc.policy_for(other).pk == policy.pk
    assert VisitPolicy.objects.filter(facility=other).count() == 1


def test_policy_update_and_audit(vs):
    before = AuditEntry.objects.count()
    policy = svc.policy_update(
        actor=vs.officer, facility=vs.facility, book_from_days=14, rules_fr="Pièce d'identité"
    )
    policy.refresh_from_db()
    assert policy.book_from_days == 14 and policy.rules_fr == "Pièce d'identité"
    entry = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.chain == vs.facility.pk and entry.verb == "visit_policy_update"
    assert entry.before == {"book_from_days": 28, "rules_fr": ""}
    assert entry.actor_id == vs.officer.pk
    # nothing changed: no entry
    svc.policy_update(actor=vs.officer, facility=vs.facility, book_from_days=14)
    assert AuditEntry.objects.count() == before + 1


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"book_from_days": 1, "book_until_days": 3}, "invalid_window", "book_from_days"),
        ({"book_from_days": 200}, "invalid_window", "book_from_days"),
        ({"max_adults": 0}, "invalid", "max_adults"),
        ({"adult_age": 30}, "invalid", "adult_age"),
        ({"weekly_visits_convicted": 20}, "invalid", "weekly_visits_convicted"),
        ({"updated_at": None}, "unknown_field", "updated_at"),
    ],
)
def test_policy_validation_changes_nothing(vs, fields, code, field):
    snap = state(vs.facility)
    with pytest.raises(DomainError) as err:
        svc.policy_update(actor=vs.officer, facility=vs.facility, **fields)
    assert err.value.code == code and err.value.field == field
    assert state(vs.facility) == snap


def test_policy_other_institution_refused(vs):
    snap = state(vs.facility)
    with pytest.raises(PermissionDenied):
        svc.policy_update(actor=vs.other_officer, facility=vs.facility, book_from_days=10)
    assert state(vs.facility) == snap


def test_online_booking_switch_in_installations_register(vs):
    facility = vs.other_facility
    d0 = today()
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=True, today=d0)
    itype = InstallationType.objects.get(code=svc.ONLINE_BOOKING_INSTALLATION)
    assert itype.name_ar and itype.name_fr
    entry = Installation.objects.get(facility=facility, type=itype)
    assert entry.installed_on == d0 and entry.removed_on is None
    # switched off five days later: removed that day
    d5 = d0 + dt.timedelta(days=5)
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=False, today=d5)
    entry.refresh_from_db()
    assert entry.removed_on == d5
    # on again: a new entry from that day
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=True, today=d5)
    entries = list(Installation.objects.filter(facility=facility, type=itype).order_by("pk"))
    assert len(entries) == 2 and entries[1].installed_on == d5 and entries[1].removed_on is None
    # the register's own audit entries sit on the institution's chain too
    assert (
        AuditEntry.objects.filter(chain=facility.pk, object_type="facilities.installation").count()
        == 3
    )


def test_online_booking_off_same_day_keeps_one_day(vs):
    facility = vs.other_facility
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=True)
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=False)
    entry = Installation.objects.get(facility=facility)
    assert entry.removed_on == entry.installed_on + dt.timedelta(days=1)
    # and on again the same day: from the day after the removal (no overlap)
    svc.policy_update(actor=vs.other_officer, facility=facility, online_booking=True)
    assert (
        Installation.objects.filter(facility=facility, removed_on__isnull=True).get().installed_on
        == entry.removed_on
    )


def test_online_booking_already_in_register(vs):
    """Switching on where the register already has a live entry adds nothing."""
    facility = vs.other_facility
    svc.policy_update(actor=None, facility=facility, online_booking=True)
    svc.policy_update(
        actor=None, facility=facility, online_booking=False, today=today() + dt.timedelta(days=3)
    )
    VisitPolicy.objects.filter(facility=facility).update(online_booking=False)
    count = Installation.objects.count()
    Installation.objects.filter(facility=facility).update(removed_on=None)
    svc.policy_update(actor=None, facility=facility, online_booking=True)
    assert Installation.objects.count() == count


# -- rooms -------------------------------------------------------------------------------------
def test_room_create_update_and_rules(vs):
    room = svc.room_create(
        actor=vs.officer,
        facility=vs.facility,
        name=" Box ",
        kind=RoomKind.CLOSED_BOOTHS,
        places=4,
        seats=8,
    )
    assert room.name == "Box" and room.facility == vs.facility
    with pytest.raises(DomainError) as err:
        svc.room_create(actor=vs.officer, facility=vs.facility, name="Box", places=1, seats=2)
    assert err.value.code == "duplicate"
    with pytest.raises(DomainError) as err:
        svc.room_create(actor=vs.officer, facility=vs.facility, name="X", places=3, seats=2)
    assert err.value.field == "seats"
    svc.room_update(actor=vs.officer, room=room, seats=10, in_service=False)
    room.refresh_from_db()
    assert room.seats == 10 and not room.in_service
    # the scenario's weekly session takes 2 visits / 6 visitors in Parloir A
    snap = state(vs.facility)
    with pytest.raises(ConflictError) as err:
        svc.room_update(actor=vs.officer, room=vs.room, places=1)
    assert err.value.code == "room_too_small"
    assert state(vs.facility) == snap
    with pytest.raises(PermissionDenied):
        svc.room_update(actor=vs.other_officer, room=vs.room, name="Other")
    assert state(vs.facility) == snap


# -- weekly sessions ---------------------------------------------------------------------------
def test_template_create_with_wings(vs):
    t = _template(vs, wings=[vs.wing], regime=RegimeFilter.REMAND)
    assert list(t.wings.all()) == [vs.wing]
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry.verb == "session_template_create" and entry.after["wings"] == [str(vs.wing.uuid)]


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        ({"capacity_visits": 3}, "over_room_capacity", "capacity_visits"),
        ({"capacity_visitors": 7}, "over_room_capacity", "capacity_visitors"),
        ({"capacity_visits": 2, "capacity_visitors": 1}, "over_room_capacity", "capacity_visitors"),
        ({"end_time": dt.time(13)}, "invalid", "end_time"),
        ({"mode": VisitMode.FAMILY}, "wrong_mode", "mode"),
        (
            {"weekday": 0, "start_time": dt.time(10), "end_time": dt.time(12)},
            "overlap",
            "start_time",
        ),
    ],
)
def test_template_rules_change_nothing(vs, kw, code, field):
    snap = state(vs.facility)
    with pytest.raises(DomainError) as err:
        _template(vs, **kw)
    assert (err.value.code, err.value.field) == (code, field)
    assert state(vs.facility) == snap


def test_template_room_and_wings_of_the_institution(vs):
    other_room = VisitRoomFactory(facility=vs.other_facility)
    foreign_wing = other_wing(vs.other_facility)
    snap = state(vs.facility)
    with pytest.raises(DomainError) as err:
        _template(vs, room=other_room)
    assert err.value.field == "room"
    with pytest.raises(DomainError) as err:
        _template(vs, wings=[foreign_wing])
    assert err.value.field == "wings"
    with pytest.raises(PermissionDenied):
        _template(vs, actor=vs.other_officer)
    assert state(vs.facility) == snap


def test_template_overlap_only_when_validity_overlaps(vs):
    d = today()
    svc.template_end(actor=vs.officer, template=vs.template, valid_until=d + dt.timedelta(days=10))
    # same room, day and time, from after the first one ends: allowed
    t = _template(
        vs,
        weekday=0,
        start_time=dt.time(9),
        end_time=dt.time(11),
        valid_from=d + dt.timedelta(days=11),
    )
    assert t.pk


def test_template_update(vs):
    t = _template(vs)
    svc.template_update(actor=vs.officer, template=t, capacity_visits=1, wings=[vs.wing])
    t.refresh_from_db()
    assert t.capacity_visits == 1 and list(t.wings.all()) == [vs.wing]
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry.before == {"capacity_visits": 2, "wings": []}
    snap = state(vs.facility)
    with pytest.raises(DomainError):
        svc.template_update(actor=vs.officer, template=t, capacity_visitors=99)
    with pytest.raises(PermissionDenied):
        svc.template_update(actor=vs.other_officer, template=t, capacity_visits=2)
    assert state(vs.facility) == snap


def test_template_end_removes_unbooked_later_sessions(vs):
    d = today()
    svc.sessions_generate(facility=vs.facility, until=d + dt.timedelta(days=28))
    later = VisitSession.objects.filter(template=vs.template, date__gt=d + dt.timedelta(days=7))
    assert later.count() >= 2
    booked = later.order_by("date").first()
    visit_book(
        session=booked, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
    )
    ended = svc.template_end(
        actor=vs.officer, template=vs.template, valid_until=d + dt.timedelta(days=7)
    )
    assert ended.kept_sessions == 1
    assert list(later.all()) == [booked]
    with pytest.raises(ConflictError):
        svc.template_end(
            actor=vs.officer, template=vs.template, valid_until=d + dt.timedelta(days=9)
        )


# -- generation ----------------------------------------------------------------------------------
def _mondays(start, end):
    d = next_weekday(start, 0)
    out = []
    while d <= end:
        out.append(d)
        d += dt.timedelta(days=7)
    return out


def test_generate_from_templates_idempotent(vs):
    d = today()
    until = d + dt.timedelta(days=28)
    pre = {s.date for s in vs.sessions}  # 09:00 in Parloir A, made by hand
    expected = [m for m in _mondays(d, until) if m not in pre]
    made = svc.sessions_generate(facility=vs.facility, until=until)
    assert made == len(expected)
    rows = VisitSession.objects.filter(template=vs.template).order_by("date")
    assert [s.date for s in rows] == expected
    s = rows.first()
    local = timezone.localtime(s.starts_at)
    assert (local.time(), timezone.localtime(s.ends_at).time()) == (dt.time(9), dt.time(11))
    assert (s.capacity_visits, s.capacity_visitors, s.mode) == (2, 6, VisitMode.OPEN)
    assert s.facility_id == vs.facility.pk
    # again: nothing new
    assert svc.sessions_generate(facility=vs.facility, until=until) == 0
    assert AuditEntry.objects.filter(verb="sessions_generate").count() == 1


def test_generate_validity_excluded_wings_and_cancelled(vs):
    d = today()
    wed = next_weekday(d + dt.timedelta(days=1), 2)
    t = _template(
        vs,
        weekday=2,
        regime=RegimeFilter.CONVICTED,
        mode=VisitMode.OPEN,
        wings=[vs.wing],
        valid_from=wed + dt.timedelta(days=7),
        valid_until=wed + dt.timedelta(days=21),
    )
    ExcludedDate.objects.create(
        facility=vs.facility,
        starts_on=wed + dt.timedelta(days=13),
        ends_on=wed + dt.timedelta(days=15),
        reason="Aïd",
    )
    out_of_service = VisitRoomFactory(facility=vs.facility, places=2, seats=4)
    t2 = _template(vs, room=out_of_service, weekday=2, capacity_visitors=4)
    VisitRoom.objects.filter(pk=out_of_service.pk).update(in_service=False)
    svc.sessions_generate(facility=vs.facility, until=d + dt.timedelta(days=60))
    rows = list(VisitSession.objects.filter(template=t).order_by("date"))
    # valid from wed+7 to wed+21, wed+14 excluded
    assert [s.date for s in rows] == [wed + dt.timedelta(days=7), wed + dt.timedelta(days=21)]
    assert all(list(s.wings.all()) == [vs.wing] for s in rows)
    assert all(s.regime == RegimeFilter.CONVICTED for s in rows)
    assert not VisitSession.objects.filter(template=t2).exists()
    # a cancelled session is not made again
    svc.session_cancel(actor=vs.officer, session=rows[0], reason="Travaux")
    assert svc.sessions_generate(facility=vs.facility, until=d + dt.timedelta(days=60)) == 0
    assert VisitSession.objects.filter(template=t).count() == 2


def test_generate_all_command_and_task(vs):
    svc.policy_for(vs.other_facility)
    out = StringIO()
    call_command("visits_generate_sessions", "--days", "14", stdout=out)
    assert "OUJDA2" in out.getvalue() and "BERKANE2: 0" in out.getvalue()
    made = VisitSession.objects.filter(template=vs.template).count()
    assert made >= 1
    from ..tasks import generate_sessions

    result = generate_sessions.enqueue(days=28, facility_code="OUJDA2")
    assert result.return_value >= 1
    assert VisitSession.objects.filter(template=vs.template).count() == made + result.return_value
    with pytest.raises(Exception, match="NOPE"):
        call_command("visits_generate_sessions", "--facility", "NOPE", stdout=StringIO())


# -- days without visits ---------------------------------------------------------------------------
def test_excluded_date_cancels_sessions_and_bookings_then_reopens(vs):
    d = today()
    s3, s4 = vs.sessions[0], vs.sessions[1]
    booking = visit_book(
        session=s3, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
    )
    excluded = svc.excluded_date_add(
        actor=vs.officer,
        facility=vs.facility,
        starts_on=s3.date,
        ends_on=s4.date,
        reason="Aïd al-Adha",
    )
    s3.refresh_from_db(), s4.refresh_from_db(), booking.refresh_from_db()
    assert s3.cancelled_at and s4.cancelled_at and s3.cancel_reason == "Aïd al-Adha"
    assert (
        booking.status == BookingStatus.CANCELLED
        and booking.cancel_reason == CancelReason.EXCLUDED_DATE
    )
    assert s3.booked_visits == 0
    assert vs.sessions[2].date > s4.date
    vs.sessions[2].refresh_from_db()
    assert vs.sessions[2].cancelled_at is None
    assert AuditEntry.objects.filter(verb="excluded_date_add", chain=vs.facility.pk).exists()
    # no session is made on those days
    t = _template(vs, weekday=s3.date.weekday(), start_time=dt.time(15), end_time=dt.time(16))
    svc.sessions_generate(facility=vs.facility, until=d + dt.timedelta(days=14))
    assert not VisitSession.objects.filter(template=t, date=s3.date).exists()
    # removed: both sessions open again, the booking stays cancelled
    assert svc.excluded_date_remove(actor=vs.officer, excluded=excluded) == 2
    s3.refresh_from_db(), booking.refresh_from_db()
    assert s3.cancelled_at is None and booking.status == BookingStatus.CANCELLED
    assert not ExcludedDate.objects.filter(pk=excluded.pk).exists()


def test_excluded_date_rules_and_scoping(vs):
    d = today()
    snap = state(vs.facility)
    with pytest.raises(DomainError) as err:
        svc.excluded_date_add(
            actor=vs.officer,
            facility=vs.facility,
            starts_on=d,
            ends_on=d - dt.timedelta(days=1),
            reason="x",
        )
    assert err.value.field == "ends_on"
    with pytest.raises(DomainError) as err:
        svc.excluded_date_add(actor=vs.officer, facility=vs.facility, starts_on=d, reason="")
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied):
        svc.excluded_date_add(actor=vs.other_officer, facility=vs.facility, starts_on=d, reason="x")
    assert state(vs.facility) == snap
    one = svc.excluded_date_add(
        actor=vs.officer, facility=vs.facility, starts_on=d, reason="Fête du Trône"
    )
    assert one.ends_on == d
    snap = state(vs.facility)
    with pytest.raises(PermissionDenied):
        svc.excluded_date_remove(actor=vs.other_officer, excluded=one)
    assert state(vs.facility) == snap


# -- pauses --------------------------------------------------------------------------------------
def test_pause_active_by_time(vs):
    now = timezone.now()
    start, end = now + dt.timedelta(hours=1), now + dt.timedelta(hours=5)
    pause = svc.online_pause_start(
        actor=vs.officer,
        facility=vs.facility,
        starts_at=start,
        ends_at=end,
        message_ar="متوقف",
        message_fr="Suspendu",
    )
    assert svc.online_pause_active(vs.facility, now) is None
    assert svc.online_pause_active(vs.facility, start) == pause
    assert svc.online_pause_active(vs.facility.pk, end - dt.timedelta(seconds=1)) == pause
    assert svc.online_pause_active(vs.facility, end) is None
    assert svc.online_pause_active(vs.other_facility, start) is None
    # overlapping pause refused
    with pytest.raises(ConflictError):
        svc.online_pause_start(
            actor=vs.officer,
            facility=vs.facility,
            starts_at=end - dt.timedelta(hours=1),
            message_ar="x",
        )
    # a pause not begun yet is withdrawn when ended
    assert svc.online_pause_end(actor=vs.officer, pause=pause) is None
    assert svc.online_pause_active(vs.facility, start) is None


def test_open_pause_ended_now(vs):
    pause = svc.online_pause_start(actor=vs.officer, facility=vs.facility, message_ar="متوقف")
    assert svc.online_pause_active(vs.facility) == pause
    snap = state(vs.facility)
    with pytest.raises(PermissionDenied):
        svc.online_pause_end(actor=vs.other_officer, pause=pause)
    assert state(vs.facility) == snap
    ended = svc.online_pause_end(actor=vs.officer, pause=pause)
    assert ended.ends_at is not None and svc.online_pause_active(vs.facility) is None
    with pytest.raises(ConflictError):
        svc.online_pause_end(actor=vs.officer, pause=pause)


def test_pause_rules(vs):
    now = timezone.now()
    with pytest.raises(DomainError) as err:
        svc.online_pause_start(
            actor=vs.officer, facility=vs.facility, starts_at=now, ends_at=now, message_ar="x"
        )
    assert err.value.field == "ends_at"
    with pytest.raises(DomainError) as err:
        svc.online_pause_start(actor=vs.officer, facility=vs.facility, message_ar="")
    assert err.value.field == "message_ar"


# -- one dated session -----------------------------------------------------------------------------
def test_session_capacity_not_below_booked(vs):
    session = vs.sessions[0]
    visit_book(
        session=session,
        detention=vs.custody.detention,
        visitors=[vs.adult, vs.child],
        account=vs.account,
    )
    session.refresh_from_db()
    assert (session.booked_visits, session.booked_visitors) == (1, 2)
    snap = state(vs.facility)
    with pytest.raises(ConflictError) as err:
        svc.session_capacity_update(
            actor=vs.officer, session=session, capacity_visits=1, capacity_visitors=1
        )
    assert (err.value.code, err.value.field) == ("below_booked", "capacity_visitors")
    with pytest.raises(DomainError) as err:
        svc.session_capacity_update(
            actor=vs.officer, session=session, capacity_visits=3, capacity_visitors=6
        )
    assert (err.value.code, err.value.field) == ("over_room_capacity", "capacity_visits")
    with pytest.raises(PermissionDenied):
        svc.session_capacity_update(
            actor=vs.other_officer, session=session, capacity_visits=1, capacity_visitors=2
        )
    assert state(vs.facility) == snap
    svc.session_capacity_update(
        actor=vs.officer, session=session, capacity_visits=1, capacity_visitors=2
    )
    session.refresh_from_db()
    assert (session.capacity_visits, session.capacity_visitors) == (1, 2)
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry.verb == "session_capacity_update" and entry.before == {
        "capacity_visits": 2,
        "capacity_visitors": 6,
    }


def test_session_capacity_below_booked_exact(vs):
    session = vs.sessions[0]
    VisitRoom.objects.filter(pk=vs.room.pk).update(places=5, seats=10)
    VisitSession.objects.filter(pk=session.pk).update(booked_visits=2, booked_visitors=4)
    snap = state(vs.facility)
    with pytest.raises(ConflictError) as err:
        svc.session_capacity_update(
            actor=vs.officer, session=session, capacity_visits=1, capacity_visitors=4
        )
    assert (err.value.code, err.value.field) == ("below_booked", "capacity_visits")
    with pytest.raises(ConflictError) as err:
        svc.session_capacity_update(
            actor=vs.officer, session=session, capacity_visits=2, capacity_visitors=3
        )
    assert (err.value.code, err.value.field) == ("below_booked", "capacity_visitors")
    assert state(vs.facility) == snap
    svc.session_capacity_update(
        actor=vs.officer, session=session, capacity_visits=2, capacity_visitors=4
    )


def test_session_cancel_cancels_bookings(vs):
    session = vs.sessions[0]
    booking = visit_book(
        session=session, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
    )
    snap = state(vs.facility)
    with pytest.raises(PermissionDenied):
        svc.session_cancel(actor=vs.other_officer, session=session, reason="x")
    with pytest.raises(DomainError):
        svc.session_cancel(actor=vs.officer, session=session, reason=" ")
    assert state(vs.facility) == snap
    svc.session_cancel(actor=vs.officer, session=session, reason="Panne électrique")
    session.refresh_from_db(), booking.refresh_from_db()
    assert session.cancelled_at and session.cancel_reason == "Panne électrique"
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancel_reason == CancelReason.SESSION_CANCELLED
    assert session.booked_visits == 0
    with pytest.raises(ConflictError):
        svc.session_cancel(actor=vs.officer, session=session, reason="again")


def test_session_cancel_past_refused(vs):
    past = session_at(vs.room, today() - dt.timedelta(days=1))
    with pytest.raises(ConflictError) as err:
        svc.session_cancel(actor=vs.officer, session=past, reason="x")
    assert err.value.code == "session_past"


def test_templates_valid_on_date_only(vs):
    """A weekly session that ended yesterday makes nothing."""
    SessionTemplate.objects.filter(pk=vs.template.pk).update(
        valid_until=today() - dt.timedelta(days=1)
    )
    assert svc.sessions_generate(facility=vs.facility, until=today() + dt.timedelta(days=30)) == 0
