"""Population counts against hand counts at several moments (admissions, transfers out,
releases, legal status changes, temporary absences), region and nation totals, the count
sheet, the misplaced prisoners, the population page; query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idmaj.facilities.constants import AgeGroup, Regime, Sex, SpecialUse
from idmaj.facilities.tests.factories import FacilityFactory, StatusPeriodFactory
from idmaj.inmates.constants import CustodyStatus, LegalStatus, MovementKind, PersonSex
from idmaj.inmates.models import CellAssignment, CustodyPeriod, LegalStatusPeriod, Movement
from idmaj.inmates.selectors import (
    count_sheet,
    misplaced_prisoners,
    moment_of,
    population_breakdown,
    population_report,
)
from idmaj.inmates.services import adult_cutoff, housing_breaches, side_of

from .factories import CustodyPeriodFactory, PersonFactory
from .housing_fixtures import *  # noqa: F403 - the ``hw`` fixture
from .housing_fixtures import cell, place, prisoner, wing


def at(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment of June 2025, local time."""
    return timezone.make_aware(dt.datetime(2025, 6, day, hour, minute))


T0 = at(15)


def _admit(facility, *, sex="M", birth=dt.date(1990, 1, 1), status="remand", when, **kw):
    person = PersonFactory(sex=sex, birth_date=birth)
    return CustodyPeriodFactory(
        facility=facility, person=person, legal_status=status, committed_at=when, **kw
    )


def _change_status(custody, status, when):
    LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).update(valid_to=when)
    LegalStatusPeriod.objects.create(
        custody=custody, facility_id=custody.facility_id, status=status, valid_from=when
    )
    CustodyPeriod.objects.filter(pk=custody.pk).update(legal_status=status)


def _end(custody, status, when):
    LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).update(valid_to=when)
    CustodyPeriod.objects.filter(pk=custody.pk).update(status=status, released_at=when)


def _absence(custody, kind, out, back=None, destination="TPI Oujda"):
    return Movement.objects.create(
        detention_id=custody.detention_id,
        custody=custody,
        facility_id=custody.facility_id,
        kind=kind,
        out_at=out,
        back_at=back,
        destination=destination,
    )


@pytest.fixture
def timeline(two_facilities):
    """Institutions A and C in region R1, B in region R2, and a June 2025 made by hand."""
    a, b = two_facilities["a"], two_facilities["b"]
    c = FacilityFactory(code="BERKANE", region=two_facilities["r1"])
    p = {}
    p["p1"] = _admit(a, when=at(5))  # remand, convicted on the 13th
    _change_status(p["p1"], LegalStatus.CONVICTED, at(13))
    p["p2"] = _admit(a, sex="F", status="convicted", when=at(10))
    # juvenile: 18 on 16 June 2025
    p["p3"] = _admit(a, birth=dt.date(2007, 6, 16), when=at(12))
    p["p4"] = _admit(a, when=at(1))  # released on the 14th
    _end(p["p4"], CustodyStatus.RELEASED, at(14))
    # transferred to B on the 15th at 06:00
    p["p5"] = _admit(a, when=at(1))
    _end(p["p5"], CustodyStatus.TRANSFERRED_OUT, at(15, 6))
    p["p5b"] = CustodyPeriodFactory(
        facility=b,
        person=p["p5"].person,
        detention=p["p5"].detention,
        committed_at=at(15, 6),
        legal_status="remand",
        transferred_from=p["p5"],
    )
    p["p6"] = _admit(a, when=at(2))  # at court on the 15th, 09:00 to 12:00
    _absence(p["p6"], MovementKind.COURT, at(15, 9), at(15, 12))
    p["p7"] = _admit(a, status="appealing", when=at(2))  # hospital 12th to 13th
    _absence(p["p7"], MovementKind.HOSPITAL, at(12), at(13), destination="CHU Mohammed VI")
    p["p8"] = _admit(c, status="appealing", when=at(3))
    p["p9"] = _admit(a, sex="F", status="convicted", when=at(15, 11))  # later that day
    p["p10"] = _admit(a, when=at(20))  # after everything
    return {**two_facilities, "c": c, **p}


