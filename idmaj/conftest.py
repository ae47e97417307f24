import pytest
from django.core.cache import cache

from idmaj.core.tests.factories import PASSWORD, UserFactory, grant
from idmaj.facilities.tests.factories import FacilityFactory, RegionFactory


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_audit_triggers():
    """Let the test runner empty the append-only audit table between transactional tests.

    PostgreSQL's flush uses TRUNCATE, which the row triggers do not see. SQLite's flush uses
    DELETE, which the append-only trigger refuses: around the flush only, drop and re-create
    the triggers. Production never flushes.
    """
    import importlib

    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    from django.db.backends.sqlite3.operations import DatabaseOperations

    migration = importlib.import_module("idmaj.core.migrations.0002_audit_append_only")
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if "core_auditentry" in tables:
            statements = [*migration.SQLITE_DOWN, *statements, *migration.SQLITE]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Every test gets its own outbox and runs background jobs immediately."""
    settings.NOTIFY_OUTBOX_DIR = tmp_path / "outbox"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    cache.clear()
    yield


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def two_facilities(db):
    """Two institutions in two regions, with a director and a registry officer each."""
    r1 = RegionFactory(code="ORIENTAL", name_ar="الشرق", name_fr="Oriental")
    r2 = RegionFactory(code="RSK", name_ar="الرباط سلا القنيطرة", name_fr="Rabat-Salé-Kénitra")
    a = FacilityFactory(code="OUJDA2", region=r1)
    b = FacilityFactory(code="SALE2", region=r2)
    users = {}
    for fac in (a, b):
        for role, prefix in (
            ("institution_director", "director"),
            ("registry_officer", "registry"),
        ):
            u = UserFactory(username=f"{prefix}.{fac.code.lower()}")
            grant(u, role, facility=fac)
            users[u.username] = u
    return {"a": a, "b": b, "r1": r1, "r2": r2, "users": users}


@pytest.fixture
def make_user(db):
    def make(username, role, *, facility=None, region=None):
        u = UserFactory(username=username)
        grant(u, role, facility=facility, region=region)
        return u

    return make


@pytest.fixture(autouse=True)
def _cheap_argon2(settings):
    """Argon2 still (stored hashes start with ``argon2``), with test-sized cost parameters.

    The production hasher takes a sizeable fraction of a second by design; the tests sign in
    hundreds of times. ``test_settings`` checks the real hasher configuration.
    """
    settings.PASSWORD_HASHERS = ["idmaj.core.tests.hashers.CheapArgon2PasswordHasher"]
