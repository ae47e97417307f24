import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from idmaj.core import audit
from idmaj.core.models import AuditChainHead, AuditEntry
from idmaj.core.tests.factories import UserFactory

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
