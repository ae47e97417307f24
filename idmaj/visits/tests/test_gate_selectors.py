"""Reads of the gate: today's overview (scoped, a fixed number of queries) and the daily
sheet of a room (PDF in Arabic and French, Hijri date beside the Gregorian one)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone, translation

from idmaj.inmates import pdf

from .. import selectors
from ..constants import BookingChannel, BookingStatus
from ..models import Booking
from .factories import FamilyAccountFactory, VisitRoomFactory, approve_on_list, session_at
from .gate_fixtures import make_booking, today_session, user_with


def _more_bookings(vs, session, n):
    """``n`` bookings of other prisoners of the institution in ``session``."""
    from idmaj.inmates.tests.factories import CustodyPeriodFactory

    out = []
    for _i in range(n):
        custody = CustodyPeriodFactory(facility=vs.facility)
        adult, kids = approve_on_list(
            FamilyAccountFactory(), custody, children=[("Salma", dt.date(2019, 5, 1))]
        )
        out.append(make_booking(vs, session, custody=custody, visitors=[adult, *kids]))
    return out


@pytest.fixture
def day(vs):
    morning = today_session(vs, capacity_visits=40, capacity_visitors=120)
    room2 = VisitRoomFactory(facility=vs.facility, name="Cabines", places=5, seats=5)
    booths = today_session(vs, room=room2, start=dt.time(14), end=dt.time(15), mode="closed")
    main = make_booking(vs, morning, code="ABCDE12345")
    cancelled = make_booking(
        vs, booths, status=BookingStatus.CANCELLED, channel=BookingChannel.DESK
    )
    return {
        "morning": morning,
        "booths": booths,
        "room2": room2,
        "main": main,
        "cancelled": cancelled,
    }


def test_today_overview(vs, day, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        overview = selectors.today_overview(
            fetched_by=vs.officer, facility=vs.facility, on=timezone.localdate()
        )
        rooms = [(r.room.name, [len(s.bookings) for s in r.sessions]) for r in overview["rooms"]]
        booking = overview["rooms"][1].sessions[0].bookings[0]
        names = [bv.visitor.full_name for bv in booking.adult_visitors + booking.child_visitors]
    assert rooms == [("Cabines", [0]), ("Parloir A", [1])]  # the cancelled one is left out
    assert booking.pk == day["main"].pk and booking.custody.person is not None
    assert names == [vs.adult.full_name, vs.child.full_name]
    assert booking.child_visitors[0].age in (7, 8)
    assert overview["counts"]["total"] == 1 and overview["counts"]["visitors"] == 2
    assert overview["counts"]["waiting"] == 1 and overview["sessions"] == 2


def test_today_overview_queries_do_not_grow(vs, day, django_assert_max_num_queries):
    _more_bookings(vs, day["morning"], 1)
    selectors.today_overview(fetched_by=vs.officer, facility=vs.facility)  # warm the access
    with django_assert_max_num_queries(3) as small:
        selectors.today_overview(fetched_by=vs.officer, facility=vs.facility)
    _more_bookings(vs, day["morning"], 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        overview = selectors.today_overview(fetched_by=vs.officer, facility=vs.facility)
    assert overview["counts"]["total"] == 14


def test_today_overview_is_scoped(vs, day):
    with pytest.raises(Http404):
        selectors.today_overview(fetched_by=vs.other_officer, facility=vs.facility)
    regional = user_with("regional_director", region=vs.facility.region)
    assert selectors.today_overview(fetched_by=regional, facility=vs.facility)["sessions"] == 2
    assert list(selectors.gate_facilities(fetched_by=vs.officer)) == [vs.facility]


def test_booking_for_user_or_404(vs, day):
    uuid = day["main"].uuid
    assert selectors.get_gate_booking_for_user_or_404(user=vs.officer, uuid=uuid).pk
    for user, key in [(vs.other_officer, uuid), (vs.officer, "not-a-uuid")]:
        with pytest.raises(Http404):
            selectors.get_gate_booking_for_user_or_404(user=user, uuid=key)


def _sheet(vs, day, room=None):
    return selectors.daily_sheet(
        fetched_by=vs.officer,
        facility=vs.facility,
        room=room or vs.room,
        on=timezone.localdate(),
    )


def test_daily_sheet(vs, day):
    sheet = _sheet(vs, day)
    assert [len(s.bookings) for s in sheet["sessions"]] == [1]
    assert sheet["counts"]["visitors"] == 2
    with pytest.raises(Http404):
        selectors.daily_sheet(
            fetched_by=vs.other_officer, facility=vs.facility, room=vs.room, on=sheet["on"]
        )
    other_room = VisitRoomFactory(facility=vs.other_facility, name="Ailleurs")
    with pytest.raises(Http404):
        selectors.daily_sheet(
            fetched_by=vs.officer, facility=vs.facility, room=other_room, on=sheet["on"]
        )


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_daily_sheet_pdf(vs, day, language):
    data, filename = selectors.daily_sheet_pdf(sheet=_sheet(vs, day), language=language)
    assert data.startswith(b"%PDF")
    assert filename.endswith(f"-{language}.pdf") and vs.facility.code in filename


def test_daily_sheet_html_columns_and_hijri(vs, day):
    sheet = _sheet(vs, day)
    person = day["main"].custody.person
    html_ar = pdf.render_html(selectors.SHEET_TEMPLATE, sheet, language="ar")
    assert '<html lang="ar" dir="rtl">' in html_ar
    assert "هـ" in html_ar  # the Hijri date beside the Gregorian one
    for text in (
        "ABCDE12345",
        vs.custody.committal_number,
        person.full_name_ar,
        vs.adult.full_name,
        vs.adult.cin,
        vs.child.full_name,
    ):
        assert text in html_ar
    with translation.override("ar"):
        assert str(Booking(channel="online").get_channel_display()) in html_ar
    html_fr = pdf.render_html(selectors.SHEET_TEMPLATE, sheet, language="fr")
    assert '<html lang="fr" dir="ltr">' in html_fr and "هـ" in html_fr
    with translation.override("fr"):
        from django.utils.translation import gettext

        assert gettext("Signature") in html_fr
        assert gettext("Daily visit sheet") in html_fr


def test_daily_sheet_empty_room(vs):
    room = VisitRoomFactory(facility=vs.facility, name="Vide")
    session_at(room, timezone.localdate() + dt.timedelta(days=1))
    sheet = _sheet(vs, None, room=room)
    assert sheet["sessions"] == []
    data, _name = selectors.daily_sheet_pdf(sheet=sheet, language="fr")
    assert data.startswith(b"%PDF")
