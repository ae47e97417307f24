"""Booking APIs: the family portal's (``/api/v1/portal/...``) and the staff one
(``/api/v1/visits/bookings/...``): contract, refusals with codes in the request's language,
isolation between families, and the query count of the rush path."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from idmaj.core.models import Notification
from idmaj.visits import portal_auth, services
from idmaj.visits.constants import BookingStatus
from idmaj.visits.models import Booking, PortalToken, VisitSession

from .bookings_fixtures import other_family, state
from .factories import FamilyAccountFactory, approve_on_list

BOOKINGS = "/api/v1/portal/bookings/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def family_client(account, language="ar"):
    key = secrets.token_urlsafe(32)
    PortalToken.objects.create(
        account=account,
        key_hash=portal_auth.token_hash(key),
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Portal {key}")
    return client


def staff_client(user):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def body(vs, session=None, visitors=None):
    return {
        "prisoner": str(vs.adult.uuid),
        "session": str((session or vs.sessions[0]).uuid),
        "visitors": [str(v.uuid) for v in (visitors or [vs.adult, vs.child])],
    }


# -- family ------------------------------------------------------------------------------------
def test_sessions_of_a_prisoner(vs):
    client = family_client(vs.account)
    VisitSession.objects.filter(pk=vs.sessions[1].pk).update(booked_visits=1, booked_visitors=4)
    r = client.get(f"/api/v1/portal/prisoners/{vs.adult.uuid}/sessions/")
    assert r.status_code == 200, r.content
    rows = {row["uuid"]: row for row in r.json()}
    assert set(rows) >= {str(s.uuid) for s in vs.sessions}
    row = rows[str(vs.sessions[1].uuid)]
    assert (row["free_visits"], row["free_visitors"], row["room"]) == (1, 2, "Parloir A")
    assert set(row) == {
        "uuid",
        "starts_at",
        "ends_at",
        "mode",
        "room",
        "free_visits",
        "free_visitors",
    }
    # Another family's entry, the child's entry: 404.
    acc2, adult2, _ = other_family(vs)
    assert client.get(f"/api/v1/portal/prisoners/{adult2.uuid}/sessions/").status_code == 404
    assert client.get(f"/api/v1/portal/prisoners/{vs.child.uuid}/sessions/").status_code == 404


def test_book_list_detail_cancel(vs):
    client = family_client(vs.account)
    r = client.post(BOOKINGS, body(vs), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "booked" and len(data["code"]) == 10
    assert data["session"]["uuid"] == str(vs.sessions[0].uuid)
    assert {v["uuid"] for v in data["visitors"]} == {str(vs.adult.uuid), str(vs.child.uuid)}
    assert [v["is_child"] for v in data["visitors"] if v["uuid"] == str(vs.child.uuid)] == [True]
    assert data["facility"]["code"] == "OUJDA2"
    listed = client.get(BOOKINGS).json()
    assert [b["uuid"] for b in listed] == [data["uuid"]]
    detail = client.get(f"{BOOKINGS}{data['uuid']}/").json()
    assert detail["code"] == data["code"]
    r = client.post(f"{BOOKINGS}{data['uuid']}/cancel/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert VisitSession.objects.get(pk=vs.sessions[0].pk).booked_visits == 0


def test_refusal_code_and_translated_detail(vs):
    VisitSession.objects.filter(pk=vs.sessions[0].pk).update(booked_visits=2)
    before = state()
    for lang in ("ar", "fr"):
        r = family_client(vs.account, lang).post(BOOKINGS, body(vs), format="json")
        assert r.status_code == 409
        with translation.override(lang):
            expected = translation.gettext("This session is full: choose another one.")
        assert r.json() == {"code": "session_full", "detail": expected, "field": "session"}
    assert state() == before


def test_unknown_visitor_or_other_familys_prisoner(vs):
    client = family_client(vs.account)
    acc2, adult2, _ = other_family(vs)
    before = state()
    r = client.post(BOOKINGS, body(vs, visitors=[vs.adult, adult2]), format="json")
    assert r.status_code == 400 and r.json()["code"] == "not_on_list"
    bad = body(vs)
    bad["prisoner"] = str(adult2.uuid)
    assert client.post(BOOKINGS, bad, format="json").status_code == 404
    assert state() == before


def test_family_isolation_on_bookings(vs):
    b = services.visit_book(
        session=vs.sessions[0],
        detention=vs.custody.detention,
        visitors=[vs.adult],
        account=vs.account,
    )
    acc2, adult2, _ = other_family(vs)
    other = family_client(acc2)
    before = state()
    assert other.get(f"{BOOKINGS}{b.uuid}/").status_code == 404
    assert other.post(f"{BOOKINGS}{b.uuid}/cancel/", {}, format="json").status_code == 404
    change = {"session": str(vs.sessions[1].uuid), "visitors": [str(adult2.uuid)]}
    assert other.post(f"{BOOKINGS}{b.uuid}/change/", change, format="json").status_code == 404
    assert other.get(BOOKINGS).json() == []
    assert state() == before
    # Not signed in at all, or as staff: no entry.
    assert APIClient().get(BOOKINGS).status_code in (401, 403)
    assert staff_client(vs.officer).get(BOOKINGS).status_code in (401, 403)


def test_change_through_the_api(vs):
    client = family_client(vs.account)
    first = client.post(BOOKINGS, body(vs), format="json").json()
    r = client.post(
        f"{BOOKINGS}{first['uuid']}/change/",
        {"session": str(vs.sessions[1].uuid), "visitors": [str(vs.adult.uuid)]},
        format="json",
    )
    assert r.status_code == 201, r.content
    old = Booking.objects.get(uuid=first["uuid"])
    assert old.status == BookingStatus.CANCELLED and str(old.replaced_by.uuid) == r.json()["uuid"]


def test_rush_path_query_count(vs, django_assert_max_num_queries):
    """``POST bookings/`` of a holiday rush: token, visitors, session, then the service:
    custody with rules, pause, excluded day and wings (one query), restrictions, the session
    UPDATE, the allowance row and its UPDATE, the booking, its visitors (one INSERT), the
    audit entry (2 statements on PostgreSQL, 3 on SQLite), the SMS; 2 savepoints of the test's
    own transaction."""
    account = FamilyAccountFactory()
    adult, _ = approve_on_list(account, vs.custody, relationship="brother")
    client = family_client(account)
    warm = client.post(  # the first booking of the institution starts its audit chain
        BOOKINGS,
        {
            "prisoner": str(adult.uuid),
            "session": str(vs.sessions[0].uuid),
            "visitors": [str(adult.uuid)],
        },
        format="json",
    )
    assert warm.status_code == 201, warm.content
    payload = {
        "prisoner": str(adult.uuid),
        "session": str(vs.sessions[2].uuid),
        "visitors": [str(adult.uuid)],
    }
    with django_assert_max_num_queries(16):
        r = client.post(BOOKINGS, payload, format="json")
    assert r.status_code == 201, r.content


def test_list_query_count_is_flat(vs, django_assert_max_num_queries):
    client = family_client(vs.account)
    vs.policy.weekly_visits_remand = 9
    vs.policy.save()
    for s in vs.sessions:
        services.visit_book(
            session=s, detention=vs.custody.detention, visitors=[vs.adult], account=vs.account
        )
    with django_assert_max_num_queries(5):
        r = client.get(BOOKINGS)
    assert len(r.json()) == 4


# -- staff -------------------------------------------------------------------------------------
def test_staff_book_list_detail_cancel(vs):
    client = staff_client(vs.officer)
    r = client.post(
        "/api/v1/visits/bookings/",
        {
            "committal_number": vs.custody.committal_number,
            "session": str(vs.sessions[0].uuid),
            "visitors": [str(vs.adult.uuid), str(vs.child.uuid)],
            "channel": "phone",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["channel"] == "phone" and data["prisoner"]
    assert Notification.objects.filter(
        template="booking_confirmed", recipient=vs.account.phone
    ).exists()
    day = vs.sessions[0].date.isoformat()
    listed = client.get(f"/api/v1/visits/bookings/?facility=OUJDA2&date={day}").json()
    assert [b["uuid"] for b in listed] == [data["uuid"]]
    assert client.get(f"/api/v1/visits/bookings/{data['uuid']}/").status_code == 200
    r = client.post(f"/api/v1/visits/bookings/{data['uuid']}/cancel/", {"reason": ""})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = client.post(
        f"/api/v1/visits/bookings/{data['uuid']}/cancel/", {"reason": "Demande de la famille"}
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_staff_out_of_scope(vs):
    b = services.visit_book(
        session=vs.sessions[0],
        detention=vs.custody.detention,
        visitors=[vs.adult],
        account=vs.account,
    )
    client = staff_client(vs.other_officer)
    before = state()
    assert client.get(f"/api/v1/visits/bookings/{b.uuid}/").status_code == 404
    assert (
        client.post(f"/api/v1/visits/bookings/{b.uuid}/cancel/", {"reason": "x"}).status_code == 404
    )
    r = client.post(
        "/api/v1/visits/bookings/",
        {
            "committal_number": vs.custody.committal_number,
            "session": str(vs.sessions[1].uuid),
            "visitors": [str(vs.adult.uuid)],
            "channel": "desk",
        },
        format="json",
    )
    assert r.status_code == 404
    day = vs.sessions[0].date.isoformat()
    assert client.get(f"/api/v1/visits/bookings/?facility=OUJDA2&date={day}").status_code == 404
    assert state() == before


def test_staff_list_query_count(vs, django_assert_max_num_queries):
    vs.policy.weekly_visits_remand = 9
    vs.policy.save()
    s = vs.sessions[0]
    VisitSession.objects.filter(pk=s.pk).update(capacity_visits=10, capacity_visitors=30)
    for _ in range(4):
        acc, adult, _k = other_family(vs)
        from idmaj.inmates.tests.factories import CustodyPeriodFactory

        c = CustodyPeriodFactory(facility=vs.facility)
        a, _ = approve_on_list(FamilyAccountFactory(), c)
        services.visit_book(session=s, detention=c.detention, visitors=[a], account=a.account)
    client = staff_client(vs.officer)
    with django_assert_max_num_queries(12):
        r = client.get(f"/api/v1/visits/bookings/?facility=OUJDA2&date={s.date.isoformat()}")
    assert len(r.json()) == 4


def test_staff_over_capacity_needs_override(vs):
    VisitSession.objects.filter(pk=vs.sessions[0].pk).update(booked_visits=2, booked_visitors=6)
    payload = {
        "committal_number": vs.custody.committal_number,
        "session": str(vs.sessions[0].uuid),
        "visitors": [str(vs.adult.uuid)],
        "channel": "desk",
        "over_capacity_reason": "Famille venue de Dakhla",
    }
    before = state()
    r = staff_client(vs.officer).post("/api/v1/visits/bookings/", payload, format="json")
    assert r.status_code == 403 and state() == before
    r = staff_client(vs.director).post("/api/v1/visits/bookings/", payload, format="json")
    assert r.status_code == 201 and r.json()["over_capacity"] is True
