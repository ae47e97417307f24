"""The registry import pages: upload and dry-run report, import of the kept file, history,
templates; permissions (403) and scoping (404), in Arabic and French."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from idmaj.inmates.constants import ImportStatus
from idmaj.inmates.models import CustodyPeriod, ImportBatch
from idmaj.inmates.services import imports as import_services

from .factories import (
    CustodyPeriodFactory,
    OffenceFactory,
    PersonFactory,
    import_csv,
    import_row,
    import_xlsx,
)
from .test_imports_service import registry_counts

PAGE = "/inmates/import/"


@pytest.fixture
def world(two_facilities, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    OffenceFactory(code="VOL")
    return two_facilities


def _login(client, world, username="registry.oujda2"):
    client.force_login(world["users"][username])
    return client


def _upload(client, data: bytes, name: str = "legacy.csv", **extra):
    return client.post(PAGE, {"file": SimpleUploadedFile(name, data), **extra})


def _stored(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "imports"
    return sorted(root.iterdir()) if root.exists() else []


def test_page_in_arabic_and_french(client, world):
    r = _login(client, world).get(PAGE)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'dir="rtl"' in html and 'enctype="multipart/form-data"' in html
    assert 'accept=".csv,.xlsx"' in html
    for href in (
        "/inmates/import/template-en.csv",
        "/inmates/import/template-fr.xlsx",
    ):
        assert href in html
    assert "reference_ancienne" in html  # the format table
    client.cookies["idmaj_language"] = "fr"
    r = client.get(PAGE)
    assert 'lang="fr"' in r.content.decode() and 'dir="ltr"' in r.content.decode()


def test_dry_run_then_import(client, world, settings):
    _login(client, world)
    data = import_csv([import_row(1, offence_codes="VOL"), import_row(2)])
    before = registry_counts()
    r = _upload(client, data)
    assert r.status_code == 302
    batch = ImportBatch.objects.get()
    assert r["Location"] == f"/inmates/import/{batch.uuid}/"
    assert batch.status == ImportStatus.VALIDATED and batch.rows_created == 2
    assert registry_counts() == before
    # the file is kept, privately, by its SHA-256
    sha = hashlib.sha256(data).hexdigest()
    assert [p.name for p in _stored(settings)] == [f"{sha}.csv"]

    r = client.get(r["Location"])
    html = r.content.decode()
    assert r.status_code == 200
    assert f'action="/inmates/import/{batch.uuid}/apply/"' in html
    assert sha in html

    r = client.post(f"/inmates/import/{batch.uuid}/apply/")
    applied = ImportBatch.objects.exclude(pk=batch.pk).get()
    assert r.status_code == 302 and r["Location"] == f"/inmates/import/{applied.uuid}/"
    assert applied.status == ImportStatus.APPLIED and applied.rows_created == 2
    assert applied.sha256 == sha and applied.facility == world["a"]
    assert CustodyPeriod.objects.filter(legacy_reference__in=["LEG-1", "LEG-2"]).count() == 2
    assert _stored(settings) == []  # imported: the kept copy is removed
    html = client.get(r["Location"]).content.decode()
    assert "apply/" not in html  # nothing more to import
    # the validated batch cannot be applied again (its file is gone)
    r = client.post(f"/inmates/import/{batch.uuid}/apply/")
    assert r.status_code == 302 and r["Location"] == PAGE
    assert ImportBatch.objects.count() == 2


def test_report_lists_errors_with_row_and_column(client, world, settings):
    _login(client, world)
    data = import_csv([import_row(1, birth_date="1990-02-30"), import_row(2, sex="?")])
    r = _upload(client, data)
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    client.cookies["idmaj_language"] = "en"
    html = client.get(r["Location"]).content.decode()
    assert "Not a date: 1990-02-30" in html and "Unknown sex: ?" in html
    assert '<td class="num">2</td><td><code dir="auto">birth_date</code></td>' in html
    assert '<td class="num">3</td><td><code dir="auto">sex</code></td>' in html
    assert "apply/" not in html
    # a failed file cannot be applied
    before = registry_counts()
    r = client.post(f"/inmates/import/{batch.uuid}/apply/")
    assert r.status_code == 302 and registry_counts() == before


def test_xlsx_upload_and_chosen_institution(client, world):
    _login(client, world)
    header = ["legacy_reference", "first_name_latin", "family_name_latin", "sex"]
    header += ["committed_at", "committing_authority", "warrant_reference", "legal_status"]
    data = import_xlsx([import_row(1)], header=header)
    r = _upload(client, data, "legacy.xlsx", facility="OUJDA2")
    assert r.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.VALIDATED, batch.errors
    client.post(f"/inmates/import/{batch.uuid}/apply/")
    assert CustodyPeriod.objects.get(legacy_reference="LEG-1").facility == world["a"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("legacy.txt", b"legacy_reference\nA\n"),
        ("legacy.xlsx", b"legacy_reference\nA\n"),  # not a workbook
        ("legacy.csv", b"\x00\x01\x02binary"),
        ("legacy.csv", b""),
    ],
)
def test_upload_refused_before_anything_is_kept(client, world, settings, name, content):
    r = _upload(_login(client, world), content, name)
    assert r.status_code == 400
    assert 'class="errorlist"' in r.content.decode()
    assert _stored(settings) == [] and not ImportBatch.objects.exists()


def test_upload_size_limit(client, world, settings, monkeypatch):
    monkeypatch.setattr(import_services, "IMPORT_MAX_BYTES", 100)
    data = import_csv([import_row(n) for n in range(1, 5)])
    r = _upload(_login(client, world), data)
    assert r.status_code == 400 and _stored(settings) == []
    assert not ImportBatch.objects.exists()


def test_row_limit_of_the_page(client, world, monkeypatch):
    from idmaj.inmates import services

    monkeypatch.setattr(services, "IMPORT_MAX_ROWS_ONLINE", 3)
    _upload(_login(client, world), import_csv([import_row(n) for n in range(1, 5)]))
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    assert [(i["code"], i["params"]) for i in batch.errors] == [("too_many_rows", {"max": 3})]


def test_apply_revalidates_the_file(client, world):
    """Between the dry run and the import, a person of the file was admitted elsewhere: the
    import re-checks the file and refuses it."""
    _login(client, world)
    data = import_csv([import_row(1, cin="AB777777")])
    _upload(client, data)
    batch = ImportBatch.objects.get()
    CustodyPeriodFactory(facility=world["b"], person=PersonFactory(cin="AB777777"))
    before = registry_counts()
    r = client.post(f"/inmates/import/{batch.uuid}/apply/")
    failed = ImportBatch.objects.exclude(pk=batch.pk).get()
    assert failed.status == ImportStatus.FAILED
    assert "already_in_custody" in {i["code"] for i in failed.errors}
    assert r["Location"] == f"/inmates/import/{failed.uuid}/"
    assert registry_counts() == before


def test_history_is_scoped_and_batches_of_others_are_404(client, world):
    _login(client, world, "registry.sale2")
    _upload(client, import_csv([import_row(1, facility="SALE2")]), "sale.csv")
    sale_batch = ImportBatch.objects.get()
    client.logout()

    _login(client, world)
    _upload(client, import_csv([import_row(2)]), "oujda.csv")
    r = client.get(PAGE)
    html = r.content.decode()
    assert "oujda.csv" in html and "sale.csv" not in html
    assert client.get(f"/inmates/import/{sale_batch.uuid}/").status_code == 404
    assert client.get(f"/inmates/import/{uuid.uuid4()}/").status_code == 404
    before = registry_counts()
    assert client.post(f"/inmates/import/{sale_batch.uuid}/apply/").status_code == 404
    assert registry_counts() == before
    # the director of the same institution sees the officer's batches
    client.logout()
    _login(client, world, "director.sale2")
    assert client.get(f"/inmates/import/{sale_batch.uuid}/").status_code == 200


def test_officer_of_another_institution_gets_row_errors(client, world):
    _login(client, world, "registry.sale2")
    before = registry_counts()
    _upload(client, import_csv([import_row(1), import_row(2)]))  # OUJDA2 rows
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    assert {(i["row"], i["code"]) for i in batch.errors} == {
        (2, "unknown_facility"),
        (3, "unknown_facility"),
    }
    # choosing another institution than one's own is not offered
    r = _upload(client, import_csv([import_row(3)]), facility="OUJDA2")
    assert r.status_code == 400
    assert registry_counts() == before


def test_without_the_import_permission_403(client, world, make_user):
    client.force_login(make_user("dr.a", "physician", facility=world["a"]))
    assert client.get(PAGE).status_code == 403
    r = _upload(client, import_csv([import_row(1)]))
    assert r.status_code == 403 and not ImportBatch.objects.exists()
    assert client.get("/inmates/import/template-en.csv").status_code == 403


def test_login_required(client, world):
    r = client.get(PAGE)
    assert r.status_code == 302 and "login" in r["Location"]


@pytest.mark.parametrize(("lang", "kind"), [("en", "csv"), ("fr", "csv"), ("en", "xlsx")])
def test_template_download(client, world, lang, kind):
    r = _login(client, world).get(f"/inmates/import/template-{lang}.{kind}")
    assert r.status_code == 200
    assert f'filename="idmaj-registry-{lang}.{kind}"' in r["Content-Disposition"]
    body = r.content
    if kind == "csv":
        first = body.decode("utf-8-sig").splitlines()[0]
        assert first.startswith("legacy_reference," if lang == "en" else "reference_ancienne;")
    else:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        assert next(book.worksheets[0].iter_rows(values_only=True))[0] == "legacy_reference"
    assert client.get(f"/inmates/import/template-de.{kind}").status_code == 404


def test_history_query_count(client, world, django_assert_max_num_queries):
    _login(client, world)
    for n in range(1, 6):
        _upload(client, import_csv([import_row(n)]), f"f{n}.csv")
    with django_assert_max_num_queries(12):
        r = client.get(PAGE)
    assert r.status_code == 200 and r.content.decode().count("/inmates/import/") >= 5
