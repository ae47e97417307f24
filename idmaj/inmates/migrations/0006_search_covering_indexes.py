"""Covering indexes for the registry search at national scale, on PostgreSQL only
(measured by ``bench/registry_search.py``: see ``bench/README.md``).

* ``custody_walk_idx``: a national user's search for a common name walks the custody
  periods in result order and stops at the page size;
* ``custody_facility_walk_idx``: the same walk for an institution's officer;
* ``custody_person_rank_idx`` and ``person_keys_idx``: ranking without visiting the tables;
* ``custody_legacy_reference_idx``: a national look-up by legacy reference (the unique
  index starts with the institution).

SQLite has no ``INCLUDE``: nothing is created there (the plain indexes of the models serve).
"""

from django.db import migrations

INDEXES = {
    "custody_walk_idx": "inmates_custodyperiod (committed_at, released_at) "
    "INCLUDE (id, person_id, facility_id)",
    "custody_facility_walk_idx": "inmates_custodyperiod (facility_id, committed_at, released_at) "
    "INCLUDE (id, person_id)",
    "custody_person_rank_idx": "inmates_custodyperiod (person_id) "
    "INCLUDE (id, facility_id, released_at, committed_at)",
    "person_keys_idx": "inmates_person (id) INCLUDE (name_key_ar, name_key_latin)",
    "custody_legacy_reference_idx": "inmates_custodyperiod (legacy_reference) "
    "WHERE legacy_reference <> ''",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("inmates", "0005_detention_required")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
