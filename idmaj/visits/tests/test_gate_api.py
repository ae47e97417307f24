"""Staff API of the gate: lookup by code, identity check, steps, walk-ins."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from ..constants import BookingStatus
from ..models import Booking, VisitPolicy
from .gate_fixtures import (
    audit_count,
    booking_state,
    make_booking,
    other_booking,
    today_session,
    user_with,
)

BASE = "/api/v1/visits"


def _api(user, lang="fr") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_authenticate(user)
    return client


@pytest.fixture
def booking(vs):
    return make_booking(vs, today_session(vs), code="H2J3K4M5N6")


def test_lookup(vs, booking):
    response = _api(vs.officer).post(f"{BASE}/gate/lookup/", {"code": "h2j3-k4m5-n6"})
    assert response.status_code == 200
    body = response.json()
    assert body["uuid"] == str(booking.uuid) and body["code"] == "H2J3K4M5N6"
    assert body["status"] == "booked" and body["facility"] == vs.facility.code
    assert body["prisoner"]["committal_number"] == vs.custody.committal_number
    assert [v["full_name"] for v in body["visitors"]] == [vs.adult.full_name, vs.child.full_name]
    assert body["visitors"][1]["is_child"] is True and body["visitors"][1]["age"] in (7, 8)
    assert body["session"]["room"] == vs.room.name


def test_lookup_with_confusables(vs):
    booking = make_booking(vs, today_session(vs), code="10Q0M1N0P1")
    response = _api(vs.officer).post(f"{BASE}/gate/lookup/", {"code": "LOQO-MIN-OPL"})
    assert response.status_code == 200 and response.json()["uuid"] == str(booking.uuid)


def test_lookup_of_another_institutions_code(vs, booking):
    foreign = other_booking(vs)
    client = _api(vs.officer)
    before = audit_count()
    unknown = client.post(f"{BASE}/gate/lookup/", {"code": "ZZZZZZZZZZ"})
    response = client.post(f"{BASE}/gate/lookup/", {"code": foreign.code})
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()
    assert response.json()["code"] == "not_found"
    assert audit_count() == before
    assert booking_state(foreign)[0] == BookingStatus.BOOKED


def test_identity_and_steps(vs, booking):
    client = _api(vs.officer)
    url = f"{BASE}/bookings/{booking.uuid}"
    response = client.post(f"{url}/arrive/", {})
    assert response.status_code == 400 and response.json()["code"] == "identity_not_checked"
    response = client.post(f"{url}/check-identity/", {"cin": "XX111111"})
    assert response.status_code == 400
    assert response.json()["code"] == "identity_mismatch"
    with translation.override("fr"):
        assert response.json()["detail"] == gettext(
            "This identity card is not that of an adult visitor named on the booking."
        )
    response = client.post(f"{url}/check-identity/", {"cin": vs.adult.cin})
    assert response.status_code == 200
    assert response.json()["visitors"][0]["checked_at"] is not None
    for step, status in [("arrive", "arrived"), ("start", "in_progress"), ("end", "completed")]:
        response = client.post(f"{url}/{step}/", {}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == status
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED
    response = client.post(f"{url}/no-show/")
    assert response.status_code == 409 and response.json()["code"] == "wrong_status"


def test_no_show_before_start_refused(vs):
    booking = make_booking(vs, vs.sessions[0])
    response = _api(vs.officer).post(f"{BASE}/bookings/{booking.uuid}/no-show/")
    assert response.status_code == 400
    assert response.json()["code"] == "session_not_started"
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.BOOKED


def test_steps_out_of_scope_or_without_permission(vs, booking):
    before = booking_state(booking)
    response = _api(vs.other_officer).post(f"{BASE}/bookings/{booking.uuid}/no-show/")
    assert response.status_code == 404
    response = _api(vs.other_officer).post(
        f"{BASE}/bookings/{booking.uuid}/check-identity/", {"cin": vs.adult.cin}
    )
    assert response.status_code == 404
    auditor = user_with("auditor")
    response = _api(auditor).post(f"{BASE}/bookings/{booking.uuid}/no-show/")
    assert response.status_code == 403
    response = _api(vs.officer).post(f"{BASE}/bookings/{uuid.uuid4()}/no-show/")
    assert response.status_code == 404
    assert booking_state(booking) == before


def test_walk_in_refused_where_not_allowed(vs):
    session = today_session(vs)
    VisitPolicy.objects.filter(pk=vs.facility.pk).update(walk_ins_allowed=False)
    before = audit_count()
    response = _api(vs.officer).post(
        f"{BASE}/walk-ins/",
        {
            "session": str(session.uuid),
            "committal_number": vs.custody.committal_number,
            "visitors": [str(vs.adult.uuid)],
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "walk_ins_not_allowed"
    assert not Booking.objects.exists() and audit_count() == before


def test_walk_in(vs):
    session = today_session(vs)
    client = _api(vs.officer)
    response = client.post(
        f"{BASE}/walk-ins/",
        {
            "session": str(session.uuid),
            "custody": str(vs.custody.uuid),
            "visitors": [str(vs.adult.uuid), str(vs.child.uuid)],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["channel"] == "walk_in" and body["status"] == "arrived"
    assert Booking.objects.get(uuid=body["uuid"]).status == BookingStatus.ARRIVED


def test_walk_in_with_a_visitor_of_another_list(vs):
    session = today_session(vs)
    foreign = other_booking(vs)
    stranger = foreign.visitors.get().visitor
    response = _api(vs.officer).post(
        f"{BASE}/walk-ins/",
        {
            "session": str(session.uuid),
            "committal_number": vs.custody.committal_number,
            "visitors": [str(stranger.uuid)],
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "not_on_list"
    assert Booking.objects.count() == 1


def test_walk_in_in_another_institutions_session(vs):
    foreign = other_booking(vs)
    response = _api(vs.officer).post(
        f"{BASE}/walk-ins/",
        {
            "session": str(foreign.session.uuid),
            "committal_number": vs.custody.committal_number,
            "visitors": [str(vs.adult.uuid)],
        },
        format="json",
    )
    assert response.status_code == 404
    assert Booking.objects.count() == 1
