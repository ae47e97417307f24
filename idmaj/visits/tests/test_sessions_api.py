"""Staff API of visit configuration: rules, rooms, weekly sessions, days without visits,
pauses, dated sessions (list, cancel, capacity), generation; scoping (404 / 403 with
nothing changed), refusal codes, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

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
from .sessions_fixtures import state, today

BASE = "/api/v1/visits/"
FAC = BASE + "facilities/OUJDA2/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_policy_get_patch(vs):
    c = _client(vs.officer)
    resp = c.get(FAC + "policy/")
    assert resp.status_code == 200 and resp.json()["book_from_days"] == 28
    resp = c.patch(FAC + "policy/", {"book_from_days": 14, "online_booking": False}, format="json")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["book_from_days"] == 14 and resp.json()["online_booking"] is False
    resp = c.patch(FAC + "policy/", {"online_booking": True}, format="json")
    assert Installation.objects.filter(facility=vs.facility, removed_on__isnull=True).exists()
    snap = state(vs.facility)
    resp = c.patch(FAC + "policy/", {"book_from_days": 1, "book_until_days": 5}, format="json")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_window"
    assert state(vs.facility) == snap


def test_policy_scoping(vs, make_user):
    snap = state(vs.facility)
    other = _client(vs.other_officer)
    assert other.get(FAC + "policy/").status_code == 404
    assert other.patch(FAC + "policy/", {"book_from_days": 10}, format="json").status_code == 404
    viewer = _client(make_user("rd", "regional_director", region=vs.facility.region))
    assert viewer.get(FAC + "policy/").status_code == 200
    resp = viewer.patch(FAC + "policy/", {"book_from_days": 10}, format="json")
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    assert state(vs.facility) == snap
    assert VisitPolicy.objects.get(facility=vs.facility).book_from_days == 28


def test_rooms(vs):
    c = _client(vs.officer)
    resp = c.post(
        FAC + "rooms/",
        {"name": "Cabines", "room_kind": "closed_booths", "places": 6, "seats": 12},
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    uuid = resp.json()["uuid"]
    assert VisitRoom.objects.get(uuid=uuid).kind == "closed_booths"
    assert (
        c.post(FAC + "rooms/", {"name": "Cabines", "places": 1, "seats": 1}, format="json").json()[
            "code"
        ]
        == "duplicate"
    )
    resp = c.patch(f"{BASE}rooms/{uuid}/", {"in_service": False}, format="json")
    assert resp.status_code == 200 and resp.json()["in_service"] is False
    resp = c.patch(f"{BASE}rooms/{vs.room.uuid}/", {"places": 1}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "room_too_small"
    assert [r["name"] for r in c.get(FAC + "rooms/").json()] == ["Cabines", "Parloir A"]
    assert _client(vs.other_officer).get(f"{BASE}rooms/{uuid}/").status_code == 404


def test_templates(vs, django_assert_max_num_queries):
    c = _client(vs.officer)
    body = {
        "room": str(vs.room.uuid),
        "weekday": 4,
        "start_time": "14:00",
        "end_time": "16:00",
        "capacity_visits": 2,
        "capacity_visitors": 6,
        "mode": "open",
        "regime": "remand",
        "wings": [str(vs.wing.uuid)],
    }
    resp = c.post(FAC + "templates/", body, format="json")
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert data["wings"] == [{"uuid": str(vs.wing.uuid), "name": vs.wing.name}]
    resp = c.post(FAC + "templates/", body, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "overlap"
    resp = c.post(FAC + "templates/", {**body, "weekday": 5, "capacity_visits": 9}, format="json")
    assert resp.json()["code"] == "over_room_capacity" and resp.json()["field"] == "capacity_visits"
    resp = c.post(
        FAC + "templates/", {**body, "weekday": 5, "room": str(VisitRoom().uuid)}, format="json"
    )
    assert resp.status_code == 400 and resp.json()["field"] == "room"
    resp = c.patch(
        f"{BASE}templates/{data['uuid']}/", {"capacity_visits": 1, "wings": []}, format="json"
    )
    assert (
        resp.status_code == 200
        and resp.json()["capacity_visits"] == 1
        and resp.json()["wings"] == []
    )
    resp = c.post(f"{BASE}templates/{data['uuid']}/end/", {}, format="json")
    assert resp.status_code == 200 and resp.json()["valid_until"] == today().isoformat()
    assert resp.json()["kept_sessions"] == 0
    with django_assert_max_num_queries(8):
        resp = c.get(FAC + "templates/")
    assert resp.status_code == 200 and len(resp.json()) == 2
    assert (
        _client(vs.other_officer)
        .post(f"{BASE}templates/{data['uuid']}/end/", {}, format="json")
        .status_code
        == 404
    )


def test_excluded_dates(vs):
    c = _client(vs.officer)
    s = vs.sessions[0]
    booking = visit_book(
        session=s, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
    )
    resp = c.post(
        FAC + "excluded-dates/", {"starts_on": s.date.isoformat(), "reason": "Aïd"}, format="json"
    )
    assert resp.status_code == 201, resp.json()
    assert resp.json()["ends_on"] == s.date.isoformat()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert [e["reason"] for e in c.get(FAC + "excluded-dates/").json()] == ["Aïd"]
    uuid = resp.json()["uuid"]
    snap = state(vs.facility)
    assert _client(vs.other_officer).delete(f"{BASE}excluded-dates/{uuid}/").status_code == 404
    assert state(vs.facility) == snap
    resp = c.delete(f"{BASE}excluded-dates/{uuid}/")
    assert resp.status_code == 200 and resp.json() == {"sessions_reopened": 1}
    assert not ExcludedDate.objects.exists()


def test_pauses(vs):
    c = _client(vs.officer)
    resp = c.post(FAC + "pauses/", {"message_ar": "الحجز متوقف"}, format="json")
    assert resp.status_code == 201, resp.json()
    uuid = resp.json()["uuid"]
    resp = c.post(FAC + "pauses/", {"message_ar": "مرة أخرى"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "overlap"
    assert len(c.get(FAC + "pauses/").json()) == 1
    resp = c.post(f"{BASE}pauses/{uuid}/end/")
    assert resp.status_code == 200 and resp.json()["ended"] is True
    assert OnlineBookingPause.objects.get(uuid=uuid).ends_at is not None
    assert c.post(f"{BASE}pauses/{uuid}/end/").status_code == 409


def test_sessions_list_cancel_capacity(vs, django_assert_max_num_queries):
    c = _client(vs.officer)
    d = today()
    c.post(FAC + "generate/", {"days": 42}, format="json")
    with django_assert_max_num_queries(8):
        resp = c.get(
            FAC + "sessions/",
            {"date_from": d.isoformat(), "date_to": (d + dt.timedelta(days=42)).isoformat()},
        )
    assert resp.status_code == 200
    rows = resp.json()
    assert len(rows) >= 8 and str(vs.sessions[0].uuid) in {r["uuid"] for r in rows}
    assert {"booked_visits", "capacity_visits", "from_weekly", "wings"} <= set(rows[0])
    resp = c.get(
        FAC + "sessions/",
        {"date_from": d.isoformat(), "date_to": (d - dt.timedelta(days=1)).isoformat()},
    )
    assert resp.status_code == 400
    uuid = vs.sessions[0].uuid
    assert c.get(f"{BASE}sessions/{uuid}/").json()["room_name"] == "Parloir A"
    resp = c.post(
        f"{BASE}sessions/{uuid}/capacity/",
        {"capacity_visits": 3, "capacity_visitors": 6},
        format="json",
    )
    assert resp.status_code == 400 and resp.json()["code"] == "over_room_capacity"
    resp = c.post(
        f"{BASE}sessions/{uuid}/capacity/",
        {"capacity_visits": 1, "capacity_visitors": 4},
        format="json",
    )
    assert resp.status_code == 200 and resp.json()["capacity_visits"] == 1
    snap = state(vs.facility)
    other = _client(vs.other_officer)
    assert other.get(f"{BASE}sessions/{uuid}/").status_code == 404
    assert (
        other.post(f"{BASE}sessions/{uuid}/cancel/", {"reason": "x"}, format="json").status_code
        == 404
    )
    assert other.get(FAC + "sessions/").status_code == 404
    assert state(vs.facility) == snap
    resp = c.post(f"{BASE}sessions/{uuid}/cancel/", {"reason": "Travaux"}, format="json")
    assert resp.status_code == 200 and resp.json()["cancel_reason"] == "Travaux"
    resp = c.post(f"{BASE}sessions/{uuid}/cancel/", {"reason": "Travaux"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "already_cancelled"


def test_generate(vs):
    c = _client(vs.officer)
    resp = c.post(FAC + "generate/", {"days": 21}, format="json")
    assert resp.status_code == 200
    made = resp.json()["created"]
    assert made == VisitSession.objects.filter(template=vs.template).count() >= 1
    assert c.post(FAC + "generate/", {"days": 21}, format="json").json()["created"] == 0
    assert c.post(FAC + "generate/", {"days": 999}, format="json").status_code == 400
    assert _client(vs.other_officer).post(FAC + "generate/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    "path", ["policy/", "rooms/", "templates/", "excluded-dates/", "pauses/", "sessions/"]
)
def test_anonymous_refused(vs, path):
    assert APIClient().get(FAC + path).status_code in (401, 403)


def test_template_unknown_wing(vs):
    c = _client(vs.officer)
    resp = c.post(
        FAC + "templates/",
        {
            "room": str(vs.room.uuid),
            "weekday": 5,
            "start_time": "09:00",
            "end_time": "10:00",
            "capacity_visits": 1,
            "capacity_visitors": 2,
            "wings": [str(SessionTemplate().uuid)],
        },
        format="json",
    )
    assert resp.status_code == 400 and resp.json()["field"] == "wings"
