from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.facilities import selectors, services
from idmaj.facilities.constants import FacilityStatus, ProjectKind, ProjectStatus
from idmaj.facilities.models import Installation

from .factories import (
    BuildingFactory,
    CellFactory,
    FacilityFactory,
    InstallationTypeFactory,
    StatusPeriodFactory,
    WingFactory,
)


def _cells(facility, *specs):
    wing = WingFactory(building=BuildingFactory(facility=facility))
    for beds, start, end in specs:
        CellFactory(
            wing=wing,
            beds=beds,
            operational_max=beds * 2,
            in_service_from=start,
            in_service_until=end,
        )


@pytest.fixture
def national(make_user):
    return make_user("nat", "central_admin")


@pytest.fixture(autouse=True)
def _no_population():
    selectors.register_population_provider(None)
    yield
    selectors.register_population_provider(None)


def test_beds_at_dates_and_statuses(two_facilities):
    a, b = two_facilities["a"], two_facilities["b"]
    StatusPeriodFactory(
        facility=a, status=FacilityStatus.UNDER_CONSTRUCTION, since=date(2018, 1, 1)
    )
    StatusPeriodFactory(facility=a, status=FacilityStatus.OPERATING, since=date(2020, 1, 1))
    StatusPeriodFactory(facility=a, status=FacilityStatus.UNDER_RENOVATION, since=date(2021, 1, 1))
    StatusPeriodFactory(facility=a, status=FacilityStatus.CLOSED, since=date(2022, 1, 1))
    StatusPeriodFactory(facility=b, status=FacilityStatus.OPERATING, since=date(2000, 1, 1))
    _cells(
        a,
        (4, date(2020, 1, 1), None),
        (6, None, date(2020, 7, 1)),  # out of service from 1 July
        (10, date(2020, 7, 1), None),  # in service from 1 July
    )
    _cells(b, (8, None, None))
    with CaptureQueriesContext(connection) as ctx:
        r = selectors.beds_at(facility_ids=[a.pk, b.pk], on=date(2020, 6, 30))
    assert len(ctx.captured_queries) <= 2
    assert r[a.pk] == {"beds": 10, "operational_max": 20}
    assert r[b.pk] == {"beds": 8, "operational_max": 16}
    assert selectors.beds_at(facility_ids=[a.pk], on=date(2020, 7, 1))[a.pk]["beds"] == 14
    assert selectors.beds_at(facility_ids=[a.pk], on=date(2021, 6, 1))[a.pk]["beds"] == 14
    assert selectors.beds_at(facility_ids=[a.pk], on=date(2019, 6, 1))[a.pk]["beds"] == 0
    assert selectors.beds_at(facility_ids=[a.pk], on=date(2022, 1, 1))[a.pk]["beds"] == 0
    assert selectors.beds_at(facility_ids=None, on=date(1990, 1, 1)) == {}
    assert selectors.facility_status_at(facility=a, on=date(2021, 12, 31)) == "under_renovation"
    assert selectors.facility_status_at(facility=a, on=date(2017, 1, 1)) is None


def test_facility_list_beds_filters_and_constant_queries(two_facilities, national):
    a, b = two_facilities["a"], two_facilities["b"]
    today = timezone.localdate()
    _cells(a, (4, None, None), (6, today + timedelta(days=1), None), (3, None, today))
    access_for(national)  # the user's roles are read once per request
    with CaptureQueriesContext(connection) as one:
        rows = list(selectors.facility_list(fetched_by=national))
    assert {f.code: f.beds for f in rows} == {"OUJDA2": 4, "SALE2": 0}
    for i in range(5):
        _cells(FacilityFactory(code=f"EXTRA{i}", region=a.region), (2, None, None))
    with CaptureQueriesContext(connection) as many:
        rows = list(selectors.facility_list(fetched_by=national))
    assert len(rows) == 7
    assert len(many.captured_queries) == len(one.captured_queries) == 1
    assert [f.code for f in selectors.facility_list(fetched_by=national, region="RSK")] == ["SALE2"]
    assert [f.code for f in selectors.facility_list(fetched_by=national, q="sale")] == ["SALE2"]
    assert selectors.facility_list(fetched_by=national, status="closed").count() == 0
    director_b = two_facilities["users"]["director.sale2"]
    assert [f.code for f in selectors.facility_list(fetched_by=director_b)] == [b.code]


def test_get_facility_for_user_or_404(two_facilities):
    from django.http import Http404

    user = two_facilities["users"]["registry.oujda2"]
    assert selectors.get_facility_for_user_or_404(user=user, code="OUJDA2").beds == 0
    for code in ("SALE2", "MISSING"):
        with pytest.raises(Http404):
            selectors.get_facility_for_user_or_404(user=user, code=code)


