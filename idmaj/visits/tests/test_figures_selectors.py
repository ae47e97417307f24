"""Visit figures on a small hand-made dataset: channels, cancellations, completed visits,
no-shows and their rate, occupancy, online booking live; scoped national / regional /
institution; a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from .. import selectors
from .figures_fixtures import FEB, JAN, MAR, figures_data  # noqa: F401  (fixture "data")
from .gate_fixtures import user_with


def _figures(user, **kw):
    return selectors.visit_figures(fetched_by=user, month_from=JAN, month_to=FEB, **kw)


def _by_code(rows):
    return {r.facility.code: r for r in rows}


def test_national_figures(vs, data, django_assert_max_num_queries):
    auditor = user_with("auditor")
    _figures(auditor)  # the user's access, once per request
    with django_assert_max_num_queries(4):
        f = _figures(auditor)
    oujda = _by_code(f["facilities"])["OUJDA2"]
    assert (oujda.online, oujda.desk, oujda.phone, oujda.walk_in) == (5, 1, 1, 1)
    assert oujda.booked == 8 and oujda.cancelled == 1
    assert oujda.completed == 6 and oujda.no_shows == 2 and oujda.due == 8
    assert oujda.no_show_rate == 0.25
    assert (oujda.sessions, oujda.capacity, oujda.taken) == (3, 25, 8)
    assert oujda.occupancy == 0.32
    berkane = _by_code(f["facilities"])["BERKANE2"]
    assert (berkane.desk, berkane.completed, berkane.no_shows) == (2, 1, 1)
    assert berkane.no_show_rate == 0.5
    assert (berkane.capacity, berkane.taken, berkane.occupancy) == (4, 3, 0.75)
    # per institution and month
    rows = {(r.facility.code, r.month): r for r in f["rows"]}
    assert set(rows) == {("OUJDA2", JAN), ("OUJDA2", FEB), ("BERKANE2", JAN), ("CASA1", JAN)}
    jan = rows[("OUJDA2", JAN)]
    assert (jan.online, jan.booked, jan.completed, jan.no_shows, jan.capacity) == (3, 6, 4, 2, 20)
    assert rows[("OUJDA2", FEB)].occupancy == 0.4
    # per directorate, per month, overall
    regions = {r.region.code: r for r in f["regions"]}
    assert regions["ORIENTAL"].booked == 10 and len(regions["ORIENTAL"].facilities) == 2
    assert regions["CASA-SETTAT"].online == 1
    assert [(m.month, m.booked) for m in f["months"]] == [(JAN, 9), (FEB, 2)]
    total = f["total"]
    assert (total.booked, total.online, total.capacity, total.taken) == (11, 6, 39, 12)
    assert total.online_share == round(6 / 11, 4)
    # online booking live (policy): OUJDA2 and CASA1, not BERKANE2
    assert [x.code for x in f["online_live"]] == ["CASA1", "OUJDA2"]
    assert f["online_live_count"] == 2


def test_one_month_and_months_in_any_order(vs, data):
    auditor = user_with("auditor")
    f = selectors.visit_figures(fetched_by=auditor, month_from=FEB, month_to=FEB)
    assert [(r.facility.code, r.booked) for r in f["rows"]] == [("OUJDA2", 2)]
    g = selectors.visit_figures(fetched_by=auditor, month_from=FEB, month_to=JAN)
    assert g["total"].booked == 11
    h = selectors.visit_figures(fetched_by=auditor, month_from=MAR, month_to=MAR)
    assert h["total"].booked == 1


def test_regional_scope(vs, data):
    regional = user_with("regional_director", region=vs.facility.region)
    f = _figures(regional)
    assert set(_by_code(f["facilities"])) == {"OUJDA2", "BERKANE2"}
    assert f["total"].booked == 10
    assert [x.code for x in f["online_live"]] == ["OUJDA2"]
    assert list(selectors.figures_regions(fetched_by=regional)) == [vs.facility.region]
    # a directorate outside the scope gives nothing
    assert _figures(regional, region=data["casa_region"])["rows"] == []


def test_institution_scope(vs, data):
    f = _figures(vs.officer)
    assert set(_by_code(f["facilities"])) == {"OUJDA2"}
    assert f["total"].booked == 8 and f["online_live_count"] == 1
    assert list(selectors.figures_facilities(fetched_by=vs.officer)) == [vs.facility]


def test_filters_by_region_and_institution(vs, data):
    auditor = user_with("auditor")
    f = _figures(auditor, region=vs.facility.region)
    assert set(_by_code(f["facilities"])) == {"OUJDA2", "BERKANE2"}
    g = _figures(auditor, facility=data["casa"])
    assert [r.facility.code for r in g["rows"]] == ["CASA1"] and g["total"].online == 1


def test_no_figures_without_the_permission(vs, data):
    clerk = user_with("registry_officer", facility=vs.facility)
    with pytest.raises(Http404):
        _figures(clerk)


def test_csv(vs, data):
    text = selectors.figures_csv(_figures(user_with("auditor")))
    lines = text.strip().splitlines()
    assert lines[0].startswith("month,region,facility,online,desk,phone,walk_in,booked")
    assert "2025-01,ORIENTAL,OUJDA2,3,1,1,1,6,1,4,2,0.3333,2,20,6,0.3,yes" in lines
    assert "2025-01,ORIENTAL,BERKANE2,0,2,0,0,2,0,1,1,0.5,1,4,3,0.75,no" in lines
    assert len(lines) == 5


def test_month_helpers():
    assert selectors.parse_month("2025-02") == FEB
    assert selectors.parse_month("2025-13") is None and selectors.parse_month("x") is None
    assert selectors.month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)
    assert selectors.month_end(dt.date(2024, 12, 1)) == dt.date(2024, 12, 31)
    assert selectors.default_months(dt.date(2025, 3, 15)) == (dt.date(2024, 10, 1), MAR)
