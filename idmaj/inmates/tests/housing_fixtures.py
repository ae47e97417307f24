"""Fixtures of the housing and population tests (imported by ``test_housing_*.py``)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from idmaj.core.models import Permission, Role
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.facilities.constants import AgeGroup, Regime, Sex, SpecialUse
from idmaj.facilities.tests.factories import BuildingFactory, CellFactory, WingFactory
from idmaj.inmates.constants import LegalStatus, PersonSex
from idmaj.inmates.models import CellAssignment, CellOccupancy

from .factories import CustodyPeriodFactory, PersonFactory

__all__ = ["hw"]  # the fixture, for ``from .housing_fixtures import *``


def housing_roles() -> None:
    """Test roles: a housing officer (view + house) and a viewer (view only)."""
    for code, perms in {
        "test_housing": ["inmates.view", "inmates.house"],
        "test_registry_viewer": ["inmates.view"],
        "test_facility_only": ["facilities.view"],
    }.items():
        role, _ = Role.objects.get_or_create(code=code, defaults={"label": code})
        role.permissions.set(Permission.objects.filter(code__in=perms))


def adult_birth(years: int = 30) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def prisoner(facility, *, sex=PersonSex.MALE, birth_date="adult", status=LegalStatus.REMAND, **kw):
    """A person in custody at ``facility`` (no cell yet)."""
    if birth_date == "adult":
        birth_date = adult_birth()
    person = PersonFactory(sex=sex, birth_date=birth_date)
    return CustodyPeriodFactory(facility=facility, person=person, legal_status=status, **kw)


def wing(facility, *, sex=Sex.MALE, age=AgeGroup.ADULT, regime=Regime.CONVICTED, use="", name=None):
    building = facility.buildings.first() or BuildingFactory(facility=facility, name="A")
    kw = {"name": name} if name else {}
    return WingFactory(
        building=building,
        facility=facility,
        sex=sex,
        age_group=age,
        regime=regime,
        special_use=use,
        **kw,
    )


def cell(w, *, beds=2, maximum=3, use="", number=None, **kw):
    extra = {"number": number} if number else {}
    return CellFactory(
        wing=w,
        facility=w.facility,
        beds=beds,
        operational_max=maximum,
        special_use=use,
        **extra,
        **kw,
    )


def place(custody, c, *, at=None):
    """Put a person in a cell directly (bypassing the rules: for setting up misplaced
    prisoners), keeping the counter in line."""
    at = at or custody.committed_at
    CellAssignment.objects.create(custody=custody, facility_id=c.facility_id, cell=c, started_at=at)
    occ, _ = CellOccupancy.objects.get_or_create(cell=c, defaults={"facility_id": c.facility_id})
    occ.occupants += 1
    occ.save(update_fields=["occupants"])
    custody.cell = c
    custody.save(update_fields=["cell"])


def open_stays(c) -> int:
    return CellAssignment.objects.filter(cell=c, ended_at__isnull=True).count()


def counter(c) -> int:
    row = CellOccupancy.objects.filter(cell=c).first()
    return row.occupants if row else 0


def assert_counters_match():
    """Every occupancy counter equals the number of open stays in its cell."""
    for occ in CellOccupancy.objects.all():
        assert (
            occ.occupants
            == CellAssignment.objects.filter(cell_id=occ.cell_id, ended_at__isnull=True).count()
        ), occ


def run_threads(n, target):
    """Run ``target(i)`` in ``n`` threads released at once, each with its own database
    connection; returns (results, errors)."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(target(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


@pytest.fixture
def hw(two_facilities):
    """Housing world: institution A with wings of every kind, officers and viewers."""
    housing_roles()
    a, b = two_facilities["a"], two_facilities["b"]
    users = dict(two_facilities["users"])
    for name, role, fac in (
        ("officer_a", "test_housing", a),
        ("officer_b", "test_housing", b),
        ("viewer_a", "test_registry_viewer", a),
        ("facility_only_a", "test_facility_only", a),
    ):
        users[name] = UserFactory(username=name)
        grant(users[name], role, facility=fac)
    w = {
        "men_conv": wing(a, name="Men convicted"),
        "men_remand": wing(a, regime=Regime.REMAND, name="Men remand"),
        "men_mixed": wing(a, regime=Regime.MIXED, name="Men mixed"),
        "women": wing(a, sex=Sex.FEMALE, regime=Regime.MIXED, name="Women"),
        "juv": wing(a, age=AgeGroup.JUVENILE, regime=Regime.MIXED, name="Juveniles"),
        "medical": wing(a, regime=Regime.MIXED, use=SpecialUse.MEDICAL, name="Infirmary"),
    }
    return {"a": a, "b": b, "w": w, **users}
