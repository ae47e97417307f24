"""The facilities pages: scoping, editing rights, validation, languages, query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from idmaj.core.models import AuditEntry
from idmaj.facilities import selectors, services
from idmaj.facilities.constants import FacilityStatus, ProjectKind, ProjectStatus
from idmaj.facilities.models import (
    Building,
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    Wing,
)

from .factories import (
    BuildingFactory,
    CellFactory,
    FacilityFactory,
    InstallationTypeFactory,
    RegionFactory,
    StatusPeriodFactory,
    WingFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_population():
    selectors.register_population_provider(None)
    yield
    selectors.register_population_provider(None)


@pytest.fixture
def world(two_facilities):
    """The two institutions operating since 2000, with a structure, a project and an
    installation each."""
    w = two_facilities
    biometrics = InstallationTypeFactory(
        code="biometrics", name_ar="التقنية البيومترية", name_fr="Biométrie"
    )
    for key, beds in (("a", 10), ("b", 7)):
        fac = w[key]
        StatusPeriodFactory(facility=fac, status=FacilityStatus.OPERATING, since=date(2000, 1, 1))
        wing = WingFactory(building=BuildingFactory(facility=fac, name=f"Bloc {key}"))
        w[f"cell_{key}"] = CellFactory(wing=wing, beds=beds, operational_max=beds + 2)
        w[f"project_{key}"] = services.project_record(
            actor=None,
            facility=fac,
            kind=ProjectKind.EXTENSION,
            name_ar=f"توسعة {key}",
            name_fr=f"Extension {key}",
            status=ProjectStatus.COMPLETED,
            started_on=date(2018, 1, 1),
            completed_on=date(2019, 6, 30),
            beds_added=100,
        )
        w[f"inst_{key}"] = services.installation_record(
            actor=None, facility=fac, type_code="biometrics", installed_on=date(2019, 1, 1)
        )
    w["biometrics"] = biometrics
    return w


@pytest.fixture
def national(make_user):
    return make_user("central.admin", "central_admin")


def login(client, user):
    client.force_login(user)
    return client


def snapshot() -> dict:
    """Everything the edit forms could change, to assert that nothing did."""
    return {
        "facilities": list(Facility.objects.order_by("pk").values()),
        "periods": list(FacilityStatusPeriod.objects.order_by("pk").values()),
        "buildings": list(Building.objects.order_by("pk").values()),
        "wings": list(Wing.objects.order_by("pk").values()),
        "cells": list(Cell.objects.order_by("pk").values()),
        "projects": list(InfrastructureProject.objects.order_by("pk").values()),
        "installations": list(Installation.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.filter(action__in=["create", "update", "delete"]).count(),
    }


# -- lists and scoping -----------------------------------------------------------------------
def test_list_shows_only_the_users_institutions(client, world):
    login(client, world["users"]["registry.oujda2"])
    r = client.get(reverse("facilities:list"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "OUJDA2" in body
    assert "SALE2" not in body
    assert 'class="badge operating"' in body


def test_national_user_sees_all_and_filters(client, world, national):
    login(client, national)
    body = client.get(reverse("facilities:list")).content.decode()
    assert "OUJDA2" in body and "SALE2" in body
    body = client.get(reverse("facilities:list"), {"region": "RSK"}).content.decode()
    assert "SALE2" in body and "OUJDA2" not in body
    body = client.get(reverse("facilities:list"), {"q": "oujda2"}).content.decode()
    assert "OUJDA2" in body and "SALE2" not in body


def test_list_htmx_returns_the_rows_only(client, world, national):
    login(client, national)
    r = client.get(reverse("facilities:list"), {"status": "operating"}, **HTMX)
    body = r.content.decode()
    assert "<html" not in body
    assert "<table>" in body and "OUJDA2" in body


def test_list_query_count_is_constant(client, world, national, django_assert_max_num_queries):
    login(client, national)
    client.get(reverse("facilities:list"))  # warm the session
    region = RegionFactory(code="EXTRA")
    for i in range(3):
        FacilityFactory(code=f"EXTRA{i}", region=region)
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("facilities:list"))
    for i in range(3, 30):
        FacilityFactory(code=f"EXTRA{i}", region=region)
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(reverse("facilities:list"))
    assert "EXTRA29" in r.content.decode()


def test_detail_of_own_institution(client, world):
    services.facility_update(
        actor=world["users"]["director.oujda2"], facility=world["a"], city="Oujda-Angad"
    )
    login(client, world["users"]["registry.oujda2"])
    r = client.get(reverse("facilities:detail", args=["OUJDA2"]))
    assert r.status_code == 200
    body = r.content.decode()
    assert world["a"].name_ar in body and world["a"].name_fr in body
    assert "Bloc a" in body and world["cell_a"].number in body  # structure
    assert "توسعة a" in body  # project
    assert "التقنية البيومترية" in body  # installation
    assert "director.oujda2" in body and "Oujda-Angad" in body  # record history
    # a registry officer may not edit: no edit links
    assert reverse("facilities:edit", args=["OUJDA2"]) not in body
    assert reverse("facilities:cell_edit", args=[world["cell_a"].uuid]) not in body


def test_director_sees_edit_links(client, world):
    login(client, world["users"]["director.oujda2"])
    body = client.get(reverse("facilities:detail", args=["OUJDA2"])).content.decode()
    assert reverse("facilities:edit", args=["OUJDA2"]) in body
    assert reverse("facilities:cell_edit", args=[world["cell_a"].uuid]) in body
    # projects and installations belong to the central administration
    assert reverse("facilities:project_add", args=["OUJDA2"]) not in body


@pytest.mark.parametrize(
    "name,args",
    [
        ("facilities:detail", ["SALE2"]),
        ("facilities:detail", ["NOWHERE"]),
        ("facilities:edit", ["SALE2"]),
        ("facilities:status_add", ["SALE2"]),
        ("facilities:building_add", ["SALE2"]),
        ("facilities:wing_add", ["SALE2"]),
        ("facilities:cell_add", ["SALE2"]),
        ("facilities:project_add", ["SALE2"]),
        ("facilities:installation_add", ["SALE2"]),
    ],
)
def test_other_institution_is_not_found(client, world, name, args):
    login(client, world["users"]["director.oujda2"])
    assert client.get(reverse(name, args=args)).status_code == 404


def test_other_institutions_records_are_not_found(client, world):
    login(client, world["users"]["director.oujda2"])
    for name, obj in (
        ("facilities:cell_edit", world["cell_b"]),
        ("facilities:project_edit", world["project_b"]),
        ("facilities:installation_remove", world["inst_b"]),
    ):
        assert client.get(reverse(name, args=[obj.uuid])).status_code == 404


def test_capacity_page(client, world, national, django_assert_max_num_queries):
    login(client, national)
    client.get(reverse("facilities:capacity"))
    with django_assert_max_num_queries(12):
        r = client.get(reverse("facilities:capacity"))
    body = r.content.decode()
    assert r.status_code == 200
    assert "الشرق" in body and "الرباط سلا القنيطرة" in body
    assert f'value="{timezone.localdate().isoformat()}"' in body  # date defaults to today
    assert "—" in body  # no population yet
    assert "هـ" in body  # Hijri date beside the Gregorian one
    r = client.get(reverse("facilities:capacity"), {"region": "ORIENTAL", "on": "2010-01-01"})
    rows = r.context["report"]
    assert [row["facility"].code for row in rows["facilities"]] == ["OUJDA2"]
    assert rows["nation"]["beds"] == 10
    assert reverse("facilities:detail", args=["OUJDA2"]) in r.content.decode()


def test_capacity_query_count_is_constant(client, world, national, django_assert_max_num_queries):
    login(client, national)
    client.get(reverse("facilities:capacity"))
    url = reverse("facilities:capacity") + "?region=ORIENTAL"
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for i in range(20):
        fac = FacilityFactory(code=f"EAST{i}", region=world["r1"])
        StatusPeriodFactory(facility=fac, since=date(2001, 1, 1))
        CellFactory(wing=WingFactory(building=BuildingFactory(facility=fac)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url)
    assert "EAST19" in r.content.decode()


def test_capacity_of_a_facility_user_leaves_out_others(client, world):
    login(client, world["users"]["director.sale2"])
    r = client.get(reverse("facilities:capacity"), {"region": "ORIENTAL"})
    assert r.status_code == 200
    assert r.context["report"]["facilities"] == []
    assert "OUJDA2" not in r.content.decode()


def test_capacity_bad_date_shows_error(client, world, national):
    login(client, national)
    r = client.get(reverse("facilities:capacity"), {"on": "not-a-date"})
    assert r.status_code == 200
    assert r.context["form"].errors["on"]


def test_projects_filter_and_summary(client, world, national):
    for code, beds in (("OUJDA2", 1400), ("SALE2", 1425)):
        services.project_record(
            actor=None,
            facility=Facility.objects.get(code=code),
            kind=ProjectKind.NEW_CONSTRUCTION,
            name_ar="بناء",
            name_fr="Construction",
            status=ProjectStatus.COMPLETED,
            completed_on=date(2020, 1, 31),
            beds_added=beds,
        )
    third = FacilityFactory(code="LARACHE2", region=world["r2"])
    services.project_record(
        actor=None,
        facility=third,
        kind=ProjectKind.NEW_CONSTRUCTION,
        name_ar="بناء",
        name_fr="Construction",
        status=ProjectStatus.COMPLETED,
        completed_on=date(2020, 1, 31),
        beds_added=1575,
    )
    services.project_record(  # completed another year: left out
        actor=None,
        facility=third,
        kind=ProjectKind.NEW_CONSTRUCTION,
        name_ar="بناء",
        name_fr="Construction",
        status=ProjectStatus.COMPLETED,
        completed_on=date(2019, 1, 31),
        beds_added=999,
    )
    login(client, national)
    client.cookies["idmaj_language"] = "en"
    r = client.get(
        reverse("facilities:projects"),
        {"kind": "new_construction", "status": "completed", "completed_year": "2020"},
    )
    assert r.context["summary"] == {"count": 3, "beds_added": 4400, "beds_restored": 0}
    assert "3 projects, 4,400 beds added" in r.content.decode()
    r = client.get(reverse("facilities:projects"), {"region": "ORIENTAL"}, **HTMX)
    body = r.content.decode()
    assert "<html" not in body and "OUJDA2" in body and "LARACHE2" not in body


def test_projects_scoped_to_the_user(client, world):
    login(client, world["users"]["registry.sale2"])
    r = client.get(reverse("facilities:projects"))
    assert [p.facility.code for p in r.context["projects"]] == ["SALE2"]


def test_installations_register_counts_on_a_date(client, world, national):
    services.installation_remove(
        actor=None, installation=world["inst_b"], removed_on=date(2020, 1, 1)
    )
    login(client, national)
    url = reverse("facilities:installations")
    r = client.get(url, {"type_code": "biometrics", "on": "2019-06-30"})
    assert r.context["count"] == 2
    r = client.get(url, {"type_code": "biometrics", "on": "2020-01-01"})
    assert r.context["count"] == 1
    body = r.content.decode()
    assert "OUJDA2" in body and "SALE2" not in body
    r = client.get(url, {"type_code": "biometrics", "on": "2018-12-31"}, **HTMX)
    assert r.context["count"] == 0 and "<html" not in r.content.decode()


def test_installations_scoped_to_the_user(client, world):
    login(client, world["users"]["registry.oujda2"])
    r = client.get(reverse("facilities:installations"), {"type_code": "biometrics"})
    assert r.context["count"] == 1
    assert "SALE2" not in r.content.decode()


# -- edits -----------------------------------------------------------------------------------
def _facility_post(fac, **overrides):
    data = {
        "name_ar": fac.name_ar,
        "name_fr": fac.name_fr,
        "kind": fac.kind,
        "region": fac.region_id,
        "city": fac.city,
        "address": fac.address,
        "latitude": "",
        "longitude": "",
        "source": "",
    }
    data.update(overrides)
    return data


def test_director_edits_own_institution(client, world):
    login(client, world["users"]["director.oujda2"])
    url = reverse("facilities:edit", args=["OUJDA2"])
    r = client.get(url)
    assert r.status_code == 200
    assert f'value="{world["a"].name_fr}"' in r.content.decode()  # current values shown
    r = client.post(url, _facility_post(world["a"], city="Oujda-Angad", address="Route de Jerada"))
    assert r.status_code == 302
    assert r["Location"] == reverse("facilities:detail", args=["OUJDA2"])
    fac = Facility.objects.get(code="OUJDA2")
    assert (fac.city, fac.address) == ("Oujda-Angad", "Route de Jerada")
    r = client.get(r["Location"])
    assert "msg success" in r.content.decode()


def test_director_cannot_edit_another_institution(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    r = client.post(
        reverse("facilities:edit", args=["SALE2"]), _facility_post(world["b"], city="X")
    )
    assert r.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "name,data",
    [
        ("facilities:edit", None),
        ("facilities:status_add", {"status": "closed", "since": "2024-01-01"}),
        ("facilities:building_add", {"name": "Nouveau"}),
        (
            "facilities:project_add",
            {
                "kind": "repair",
                "name_ar": "x",
                "name_fr": "x",
                "status": "planned",
                "beds_added": 0,
                "beds_restored": 0,
            },
        ),
        ("facilities:installation_add", {"type_code": "biometrics", "installed_on": "2024-01-01"}),
    ],
)
def test_registry_officer_cannot_edit(client, world, name, data):
    data = data or _facility_post(world["a"], city="Changed")
    before = snapshot()
    login(client, world["users"]["registry.oujda2"])
    url = reverse(name, args=["OUJDA2"])
    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    assert snapshot() == before


def test_registry_officer_cannot_edit_a_cell(client, world):
    before = snapshot()
    login(client, world["users"]["registry.oujda2"])
    url = reverse("facilities:cell_edit", args=[world["cell_a"].uuid])
    r = client.post(url, {"beds": 1, "operational_max": 1})
    assert r.status_code == 403
    assert snapshot() == before


def test_director_cannot_record_projects_or_installations(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    for url, data in (
        (
            reverse("facilities:project_edit", args=[world["project_a"].uuid]),
            {"kind": "repair", "name_ar": "x", "name_fr": "x", "status": "planned"},
        ),
        (
            reverse("facilities:installation_remove", args=[world["inst_a"].uuid]),
            {"removed_on": "2024-01-01"},
        ),
    ):
        assert client.post(url, data).status_code == 403
    assert snapshot() == before


def test_invalid_input_rerenders_with_translated_error(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    url = reverse("facilities:edit", args=["OUJDA2"])
    r = client.post(url, _facility_post(world["a"], name_ar="", city="Typed city"))
    assert r.status_code == 400
    body = r.content.decode()
    with translation.override("ar"):
        assert translation.gettext("This field is required.") in body
    assert 'value="Typed city"' in body  # what was typed is kept
    assert snapshot() == before


def test_service_refusal_shown_next_to_the_field(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    client.cookies["idmaj_language"] = "fr"
    wing = world["cell_a"].wing
    r = client.post(
        reverse("facilities:cell_add", args=["OUJDA2"]),
        {"wing": wing.pk, "number": "N1", "beds": 8, "operational_max": 4},
    )
    assert r.status_code == 400
    form = r.context["form"]
    with translation.override("fr"):
        expected = translation.gettext(
            "The operational maximum cannot be lower than the number of beds."
        )
    assert form.errors["operational_max"] == [expected]
    assert expected in r.content.decode()
    assert snapshot() == before


def test_status_period_duplicate_date_refused(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    r = client.post(
        reverse("facilities:status_add", args=["OUJDA2"]),
        {"status": "under_renovation", "since": "2000-01-01"},
    )
    assert r.status_code == 400
    assert r.context["form"].errors["since"]
    assert snapshot() == before


def test_director_records_status_and_structure(client, world):
    login(client, world["users"]["director.oujda2"])
    code = "OUJDA2"
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    r = client.post(
        reverse("facilities:status_add", args=[code]),
        {"status": "under_renovation", "since": since, "note": "Travaux"},
    )
    assert r.status_code == 302
    assert Facility.objects.get(code=code).current_status == "under_renovation"

    assert (
        client.post(reverse("facilities:building_add", args=[code]), {"name": "B2"}).status_code
        == 302
    )
    building = Building.objects.get(facility=world["a"], name="B2")
    r = client.post(
        reverse("facilities:wing_add", args=[code]),
        {
            "building": building.pk,
            "name": "Femmes",
            "sex": "F",
            "age_group": "adult",
            "regime": "mixed",
            "special_use": "",
        },
    )
    assert r.status_code == 302
    wing = Wing.objects.get(facility=world["a"], name="Femmes")
    r = client.post(
        reverse("facilities:cell_add", args=[code]),
        {
            "wing": wing.pk,
            "number": "F1",
            "beds": 2,
            "operational_max": 3,
            "special_use": "mother_child",
        },
    )
    assert r.status_code == 302
    cell = Cell.objects.get(wing=wing, number="F1")
    assert (cell.beds, cell.facility_id) == (2, world["a"].pk)
    r = client.post(
        reverse("facilities:cell_edit", args=[cell.uuid]),
        {
            "beds": 3,
            "operational_max": 4,
            "special_use": "mother_child",
            "in_service_from": "2024-01-01",
        },
    )
    assert r.status_code == 302
    cell.refresh_from_db()
    assert (cell.beds, cell.operational_max, cell.in_service_from) == (3, 4, date(2024, 1, 1))


def test_wing_form_offers_only_own_buildings(client, world):
    before = snapshot()
    login(client, world["users"]["director.oujda2"])
    other_building = Building.objects.get(facility=world["b"])
    r = client.post(
        reverse("facilities:wing_add", args=["OUJDA2"]),
        {
            "building": other_building.pk,
            "name": "X",
            "sex": "M",
            "age_group": "adult",
            "regime": "remand",
        },
    )
    assert r.status_code == 400
    assert r.context["form"].errors["building"]
    assert snapshot() == before


def test_central_admin_records_projects_and_installations(client, world, national):
    login(client, national)
    r = client.post(
        reverse("facilities:project_add", args=["SALE2"]),
        {
            "kind": "repair",
            "name_ar": "ترميم",
            "name_fr": "Réfection",
            "status": "under_way",
            "started_on": "2024-03-01",
            "beds_added": 0,
            "beds_restored": 40,
        },
    )
    assert r.status_code == 302
    project = InfrastructureProject.objects.get(name_fr="Réfection")
    r = client.post(
        reverse("facilities:project_edit", args=[project.uuid]),
        {
            "kind": "repair",
            "name_ar": "ترميم",
            "name_fr": "Réfection",
            "status": "completed",
            "started_on": "2024-03-01",
            "beds_added": 0,
            "beds_restored": 40,
        },
    )
    assert r.status_code == 400  # completed without a date
    assert r.context["form"].errors["completed_on"]
    project.refresh_from_db()
    assert project.status == "under_way"
    r = client.post(
        reverse("facilities:installation_add", args=["SALE2"]),
        {"type_code": "biometrics", "installed_on": "2024-01-01"},
    )
    assert r.status_code == 400  # already installed since 2019
    assert r.context["form"].errors["installed_on"]
    r = client.post(
        reverse("facilities:installation_remove", args=[world["inst_b"].uuid]),
        {"removed_on": "2024-01-01"},
    )
    assert r.status_code == 302
    world["inst_b"].refresh_from_db()
    assert world["inst_b"].removed_on == date(2024, 1, 1)


# -- languages and dashboard -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name,args",
    [
        ("facilities:list", []),
        ("facilities:capacity", []),
        ("facilities:projects", []),
        ("facilities:installations", []),
        ("facilities:detail", ["OUJDA2"]),
        ("facilities:edit", ["OUJDA2"]),
    ],
)
def test_pages_render_in_arabic_and_french(client, world, name, args):
    login(client, world["users"]["director.oujda2"])
    url = reverse(name, args=args)
    r = client.get(url)
    assert r.status_code == 200
    assert 'dir="rtl"' in r.content.decode()
    client.cookies["idmaj_language"] = "fr"
    r = client.get(url)
    assert r.status_code == 200
    assert 'dir="ltr"' in r.content.decode() and 'lang="fr"' in r.content.decode()


def test_dashboard_widget(client, world, national):
    login(client, world["users"]["director.oujda2"])
    r = client.get(reverse("core:home"))
    widgets = [
        w for w in r.context["widgets"] if w["template"] == "facilities/_widget_capacity.html"
    ]
    assert len(widgets) == 1
    w = widgets[0]
    assert (w["institutions"], w["operating"], w["beds"]) == (1, 1, 10)
    assert w["url"] == reverse("facilities:detail", args=["OUJDA2"])
    client.force_login(national)
    r = client.get(reverse("core:home"))
    w = next(w for w in r.context["widgets"] if w["template"] == "facilities/_widget_capacity.html")
    assert (w["institutions"], w["beds"]) == (2, 17)
    assert reverse("facilities:capacity") in r.content.decode()
