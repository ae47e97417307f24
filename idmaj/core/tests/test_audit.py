import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from idmaj.core import audit
from idmaj.core.models import AuditChainHead, AuditEntry
from idmaj.core.tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db(transaction=True)


def _append(n, facility_id=None):
    user = UserFactory(username="clerk")
    for i in range(n):
        with transaction.atomic():
            audit.record(
                actor=user,
                action="update",
                object_type="facilities.facility",
                object_id=str(i),
                facility_id=facility_id,
                before={"beds": i},
                after={"beds": i + 1},
            )


def _raw(sql, params=()):
    """Tamper with the trail as a database owner would: bypassing the append-only trigger."""
    vendor = connection.vendor
    with connection.cursor() as cur:
        if vendor == "sqlite":
            cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
            cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
            cur.execute(sql, params)
        else:
            cur.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only")
            cur.execute(sql, params)
            cur.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_append_only")


def _verify_exit():
    with pytest.raises(SystemExit) as exc:
        call_command("audit", "verify")
    return exc.value.code


def test_intact_chain_verifies(capsys):
    _append(5)
    _append(3, facility_id=7)
    call_command("audit", "verify")
    assert "intact: 8 entries" in capsys.readouterr().out
    assert AuditChainHead.objects.get(chain=7).last_seq == 3


def test_entries_link_to_previous_hash():
    _append(3)
    entries = list(AuditEntry.objects.filter(chain=0).order_by("seq"))
    assert entries[0].prev_hash == audit.GENESIS
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash


