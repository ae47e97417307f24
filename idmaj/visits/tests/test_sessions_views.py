"""Visit settings pages in Arabic and French: the institution's settings, the forms (rules,
rooms, weekly sessions, days without visits, pauses, online switch), the dated sessions
page (cancel, capacity, make now); scoping (404 / 403 with nothing changed); query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from idmaj.facilities.models import Installation

from ..constants import BookingStatus
from ..models import (
    ExcludedDate,
    OnlineBookingPause,
    SessionTemplate,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)
from ..services.bookings import visit_book
from .sessions_fixtures import next_weekday, state, today


def _login(client, user, lang="ar"):
    client.force_login(user)
    client.cookies["idmaj_language"] = lang
    return client


@pytest.fixture
def viewer(vs, make_user):
    """The regional director: reads the visits of the region's institutions, changes nothing."""
    return make_user("rd.oriental", "regional_director", region=vs.facility.region)


# -- the settings page -----------------------------------------------------------------------------
def test_index_redirects_to_the_only_institution(client, vs):
    resp = _login(client, vs.officer).get(reverse("visits:settings"))
    assert resp.status_code == 302 and resp.url == reverse(
        "visits:settings_facility", args=["OUJDA2"]
    )


def test_index_lists_institutions(client, vs, viewer):
    resp = _login(client, viewer).get(reverse("visits:settings"))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "OUJDA2" in body and "BERKANE2" in body


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_settings_page(client, vs, lang, django_assert_max_num_queries):
    OnlineBookingPause.objects.create(
        facility=vs.facility, starts_at=timezone.now(), message_ar="توقف مؤقت", message_fr="Pause"
    )
    ExcludedDate.objects.create(
        facility=vs.facility, starts_on=today(), ends_on=today(), reason="Aïd al-Fitr"
    )
    c = _login(client, vs.officer, lang)
    with django_assert_max_num_queries(20):
        resp = c.get(reverse("visits:settings_facility", args=["OUJDA2"]))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert f'lang="{lang}"' in body
    with translation.override(lang):
        for text in (
            "Visit rules",
            "Visit rooms",
            "Weekly sessions",
            "Days without visits",
            "Monday",
        ):
            assert str(translation.gettext(text)) in body
        assert translation.gettext("Switch online booking off") in body
    assert "Parloir A" in body and "Aïd al-Fitr" in body and "توقف مؤقت" in body
    assert reverse("visits:policy_edit", args=["OUJDA2"]) in body


def test_settings_page_read_only_and_scoping(client, vs, viewer):
    resp = _login(client, viewer).get(reverse("visits:settings_facility", args=["OUJDA2"]))
    assert resp.status_code == 200
    assert reverse("visits:policy_edit", args=["OUJDA2"]) not in resp.content.decode()
    client.logout()
    c = _login(client, vs.other_officer)
    assert c.get(reverse("visits:settings_facility", args=["OUJDA2"])).status_code == 404
    assert c.get(reverse("visits:settings_facility", args=["NOPE"])).status_code == 404


# -- forms -------------------------------------------------------------------------------------------
def test_policy_form(client, vs):
    c = _login(client, vs.officer, "fr")
    url = reverse("visits:policy_edit", args=["OUJDA2"])
    assert c.get(url).status_code == 200
    data = {
        "book_from_days": 21,
        "book_until_days": 1,
        "change_cutoff_hours": 12,
        "weekly_visits_remand": 2,
        "weekly_visits_convicted": 1,
        "max_adults": 3,
        "max_children": 2,
        "adult_age": 18,
        "max_list_size": 10,
        "walk_ins_allowed": "on",
        "rules_ar": "",
        "rules_fr": "Présenter la CNIE.",
        "allowed_items_ar": "",
        "allowed_items_fr": "",
    }
    resp = c.post(url, data)
    assert resp.status_code == 302
    policy = VisitPolicy.objects.get(facility=vs.facility)
    assert policy.book_from_days == 21 and policy.rules_fr == "Présenter la CNIE."
    snap = state(vs.facility)
    resp = c.post(url, {**data, "book_from_days": 1, "book_until_days": 3})
    assert resp.status_code == 400 and state(vs.facility) == snap


