"""Registry imports under concurrency: the same file applied by several officers at the same
moment is imported once; a lost race with the constraints imports nothing."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connections

from idmaj.core.models import AuditEntry
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.constants import ImportStatus
from idmaj.inmates.models import CommittalCounter, CustodyPeriod, ImportBatch, Person
from idmaj.inmates.services import imports as import_services
from idmaj.inmates.services import registry_import_apply

from .factories import import_csv, import_row
from .test_imports_service import registry_counts


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
        t.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_same_file_applied_at_once_is_imported_once(two_facilities):
    a = two_facilities["a"]
    officers = []
    for i in range(4):
        u = UserFactory(username=f"importer{i}")
        grant(u, "registry_officer", facility=a)
        officers.append(u)
    data = import_csv([import_row(n) for n in range(1, 41)])

    def apply(i):
        return registry_import_apply(actor=officers[i], file=data, filename="race.csv")

    batches, errors = _run_threads(4, apply)
    assert errors == []
    assert len(batches) == 4
    applied = [b for b in batches if b.status == ImportStatus.APPLIED and b.rows_created]
    assert len(applied) == 1 and applied[0].rows_created == 40
    # the others found the rows imported (or lost the race: nothing written by them)
    for b in batches:
        if b is not applied[0]:
            assert b.rows_created == 0
    assert CustodyPeriod.objects.count() == 40 and Person.objects.count() == 40
    assert CommittalCounter.objects.get(facility=a).last_number == 40
    assert AuditEntry.objects.filter(verb="registry_import").count() == 1


def test_lost_race_with_the_constraints_imports_nothing(two_facilities, monkeypatch):
    officer = two_facilities["users"]["registry.oujda2"]
    real_write = import_services._write

    def write_then_collide(check, rows):
        real_write(check, rows)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(import_services, "_write", write_then_collide)
    before = registry_counts()
    batch = registry_import_apply(
        actor=officer, file=import_csv([import_row(1), import_row(2)]), filename="x.csv"
    )
    assert batch.status == ImportStatus.FAILED
    assert [i["code"] for i in batch.errors] == ["conflict"]
    assert registry_counts() == before
    assert ImportBatch.objects.get() == batch
