from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.facilities import services
from idmaj.facilities.constants import (
    AgeGroup,
    FacilityKind,
    FacilityStatus,
    ProjectKind,
    ProjectStatus,
    Regime,
    Sex,
)
from idmaj.facilities.models import Cell, Facility, FacilityStatusPeriod, Installation

from .factories import (
    BuildingFactory,
    CellFactory,
    FacilityFactory,
    InstallationTypeFactory,
    RegionFactory,
    WingFactory,
)


@pytest.fixture
def central(make_user):
    return make_user("central", "central_admin")


def _create(actor, **kw):
    args = dict(
        actor=actor,
        code="NEWPRISON",
        name_ar="السجن المحلي الجديد",
        name_fr="Prison locale nouvelle",
        kind=FacilityKind.LOCAL_PRISON,
        region=RegionFactory(code="ORIENTAL"),
        city="Oujda",
        since=date(2020, 1, 1),
    )
    args.update(kw)
    return services.facility_create(**args)


def test_facility_create_writes_status_and_audit(central):
    before = AuditEntry.objects.count()
    f = _create(central)
    assert f.current_status == FacilityStatus.OPERATING
    assert list(FacilityStatusPeriod.objects.filter(facility=f).values_list("status", "since")) == [
        (FacilityStatus.OPERATING, date(2020, 1, 1))
    ]
    entries = AuditEntry.objects.filter(facility_id=f.pk, object_type="facilities.facility")
    assert entries.count() == 1
    assert entries.get().actor == central
    assert AuditEntry.objects.count() == before + 2  # facility + its first status period


def test_facility_create_accepts_region_code_and_future_status_is_not_current(central):
    RegionFactory(code="RSK")
    future = timezone.localdate() + timedelta(days=30)
    f = _create(central, region="RSK", since=future, status=FacilityStatus.OPERATING)
    assert f.region.code == "RSK"
    assert f.current_status == FacilityStatus.PLANNED


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"code": "bad code"}, "code"),
        ({"kind": "castle"}, "kind"),
        ({"region": "NOWHERE"}, "region"),
        ({"source": "not a url"}, "source"),
    ],
)
def test_facility_create_invalid_changes_nothing(central, kw, field):
    audit_before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        _create(central, **kw)
    assert exc.value.field == field
    assert not Facility.objects.filter(name_fr="Prison locale nouvelle").exists()
    assert AuditEntry.objects.count() == audit_before


def test_facility_create_duplicate_code(central):
    _create(central)
    with pytest.raises(DomainError) as exc:
        _create(central)
    assert exc.value.code == "duplicate" and exc.value.field == "code"
    assert Facility.objects.filter(code="NEWPRISON").count() == 1


def test_facility_create_refused_without_permission(two_facilities):
    director = two_facilities["users"]["director.oujda2"]  # facilities.edit, but not national
    audit_before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        _create(director)
    assert not Facility.objects.filter(code="NEWPRISON").exists()
    assert AuditEntry.objects.count() == audit_before


def test_facility_update_changes_and_audits(two_facilities):
    f = two_facilities["a"]
    director = two_facilities["users"]["director.oujda2"]
    services.facility_update(actor=director, facility=f, city="Oujda-Angad", address="Route X")
    f.refresh_from_db()
    assert (f.city, f.address) == ("Oujda-Angad", "Route X")
    entry = AuditEntry.objects.filter(facility_id=f.pk, action="update").get()
    assert entry.before["city"] == "Oujda" and entry.after["city"] == "Oujda-Angad"
    # no change, no audit entry
    services.facility_update(actor=director, facility=f, city="Oujda-Angad")
    assert AuditEntry.objects.filter(facility_id=f.pk, action="update").count() == 1


def test_facility_update_other_institution_refused(two_facilities):
    b = two_facilities["b"]
    director_a = two_facilities["users"]["director.oujda2"]
    with pytest.raises(PermissionDenied):
        services.facility_update(actor=director_a, facility=b, city="Ailleurs")
    b.refresh_from_db()
    assert b.city != "Ailleurs"
    assert not AuditEntry.objects.filter(facility_id=b.pk).exists()


