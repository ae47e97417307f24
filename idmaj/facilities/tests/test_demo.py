from datetime import date
from io import StringIO

import pytest

from idmaj.core.models import AuditEntry
from idmaj.facilities import demo, selectors
from idmaj.facilities.constants import FacilityStatus
from idmaj.facilities.models import (
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    Region,
)


def _counts():
    return {
        "regions": Region.objects.count(),
        "facilities": Facility.objects.count(),
        "periods": FacilityStatusPeriod.objects.count(),
        "cells": Cell.objects.count(),
        "beds": sum(Cell.objects.values_list("beds", flat=True)),
        "projects": InfrastructureProject.objects.count(),
        "installations": Installation.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        demo.seed(scale="demo", random_seed=2020, stdout=StringIO())
        first = _counts()
        demo.seed(scale="demo", random_seed=2020, stdout=StringIO())
        demo.seed(scale="national", random_seed=2020, stdout=StringIO())
        second = _counts()
        admin = _national_user()
    yield {"first": first, "second": second, "admin": admin}
    with django_db_blocker.unblock():
        from django.core.management import call_command

        call_command("flush", "--noinput", verbosity=0)
        from idmaj.core.services import roles_sync

        roles_sync()


def _national_user():
    from idmaj.core.tests.factories import UserFactory, grant

    user = UserFactory(username="demo-central")
    grant(user, "central_admin")
    return user


@pytest.mark.django_db
def test_idempotent(seeded):
    assert seeded["first"] == seeded["second"]
    assert seeded["first"]["regions"] == 10
    assert seeded["first"]["facilities"] >= 80
    assert seeded["first"]["cells"] > 5000


@pytest.mark.django_db
def test_report_figures(seeded):
    admin = seeded["admin"]
    count = selectors.installation_count_at
    assert count(fetched_by=admin, type_code="biometric", on=date(2019, 12, 31)) == 10
    assert count(fetched_by=admin, type_code="biometric", on=date(2020, 12, 31)) == 15
    assert count(fetched_by=admin, type_code="online_visit_booking", on=date(2020, 12, 31)) == 6
    qs = selectors.project_list(
        fetched_by=admin, kind="new_construction", status="completed", completed_year=2020
    )
    assert selectors.projects_summary(qs) == {"count": 3, "beds_added": 4400, "beds_restored": 0}
    assert {p.facility.code for p in qs} == {"BERKANE2", "OUJDA2", "LARACHE2"}
    repairs = selectors.project_list(
        fetched_by=admin, kind="repair", status="completed", completed_year=2020
    )
    assert {p.facility.code for p in repairs} == {
        "AZILAL", "FES_RASELMA", "TIZNIT", "TAZA", "SAFI", "ROMMANI_AGRI", "ZAIO_AGRI",
    }  # fmt: skip
    ext = selectors.project_list(fetched_by=admin, kind="extension", completed_year=2020).get()
    assert ext.facility.code == "SALE2"
    for type_code, code in [
        ("medical_unit", "OUJDA2"),
        ("dental_clinic", "MIDELT"),
        ("dialysis_unit", "NADOR2"),
        ("tb_lab", "ARJAT2"),
        ("family_visit_space", "LARACHE2"),
        ("distance_learning_studio", "SALE2"),
    ]:
        assert Installation.objects.filter(
            type__code=type_code, facility__code=code, installed_on__year=2020
        ).exists(), (type_code, code)


@pytest.mark.django_db
def test_statuses_and_capacity(seeded):
    f = {x.code: x for x in Facility.objects.all()}
    assert f["OUJDA1"].current_status == FacilityStatus.CLOSED
    assert f["OUJDA1"].name_fr == "Prison locale Oujda (1)"  # the bracketed note is stripped
    assert f["KSARELKEBIR"].current_status == FacilityStatus.CLOSED
    assert f["TAMESNA_CRE"].current_status == FacilityStatus.UNDER_CONSTRUCTION
    assert f["SETTAT"].current_status == FacilityStatus.PLANNED
    assert f["CASA_AINBORJA"].current_status == FacilityStatus.CLOSED
    for code in ("BERKANE2", "OUJDA2", "LARACHE2", "SALE2", "LAAYOUNE"):
        assert f[code].current_status == FacilityStatus.OPERATING
    at = selectors.facility_status_at
    assert at(facility=f["LAAYOUNE"], on=date(2020, 12, 31)) == "under_construction"
    assert at(facility=f["CASA_AINBORJA"], on=date(2020, 12, 31)) == "operating"
    assert at(facility=f["OUJDA2"], on=date(2019, 12, 31)) == "under_construction"
    # beds add up to the capacities; the Salé 2 extension counts from its completion
    b = selectors.beds_at(facility_ids=[f["BERKANE2"].pk, f["SALE2"].pk], on=date(2020, 12, 31))
    assert b[f["BERKANE2"].pk]["beds"] == 1425
    before = selectors.beds_at(facility_ids=[f["SALE2"].pk], on=date(2020, 9, 29))
    assert b[f["SALE2"].pk]["beds"] - before[f["SALE2"].pk]["beds"] == 600
    assert selectors.beds_at(facility_ids=[f["OUJDA1"].pk], on=date(2020, 12, 31)) == {
        f["OUJDA1"].pk: {"beds": 0, "operational_max": 0}
    }
    assert (
        selectors.beds_at(facility_ids=[f["OUJDA1"].pk], on=date(2019, 12, 31))[f["OUJDA1"].pk][
            "beds"
        ]
        > 0
    )
    cells = Cell.objects.filter(facility=f["LARACHE2"])
    assert sum(c.beds for c in cells) == 1575
    assert all(c.operational_max >= c.beds for c in cells)
    assert cells.filter(special_use="medical").exists()
    cap = selectors.capacity_at(fetched_by=seeded["admin"], on=date(2020, 12, 31))
    assert len(cap["regions"]) == 10
    assert cap["nation"]["beds"] == sum(r["beds"] for r in cap["facilities"]) > 50000
