"""Trigram indexes on the normalised name keys, on PostgreSQL only.

The registry search filters the keys with ``LIKE '%token%'`` (``__contains``); on
PostgreSQL a GIN ``gin_trgm_ops`` index answers such patterns without a full scan. On SQLite
nothing is created: the same queries run as a scan (the fallback for small installations).
``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database owner may create it.
"""

from django.db import migrations

INDEXES = {
    "inmates_person_key_ar_trgm": "name_key_ar",
    "inmates_person_key_latin_trgm": "name_key_latin",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON inmates_person "
            f"USING gin ({column} gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("inmates", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