def test_facility_update_registry_officer_refused(two_facilities):
    a = two_facilities["a"]
    with pytest.raises(PermissionDenied):
        services.facility_update(
            actor=two_facilities["users"]["registry.oujda2"], facility=a, city="X"
        )
    a.refresh_from_db()
    assert a.city == "Oujda"


def test_facility_update_unknown_or_invalid_field(two_facilities):
    a = two_facilities["a"]
    with pytest.raises(DomainError) as exc:
        services.facility_update(actor=None, facility=a, code="OTHER")
    assert exc.value.code == "unknown_field"
    with pytest.raises(DomainError) as exc:
        services.facility_update(actor=None, facility=a, kind="castle")
    assert exc.value.field == "kind"
    a.refresh_from_db()
    assert a.code == "OUJDA2" and a.kind == FacilityKind.LOCAL_PRISON


def test_status_set_recomputes_current_and_refuses_duplicate(central):
    f = _create(central, since=date(2000, 1, 1))
    services.facility_status_set(
        actor=central, facility=f, status=FacilityStatus.CLOSED, since=date(2020, 2, 24)
    )
    f.refresh_from_db()
    assert f.current_status == FacilityStatus.CLOSED
    # a period in the future does not change the current status
    services.facility_status_set(
        actor=central,
        facility=f,
        status=FacilityStatus.OPERATING,
        since=timezone.localdate() + timedelta(days=10),
    )
    f.refresh_from_db()
    assert f.current_status == FacilityStatus.CLOSED
    count = FacilityStatusPeriod.objects.filter(facility=f).count()
    with pytest.raises(ConflictError) as exc:
        services.facility_status_set(
            actor=central, facility=f, status=FacilityStatus.OPERATING, since=date(2020, 2, 24)
        )
    assert exc.value.code == "duplicate_since" and exc.value.field == "since"
    assert FacilityStatusPeriod.objects.filter(facility=f).count() == count
    # a period inserted in the past before the closure does not reopen the institution
    services.facility_status_set(
        actor=central,
        facility=f,
        status=FacilityStatus.UNDER_RENOVATION,
        since=date(2010, 1, 1),
    )
    f.refresh_from_db()
    assert f.current_status == FacilityStatus.CLOSED


def test_audit_rolls_back_with_the_change(central):
    """The audit entry is written in the service's transaction: it goes when it goes."""
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            _create(central)
            assert AuditEntry.objects.count() == before + 2
            raise RuntimeError
    assert AuditEntry.objects.count() == before
    assert not Facility.objects.filter(code="NEWPRISON").exists()


def test_structure_rules(two_facilities):
    a, b = two_facilities["a"], two_facilities["b"]
    director = two_facilities["users"]["director.oujda2"]
    building = services.building_create(actor=director, facility=a, name="A")
    with pytest.raises(DomainError) as exc:
        services.building_create(actor=director, facility=a, name="A")
    assert exc.value.code == "duplicate"
    other = BuildingFactory(facility=b)
    with pytest.raises(DomainError) as exc:
        services.wing_create(
            actor=None,
            facility=a,
            building=other,
            name="W",
            sex=Sex.MALE,
            age_group=AgeGroup.ADULT,
            regime=Regime.REMAND,
        )
    assert exc.value.field == "building"
    wing = services.wing_create(
        actor=director,
        facility=a,
        building=building,
        name="A1",
        sex=Sex.FEMALE,
        age_group=AgeGroup.ADULT,
        regime=Regime.MIXED,
    )
    cell = services.cell_create(actor=director, wing=wing, number="1", beds=4, operational_max=6)
    assert cell.facility_id == a.pk
    with pytest.raises(DomainError) as exc:
        services.cell_create(actor=director, wing=wing, number="2", beds=4, operational_max=3)
    assert exc.value.field == "operational_max"
    with pytest.raises(DomainError) as exc:
        services.cell_create(
            actor=director,
            wing=wing,
            number="2",
            beds=4,
            operational_max=4,
            in_service_from=date(2020, 1, 1),
            in_service_until=date(2020, 1, 1),
        )
    assert exc.value.field == "in_service_until"
    assert Cell.objects.filter(wing=wing).count() == 1
    # another institution's director cannot add cells here
    with pytest.raises(PermissionDenied):
        services.cell_create(
            actor=two_facilities["users"]["director.sale2"],
            wing=wing,
            number="3",
            beds=2,
            operational_max=2,
        )
    assert Cell.objects.filter(wing=wing).count() == 1


