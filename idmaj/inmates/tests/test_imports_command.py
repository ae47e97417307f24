"""``idmaj import_registry``: dry run by default, ``--apply`` imports; errors printed with
row and column, exit status 1 when the file has errors, 2 when the command is misused."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from idmaj.core.models import AuditEntry
from idmaj.inmates.constants import ImportStatus
from idmaj.inmates.models import CustodyPeriod, ImportBatch

from .factories import IMPORT_HEADER, import_csv, import_row, import_xlsx
from .test_imports_service import registry_counts


@pytest.fixture
def world(two_facilities):
    return two_facilities


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_registry", *args, "--language", "en", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_then_apply(world, tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes(import_csv([import_row(1), import_row(2, released_at="2024-04-01")]))
    before = registry_counts()
    out, err = _run(str(path))
    assert err == ""
    assert "Rows: 2 · created: 0 · already imported: 0 · errors: 0" in out
    assert "2 committals would be created" in out
    assert registry_counts() == before
    assert ImportBatch.objects.get().status == ImportStatus.VALIDATED

    out, _err = _run(str(path), "--apply")
    assert "Rows: 2 · created: 2" in out
    assert CustodyPeriod.objects.count() == 2
    entry = AuditEntry.objects.get(verb="registry_import")
    assert entry.actor is None and entry.chain == world["a"].id  # the system itself

    out, _err = _run(str(path), "--apply")
    assert "created: 0 · already imported: 2" in out
    assert CustodyPeriod.objects.count() == 2


def test_errors_printed_and_exit_status_1(world, tmp_path):
    path = tmp_path / "legacy.xlsx"
    path.write_bytes(import_xlsx([import_row(1, birth_date="x"), import_row(2, facility="NOPE")]))
    before = registry_counts()
    with pytest.raises(CommandError) as exc:
        _run(str(path), "--apply")
    assert exc.value.returncode == 1
    assert registry_counts() == before
    # through the command line: the messages on stderr, the status of the process
    err = io.StringIO()
    utility = ManagementUtility(["idmaj", "import_registry", str(path), "--language", "en"])
    with pytest.raises(SystemExit) as stop:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            utility.execute()
    assert stop.value.code == 1
    text = err.getvalue()
    assert "error: row 2, column birth_date: Not a date: x." in text
    assert "error: row 3, column facility: Unknown institution" in text
    assert "2 errors found: nothing was imported." in text


def test_facility_and_user_options(world, tmp_path):
    header = [h for h in IMPORT_HEADER if h != "facility"]
    path = tmp_path / "legacy.csv"
    path.write_bytes(import_csv([import_row(1)], header=header))
    with pytest.raises(CommandError) as exc:
        _run(str(path), "--facility", "NOPE")
    assert exc.value.returncode == 2
    with pytest.raises(CommandError) as exc:
        _run(str(path), "--user", "nobody")
    assert exc.value.returncode == 2
    # a user of another institution is refused that institution
    with pytest.raises(CommandError) as exc:
        _run(str(path), "--facility", "oujda2", "--user", "registry.sale2", "--apply")
    assert exc.value.returncode == 2
    assert not CustodyPeriod.objects.exists()
    out, _err = _run(str(path), "--facility", "oujda2", "--user", "registry.oujda2", "--apply")
    assert "created: 1" in out
    custody = CustodyPeriod.objects.get()
    assert custody.facility == world["a"]
    assert AuditEntry.objects.get(verb="registry_import").actor_username == "registry.oujda2"


def test_missing_file_exit_status_2(world, tmp_path):
    with pytest.raises(CommandError) as exc:
        _run(str(tmp_path / "nope.csv"))
    assert exc.value.returncode == 2