def _c(total, ls, sex, juvenile, absent):
    """Expected counts: ls = (remand, convicted, appealing), sex = (M, F)."""
    return {
        "total": total,
        "legal_status": {
            "remand": ls[0],
            "convicted": ls[1],
            "appealing": ls[2],
            "unknown": 0,
        },
        "sex": {"M": sex[0], "F": sex[1]},
        "age_group": {"juvenile": juvenile, "adult": total - juvenile},
        "present": total - absent,
        "absent": absent,
    }


def test_breakdown_at_t0(timeline):
    t = timeline
    ids = [t["a"].pk, t["b"].pk, t["c"].pk]
    got = population_breakdown(facility_ids=ids, at=T0)
    # A at 10:00 on the 15th: p1 (convicted), p2 (F, convicted), p3 (juvenile, remand),
    # p6 (remand, at court), p7 (appealing); p4 released, p5 transferred, p9 not yet.
    assert got["facilities"][t["a"].pk] == _c(5, (2, 2, 1), (4, 1), 1, 1)
    assert got["facilities"][t["b"].pk] == _c(1, (1, 0, 0), (1, 0), 0, 0)
    assert got["facilities"][t["c"].pk] == _c(1, (0, 0, 1), (1, 0), 0, 0)
    assert got["regions"][t["r1"].pk] == _c(6, (2, 2, 2), (5, 1), 1, 1)
    assert got["regions"][t["r2"].pk] == _c(1, (1, 0, 0), (1, 0), 0, 0)
    assert got["nation"] == _c(7, (3, 2, 2), (6, 1), 1, 1)
    assert got["at"] == T0 and got["on"] == dt.date(2025, 6, 15)


def test_breakdown_on_a_date_means_end_of_day(timeline):
    t = timeline
    got = population_breakdown(facility_ids=[t["a"].pk], at=dt.date(2025, 6, 15))
    # p9 admitted at 11:00 counts, p6 is back from court, p3 still 17 that day
    assert got["facilities"][t["a"].pk] == _c(6, (2, 3, 1), (4, 2), 1, 0)
    assert got["at"] == moment_of(dt.date(2025, 6, 15))
    # the day after, p3 turned 18
    nxt = population_breakdown(facility_ids=[t["a"].pk], at=dt.date(2025, 6, 16))
    assert nxt["facilities"][t["a"].pk] == _c(6, (2, 3, 1), (4, 2), 0, 0)


def test_breakdown_before_events(timeline):
    t = timeline
    ids = [t["a"].pk, t["b"].pk, t["c"].pk]
    got = population_breakdown(facility_ids=ids, at=at(12, 18))
    # A on the 12th, 18:00: p1 (still remand), p2, p3, p4, p5, p6, p7 (in hospital)
    assert got["facilities"][t["a"].pk] == _c(7, (5, 1, 1), (6, 1), 1, 1)
    assert got["facilities"][t["b"].pk] == _c(0, (0, 0, 0), (0, 0), 0, 0)
    assert got["nation"]["total"] == 8
    # the moment of the transfer: in B, no longer in A
    got = population_breakdown(facility_ids=ids, at=at(15, 6))
    assert got["facilities"][t["b"].pk]["total"] == 1
    assert got["facilities"][t["a"].pk]["total"] == 5
    # before anyone
    got = population_breakdown(facility_ids=ids, at=dt.date(2025, 5, 31))
    assert got["nation"] == _c(0, (0, 0, 0), (0, 0), 0, 0)


def test_status_unknown_when_no_period_covers(timeline):
    t = timeline
    LegalStatusPeriod.objects.filter(custody=t["p2"]).delete()
    got = population_breakdown(facility_ids=[t["a"].pk], at=T0)
    assert got["facilities"][t["a"].pk]["legal_status"]["unknown"] == 1
    assert got["facilities"][t["a"].pk]["total"] == 5


