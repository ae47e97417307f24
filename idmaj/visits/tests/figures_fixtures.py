"""The figures tests' dataset: three institutions in two directorates, bookings of every
channel and outcome over January to March 2025, made directly in the tables."""

from __future__ import annotations

import datetime as dt

import pytest

from idmaj.facilities.tests.factories import FacilityFactory, RegionFactory
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..constants import BookingChannel as C
from ..constants import BookingStatus as S
from ..models import VisitSession
from .factories import (
    FamilyAccountFactory,
    VisitPolicyFactory,
    VisitRoomFactory,
    approve_on_list,
    session_at,
)
from .gate_fixtures import make_booking

__all__ = ["JAN", "FEB", "MAR", "figures_data"]

JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def _place(vs, facility, room_name):
    """A room of ``facility`` and a prisoner held there with one adult visitor."""
    room = VisitRoomFactory(facility=facility, name=room_name, places=10, seats=30)
    custody = vs.custody if facility == vs.facility else CustodyPeriodFactory(facility=facility)
    if facility == vs.facility:
        adult = vs.adult
    else:
        adult, _kids = approve_on_list(FamilyAccountFactory(), custody)
    return room, custody, adult


def _book(vs, session, custody, adult, channel, status, **kw):
    return make_booking(
        vs, session, custody=custody, visitors=[adult], channel=channel, status=status, **kw
    )


@pytest.fixture(name="data")
def figures_data(vs):
    casa_region = RegionFactory(code="CASA-SETTAT")
    casa = FacilityFactory(code="CASA1", region=casa_region)
    VisitPolicyFactory(facility=casa, online_booking=True)
    VisitPolicyFactory(facility=vs.other_facility, online_booking=False)
    # OUJDA2 (policy online) ------------------------------------------------------------
    room, custody, adult = _place(vs, vs.facility, "Salle 1")
    s1 = session_at(room, dt.date(2025, 1, 6))
    s2 = session_at(room, dt.date(2025, 1, 13))
    session_at(room, dt.date(2025, 1, 20), cancelled_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    s3 = session_at(room, dt.date(2025, 2, 3), capacity_visits=5)
    s_mar = session_at(room, dt.date(2025, 3, 3))
    for session, channel, status in [
        (s1, C.ONLINE, S.COMPLETED),
        (s1, C.ONLINE, S.NO_SHOW),
        (s1, C.DESK, S.COMPLETED),
        (s2, C.ONLINE, S.COMPLETED),
        (s2, C.PHONE, S.NO_SHOW),
        (s2, C.WALK_IN, S.COMPLETED),
        (s2, C.ONLINE, S.CANCELLED),
        (s3, C.ONLINE, S.COMPLETED),
        (s3, C.ONLINE, S.COMPLETED),
        (s_mar, C.ONLINE, S.COMPLETED),  # out of the period asked
    ]:
        _book(vs, session, custody, adult, channel, status)
    # BERKANE2 (online not live), same directorate --------------------------------------
    room_b, custody_b, adult_b = _place(vs, vs.other_facility, "Salle B")
    s4 = session_at(room_b, dt.date(2025, 1, 8), capacity_visits=4)
    _book(vs, s4, custody_b, adult_b, C.DESK, S.COMPLETED, account=adult_b.account)
    _book(vs, s4, custody_b, adult_b, C.DESK, S.NO_SHOW, account=adult_b.account)
    VisitSession.objects.filter(pk=s4.pk).update(extra_visits=1)  # one over capacity
    # CASA1, another directorate ---------------------------------------------------------
    room_c, custody_c, adult_c = _place(vs, casa, "Salle C")
    s5 = session_at(room_c, dt.date(2025, 1, 15))
    _book(vs, s5, custody_c, adult_c, C.ONLINE, S.COMPLETED, account=adult_c.account)
    return {"casa": casa, "casa_region": casa_region}
