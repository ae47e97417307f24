"""The world of the movements tests (transfer, absences, release, escape, death).

Import the fixtures with ``from .movements_fixtures import *`` and the helpers with
``from . import movements_fixtures as fx``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from idmaj.core.models import AuditEntry, Notification
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.facilities.constants import FacilityStatus
from idmaj.facilities.tests.factories import CellFactory, FacilityFactory, StatusPeriodFactory
from idmaj.inmates.models import (
    CellAssignment,
    CellOccupancy,
    CustodyIncident,
    CustodyPeriod,
    Detention,
    LegalStatusPeriod,
    Movement,
    PropertyItem,
    ReleaseRecord,
)

from .factories import CustodyPeriodFactory, PersonFactory, PropertyItemFactory, registry_roles

__all__ = ["mv"]

NOW = timezone.now
ALL_TICKED = [
    "identity_verified",
    "order_checked",
    "no_other_detention_order",
    "property_returned",
    "documents_handed_over",
]


def ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


def house(custody: CustodyPeriod, *, started_at=None):
    """Put the person in a new cell of their institution (as the housing services do)."""
    cell = CellFactory(wing__building__facility=custody.facility, facility=custody.facility)
    CellOccupancy.objects.create(cell=cell, facility=custody.facility, occupants=1)
    CellAssignment.objects.create(
        custody=custody,
        facility=custody.facility,
        cell=cell,
        started_at=started_at or custody.committed_at,
    )
    custody.cell = cell
    custody.save(update_fields=["cell"])
    return cell


def state() -> tuple:
    """Everything a movements service may write; equal before and after a refusal."""
    return (
        tuple(
            CustodyPeriod.objects.order_by("pk").values_list(
                "pk", "status", "released_at", "cell_id", "facility_id"
            )
        ),
        tuple(Detention.objects.order_by("pk").values_list("pk", "ended_at", "end_reason")),
        tuple(LegalStatusPeriod.objects.order_by("pk").values_list("pk", "valid_to")),
        tuple(CellAssignment.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(CellOccupancy.objects.order_by("pk").values_list("pk", "occupants")),
        tuple(PropertyItem.objects.order_by("pk").values_list("pk", "status", "facility_id")),
        tuple(Movement.objects.order_by("pk").values_list("pk", "back_at")),
        ReleaseRecord.objects.count(),
        CustodyIncident.objects.count(),
        AuditEntry.objects.count(),
        Notification.objects.count(),
    )


@pytest.fixture
def mv(two_facilities):
    """Two institutions A (OUJDA2) and B (SALE2) with their directors and registry officers
    (``core.roles``), a viewer of A, a security officer of A, a closed institution C and a
    planned one D, and a remand prisoner in A: in a cell, with two items of property kept."""
    registry_roles()
    w = dict(two_facilities)
    a = w["a"]
    w["users"]["viewer.oujda2"] = viewer = UserFactory(username="viewer.oujda2")
    grant(viewer, "test_registry_viewer", facility=a)
    w["users"]["security.oujda2"] = security = UserFactory(username="security.oujda2")
    grant(security, "security_officer", facility=a)
    w["c"] = closed = FacilityFactory(code="CLOSED1", current_status=FacilityStatus.CLOSED)
    StatusPeriodFactory(facility=closed, status=FacilityStatus.OPERATING, since=dt.date(1990, 1, 1))
    StatusPeriodFactory(facility=closed, status=FacilityStatus.CLOSED, since=dt.date(2020, 1, 1))
    w["d"] = FacilityFactory(code="PLANNED1", current_status=FacilityStatus.PLANNED)
    w["custody"] = custody = CustodyPeriodFactory(
        facility=a,
        committal_number="OUJDA2-2026-000900",
        committed_at=ago(days=30),
        court="TPI Oujda",
        case_number="2026/2103/118",
        person=PersonFactory(
            first_name_ar="يوسف",
            family_name_ar="الإدريسي",
            first_name_latin="Youssef",
            family_name_latin="Idrissi",
            father_name_ar="أحمد",
            mother_name_latin="Fatima",
            cin="AB123456",
            birth_place="Oujda",
        ),
    )
    w["cell"] = house(custody)
    w["items"] = [
        PropertyItemFactory(detention=custody.detention, facility=a, description="Montre"),
        PropertyItemFactory(detention=custody.detention, facility=a, description="Portefeuille"),
    ]
    director = w["users"]["director.oujda2"]
    director.email = "director.oujda2@dgapr.example"
    director.save(update_fields=["email"])
    return w


def user(world, name):
    return world["users"][name]


def fresh(obj):
    obj.refresh_from_db()
    return obj