def test_breakdown_query_count(timeline, django_assert_num_queries):
    more = [FacilityFactory(region=timeline["r1"]) for _ in range(5)]
    for f in more:
        _admit(f, when=at(3))
    ids = [timeline["a"].pk, timeline["b"].pk, *[f.pk for f in more]]
    with django_assert_num_queries(2):
        population_breakdown(facility_ids=ids, at=T0)
    with django_assert_num_queries(0):
        assert population_breakdown(facility_ids=[], at=T0)["nation"]["total"] == 0


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(day=st.integers(1, 21), hour=st.integers(0, 23), minute=st.sampled_from([0, 30, 59]))
def test_breakdown_matches_a_python_count(timeline, day, hour, minute):
    """At any moment of the month, the database counts equal a count made person by
    person in Python from the same rows."""
    moment = at(day, hour, minute)
    ids = [timeline["a"].pk, timeline["b"].pk, timeline["c"].pk]
    got = population_breakdown(facility_ids=ids, at=moment)
    for fid in ids:
        expected = {"total": 0, "remand": 0, "convicted": 0, "appealing": 0, "M": 0, "F": 0}
        juvenile = absent = 0
        for cp in CustodyPeriod.objects.filter(facility_id=fid).select_related("person"):
            if not (
                cp.committed_at <= moment and (cp.released_at is None or cp.released_at > moment)
            ):
                continue
            expected["total"] += 1
            period = [
                lp
                for lp in cp.legal_status_periods.all()
                if lp.valid_from <= moment and (lp.valid_to is None or lp.valid_to > moment)
            ]
            expected[period[0].status] += 1
            expected[cp.person.sex] += 1
            b = cp.person.birth_date
            d = timezone.localdate(moment)
            if d.year - b.year - ((d.month, d.day) < (b.month, b.day)) < 18:
                juvenile += 1
            if any(
                m.kind != MovementKind.TRANSFER
                and m.out_at <= moment
                and (m.back_at is None or m.back_at > moment)
                for m in cp.movements.all()
            ):
                absent += 1
        counts = got["facilities"][fid]
        assert counts["total"] == expected["total"]
        assert counts["legal_status"]["remand"] == expected["remand"]
        assert counts["legal_status"]["convicted"] == expected["convicted"]
        assert counts["legal_status"]["appealing"] == expected["appealing"]
        assert counts["sex"] == {"M": expected["M"], "F": expected["F"]}
        assert counts["age_group"]["juvenile"] == juvenile
        assert counts["absent"] == absent


# -- the report with beds, scoped -------------------------------------------------------------
def test_population_report_with_beds(timeline, make_user):
    t = timeline
    for f in (t["a"], t["b"], t["c"]):
        StatusPeriodFactory(facility=f, since=dt.date(2000, 1, 1))
    w = wing(t["a"], regime=Regime.MIXED)
    cell(w, beds=2, maximum=3)
    cell(w, beds=1, maximum=2)
    national = make_user("nat", "central_admin")
    report = population_report(fetched_by=national, at=T0)
    rows = {r.facility.code: r for r in report["facilities"]}
    assert rows["OUJDA2"].total == 5 and rows["OUJDA2"].beds == 3
    assert rows["OUJDA2"].occupancy == pytest.approx(5 / 3, abs=1e-4)
    assert rows["OUJDA2"].overcrowding == 2
    assert rows["SALE2"].beds == 0 and rows["SALE2"].occupancy is None
    assert rows["SALE2"].overcrowding == 1
    assert report["nation"].total == 7 and report["nation"].overcrowding == 4
    regions = {r.region.code: r for r in report["regions"]}
    assert regions["ORIENTAL"].total == 6 and regions["ORIENTAL"].facilities == 2
    # one region, one institution
    assert population_report(fetched_by=national, at=T0, region="RSK")["nation"].total == 1
    one = population_report(fetched_by=national, at=T0, facility="BERKANE")
    assert one["scope"]["kind"] == "facility" and one["nation"].total == 1


def test_population_report_scoped(timeline):
    from django.http import Http404

    director_a = timeline["users"]["director.oujda2"]
    report = population_report(fetched_by=director_a, at=T0)
    assert [r.facility.code for r in report["facilities"]] == ["OUJDA2"]
    assert report["nation"].total == 5
    with pytest.raises(Http404):
        population_report(fetched_by=director_a, at=T0, facility="SALE2")
    with pytest.raises(Http404):
        population_report(fetched_by=director_a, at=T0, region="NOPE")
    assert population_report(fetched_by=director_a, at=T0, region="RSK")["facilities"] == []


