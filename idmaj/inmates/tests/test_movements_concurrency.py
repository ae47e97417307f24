"""Movements under racing clients: one prisoner transferred and released at the same
moment, two absences started at once, release certificate numbers handed out in parallel.
Run on SQLite and on PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.utils import timezone

from idmaj.core.errors import ConflictError
from idmaj.inmates.constants import CustodyStatus, DetentionEnd, MovementKind
from idmaj.inmates.models import CustodyPeriod, Movement, ReleaseRecord
from idmaj.inmates.services import inmate_release, inmate_transfer, temporary_absence_start

from . import movements_fixtures as fx
from .factories import CustodyPeriodFactory
from .movements_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)


def _run_threads(n, target):
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
        t.join(timeout=60)
    return results, errors


def test_transfer_and_release_of_the_same_prisoner_one_wins(mv):
    w = mv
    custody = w["custody"]
    officer = fx.user(w, "registry.oujda2")

    def act(i):
        if i % 2 == 0:
            return inmate_transfer(
                actor=officer,
                custody=custody,
                to_facility=w["b"],
                at=fx.ago(minutes=30),
                reason="Désengorgement",
                authority_reference="DGAPR/T/1",
            )
        return inmate_release(
            actor=officer,
            custody=custody,
            reason=DetentionEnd.ACQUITTAL,
            at=fx.ago(minutes=30),
            authority="TPI Oujda",
            decision_reference="JUG-1",
            checklist=fx.ALL_TICKED,
        )

    results, errors = _run_threads(2, act)
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ConflictError) and errors[0].code == "not_in_custody"
    custody.refresh_from_db()
    if custody.status == CustodyStatus.TRANSFERRED_OUT:
        assert ReleaseRecord.objects.count() == 0
        assert CustodyPeriod.objects.filter(facility=w["b"]).count() == 1
    else:
        assert custody.status == CustodyStatus.RELEASED
        assert ReleaseRecord.objects.count() == 1
        assert not CustodyPeriod.objects.filter(facility=w["b"]).exists()
        assert not Movement.objects.exists()
    assert CustodyPeriod.objects.filter(status=CustodyStatus.IN_CUSTODY).count() <= 1


def test_two_absences_at_once_only_one(mv):
    w = mv
    officer = fx.user(w, "registry.oujda2")

    def start(i):
        return temporary_absence_start(
            actor=officer,
            custody=w["custody"],
            kind=MovementKind.COURT if i % 2 else MovementKind.HOSPITAL,
            out_at=fx.ago(minutes=10),
            destination=f"Destination {i}",
        )

    results, errors = _run_threads(4, start)
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, ConflictError) and e.code == "already_out" for e in errors)
    assert Movement.objects.filter(back_at__isnull=True).count() == 1


def test_release_certificate_numbers_unique_under_concurrency(mv):
    w = mv
    officer = fx.user(w, "registry.oujda2")
    custodies = [w["custody"]] + [
        CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=2)) for _ in range(5)
    ]

    def release(i):
        return inmate_release(
            actor=officer,
            custody=custodies[i],
            reason=DetentionEnd.PROVISIONAL_RELEASE,
            at=fx.ago(minutes=5),
            authority="Juge d'instruction, TPI Oujda",
            decision_reference=f"ORD-{i}",
            checklist=fx.ALL_TICKED,
        ).certificate_number

    numbers, errors = _run_threads(6, release)
    assert errors == []
    year = timezone.localdate().year
    assert sorted(numbers) == [f"OUJDA2-L-{year}-{n:06d}" for n in range(1, 7)]


def test_crossing_transfers_do_not_deadlock(mv):
    """A→B and B→A at the same moment: both audit chains are locked in the same order."""
    w = mv
    in_b = CustodyPeriodFactory(facility=w["b"], committed_at=fx.ago(days=2))
    moves = [
        (fx.user(w, "registry.oujda2"), w["custody"], w["b"]),
        (fx.user(w, "registry.sale2"), in_b, w["a"]),
    ]

    def transfer(i):
        actor, custody, to = moves[i % 2]
        return inmate_transfer(
            actor=actor,
            custody=custody,
            to_facility=to,
            at=fx.ago(minutes=20),
            reason="Échange",
            authority_reference=f"DGAPR/T/{i}",
        )

    results, errors = _run_threads(2, transfer)
    assert [str(e) for e in errors] == []
    assert sorted(c.facility.code for c in results) == ["OUJDA2", "SALE2"]