def test_update_and_delete_are_refused_by_the_database():
    _append(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(action="delete")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.filter(action="update").count() == 1


def test_changed_entry_is_detected(capsys):
    _append(5)
    target = AuditEntry.objects.get(chain=0, seq=3)
    _raw("UPDATE core_auditentry SET after = %s WHERE id = %s", ['{"beds": 999}', target.pk])
    assert _verify_exit() == 1
    err = capsys.readouterr().err
    assert "chain 0 entry 3" in err and "changed" in err


def test_deleted_entry_is_detected(capsys):
    _append(5)
    target = AuditEntry.objects.get(chain=0, seq=2)
    _raw("DELETE FROM core_auditentry WHERE id = %s", [target.pk])
    assert _verify_exit() == 1
    err = capsys.readouterr().err
    assert "chain 0 entry 2" in err and "deleted" in err


def test_deleted_last_entry_is_detected(capsys):
    _append(4)
    target = AuditEntry.objects.get(chain=0, seq=4)
    _raw("DELETE FROM core_auditentry WHERE id = %s", [target.pk])
    assert _verify_exit() == 1
    assert "head says 4" in capsys.readouterr().err


def test_inserted_entry_is_detected(capsys):
    _append(4)
    # An inserted entry must take a sequence number: the forger shifts the later ones up and
    # slips a forged entry in, with a correct hash of its own content.
    _raw("UPDATE core_auditentry SET seq = seq + 1000 WHERE chain = 0 AND seq >= 3")
    _raw("UPDATE core_auditentry SET seq = seq - 999 WHERE chain = 0 AND seq >= 1003")
    prev = AuditEntry.objects.get(chain=0, seq=2)
    forged = AuditEntry(
        chain=0,
        seq=3,
        at=prev.at,
        actor_username="intruder",
        action="update",
        object_type="facilities.facility",
        object_id="x",
        prev_hash=prev.hash,
    )
    forged.hash = audit.compute_hash(forged)
    forged.save(force_insert=True)
    assert _verify_exit() == 1
    err = capsys.readouterr().err
    # the forged entry itself is consistent; the original entry after it no longer links
    assert "chain 0 entry 4" in err and "inserted" in err


# -- concurrency -------------------------------------------------------------------------------
THREADS = 8
APPENDS = 25


def _hammer(chain_of, errors):
    """One writer: its own connection, APPENDS entries, each in its own transaction."""
    from django.db import connections

    try:
        for i in range(APPENDS):
            with transaction.atomic():
                audit.record(
                    actor="worker",
                    action="update",
                    object_type="test.thing",
                    object_id=str(i),
                    facility_id=chain_of(i),
                )
    except Exception as exc:  # reported to the main thread
        errors.append(exc)
    finally:
        connections.close_all()


def _race(chain_of_thread):
    import threading

    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_hammer, args=(chain_of_thread(t), errors)) for t in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _assert_contiguous():
    count, problems = audit.verify_chains()
    assert problems == []
    for head in AuditChainHead.objects.all():
        seqs = list(
            AuditEntry.objects.filter(chain=head.chain)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert head.last_seq == len(seqs)
    return count


def test_concurrent_appends_to_one_chain():
    _race(lambda t: lambda i: None)
    assert _assert_contiguous() == THREADS * APPENDS
    assert AuditEntry.objects.filter(chain=0).count() == THREADS * APPENDS


def test_concurrent_appends_to_several_chains():
    # threads share chains two by two, and each thread also writes to the national chain
    _race(lambda t: lambda i, t=t: None if i % 5 == 0 else 100 + t % 4)
    assert _assert_contiguous() == THREADS * APPENDS
    assert set(AuditChainHead.objects.values_list("chain", flat=True)) == {0, 100, 101, 102, 103}
    assert AuditEntry.objects.filter(chain=0).count() == THREADS * 5


# -- the audit entry belongs to the service's transaction ---------------------------------------
def test_service_that_fails_after_recording_leaves_no_entry(monkeypatch):
    from idmaj.core import services
    from idmaj.core.models import User

    real_record = audit.record

    def record_then_fail(**kwargs):
        real_record(**kwargs)
        raise RuntimeError("failure after the audit entry was written")

    monkeypatch.setattr(services.audit, "record", record_then_fail)
    with pytest.raises(RuntimeError):
        services.user_create(actor=None, username="ghost", password="a-long-enough-password-9")
    assert not User.objects.filter(username="ghost").exists()
    assert not AuditEntry.objects.filter(object_repr="ghost").exists()
    assert audit.verify_chains()[1] == []


def test_duplicate_username_leaves_no_entry():
    from idmaj.core import services
    from idmaj.core.errors import DomainError

    services.user_create(actor=None, username="amina", password="a-long-enough-password-9")
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        services.user_create(actor=None, username="amina", password="a-long-enough-password-9")
    assert exc.value.field == "username"
    assert AuditEntry.objects.count() == before


def test_user_create_records_actor_and_values():
    from idmaj.core import services

    admin = UserFactory(username="root")
    grant(admin, "system_admin")
    user = services.user_create(
        actor=admin, username="amina", password="a-long-enough-password-9", full_name_ar="أمينة"
    )
    entry = AuditEntry.objects.get(object_id=str(user.uuid))
    assert entry.actor_id == admin.pk and entry.actor_username == "root"
    assert entry.action == "create" and entry.object_type == "core.user"
    assert entry.after["full_name_ar"] == "أمينة" and "password" not in entry.after


def test_role_assign_records_institution():
    from idmaj.core import services
    from idmaj.core.constants import ScopeLevel
    from idmaj.facilities.tests.factories import FacilityFactory

    fac = FacilityFactory(code="OUJDA2")
    admin = UserFactory(username="root")
    grant(admin, "system_admin")
    user = UserFactory(username="amina")
    a = services.role_assign(
        actor=admin, user=user, role_code="nurse", level=ScopeLevel.FACILITY, facility=fac
    )
    entry = AuditEntry.objects.get(object_id=str(a.uuid))
    assert entry.facility_id == fac.pk and entry.chain == fac.pk
    assert entry.after["facility"] == "OUJDA2" and entry.after["role"] == "nurse"
    # assigning again changes nothing and records nothing
    services.role_assign(
        actor=admin, user=user, role_code="nurse", level=ScopeLevel.FACILITY, facility=fac
    )
    assert AuditEntry.objects.filter(object_type="core.roleassignment").count() == 1