def test_population_page(client, timeline, make_user, django_assert_max_num_queries):
    national = make_user("nat", "central_admin")
    client.force_login(national)
    url = reverse("inmates:population")
    resp = client.get(url, {"on": "2025-06-15", "time": "10:00"})
    assert resp.status_code == 200
    assert resp.context["report"]["nation"].total == 7
    body = resp.content.decode()
    assert "OUJDA2" in body and "BERKANE" in body
    resp = client.get(url, {"on": "2025-06-15", "region": "ORIENTAL"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert resp.context["report"]["nation"].total == 7  # end of day: p9 counts
    resp = client.get(url, {"on": "2025-06-15", "facility": "SALE2"})
    assert resp.context["report"]["nation"].total == 1
    for f in (timeline["a"], timeline["b"], timeline["c"]):
        StatusPeriodFactory(facility=f, since=dt.date(2000, 1, 1))
    more = [FacilityFactory(region=timeline["r1"]) for _ in range(4)]
    with django_assert_max_num_queries(16) as few:
        client.get(url, {"on": "2025-06-15"})
    for f in more:
        _admit(f, when=at(3))
        StatusPeriodFactory(facility=f, since=dt.date(2000, 1, 1))
    assert len(few.captured_queries) >= 3
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url, {"on": "2025-06-15"})


def test_population_page_other_institution_not_offered(client, timeline):
    client.force_login(timeline["users"]["director.oujda2"])
    resp = client.get(reverse("inmates:population"), {"facility": "SALE2"})
    assert resp.status_code == 400
    assert [r.facility.code for r in resp.context["report"]["facilities"]] == ["OUJDA2"]
    assert 'value="SALE2"' not in resp.content.decode()


# -- the count sheet -------------------------------------------------------------------------
def test_count_sheet_at_moments(timeline):
    t = timeline
    w1 = wing(t["a"], regime=Regime.MIXED, name="A1")
    c1, c2 = cell(w1, number="101"), cell(w1, number="102")
    place(t["p1"], c1, at=at(6))
    place(t["p6"], c1, at=at(6))
    place(t["p7"], c2, at=at(6))
    director = t["users"]["director.oujda2"]
    sheet = count_sheet(fetched_by=director, facility=t["a"], at=T0)
    assert sheet["totals"] == {"roll": 5, "present": 4, "in_cells": 2, "absent": 1, "unhoused": 2}
    [wing_row] = sheet["wings"]
    cells = {c.cell.number: c for c in wing_row.cells}
    assert [p.pk for p in cells["101"].persons] == [t["p1"].pk]
    assert [p.pk for p in cells["101"].absent] == [t["p6"].pk]
    assert [p.pk for p in cells["102"].persons] == [t["p7"].pk]
    [out] = sheet["absent"]
    assert out["custody"].pk == t["p6"].pk and out["cell"] == c1
    assert out["movement"].destination == "TPI Oujda"
    assert {u["custody"].pk for u in sheet["unhoused"]} == {t["p2"].pk, t["p3"].pk}
    # the 12th, 18:00: p7 in hospital; p6 not yet housed then (from the 6th: housed)
    sheet = count_sheet(fetched_by=director, facility=t["a"], at=at(12, 18))
    assert sheet["totals"]["absent"] == 1 and sheet["absent"][0]["custody"].pk == t["p7"].pk
    # before the cells were allocated
    sheet = count_sheet(fetched_by=director, facility=t["a"], at=at(5, 12))
    assert sheet["totals"]["in_cells"] == 0 and sheet["wings"] == []


def test_count_sheet_scoped(timeline):
    from django.http import Http404

    with pytest.raises(Http404):
        count_sheet(fetched_by=timeline["users"]["director.sale2"], facility=timeline["a"], at=T0)


def test_count_sheet_query_count(timeline, django_assert_num_queries):
    director = timeline["users"]["director.oujda2"]
    count_sheet(fetched_by=director, facility=timeline["a"], at=T0)  # access cached
    with django_assert_num_queries(3):
        count_sheet(fetched_by=director, facility=timeline["a"], at=T0)


# -- misplaced prisoners ----------------------------------------------------------------------
def test_misplaced_prisoners(hw):
    a, w = hw["a"], hw["w"]
    today = timezone.localdate()
    juv_cell = cell(w["juv"])
    turned_18 = prisoner(a, birth_date=adult_cutoff(today))
    place(turned_18, juv_cell)
    still_17 = prisoner(a, birth_date=adult_cutoff(today) + dt.timedelta(days=1))
    place(still_17, juv_cell)
    remand_cell = cell(w["men_remand"])
    became_convicted = prisoner(a, status=LegalStatus.CONVICTED)
    place(became_convicted, remand_cell)
    fine = prisoner(a)
    place(fine, remand_cell)
    mixed_cell = cell(w["men_mixed"])
    m1 = prisoner(a, status=LegalStatus.REMAND)
    m2 = prisoner(a, status=LegalStatus.CONVICTED)
    place(m1, mixed_cell)
    place(m2, mixed_cell)
    closed = cell(w["men_remand"], in_service_until=today)
    in_closed = prisoner(a)
    place(in_closed, closed)
    found = {
        m.custody.pk: {b.code for b in m.breaches}
        for m in misplaced_prisoners(fetched_by=hw["viewer_a"], facility=a)
    }
    assert found == {
        turned_18.pk: {"adult_in_juvenile_wing"},
        became_convicted.pk: {"convicted_in_remand_wing"},
        m1.pk: {"mixed_cell_other_side"},
        m2.pk: {"mixed_cell_other_side"},
        in_closed.pk: {"cell_out_of_service"},
    }
    assert misplaced_prisoners(fetched_by=hw["officer_b"], facility=a) == []


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    placements=st.lists(
        st.tuples(
            st.sampled_from(PersonSex.values),
            st.integers(-2, 2),
            st.sampled_from(LegalStatus.values),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=8,
    ),
    wings=st.lists(
        st.tuples(
            st.sampled_from(Sex.values),
            st.sampled_from(AgeGroup.values),
            st.sampled_from(Regime.values),
            st.sampled_from(["", SpecialUse.MOTHER_CHILD]),
        ),
        min_size=3,
        max_size=3,
    ),
)
def test_misplaced_filter_agrees_with_the_rules(placements, wings):
    """The database filter of ``misplaced_prisoners`` finds exactly the stays that
    ``housing_breaches`` says break a rule, whatever the placements."""
    from idmaj.core.tests.factories import UserFactory, grant

    from .housing_fixtures import housing_roles

    housing_roles()
    facility = FacilityFactory()
    viewer = UserFactory()
    grant(viewer, "test_registry_viewer", facility=facility)
    today = timezone.localdate()
    cells = []
    for sex, age, regime, use in wings:
        w = wing(facility, sex=sex, age=age, regime=regime)
        cells.append(cell(w, use=use, maximum=20))
        cells.append(cell(w, maximum=20))
    stays = []
    for sex, days, status, where in placements:
        birth = adult_cutoff(today) + dt.timedelta(days=days)
        custody = prisoner(facility, sex=sex, birth_date=birth, status=status)
        place(custody, cells[where])
        stays.append(custody)
    expected = {}
    for custody in stays:
        c = custody.cell
        others = {
            side_of(s)
            for s in CellAssignment.objects.filter(cell=c, ended_at__isnull=True)
            .exclude(custody=custody)
            .values_list("custody__legal_status", flat=True)
        }
        breaches = housing_breaches(
            sex=custody.person.sex,
            birth_date=custody.person.birth_date,
            legal_status=custody.legal_status,
            cell=c,
            wing=c.wing,
            on=today,
            other_sides=others,
        )
        if breaches:
            expected[custody.pk] = {b.code for b in breaches}
    found = {
        m.custody.pk: {b.code for b in m.breaches}
        for m in misplaced_prisoners(fetched_by=viewer, facility=facility)
    }
    assert found == expected
