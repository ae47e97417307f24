"""The registry import API: dry run and import by multipart upload, errors (400), scoped
list and detail (404 out of scope), permissions."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from idmaj.inmates.constants import ImportStatus
from idmaj.inmates.models import CustodyPeriod, ImportBatch

from .factories import OffenceFactory, import_csv, import_row, import_xlsx
from .test_imports_service import registry_counts

URL = "/api/v1/inmates/imports/"


def _client(user, lang: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(two_facilities):
    OffenceFactory(code="VOL")
    return two_facilities


def _post(client, data: bytes, name: str = "legacy.csv", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def test_dry_run_then_apply(world):
    client = _client(world["users"]["registry.oujda2"])
    data = import_csv([import_row(1, offence_codes="VOL"), import_row(2)])
    before = registry_counts()
    r = _post(client, data)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "validated" and body["rows_created"] == 2
    assert body["errors"] == [] and body["warnings"] == [] and body["facility"] == "OUJDA2"
    assert registry_counts() == before

    r = _post(client, data, apply="true")
    assert r.status_code == 201
    assert r.json()["status"] == "applied" and r.json()["rows_created"] == 2
    assert CustodyPeriod.objects.count() == 2
    # idempotent
    r = _post(client, data, apply="true")
    assert r.status_code == 201
    assert (r.json()["rows_created"], r.json()["rows_skipped"]) == (0, 2)
    assert CustodyPeriod.objects.count() == 2


def test_errors_answer_400_with_every_error_and_nothing_written(world):
    client = _client(world["users"]["registry.oujda2"], lang="fr")
    data = import_xlsx([import_row(1, birth_date="1990-13-01"), import_row(1, sex="?")])
    before = registry_counts()
    r = _post(client, data, "legacy.xlsx", apply="true")
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "failed"
    got = {(e["row"], e["column"], e["code"]) for e in body["errors"]}
    assert got == {
        (2, "birth_date", "bad_date"),
        (3, "sex", "bad_sex"),
        (3, "legacy_reference", "duplicate_reference"),
    }
    assert all(e["message"] for e in body["errors"])
    assert registry_counts() == before
    # the detail shows the same errors
    detail = client.get(f"{URL}{body['uuid']}/").json()
    assert {(e["row"], e["code"]) for e in detail["errors"]} == {(r, c) for r, _col, c in got}


def test_facility_parameter(world):
    client = _client(world["users"]["registry.oujda2"])
    header = ["legacy_reference", "first_name_latin", "family_name_latin", "sex"]
    header += ["committed_at", "committing_authority", "warrant_reference", "legal_status"]
    data = import_csv([import_row(1)], header=header)
    r = _post(client, data, facility="OUJDA2", apply="true")
    assert r.status_code == 201, r.json()
    assert CustodyPeriod.objects.get().facility == world["a"]
    # an institution out of the caller's scope answers 404, as if it did not exist
    before = registry_counts()
    r = _post(client, data, facility="SALE2", apply="true")
    assert r.status_code == 404
    r = _post(client, data, facility="NOPE", apply="true")
    assert r.status_code == 404
    assert registry_counts() == before


def test_refused_upload(world):
    client = _client(world["users"]["registry.oujda2"])
    r = _post(client, b"legacy_reference\n", "legacy.txt")
    assert r.status_code == 400 and r.json()["code"] == "bad_format"
    assert r.json()["field"] == "file"
    r = client.post(URL, {"apply": "true"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()
    assert not ImportBatch.objects.exists()


def test_other_institution_rows_are_errors(world):
    client = _client(world["users"]["registry.sale2"])
    before = registry_counts()
    r = _post(client, import_csv([import_row(1)]), apply="true")
    assert r.status_code == 400
    assert [(e["row"], e["code"]) for e in r.json()["errors"]] == [(2, "unknown_facility")]
    assert registry_counts() == before


def test_without_permission_403(world, make_user):
    client = _client(make_user("dr.a", "physician", facility=world["a"]))
    r = _post(client, import_csv([import_row(1)]), apply="true")
    assert r.status_code == 403
    assert not ImportBatch.objects.exists()
    assert client.get(URL).json()["results"] == []


def test_list_and_detail_are_scoped(world, django_assert_max_num_queries):
    officer_a = _client(world["users"]["registry.oujda2"])
    officer_b = _client(world["users"]["registry.sale2"])
    for n in range(1, 4):
        _post(officer_a, import_csv([import_row(n)]), f"a{n}.csv")
    _post(officer_b, import_csv([import_row(9, facility="SALE2")]), "b.csv")
    with django_assert_max_num_queries(8):
        r = officer_a.get(URL)
    assert r.status_code == 200
    names = [b["filename"] for b in r.json()["results"]]
    assert sorted(names) == ["a1.csv", "a2.csv", "a3.csv"]
    assert "errors" not in r.json()["results"][0]
    b_batch = ImportBatch.objects.get(filename="b.csv")
    assert officer_a.get(f"{URL}{b_batch.uuid}/").status_code == 404
    assert officer_a.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert officer_b.get(f"{URL}{b_batch.uuid}/").status_code == 200
    assert officer_b.get(f"{URL}{b_batch.uuid}/").json()["status"] == ImportStatus.VALIDATED


def test_schema_documents_the_endpoints(world, client):
    client.force_login(world["users"]["registry.oujda2"])
    r = client.get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "/api/v1/inmates/imports/" in text and "/api/v1/inmates/imports/{uuid}/" in text