def test_cell_update(two_facilities):
    cell = CellFactory(wing=WingFactory(building=BuildingFactory(facility=two_facilities["a"])))
    director = two_facilities["users"]["director.oujda2"]
    services.cell_update(actor=director, cell=cell, beds=5, operational_max=8)
    cell.refresh_from_db()
    assert (cell.beds, cell.operational_max) == (5, 8)
    assert AuditEntry.objects.filter(object_id=str(cell.uuid), action="update").count() == 1
    with pytest.raises(DomainError) as exc:
        services.cell_update(actor=director, cell=cell, beds=9)
    assert exc.value.field == "operational_max"
    cell.refresh_from_db()
    assert cell.beds == 5
    with pytest.raises(DomainError):
        services.cell_update(actor=director, cell=cell, number="X")
    cell.refresh_from_db()
    assert cell.number != "X"


def test_projects(two_facilities, central):
    a = two_facilities["a"]
    kw = dict(
        facility=a,
        kind=ProjectKind.REPAIR,
        name_ar="إصلاح",
        name_fr="Réparation",
        started_on=date(2020, 1, 1),
    )
    with pytest.raises(DomainError) as exc:
        services.project_record(actor=central, status=ProjectStatus.COMPLETED, **kw)
    assert exc.value.field == "completed_on"
    with pytest.raises(PermissionDenied):  # a director may not record projects
        services.project_record(
            actor=two_facilities["users"]["director.oujda2"], status=ProjectStatus.UNDER_WAY, **kw
        )
    assert not a.projects.exists()
    p = services.project_record(actor=central, status=ProjectStatus.UNDER_WAY, **kw)
    with pytest.raises(DomainError) as exc:
        services.project_update(
            actor=central, project=p, status=ProjectStatus.COMPLETED, completed_on=date(2019, 1, 1)
        )
    assert exc.value.field == "completed_on"
    p.refresh_from_db()
    assert p.status == ProjectStatus.UNDER_WAY
    services.project_update(
        actor=central,
        project=p,
        status=ProjectStatus.COMPLETED,
        completed_on=date(2020, 6, 30),
        beds_restored=40,
    )
    p.refresh_from_db()
    assert (p.status, p.beds_restored) == (ProjectStatus.COMPLETED, 40)
    assert AuditEntry.objects.filter(object_id=str(p.uuid)).count() == 2


def test_installations(two_facilities, central):
    a = two_facilities["a"]
    InstallationTypeFactory(code="biometric")
    i = services.installation_record(
        actor=central, facility=a, type_code="biometric", installed_on=date(2019, 5, 1)
    )
    for d in (date(2019, 5, 1), date(2020, 1, 1), date(2018, 1, 1)):
        with pytest.raises(ConflictError):
            services.installation_record(
                actor=central, facility=a, type_code="biometric", installed_on=d
            )
    with pytest.raises(DomainError) as exc:
        services.installation_record(
            actor=central, facility=a, type_code="nope", installed_on=date(2020, 1, 1)
        )
    assert exc.value.field == "type_code"
    with pytest.raises(PermissionDenied):
        services.installation_remove(
            actor=two_facilities["users"]["director.oujda2"],
            installation=i,
            removed_on=date(2020, 1, 1),
        )
    with pytest.raises(DomainError) as exc:
        services.installation_remove(actor=central, installation=i, removed_on=date(2019, 5, 1))
    assert exc.value.field == "removed_on"
    i.refresh_from_db()
    assert i.removed_on is None
    services.installation_remove(actor=central, installation=i, removed_on=date(2020, 1, 1))
    # after removal, it can be installed again from the removal date on
    services.installation_record(
        actor=central, facility=a, type_code="biometric", installed_on=date(2020, 1, 1)
    )
    assert Installation.objects.filter(facility=a).count() == 2
    with pytest.raises(ConflictError):
        services.installation_remove(actor=central, installation=i, removed_on=date(2021, 1, 1))
    assert FacilityFactory  # factories imported for symmetry
