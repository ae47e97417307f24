"""The world of the legal tests (hearings, sentences, pardons, conditional release).

Import the fixture with ``from .legal_fixtures import *`` and the helpers with
``from . import legal_fixtures as fx``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.inmates import services
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import (
    ConditionalRelease,
    CustodyPeriod,
    Detention,
    Hearing,
    LegalStatusPeriod,
    PardonDecree,
    PardonGrant,
    Sentence,
)

from .factories import CustodyPeriodFactory, PersonFactory

__all__ = ["lg"]

# Committed long enough ago for the hand-computed cases to use dates from 2023 on.
COMMITTED = timezone.make_aware(dt.datetime(2023, 1, 10, 10, 0))


def d(y: int, m: int, day: int) -> dt.date:
    return dt.date(y, m, day)


def at(y: int, m: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(y, m, day, hour, minute))


def prisoner(facility, number: str, *, committed_at=COMMITTED, **kw) -> CustodyPeriod:
    return CustodyPeriodFactory(
        facility=facility, committal_number=number, committed_at=committed_at, **kw
    )


@pytest.fixture
def lg(two_facilities, make_user):
    w = dict(two_facilities)
    users = w["users"]
    w["officer"] = users["registry.oujda2"]  # inmates.legal and inmates.pardon at OUJDA2
    w["director"] = users["director.oujda2"]  # inmates.legal, not inmates.pardon
    w["officer_b"] = users["registry.sale2"]
    w["viewer"] = make_user("auditor.oujda2", "auditor", facility=w["a"])  # sees, may not act
    w["central"] = make_user("central.admin", "central_admin")  # national pardon, no legal
    w["custody"] = prisoner(
        w["a"],
        "OUJDA2-2023-000001",
        person=PersonFactory(
            first_name_ar="يوسف",
            family_name_ar="الإدريسي",
            first_name_latin="Youssef",
            family_name_latin="Idrissi",
        ),
    )
    w["custody_b"] = prisoner(w["b"], "SALE2-2023-000001")
    return w


def sentence(actor, custody, **kw) -> Sentence:
    values = {
        "court": "Tribunal de première instance d'Oujda",
        "case_number": "2023/2103/1",
        "pronounced_on": d(2023, 3, 1),
    }
    values.update(kw)
    return services.sentence_record(actor=actor, custody=custody, **values)


THRONE_2024 = dt.date(2024, 7, 30)


def decree(actor=None, reference="DEC-2024-THRONE", signed_on=THRONE_2024) -> PardonDecree:
    return services.pardon_decree_create(
        actor=actor, reference=reference, occasion="Fête du Trône", signed_on=signed_on
    )


def apply(actor, dec, *lines) -> list[PardonGrant]:
    """Apply ``dec`` with lines as typed ("number;kind;days")."""
    return services.pardon_decree_apply(
        actor=actor, decree=dec, beneficiaries=services.pardon_lines_parse("\n".join(lines))
    )


def reload(custody: CustodyPeriod) -> CustodyPeriod:
    return CustodyPeriod.objects.select_related("detention", "facility", "person").get(
        pk=custody.pk
    )


def expected(custody: CustodyPeriod) -> dt.date | None:
    return Detention.objects.get(pk=custody.detention_id).expected_release


def release(custody: CustodyPeriod, when=None) -> None:
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.RELEASED, released_at=when or timezone.now()
    )
    LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).update(
        valid_to=when or timezone.now()
    )


def transfer(custody: CustodyPeriod, to_facility, when=None) -> CustodyPeriod:
    """The prisoner moves to ``to_facility`` (what the movements area's transfer leaves in
    the tables: the period ends here, a new one of the same detention opens there)."""
    when = when or timezone.now()
    custody = reload(custody)
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.TRANSFERRED_OUT, released_at=when
    )
    LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).update(valid_to=when)
    new = CustodyPeriod.objects.create(
        person=custody.person,
        detention=custody.detention,
        facility=to_facility,
        committal_number=f"{to_facility.code}-{when.year}-{900000 + custody.pk:06d}",
        committed_at=when,
        committing_authority=custody.committing_authority,
        warrant_reference=custody.warrant_reference,
        legal_status=custody.legal_status,
        transferred_from=custody,
    )
    LegalStatusPeriod.objects.create(
        custody=new, facility=to_facility, status=new.legal_status, valid_from=when
    )
    return new


def state() -> tuple:
    """Everything a legal service may write; equal before and after a refusal."""
    return (
        tuple(
            Hearing.objects.order_by("pk").values_list(
                "pk", "outcome", "decided_on", "legal_status_after", "notes"
            )
        ),
        tuple(Sentence.objects.order_by("pk").values_list("pk", "status")),
        tuple(PardonDecree.objects.order_by("pk").values_list("pk", "reference")),
        tuple(PardonGrant.objects.order_by("pk").values_list("pk", "kind", "days")),
        tuple(ConditionalRelease.objects.order_by("pk").values_list("pk", "status")),
        tuple(
            LegalStatusPeriod.objects.order_by("pk").values_list(
                "pk", "status", "valid_from", "valid_to"
            )
        ),
        tuple(CustodyPeriod.objects.order_by("pk").values_list("pk", "legal_status", "status")),
        tuple(
            Detention.objects.order_by("pk").values_list("pk", "expected_release", "life_sentence")
        ),
        AuditEntry.objects.count(),
    )


def open_periods(custody: CustodyPeriod) -> int:
    return LegalStatusPeriod.objects.filter(custody=custody, valid_to__isnull=True).count()
