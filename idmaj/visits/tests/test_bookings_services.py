"""Booking rules (``services.bookings``): every refusal with its code and nothing changed
after it, staff bookings and over-capacity, cancel, change, system cancel and flag."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.http import Http404
from django.test import override_settings
from django.utils import formats, timezone, translation

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry, Notification
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.constants import CustodyStatus, LegalStatus
from idmaj.inmates.tests.factories import CustodyPeriodFactory
from idmaj.visits import selectors, services
from idmaj.visits.constants import (
    BookingChannel,
    BookingStatus,
    CancelReason,
    RegimeFilter,
    RestrictionKind,
    VisitMode,
    VisitorStatus,
)
from idmaj.visits.models import (
    AllowanceCounter,
    Booking,
    BookingVisitor,
    ExcludedDate,
    OnlineBookingPause,
    Visitor,
    VisitorRestriction,
    VisitSession,
)
from idmaj.visits.services._common import week_start

from .bookings_fixtures import born_years_ago, other_family, state
from .factories import session_at


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def book(vs, session=None, visitors=None, **kw):
    kw.setdefault("account", vs.account)
    return services.visit_book(
        session=session or vs.sessions[0],
        detention=vs.custody.detention,
        visitors=[vs.adult, vs.child] if visitors is None else visitors,
        **kw,
    )


def refused(code, vs, **kw):
    """The booking is refused with ``code`` and nothing changed."""
    before = state()
    notes = Notification.objects.count()
    audits = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        book(vs, **kw)
    assert exc.value.code == code, exc.value
    assert state() == before
    assert Notification.objects.count() == notes
    assert AuditEntry.objects.count() == audits
    return exc.value


def day_in(n):
    return timezone.localdate() + dt.timedelta(days=n)


# -- rules ------------------------------------------------------------------------------------
def test_allowance_for_and_renewal_date(vs):
    p = vs.policy
    p.weekly_visits_remand, p.weekly_visits_convicted = 3, 1
    assert services.allowance_for(p, LegalStatus.REMAND) == 3
    assert services.allowance_for(p, LegalStatus.APPEALING) == 3
    assert services.allowance_for(p, LegalStatus.CONVICTED) == 1
    assert services.renewal_date(dt.date(2026, 3, 18)) == dt.date(2026, 3, 23)  # Wed → Mon
    assert services.renewal_date(dt.date(2026, 3, 22)) == dt.date(2026, 3, 23)  # Sun → Mon
    assert services.renewal_date(dt.date(2026, 3, 23)) == dt.date(2026, 3, 30)  # Mon → Mon


# -- booking ----------------------------------------------------------------------------------
def test_family_books_counters_allowance_audit_sms(vs):
    s = vs.sessions[0]
    b = book(vs)
    s.refresh_from_db()
    assert (s.booked_visits, s.booked_visitors, s.extra_visits) == (1, 2, 0)
    assert b.status == BookingStatus.BOOKED and b.channel == BookingChannel.ONLINE
    assert (b.adults, b.children, b.over_capacity) == (1, 1, False)
    assert b.week_start == week_start(s.date)
    counter = AllowanceCounter.objects.get(detention=vs.custody.detention)
    assert (counter.used, counter.allowance) == (1, vs.policy.weekly_visits_remand)
    assert set(BookingVisitor.objects.values_list("visitor_id", "is_child")) == {
        (vs.adult.pk, False),
        (vs.child.pk, True),
    }
    entry = AuditEntry.objects.get(verb="visit_book")
    assert entry.chain == vs.facility.pk and entry.actor is None
    assert entry.after["family_account"] == str(vs.account.uuid)
    sms = Notification.objects.get(template="booking_confirmed")
    assert sms.recipient == vs.account.phone and sms.language == "ar"
    assert b.code in sms.body and "Parloir A" in sms.body
    with translation.override("ar"):
        hint = translation.gettext(
            "Show this code or its QR code (portal, My visits) and your identity card at the gate."
        )
    assert hint in sms.body


def test_not_on_list(vs):
    pending = Visitor.objects.create(
        detention_id=vs.custody.detention_id,
        facility=vs.facility,
        guardian=vs.adult,
        full_name="Sara",
        birth_date=born_years_ago(5),
        relationship="sibling",
        status=VisitorStatus.PENDING,
    )
    refused("not_on_list", vs, visitors=[vs.adult, pending])
    # Someone on another prisoner's list.
    elsewhere = CustodyPeriodFactory(facility=vs.facility)
    stranger = Visitor.objects.create(
        detention_id=elsewhere.detention_id,
        facility=vs.facility,
        full_name="X",
        relationship="brother",
        status=VisitorStatus.APPROVED,
    )
    refused("not_on_list", vs, visitors=[vs.adult, stranger])
    # The family must be among the visitors, and brings only its own side of the list.
    _acc, adult2, kids2 = other_family(vs, children=[("Omar", born_years_ago(6))])
    refused("not_on_list", vs, visitors=[vs.child])
    refused("not_on_list", vs, visitors=[vs.adult, adult2])
    refused("not_on_list", vs, visitors=[vs.adult, kids2[0]])
    refused("not_on_list", vs, visitors=[])


def test_child_only_with_guardian_at_the_desk(vs):
    _acc, adult2, _k = other_family(vs)
    refused(
        "not_on_list",
        vs,
        account=None,
        actor=vs.officer,
        channel="desk",
        visitors=[adult2, vs.child],
    )
    refused("no_adult", vs, account=None, actor=vs.officer, channel="desk", visitors=[vs.child])
    b = book(
        vs, account=None, actor=vs.officer, channel="desk", visitors=[adult2, vs.adult, vs.child]
    )
    assert (b.adults, b.children) == (2, 1)


@pytest.mark.parametrize(
    "starts,ends,lifted,applies",
    [
        (-10, None, False, True),
        (-10, 30, False, True),
        (-10, 3, False, True),  # ends on the session's day: still in force that day
        (-10, 2, False, False),  # ended the day before
        (-10, None, True, False),  # lifted
        (4, None, False, False),  # starts after the session
    ],
)
def test_banned_only_while_in_force(vs, starts, ends, lifted, applies):
    VisitorRestriction.objects.create(
        visitor=vs.adult,
        facility=vs.facility,
        kind=RestrictionKind.BANNED,
        reason="Incident",
        starts_on=day_in(starts),
        ends_on=day_in(ends) if ends is not None else None,
        lifted_at=timezone.now() if lifted else None,
    )
    if applies:
        err = refused("banned", vs)
        assert vs.adult.full_name in str(err.message)
    else:
        assert book(vs).status == BookingStatus.BOOKED


def test_closed_only(vs):
    VisitorRestriction.objects.create(
        visitor=vs.adult,
        facility=vs.facility,
        kind=RestrictionKind.CLOSED_ONLY,
        reason="Objets",
        starts_on=day_in(-1),
    )
    refused("closed_only", vs)
    closed = session_at(
        vs.room, day_in(3), start=dt.time(14), end=dt.time(15), mode=VisitMode.CLOSED
    )
    assert book(vs, session=closed).session_id == closed.pk


def test_not_with_child(vs):
    VisitorRestriction.objects.create(
        visitor=vs.adult,
        facility=vs.facility,
        kind=RestrictionKind.NOT_WITH_CHILD,
        child=vs.child,
        reason="Décision du juge",
        starts_on=day_in(-1),
    )
    refused("not_with_child", vs)
    assert book(vs, visitors=[vs.adult]).children == 0


def test_too_many_adults_counts_age_on_the_day(vs):
    """A listed "child" who is 18 on the day of the visit counts as an adult."""
    vs.child.birth_date = born_years_ago(19)
    vs.child.save()
    vs.policy.max_adults = 1
    vs.policy.save()
    refused("too_many_adults", vs)
    vs.policy.max_adults = 2
    vs.policy.save()
    assert (book(vs).adults, Booking.objects.get().children) == (2, 0)


def test_too_many_children(vs):
    Visitor.objects.create(
        detention_id=vs.custody.detention_id,
        facility=vs.facility,
        guardian=vs.adult,
        full_name="Hiba",
        birth_date=born_years_ago(3),
        relationship="sibling",
        status=VisitorStatus.APPROVED,
    )
    kids = list(Visitor.objects.filter(guardian=vs.adult))
    vs.policy.max_children = 1
    vs.policy.save()
    refused("too_many_children", vs, visitors=[vs.adult, *kids])
    assert book(vs, visitors=[vs.adult, kids[0]]).children == 1


def test_allowance_used_says_when_it_renews(vs):
    vs.policy.weekly_visits_remand = 1
    vs.policy.save()
    first = vs.sessions[0]
    same_week = session_at(vs.room, first.date, start=dt.time(14), end=dt.time(16))
    book(vs, session=first)
    with translation.override("fr"):
        err = refused("allowance_used", vs, session=same_week)
        renews = week_start(first.date) + dt.timedelta(days=7)
        assert formats.date_format(renews, "j F Y") in str(err.message)
    with translation.override("ar"):
        assert formats.date_format(renews, "j F Y") in str(err.message)
    # The week after: a new allowance.
    next_week = session_at(vs.room, renews + dt.timedelta(days=1))
    if (next_week.date - timezone.localdate()).days <= vs.policy.book_from_days:
        assert book(vs, session=next_week).week_start == renews


def test_convicted_allowance_and_policy_change_applies_now(vs):
    vs.custody.legal_status = LegalStatus.CONVICTED
    vs.custody.save()
    vs.policy.weekly_visits_convicted = 1
    vs.policy.save()
    s = vs.sessions[0]
    book(vs, session=s)
    other = session_at(vs.room, s.date, start=dt.time(14), end=dt.time(16))
    refused("allowance_used", vs, session=other)
    vs.policy.weekly_visits_convicted = 2
    vs.policy.save()
    book(vs, session=other)
    assert AllowanceCounter.objects.get().used == 2


def test_session_full_visits_and_visitors(vs):
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(booked_visits=2)
    refused("session_full", vs)
    VisitSession.objects.filter(pk=s.pk).update(booked_visits=1, booked_visitors=5)
    refused("session_full", vs)  # two visitors, one seat left
    assert book(vs, visitors=[vs.adult]).adults == 1
    s.refresh_from_db()
    assert (s.booked_visits, s.booked_visitors) == (2, 6)


def test_outside_window_family_but_staff_may_book_late(vs):
    tomorrow = session_at(vs.room, day_in(1))
    refused("outside_window", vs, session=tomorrow)
    far = session_at(vs.room, day_in(vs.policy.book_from_days + 1))
    refused("outside_window", vs, session=far)
    b = book(vs, session=tomorrow, actor=vs.officer, channel=BookingChannel.PHONE)
    assert b.channel == BookingChannel.PHONE and b.account == vs.account
    past = session_at(
        vs.room, timezone.localdate() - dt.timedelta(days=1), start=dt.time(9), end=dt.time(10)
    )
    refused("outside_window", vs, session=past, account=None, actor=vs.officer, channel="desk")


def test_online_paused_message_in_active_language_and_not_live(vs):
    OnlineBookingPause.objects.create(
        facility=vs.facility,
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(days=2),
        message_ar="الحجز متوقف مؤقتا",
        message_fr="Réservation suspendue pendant l'Aïd",
    )
    with translation.override("fr"):
        assert str(refused("online_paused", vs).message) == "Réservation suspendue pendant l'Aïd"
    with translation.override("ar"):
        assert str(refused("online_paused", vs).message) == "الحجز متوقف مؤقتا"
    # Staff still book at the desk.
    assert book(vs, account=None, actor=vs.officer, channel="desk").channel == "desk"


def test_online_booking_not_live(vs):
    vs.policy.online_booking = False
    vs.policy.save()
    refused("online_paused", vs)
    assert book(vs, actor=vs.officer, channel="desk").status == BookingStatus.BOOKED


def test_prisoner_released_or_transferred(vs):
    c = vs.custody
    CustodyPeriod = type(c)
    CustodyPeriod.objects.filter(pk=c.pk).update(
        status=CustodyStatus.TRANSFERRED_OUT, released_at=timezone.now()
    )
    there = CustodyPeriodFactory(facility=vs.other_facility, person=c.person, detention=c.detention)
    with translation.override("fr"):
        err = refused("not_in_custody", vs)
        assert vs.other_facility.name in str(err.message)
    CustodyPeriod.objects.filter(pk=there.pk).update(
        status=CustodyStatus.RELEASED, released_at=timezone.now()
    )
    err2 = refused("not_in_custody", vs)
    assert str(err2.message) != str(err.message)


def test_wrong_regime_and_wing(vs):
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(regime=RegimeFilter.CONVICTED)
    s.refresh_from_db()
    refused("wrong_regime", vs, session=s)
    VisitSession.objects.filter(pk=s.pk).update(regime=RegimeFilter.REMAND)
    s.refresh_from_db()
    s.wings.add(vs.wing)
    refused("wrong_regime", vs, session=s)  # the prisoner has no cell in that wing
    from idmaj.facilities.models import Cell

    type(vs.custody).objects.filter(pk=vs.custody.pk).update(
        cell=Cell.objects.filter(wing=vs.wing).first()
    )
    assert book(vs, session=s).status == BookingStatus.BOOKED


def test_duplicate_same_prisoner_same_session(vs):
    book(vs)
    acc2, adult2, _ = other_family(vs)
    err = refused("duplicate", vs, account=acc2, visitors=[adult2])
    assert isinstance(err, ConflictError)
    # Once cancelled, the prisoner may be booked in that session again.
    services.booking_cancel(booking=Booking.objects.get(), account=vs.account, reason="")
    assert book(vs, account=acc2, visitors=[adult2]).account == acc2


def test_session_cancelled_and_excluded_date(vs):
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(cancelled_at=timezone.now(), cancel_reason="x")
    s.refresh_from_db()
    refused("session_cancelled", vs, session=s)
    s2 = vs.sessions[1]
    ExcludedDate.objects.create(
        facility=vs.facility, starts_on=s2.date, ends_on=s2.date, reason="Aïd al-Adha"
    )
    refused("excluded_date", vs, session=s2)
    refused("excluded_date", vs, session=s2, account=None, actor=vs.officer, channel="desk")


def test_session_cancelled_after_the_page_was_shown(vs):
    """The session object in hand is stale: the conditional UPDATE sees the cancellation."""
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(cancelled_at=timezone.now())
    refused("session_cancelled", vs, session=s)


@override_settings(
    PORTAL_RATE_LIMITS_ON=True, PORTAL_RATE_LIMITS={"book:account": (2, 3600), "book:ip": (99, 60)}
)
def test_rate_limited_per_account(vs):
    for s in vs.sessions[:2]:
        book(vs, session=s, visitors=[vs.adult])
    err = refused("rate_limited", vs, session=vs.sessions[2])
    assert err.status == 429


# -- staff ------------------------------------------------------------------------------------
def test_staff_needs_manage_at_the_institution(vs):
    before = state()
    with pytest.raises(PermissionDenied):
        book(vs, account=None, actor=vs.other_officer, channel="desk")
    assert state() == before


def test_staff_over_capacity_with_reason(vs):
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(booked_visits=2, booked_visitors=6)
    # The visits officer holds no override.
    with pytest.raises(PermissionDenied):
        book(vs, actor=vs.officer, channel="desk", over_capacity_reason="Famille venue de loin")
    refused("session_full", vs, actor=vs.director, channel="desk")
    b = book(vs, actor=vs.director, channel="desk", over_capacity_reason="Famille venue de loin")
    s.refresh_from_db()
    assert b.over_capacity and b.over_capacity_reason == "Famille venue de loin"
    assert (s.booked_visits, s.booked_visitors, s.extra_visits, s.extra_visitors) == (2, 6, 1, 2)
    assert AuditEntry.objects.get(verb="visit_book").after["over_capacity_reason"]
    assert b.booked_by == vs.director
    # The family is told too.
    assert Notification.objects.filter(template="booking_confirmed", recipient=vs.account.phone)
    # Cancelling gives back the extra place, not a booked one.
    services.booking_cancel(booking=b, actor=vs.director, reason="Erreur")
    s.refresh_from_db()
    assert (s.booked_visits, s.extra_visits, s.extra_visitors) == (2, 0, 0)


def test_over_capacity_reason_unused_when_room_left(vs):
    b = book(vs, actor=vs.director, channel="desk", over_capacity_reason="Au cas où")
    assert not b.over_capacity and b.over_capacity_reason == ""


def test_staff_channel_must_be_a_staff_one(vs):
    with pytest.raises(DomainError) as exc:
        book(vs, actor=vs.officer, channel="online")
    assert exc.value.field == "channel"


# -- cancel -----------------------------------------------------------------------------------
def test_family_cancel_gives_back_place_and_allowance(vs):
    b = book(vs)
    out = services.booking_cancel(booking=b, account=vs.account, reason="")
    assert out.status == BookingStatus.CANCELLED and out.cancel_reason == CancelReason.FAMILY
    s = VisitSession.objects.get(pk=vs.sessions[0].pk)
    assert (s.booked_visits, s.booked_visitors) == (0, 0)
    assert AllowanceCounter.objects.get().used == 0
    assert Notification.objects.filter(template="booking_cancelled").count() == 1
    with pytest.raises(ConflictError) as exc:
        services.booking_cancel(booking=b, account=vs.account, reason="")
    assert exc.value.code == "not_cancellable"
    assert AllowanceCounter.objects.get().used == 0


def test_family_cannot_cancel_after_cutoff_staff_can(vs):
    soon = session_at(vs.room, day_in(1))
    b = book(vs, session=soon, actor=vs.officer, channel="phone")
    before = state()
    with pytest.raises(ConflictError) as exc:
        services.booking_cancel(booking=b, account=vs.account, reason="")
    assert exc.value.code == "too_late" and state() == before
    with pytest.raises(DomainError):  # staff give a reason
        services.booking_cancel(booking=b, actor=vs.officer, reason=" ")
    services.booking_cancel(booking=b, actor=vs.officer, reason="Famille prévenue par téléphone")
    b.refresh_from_db()
    assert b.cancel_reason == CancelReason.STAFF
    entry = AuditEntry.objects.get(verb="booking_cancel")
    assert entry.after["note"] == "Famille prévenue par téléphone" and entry.actor == vs.officer


def test_family_cannot_touch_another_familys_booking(vs):
    b = book(vs)
    acc2, _adult2, _ = other_family(vs)
    before = state()
    with pytest.raises(DomainError) as exc:
        services.booking_cancel(booking=b, account=acc2, reason="")
    assert exc.value.status == 404 and state() == before
    with pytest.raises(DomainError):
        services.booking_change(
            booking=b, session=vs.sessions[1], visitors=[vs.adult], account=acc2
        )
    assert state() == before
    with pytest.raises(Http404):
        selectors.get_family_booking_or_404(account=acc2, uuid=b.uuid)
    assert selectors.get_family_booking_or_404(account=vs.account, uuid=b.uuid) == b
    assert list(selectors.family_bookings(account=acc2)) == []


def test_other_officer_cannot_cancel(vs):
    b = book(vs)
    before = state()
    with pytest.raises(PermissionDenied):
        services.booking_cancel(booking=b, actor=vs.other_officer, reason="x")
    assert state() == before


# -- change -----------------------------------------------------------------------------------
def test_change_moves_place_in_one_step(vs):
    old = book(vs)
    new = services.booking_change(
        booking=old, session=vs.sessions[1], visitors=[vs.adult], account=vs.account
    )
    old.refresh_from_db()
    assert old.status == BookingStatus.CANCELLED and old.cancel_reason == CancelReason.CHANGED
    assert old.replaced_by == new and new.status == BookingStatus.BOOKED
    s0, s1 = (VisitSession.objects.get(pk=s.pk) for s in vs.sessions[:2])
    assert (s0.booked_visits, s0.booked_visitors) == (0, 0)
    assert (s1.booked_visits, s1.booked_visitors) == (1, 1)
    assert sum(AllowanceCounter.objects.values_list("used", flat=True)) == 1
    assert Notification.objects.filter(template="booking_changed").count() == 1
    assert not Notification.objects.filter(template="booking_cancelled").exists()


def test_change_within_same_session_to_fewer_visitors(vs):
    old = book(vs)
    new = services.booking_change(
        booking=old, session=vs.sessions[0], visitors=[vs.adult], account=vs.account
    )
    s = VisitSession.objects.get(pk=vs.sessions[0].pk)
    assert (s.booked_visits, s.booked_visitors) == (1, 1) and new.children == 0


def test_refused_change_leaves_the_old_booking(vs):
    old = book(vs)
    full = vs.sessions[1]
    VisitSession.objects.filter(pk=full.pk).update(booked_visits=2)
    before = state()
    notes = Notification.objects.count()
    with pytest.raises(ConflictError) as exc:
        services.booking_change(booking=old, session=full, visitors=[vs.adult], account=vs.account)
    assert exc.value.code == "session_full"
    assert state() == before and Notification.objects.count() == notes
    old.refresh_from_db()
    assert old.status == BookingStatus.BOOKED and old.replaced_by is None


# -- system -----------------------------------------------------------------------------------
def test_cancel_by_system_and_flag(vs):
    b1 = book(vs)
    b2 = book(vs, session=vs.sessions[1], visitors=[vs.adult])
    services.booking_cancel_by_system(booking=b1, reason=CancelReason.TRANSFERRED)
    b1.refresh_from_db()
    assert b1.status == BookingStatus.CANCELLED and b1.cancel_reason == "transferred"
    assert VisitSession.objects.get(pk=vs.sessions[0].pk).booked_visits == 0
    services.booking_flag(booking=b2, reason="Visiteur interdit depuis")
    b2.refresh_from_db()
    assert b2.status == BookingStatus.FLAGGED and b2.flag_reason == "Visiteur interdit depuis"
    assert VisitSession.objects.get(pk=vs.sessions[1].pk).booked_visits == 1  # keeps its place
    assert Notification.objects.filter(template="booking_flagged").count() == 1
    # A flagged booking can still be cancelled (and gives back its place).
    services.booking_cancel(booking=b2, actor=vs.officer, reason=CancelReason.BANNED)
    b2.refresh_from_db()
    assert b2.cancel_reason == CancelReason.BANNED
    assert VisitSession.objects.get(pk=vs.sessions[1].pk).booked_visits == 0
    assert AllowanceCounter.objects.filter(used__gt=0).count() == 0


def test_cancel_by_system_without_notice(vs):
    b = book(vs)
    n = Notification.objects.count()
    services.booking_cancel_by_system(booking=b, reason=CancelReason.EXCLUDED_DATE, notify=False)
    assert Notification.objects.count() == n


def test_staff_selectors_scope(vs):
    b = book(vs)
    assert selectors.get_booking_for_user_or_404(user=vs.officer, uuid=b.uuid) == b
    with pytest.raises(Http404):
        selectors.get_booking_for_user_or_404(user=vs.other_officer, uuid=b.uuid)
    day = vs.sessions[0].date
    assert list(selectors.booking_list(fetched_by=vs.officer, facility=vs.facility, date=day)) == [
        b
    ]
    assert not selectors.booking_list(fetched_by=vs.other_officer, facility=vs.facility, date=day)
    nobody = UserFactory()
    grant(nobody, "nurse", facility=vs.facility)
    assert not selectors.booking_list(fetched_by=nobody, facility=vs.facility, date=day)


def test_qr_svg_holds_the_code_only(vs):
    b = book(vs)
    svg = selectors.booking_qr_svg(b)
    assert svg.startswith("<svg") and b.code in svg
    # A full QR code (version 1: 21 modules and a border of 2, at scale 6), not a Micro QR
    # (15 modules) that the gate's scanner and phones do not read.
    assert 'width="150"' in svg
    import segno

    assert (
        segno.make(b.code, error="m", micro=False).svg_inline(scale=6, border=2, title=b.code)
        == svg
    )
