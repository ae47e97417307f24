"""``bookable_sessions``: window boundaries, regime, wing, full, cancelled and excluded
sessions left out, free places annotated, one query; the staff reads' scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from idmaj.inmates.constants import LegalStatus
from idmaj.inmates.models import CustodyPeriod

from ..constants import RegimeFilter
from ..models import ExcludedDate, VisitPolicy, VisitRoom, VisitSession
from ..selectors import sessions as sel
from .factories import VisitRoomFactory, session_at
from .sessions_fixtures import in_cell, other_wing, prisoner, today


def _days(qs) -> list[int]:
    d = today()
    return [(s.date - d).days for s in qs]


def _bookable(vs, custody=None, **kw):
    custody = custody or vs.custody
    return list(sel.bookable_sessions(detention=custody.detention, custody=custody, **kw))


def test_scenario_sessions_with_free_places(vs):
    rows = _bookable(vs)
    assert _days(rows) == [3, 4, 5, 10]
    assert {(s.free_visits, s.free_visitors) for s in rows} == {(2, 6)}
    VisitSession.objects.filter(pk=vs.sessions[0].pk).update(booked_visits=1, booked_visitors=4)
    assert (_bookable(vs)[0].free_visits, _bookable(vs)[0].free_visitors) == (1, 2)


def test_window_boundaries(vs):
    d = today()
    for n in (0, 1, 2, 28, 29):
        session_at(vs.room, d + dt.timedelta(days=n), start=dt.time(15), end=dt.time(16))
    assert _days(_bookable(vs)) == [2, 3, 4, 5, 10, 28]
    VisitPolicy.objects.filter(facility=vs.facility).update(book_until_days=0, book_from_days=4)
    # today's session: only while it has not started
    now = timezone.make_aware(dt.datetime.combine(d, dt.time(8)))
    assert _days(_bookable(vs, now=now)) == [0, 1, 2, 3, 4]
    late = timezone.make_aware(dt.datetime.combine(d, dt.time(15, 30)))
    assert _days(_bookable(vs, now=late)) == [1, 2, 3, 4]
    # narrowed by the caller
    assert _days(
        _bookable(vs, now=now, on_or_after=d + dt.timedelta(days=2), until=d + dt.timedelta(days=3))
    ) == [2, 3]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (LegalStatus.REMAND, {RegimeFilter.ALL, RegimeFilter.REMAND}),
        (LegalStatus.APPEALING, {RegimeFilter.ALL, RegimeFilter.REMAND}),
        (LegalStatus.CONVICTED, {RegimeFilter.ALL, RegimeFilter.CONVICTED}),
    ],
)
def test_regime(vs, status, expected):
    d = today() + dt.timedelta(days=6)
    session_at(vs.room, d, regime=RegimeFilter.REMAND)
    session_at(vs.room, d, start=dt.time(12), end=dt.time(13), regime=RegimeFilter.CONVICTED)
    CustodyPeriod.objects.filter(pk=vs.custody.pk).update(legal_status=status)
    custody = CustodyPeriod.objects.get(pk=vs.custody.pk)
    assert {s.regime for s in _bookable(vs, custody)} == expected


def test_wings(vs):
    d = today() + dt.timedelta(days=6)
    mine = session_at(vs.room, d)
    mine.wings.set([vs.wing])
    elsewhere = other_wing(vs.facility)
    theirs = session_at(vs.room, d, start=dt.time(12), end=dt.time(13))
    theirs.wings.set([elsewhere])
    both = session_at(vs.room, d, start=dt.time(14), end=dt.time(15))
    both.wings.set([vs.wing, elsewhere])
    # not housed yet: the sessions for every wing only
    assert mine not in _bookable(vs) and both not in _bookable(vs)
    custody = in_cell(vs.custody, vs.wing)
    rows = _bookable(vs, custody)
    assert mine in rows and both in rows and theirs not in rows
    assert len(rows) == len(set(rows))  # no duplicate through the wings join
    # the cell already loaded: same answer
    custody = CustodyPeriod.objects.select_related("cell").get(pk=custody.pk)
    assert set(_bookable(vs, custody)) == set(rows)


def test_full_cancelled_excluded_out_of_service(vs):
    s3, s4, s5, s10 = vs.sessions
    VisitSession.objects.filter(pk=s3.pk).update(booked_visits=2, booked_visitors=2)
    VisitSession.objects.filter(pk=s4.pk).update(booked_visits=1, booked_visitors=6)
    VisitSession.objects.filter(pk=s5.pk).update(cancelled_at=timezone.now())
    ExcludedDate.objects.create(
        facility=vs.facility, starts_on=s10.date, ends_on=s10.date, reason="Aïd"
    )
    assert _bookable(vs) == []
    ExcludedDate.objects.all().delete()
    assert _bookable(vs) == [s10]
    VisitRoom.objects.filter(pk=vs.room.pk).update(in_service=False)
    assert _bookable(vs) == []


def test_other_institution_and_no_rules(vs):
    other = prisoner(vs.other_facility)
    session_at(VisitRoomFactory(facility=vs.other_facility), today() + dt.timedelta(days=5))
    # BERKANE2 has no rules: nothing bookable (the selector creates nothing)
    assert _bookable(vs, other) == []
    assert not VisitPolicy.objects.filter(facility=vs.other_facility).exists()
    # the custody decides the institution: never OUJDA2's sessions for a BERKANE2 prisoner
    VisitPolicy.objects.create(facility=vs.other_facility)
    assert all(s.facility_id == vs.other_facility.pk for s in _bookable(vs, other))
    # a custody of another detention: nothing
    assert list(sel.bookable_sessions(detention=other.detention, custody=vs.custody)) == []


def test_one_query(vs, django_assert_num_queries):
    in_cell(vs.custody, vs.wing)
    custody = CustodyPeriod.objects.get(pk=vs.custody.pk)
    policy = VisitPolicy.objects.get(facility=vs.facility)
    with django_assert_num_queries(1):
        rows = list(
            sel.bookable_sessions(detention=custody.detention_id, custody=custody, policy=policy)
        )
        names = [s.room.name for s in rows]
    assert len(names) == 4
    with django_assert_num_queries(2):
        list(sel.bookable_sessions(detention=custody.detention_id, custody=custody))


# -- staff reads ---------------------------------------------------------------------------------
def test_staff_reads_scoped(vs):
    assert list(sel.visit_facilities(fetched_by=vs.officer)) == [vs.facility]
    assert list(sel.visit_facilities(fetched_by=vs.officer, perm="visits.configure")) == [
        vs.facility
    ]
    with pytest.raises(Http404):
        sel.get_visit_facility_for_user_or_404(user=vs.other_officer, code="OUJDA2")
    with pytest.raises(Http404):
        sel.get_session_for_user_or_404(user=vs.other_officer, uuid=vs.sessions[0].uuid)
    assert (
        sel.get_session_for_user_or_404(user=vs.officer, uuid=vs.sessions[0].uuid) == vs.sessions[0]
    )
    with pytest.raises(Http404):
        sel.visit_settings(fetched_by=vs.other_officer, facility=vs.facility)
    d = today()
    assert (
        list(
            sel.session_list(
                fetched_by=vs.other_officer,
                facility=vs.facility,
                date_from=d,
                date_to=d + dt.timedelta(days=30),
            )
        )
        == []
    )
    rows = list(
        sel.session_list(
            fetched_by=vs.officer,
            facility=vs.facility,
            date_from=d,
            date_to=d + dt.timedelta(days=4),
        )
    )
    assert rows == vs.sessions[:2]


def test_visit_settings_content(vs):
    from ..services import sessions as svc

    svc.policy_update(actor=vs.officer, facility=vs.facility, online_booking=False)
    svc.policy_update(actor=vs.officer, facility=vs.facility, online_booking=True)
    pause = svc.online_pause_start(actor=vs.officer, facility=vs.facility, message_ar="متوقف")
    data = sel.visit_settings(fetched_by=vs.officer, facility=vs.facility)
    assert data["policy"] == vs.policy and data["rooms"] == [vs.room]
    assert data["templates"] == [vs.template] and data["active_pause"] == pause
    assert data["installation"] is not None and data["can_configure"]
