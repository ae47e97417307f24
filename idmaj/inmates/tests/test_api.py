"""The registry API: scoped search and detail, admission with search-before-create."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from idmaj.core.models import AuditEntry
from idmaj.inmates.models import CustodyPeriod, Person

from .factories import CustodyPeriodFactory, OffenceFactory, PersonFactory, registry_roles

URL = "/api/v1/inmates/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(two_facilities):
    w = two_facilities
    w["in_a"] = CustodyPeriodFactory(
        facility=w["a"],
        committal_number="OUJDA2-2026-000900",
        person=PersonFactory(
            first_name_ar="يوسف",
            family_name_ar="الإدريسي",
            first_name_latin="Youssef",
            family_name_latin="Idrissi",
            cin="AB111111",
        ),
    )
    w["in_b"] = CustodyPeriodFactory(
        facility=w["b"],
        committal_number="SALE2-2026-000900",
        person=PersonFactory(
            first_name_ar="يوسف",
            family_name_ar="الإدريسي",
            first_name_latin="Youssef",
            family_name_latin="Idrissi",
            birth_date=dt.date(1985, 1, 2),
        ),
    )
    OffenceFactory(code="VOL", name_ar="سرقة", name_fr="Vol")
    return w


def _admission(**overrides) -> dict:
    body = {
        "facility": "OUJDA2",
        "committal": {
            "committed_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "committing_authority": "Procureur du Roi, TPI Oujda",
            "warrant_reference": "MD-2026-1",
            "legal_status": "remand",
            "offence_codes": ["VOL"],
        },
        "person": {
            "sex": "M",
            "first_name_ar": "كريم",
            "family_name_ar": "بناني",
            "first_name_latin": "Karim",
            "family_name_latin": "Bennani",
            "birth_date": "1992-03-04",
            "cin": "",
        },
    }
    body.update(overrides)
    return body


def test_search_is_scoped(world):
    sale = _client(world["users"]["registry.sale2"])
    r = sale.get(URL, {"q": "youssef idrissi"})
    assert r.status_code == 200
    numbers = [row["committal_number"] for row in r.json()["results"]]
    assert numbers == ["SALE2-2026-000900"]
    # by committal number or CIN of the other institution: nothing
    assert sale.get(URL, {"q": "OUJDA2-2026-900"}).json()["results"] == []
    assert sale.get(URL, {"q": "ab111111"}).json()["results"] == []
    oujda = _client(world["users"]["registry.oujda2"])
    rows = oujda.get(URL, {"q": "ab111111"}).json()["results"]
    assert [row["uuid"] for row in rows] == [str(world["in_a"].uuid)]
    assert rows[0]["facility"] == "OUJDA2"
    assert rows[0]["person"]["cin"] == "AB111111"
    assert "id" not in rows[0] and "id" not in rows[0]["person"]


def test_list_without_q_is_current_custody_of_scope(world, django_assert_max_num_queries):
    CustodyPeriodFactory.create_batch(3, facility=world["a"])
    client = _client(world["users"]["registry.oujda2"])
    with django_assert_max_num_queries(8):
        r = client.get(URL)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 4
    assert {row["facility"] for row in body["results"]} == {"OUJDA2"}


def test_detail_scoped_and_404(world):
    sale = _client(world["users"]["registry.sale2"])
    assert sale.get(f"{URL}{world['in_a'].uuid}/").status_code == 404
    assert sale.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    r = sale.get(f"{URL}{world['in_b'].uuid}/")
    assert r.status_code == 200
    body = r.json()
    assert body["committal_number"] == "SALE2-2026-000900"
    assert body["status"] == "in_custody"
    assert body["facility"] == "SALE2"
    assert body["person"]["first_name_latin"] == "Youssef"
    assert "offences" in body


def test_admission_created(world):
    client = _client(world["users"]["registry.oujda2"])
    r = client.post(URL, _admission(), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["committal_number"].startswith("OUJDA2-")
    assert body["facility"] == "OUJDA2"
    assert [o["code"] for o in body["offences"]] == ["VOL"]
    custody = CustodyPeriod.objects.get(uuid=body["uuid"])
    assert custody.person.first_name_latin == "Karim"
    assert AuditEntry.objects.filter(object_id=str(custody.uuid)).exists()


def test_admission_duplicate_then_confirm(world):
    client = _client(world["users"]["registry.oujda2"])
    other = world["in_b"].person
    body = _admission(
        person={
            "sex": "M",
            "first_name_latin": "Youssef",
            "family_name_latin": "Idrissi",
            "birth_date": "1985-01-02",
        }
    )
    persons = Person.objects.count()
    r = client.post(URL, body, format="json")
    assert r.status_code == 409, r.content
    data = r.json()
    assert data["code"] == "possible_duplicate"
    assert data["candidates"] == [
        {
            "uuid": str(other.uuid),
            "first_name_ar": other.first_name_ar,
            "family_name_ar": other.family_name_ar,
            "first_name_latin": "Youssef",
            "family_name_latin": "Idrissi",
            "birth_date": "1985-01-02",
            "cin": "",
            "reasons": ["names_latin"],
        }
    ]
    assert Person.objects.count() == persons
    r = client.post(URL, {**body, "confirm_new_person": True}, format="json")
    assert r.status_code == 201, r.content
    assert Person.objects.count() == persons + 1


def test_admission_links_existing_person(world):
    person = PersonFactory(first_name_latin="Ali", family_name_latin="Tazi")
    client = _client(world["users"]["registry.oujda2"])
    r = client.post(URL, _admission(existing_person=str(person.uuid)), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["person"]["uuid"] == str(person.uuid)
    assert person.custody_periods.count() == 1
    # unknown person on file: 400 with the field
    r = client.post(URL, _admission(existing_person=str(uuid.uuid4())), format="json")
    assert r.status_code == 400
    assert r.json()["field"] == "existing_person"


def test_admission_cin_on_file(world):
    client = _client(world["users"]["registry.sale2"])
    body = _admission(facility="SALE2")
    body["person"]["cin"] = "ab-111111"
    r = client.post(URL, body, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "cin_on_file"
    assert [c["uuid"] for c in r.json()["candidates"]] == [str(world["in_a"].person.uuid)]


def test_denied_admission_creates_nothing(world, make_user):
    registry_roles()
    viewer = make_user("viewer.oujda2", "test_registry_viewer", facility=world["a"])
    before = (Person.objects.count(), CustodyPeriod.objects.count(), AuditEntry.objects.count())
    # an institution out of scope: 404, as if it did not exist
    r = _client(world["users"]["registry.sale2"]).post(URL, _admission(), format="json")
    assert r.status_code == 404
    # an institution in view without inmates.admit: 403
    r = _client(viewer).post(URL, _admission(), format="json")
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert APIClient().post(URL, _admission(), format="json").status_code in (401, 403)
    after = (Person.objects.count(), CustodyPeriod.objects.count(), AuditEntry.objects.count())
    assert after == before
    assert not Person.objects.filter(first_name_latin="Karim").exists()