def test_capacity_at_with_and_without_population(two_facilities, national):
    a, b = two_facilities["a"], two_facilities["b"]
    for f in (a, b):
        StatusPeriodFactory(facility=f, status=FacilityStatus.OPERATING, since=date(2000, 1, 1))
    _cells(a, (100, None, None))
    _cells(b, (50, None, None))
    c = selectors.capacity_at(fetched_by=national, on=date(2020, 12, 31))
    assert c["nation"]["beds"] == 150 and c["nation"]["population"] is None
    assert all(r["occupancy"] is None for r in c["facilities"])
    selectors.register_population_provider(lambda ids, on: {a.pk: 130, b.pk: 40})
    c = selectors.capacity_at(fetched_by=national, on=date(2020, 12, 31))
    rows = {r["facility"].code: r for r in c["facilities"]}
    assert rows["OUJDA2"]["occupancy"] == 1.3 and rows["OUJDA2"]["overcrowding"] == 30
    assert rows["SALE2"]["overcrowding"] == 0
    assert c["nation"]["population"] == 170 and c["nation"]["overcrowding"] == 30
    assert {r["region"].code: r["beds"] for r in c["regions"]} == {"ORIENTAL": 100, "RSK": 50}
    # scoped: a director of SALE2 sees SALE2's totals only
    director_b = two_facilities["users"]["director.sale2"]
    c = selectors.capacity_at(fetched_by=director_b, on=date(2020, 12, 31))
    assert c["nation"]["beds"] == 50 and len(c["facilities"]) == 1
    c = selectors.capacity_at(fetched_by=national, on=date(2020, 12, 31), region="ORIENTAL")
    assert c["nation"]["beds"] == 100


def test_installation_count_boundaries(two_facilities, national):
    a, b = two_facilities["a"], two_facilities["b"]
    InstallationTypeFactory(code="biometric")
    services.installation_record(
        actor=None, facility=a, type_code="biometric", installed_on=date(2020, 12, 31)
    )
    i = services.installation_record(
        actor=None, facility=b, type_code="biometric", installed_on=date(2019, 1, 1)
    )
    services.installation_remove(actor=None, installation=i, removed_on=date(2020, 12, 31))
    count = selectors.installation_count_at
    assert count(fetched_by=national, type_code="biometric", on=date(2020, 12, 30)) == 1  # b
    assert count(fetched_by=national, type_code="biometric", on=date(2020, 12, 31)) == 1  # a
    assert count(fetched_by=national, type_code="biometric", on=date(2018, 12, 31)) == 0
    services.installation_record(
        actor=None, facility=b, type_code="biometric", installed_on=date(2021, 1, 1)
    )
    assert count(fetched_by=national, type_code="biometric", on=date(2021, 1, 1)) == 2
    director_a = two_facilities["users"]["director.oujda2"]
    assert count(fetched_by=director_a, type_code="biometric", on=date(2021, 1, 1)) == 1
    assert selectors.installation_list(fetched_by=national, on=date(2020, 6, 1)).get().facility == b
    assert Installation.objects.count() == 3


def test_project_list_and_summary(two_facilities, national):
    a, b = two_facilities["a"], two_facilities["b"]
    common = dict(actor=None, name_ar="مشروع", name_fr="Projet")
    services.project_record(
        facility=a,
        kind=ProjectKind.NEW_CONSTRUCTION,
        status=ProjectStatus.COMPLETED,
        completed_on=date(2020, 2, 1),
        beds_added=1400,
        **common,
    )
    services.project_record(
        facility=b,
        kind=ProjectKind.NEW_CONSTRUCTION,
        status=ProjectStatus.COMPLETED,
        completed_on=date(2020, 12, 31),
        beds_added=1000,
        **common,
    )
    services.project_record(
        facility=b,
        kind=ProjectKind.NEW_CONSTRUCTION,
        status=ProjectStatus.COMPLETED,
        completed_on=date(2021, 1, 1),
        beds_added=500,
        **common,
    )
    services.project_record(
        facility=b,
        kind=ProjectKind.REPAIR,
        status=ProjectStatus.COMPLETED,
        completed_on=date(2020, 5, 1),
        beds_restored=60,
        **common,
    )
    qs = selectors.project_list(
        fetched_by=national, kind="new_construction", status="completed", completed_year=2020
    )
    assert selectors.projects_summary(qs) == {"count": 2, "beds_added": 2400, "beds_restored": 0}
    all_2020 = selectors.project_list(fetched_by=national, completed_year=2020)
    assert selectors.projects_summary(all_2020)["beds_restored"] == 60
    assert selectors.projects_summary(
        selectors.project_list(fetched_by=national, region="ORIENTAL")
    ) == {"count": 1, "beds_added": 1400, "beds_restored": 0}
    director_a = two_facilities["users"]["director.oujda2"]
    assert selectors.project_list(fetched_by=director_a).count() == 1
    empty = selectors.project_list(fetched_by=national, completed_year=1999)
    assert selectors.projects_summary(empty) == {"count": 0, "beds_added": 0, "beds_restored": 0}


def test_structure_prefetched(two_facilities, django_assert_num_queries):
    a = two_facilities["a"]
    for _ in range(3):
        _cells(a, (2, None, None), (4, None, None))
    with django_assert_num_queries(3):
        buildings = selectors.facility_structure(facility=a)
        cells = [c for b in buildings for w in b.wings.all() for c in w.cells.all()]
    assert len(buildings) == 3 and len(cells) == 6
    assert selectors.status_history(facility=a).count() == 0
