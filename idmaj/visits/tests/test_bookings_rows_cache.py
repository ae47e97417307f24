"""The bookable sessions of the portal's API are read once for the families of an institution,
regime side and wing, and shared a second or two (``VISITS_SESSIONS_CACHE_SECONDS``): the
rush's most frequent request costs no session query for the next families, and the booking
stays the authority on places."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from idmaj.inmates.tests.factories import CustodyPeriodFactory
from idmaj.visits.serializers.bookings import BookableSessionSerializer

from .factories import FamilyAccountFactory, approve_on_list
from .test_bookings_api import BOOKINGS, body, family_client


def family_of_another_prisoner(vs):
    """A family approved for another prisoner (on remand, no cell) of the same institution."""
    custody = CustodyPeriodFactory(facility=vs.facility, legal_status=vs.custody.legal_status)
    account = FamilyAccountFactory()
    adult, _kids = approve_on_list(account, custody)
    return account, adult


def _sessions_url(visitor):
    return f"/api/v1/portal/prisoners/{visitor.uuid}/sessions/"


def _session_queries(ctx) -> int:
    return sum('FROM "visits_visitsession"' in q["sql"] for q in ctx.captured_queries)


@pytest.fixture
def shared(settings):
    settings.VISITS_SESSIONS_CACHE_SECONDS = 30


def test_second_family_of_the_institution_reads_no_session(vs, shared):
    first = family_client(vs.account)
    with CaptureQueriesContext(connection) as ctx:
        a = first.get(_sessions_url(vs.adult))
    assert a.status_code == 200 and _session_queries(ctx) == 1
    other_account, other_adult = family_of_another_prisoner(vs)
    second = family_client(other_account)
    with CaptureQueriesContext(connection) as ctx:
        b = second.get(_sessions_url(other_adult))
    assert b.status_code == 200 and _session_queries(ctx) == 0
    assert [r["uuid"] for r in a.json()] == [r["uuid"] for r in b.json()]
    # the rows have the documented shape
    assert set(a.json()[0]) == set(BookableSessionSerializer().fields)


def test_shared_list_may_lag_but_the_booking_decides(vs, shared):
    client = family_client(vs.account)
    session = vs.sessions[0]
    listed = {r["uuid"]: r for r in client.get(_sessions_url(vs.adult)).json()}
    assert listed[str(session.uuid)]["free_visits"] == 2
    # the session fills up (two other families take its two places)
    for _ in range(2):
        account, adult = family_of_another_prisoner(vs)
        r = family_client(account).post(
            BOOKINGS,
            {
                "prisoner": str(adult.uuid),
                "session": str(session.uuid),
                "visitors": [str(adult.uuid)],
            },
            format="json",
        )
        assert r.status_code == 201, r.json()
    # still listed for a moment ...
    assert str(session.uuid) in {r["uuid"] for r in client.get(_sessions_url(vs.adult)).json()}
    # ... but booking it is refused
    r = client.post(BOOKINGS, body(vs, session), format="json")
    assert r.status_code == 409 and r.json()["code"] == "session_full"


def test_without_sharing_the_list_is_read_every_time(vs, settings):
    settings.VISITS_SESSIONS_CACHE_SECONDS = 0
    client = family_client(vs.account)
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_sessions_url(vs.adult)).status_code == 200
        assert _session_queries(ctx) == 1