def test_forms_refused_elsewhere(client, vs, viewer):
    c = _login(client, viewer)
    other = _login(Client(), vs.other_officer)
    snap = state(vs.facility)
    assert c.get(reverse("visits:policy_edit", args=["OUJDA2"])).status_code == 403
    assert (
        c.post(
            reverse("visits:room_create", args=["OUJDA2"]),
            {"name": "X", "kind": "visit_room", "places": 1, "seats": 1},
        ).status_code
        == 403
    )
    assert c.post(reverse("visits:online_booking", args=["OUJDA2"])).status_code == 403
    c = other
    assert (
        c.post(
            reverse("visits:room_edit", args=[vs.room.uuid]),
            {"name": "X", "kind": "visit_room", "places": 1, "seats": 1},
        ).status_code
        == 404
    )
    assert (
        c.post(
            reverse("visits:session_cancel", args=[vs.sessions[0].uuid]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert c.post(reverse("visits:generate_sessions", args=["OUJDA2"])).status_code == 404
    assert state(vs.facility) == snap


def test_online_switch(client, vs):
    c = _login(client, vs.officer)
    resp = c.post(reverse("visits:online_booking", args=["OUJDA2"]))  # off
    assert resp.status_code == 302
    assert not VisitPolicy.objects.get(facility=vs.facility).online_booking
    c.post(reverse("visits:online_booking", args=["OUJDA2"]), {"online_booking": "on"})
    assert VisitPolicy.objects.get(facility=vs.facility).online_booking
    assert Installation.objects.filter(facility=vs.facility, removed_on__isnull=True).count() == 1


def test_room_and_template_forms(client, vs):
    c = _login(client, vs.officer, "fr")
    resp = c.post(
        reverse("visits:room_create", args=["OUJDA2"]),
        {
            "name": "Espace familial",
            "kind": "family_space",
            "places": 2,
            "seats": 8,
            "in_service": "on",
        },
    )
    assert resp.status_code == 302
    room = VisitRoom.objects.get(name="Espace familial")
    url = reverse("visits:template_create", args=["OUJDA2"])
    assert c.get(url).status_code == 200
    data = {
        "room": room.uuid,
        "weekday": 3,
        "start_time": "10:00",
        "end_time": "13:00",
        "capacity_visits": 2,
        "capacity_visitors": 8,
        "mode": "family",
        "regime": "convicted",
        "wings": [vs.wing.uuid],
        "valid_from": today().isoformat(),
    }
    snap = state(vs.facility)
    resp = c.post(url, {**data, "capacity_visitors": 9})
    assert resp.status_code == 400 and state(vs.facility) == snap
    with translation.override("fr"):
        assert (
            translation.gettext("Between %(low)s and %(high)s visitors in this room.")
            % {"low": 2, "high": 8}
            in resp.content.decode()
        )
    assert c.post(url, data).status_code == 302
    t = SessionTemplate.objects.get(room=room)
    assert list(t.wings.all()) == [vs.wing]
    resp = c.get(reverse("visits:template_edit", args=[t.uuid]))
    assert resp.status_code == 200 and 'value="10:00"' in resp.content.decode()
    assert (
        c.post(
            reverse("visits:template_edit", args=[t.uuid]), {**data, "capacity_visits": 1}
        ).status_code
        == 302
    )
    t.refresh_from_db()
    assert t.capacity_visits == 1
    end = today() + dt.timedelta(days=30)
    assert (
        c.post(
            reverse("visits:template_end", args=[t.uuid]), {"valid_until": end.isoformat()}
        ).status_code
        == 302
    )
    t.refresh_from_db()
    assert t.valid_until == end
    assert (
        c.post(
            reverse("visits:room_edit", args=[room.uuid]),
            {"name": "Espace A", "kind": "family_space", "places": 2, "seats": 8},
        ).status_code
        == 302
    )
    room.refresh_from_db()
    assert room.name == "Espace A" and not room.in_service


def test_excluded_and_pause_forms(client, vs):
    c = _login(client, vs.officer)
    s = vs.sessions[0]
    booking = visit_book(
        session=s, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
    )
    resp = c.post(
        reverse("visits:excluded_create", args=["OUJDA2"]),
        {"starts_on": s.date.isoformat(), "reason": "Fête du Trône"},
    )
    assert resp.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    excluded = ExcludedDate.objects.get(facility=vs.facility)
    assert c.post(reverse("visits:excluded_remove", args=[excluded.uuid])).status_code == 302
    assert not ExcludedDate.objects.exists()
    resp = c.post(
        reverse("visits:pause_create", args=["OUJDA2"]),
        {"message_ar": "الحجز متوقف مؤقتا", "message_fr": ""},
    )
    assert resp.status_code == 302
    pause = OnlineBookingPause.objects.get(facility=vs.facility)
    assert c.post(reverse("visits:pause_end", args=[pause.uuid])).status_code == 302
    pause.refresh_from_db()
    assert pause.ends_at is not None
    # ending it again: a page message, nothing changed
    resp = c.post(reverse("visits:pause_end", args=[pause.uuid]), follow=True)
    with translation.override("ar"):
        assert translation.gettext("This pause is already over.") in resp.content.decode()


# -- dated sessions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_sessions_page(client, vs, lang, django_assert_max_num_queries):
    from ..services.sessions import sessions_generate

    sessions_generate(facility=vs.facility, until=today() + dt.timedelta(days=60))
    for s in VisitSession.objects.filter(template__isnull=False):
        s.wings.set([vs.wing])
    c = _login(client, vs.officer, lang)
    url = reverse("visits:sessions", args=["OUJDA2"])
    with django_assert_max_num_queries(14):
        resp = c.get(
            url,
            {
                "date_from": today().isoformat(),
                "date_to": (today() + dt.timedelta(days=60)).isoformat(),
            },
        )
    assert resp.status_code == 200
    assert len(resp.context["sessions"]) >= 10
    body = resp.content.decode()
    assert reverse("visits:session_cancel", args=[vs.sessions[0].uuid]) in body
    assert "0 / 2" in body and vs.wing.name in body
    assert c.get(url, {"date_from": "nope"}).status_code == 400


def test_session_cancel_and_capacity_pages(client, vs):
    c = _login(client, vs.officer, "fr")
    s = vs.sessions[0]
    assert c.get(reverse("visits:session_capacity", args=[s.uuid])).status_code == 200
    resp = c.post(
        reverse("visits:session_capacity", args=[s.uuid]),
        {"capacity_visits": 5, "capacity_visitors": 6},
    )
    assert resp.status_code == 400
    assert (
        c.post(
            reverse("visits:session_capacity", args=[s.uuid]),
            {"capacity_visits": 1, "capacity_visitors": 3},
        ).status_code
        == 302
    )
    s.refresh_from_db()
    assert (s.capacity_visits, s.capacity_visitors) == (1, 3)
    assert (
        c.post(reverse("visits:session_cancel", args=[s.uuid]), {"reason": "Grève"}).status_code
        == 302
    )
    s.refresh_from_db()
    assert s.cancelled_at and s.cancel_reason == "Grève"


def test_generate_button(client, vs):
    c = _login(client, vs.officer)
    before = VisitSession.objects.count()
    resp = c.post(
        reverse("visits:generate_sessions", args=["OUJDA2"]), {"days": 14, "next": "sessions"}
    )
    assert resp.status_code == 302 and resp.url == reverse("visits:sessions", args=["OUJDA2"])
    mondays = [next_weekday(today(), 0), next_weekday(today(), 0) + dt.timedelta(days=7)]
    pre = {s.date for s in vs.sessions}
    expected = [m for m in mondays if m <= today() + dt.timedelta(days=14) and m not in pre]
    assert VisitSession.objects.count() == before + len(expected)
