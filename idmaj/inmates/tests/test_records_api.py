"""The records API: family, property, notices, alerts, identity, committal and photo, with
the registry's scoping (404 for another institution on every endpoint)."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from idmaj.core.models import AuditEntry, Notification
from idmaj.inmates import services
from idmaj.inmates.models import AdmissionAlert, AdmissionNotice, FamilyMember, Person, PropertyItem

from .factories import (
    FamilyMemberFactory,
    OffenceFactory,
    PropertyItemFactory,
    committal_data,
    person_data,
)
from .records_fixtures import image_bytes, rec_fixture, upload  # noqa: F401

URL = "/api/v1/inmates/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(custody, tail: str = "") -> str:
    return f"{URL}{custody.uuid}/{tail}"


def _alert(rec, facility="a", **kw):
    officer = rec["officer_a"] if facility == "a" else rec["officer_b"]
    custody = services.inmate_admit(
        actor=officer,
        facility=rec[facility],
        person_data=person_data(cin="", **kw),
        committal=committal_data(ill_treatment_complaint="Frappé lors de la garde à vue"),
        confirm_new_person=True,
    )
    return AdmissionAlert.objects.get(custody=custody)


def _snapshot():
    return (
        list(FamilyMember.objects.order_by("pk").values()),
        list(PropertyItem.objects.order_by("pk").values()),
        AdmissionNotice.objects.count(),
        list(AdmissionAlert.objects.values_list("acknowledged_at", flat=True)),
        list(Person.objects.order_by("pk").values()),
        AuditEntry.objects.exclude(action="read").count(),
    )


# -- family ----------------------------------------------------------------------------------
def test_family_list_create_update_delete(rec):
    custody = rec["custody_a"]
    api = _client(rec["officer_a"])
    r = api.post(
        _url(custody, "family/"),
        {
            "relationship": "child",
            "full_name": "Amine Idrissi",
            "birth_date": "2019-04-02",
            "carer": "Sa mère",
            "phone": "",
            "language": "fr",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    member_uuid = r.json()["uuid"]
    r = api.post(
        _url(custody, "family/"),
        {"relationship": "child", "full_name": "Sara Idrissi", "birth_date": "2018-01-01"},
        format="json",
    )
    assert r.status_code == 400 and r.json() == {
        "code": "invalid",
        "detail": r.json()["detail"],
        "field": "carer",
    }
    r = api.post(
        _url(custody, "family/"),
        {"relationship": "spouse", "full_name": "Fatima", "phone": "12"},
        format="json",
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_phone"
    reads = AuditEntry.objects.filter(action="read").count()
    r = api.get(_url(custody, "family/"))
    assert r.status_code == 200
    assert [m["full_name"] for m in r.json()["results"]] == ["Amine Idrissi"]
    assert AuditEntry.objects.filter(action="read").count() == reads + 1
    r = api.patch(_url(custody, f"family/{member_uuid}/"), {"phone": "0612345678"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["phone"] == "+212612345678" and r.json()["carer"] == "Sa mère"
    r = api.delete(_url(custody, f"family/{member_uuid}/"))
    assert r.status_code == 204
    assert not FamilyMember.objects.exists()


def test_family_list_audited_and_query_count(rec, django_assert_max_num_queries):
    custody = rec["custody_a"]
    api = _client(rec["viewer_a"])
    FamilyMemberFactory(person=custody.person)
    with django_assert_max_num_queries(15) as few:
        api.get(_url(custody, "family/"))
    FamilyMemberFactory.create_batch(5, person=custody.person)
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = api.get(_url(custody, "family/"))
    assert r.json()["count"] == 6
    reads = list(AuditEntry.objects.filter(action="read").values_list("verb", "chain"))
    assert reads == [("family_members", rec["a"].pk)] * 2
    # a viewer reads but does not write
    r = api.post(_url(custody, "family/"), {"relationship": "spouse", "full_name": "X"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_family_of_a_released_custody(rec):
    custody = rec["custody_a"]
    type(custody).objects.filter(pk=custody.pk).update(
        status="released", released_at=custody.committed_at
    )
    r = _client(rec["officer_a"]).get(_url(custody, "family/"))
    assert r.status_code == 409 and r.json()["code"] == "not_in_custody"
    assert not AuditEntry.objects.filter(action="read").exists()


# -- property --------------------------------------------------------------------------------
def test_property_flow(rec, django_assert_max_num_queries):
    custody = rec["custody_a"]
    api = _client(rec["officer_a"])
    r = api.post(
        _url(custody, "property/"),
        {"description": "Téléphone portable", "quantity": 1, "stored_location": "Coffre 3"},
        format="json",
    )
    assert r.status_code == 201, r.content
    item = r.json()
    assert item["status"] == "kept" and item["facility"] == "OUJDA2"
    assert (
        api.post(_url(custody, "property/"), {"description": "X", "quantity": 0}).status_code == 400
    )
    with django_assert_max_num_queries(10) as few:
        api.get(_url(custody, "property/"))
    PropertyItemFactory.create_batch(4, detention=custody.detention, facility=rec["a"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = api.get(_url(custody, "property/"))
    assert r.json()["count"] == 5
    ret = _url(custody, f"property/{item['uuid']}/return/")
    r = api.post(ret, {"status": "handed_over", "recipient": "Fatima Zahra"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "handed_over" and r.json()["recipient"] == "Fatima Zahra"
    r = api.post(ret, {"status": "returned"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_closed"


# -- notices ---------------------------------------------------------------------------------
def test_notices(rec, django_capture_on_commit_callbacks):
    custody = rec["custody_a"]
    member = FamilyMemberFactory(person=custody.person, language="fr")
    api = _client(rec["officer_a"])
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            _url(custody, "notices/"),
            {"channel": "sms", "family_member": str(member.uuid)},
            format="json",
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["channel"] == "sms" and body["family_member"]["uuid"] == str(member.uuid)
    assert body["recorded_by"] == "registry.oujda2"
    assert Notification.objects.get().status == "sent"
    r = api.post(_url(custody, "notices/"), {"channel": "none"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "note"
    other = FamilyMemberFactory(person=rec["custody_b"].person)
    r = api.post(
        _url(custody, "notices/"),
        {"channel": "sms", "family_member": str(other.uuid)},
        format="json",
    )
    assert r.status_code == 400 and r.json()["field"] == "family_member"
    r = api.post(
        _url(custody, "notices/"), {"channel": "none", "note": "Le détenu refuse"}, format="json"
    )
    assert r.status_code == 201
    r = api.get(_url(custody, "notices/"))
    rows = r.json()["results"]
    assert [(n["channel"], n["notification_status"]) for n in rows] == [
        ("none", None),
        ("sms", "sent"),
    ]
    # the list names a family member: the read is recorded
    assert AuditEntry.objects.filter(action="read", verb="admission_notices").count() == 1


# -- alerts ----------------------------------------------------------------------------------
def test_alerts_list_and_acknowledge(rec, django_assert_max_num_queries):
    first = _alert(rec, first_name_latin="Ali", family_name_latin="Amrani")
    _alert(rec, facility="b", first_name_latin="Hamza", family_name_latin="Chraibi")
    api = _client(rec["director_a"])
    with django_assert_max_num_queries(10) as few:
        r = api.get(f"{URL}alerts/")
    assert [a["uuid"] for a in r.json()["results"]] == [str(first.uuid)]
    assert r.json()["results"][0]["complaint"] == "Frappé lors de la garde à vue"
    assert r.json()["results"][0]["committal_number"] == first.custody.committal_number
    for n in range(4):
        _alert(rec, first_name_latin=f"P{n}", family_name_latin=f"Q{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = api.get(f"{URL}alerts/")
    assert r.json()["count"] == 5
    ack = f"{URL}alerts/{first.uuid}/acknowledge/"
    r = api.post(ack, {"action_taken": ""}, format="json")
    assert r.status_code == 400
    r = api.post(ack, {"action_taken": "Examen médical demandé"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["acknowledged_by"] == "director.oujda2"
    r = api.post(ack, {"action_taken": "encore"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_acknowledged"
    # open first, then acknowledged
    rows = api.get(f"{URL}alerts/").json()["results"]
    assert rows[-1]["uuid"] == str(first.uuid)
    assert [a["uuid"] for a in api.get(f"{URL}alerts/?open=1").json()["results"]].count(
        str(first.uuid)
    ) == 0
    # no inmates.alerts: an empty list, and 404 on acknowledge
    officer = _client(rec["officer_a"])
    assert officer.get(f"{URL}alerts/").json()["count"] == 0
    second = AdmissionAlert.objects.filter(acknowledged_at__isnull=True, facility=rec["a"]).first()
    r = officer.post(f"{URL}alerts/{second.uuid}/acknowledge/", {"action_taken": "x"})
    assert r.status_code == 404


def test_admission_api_with_findings(rec):
    OffenceFactory(code="VOL")
    api = _client(rec["officer_a"])
    body = {
        "facility": "OUJDA2",
        "committal": {
            "committed_at": "2026-01-10T10:00:00+01:00",
            "committing_authority": "Procureur du Roi, TPI Oujda",
            "warrant_reference": "MD-1",
            "legal_status": "remand",
            "injuries_observed": "Ecchymoses aux poignets",
        },
        "person": {"sex": "M", "first_name_latin": "Karim", "family_name_latin": "Bennani"},
    }
    r = api.post(URL, body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["injuries_observed"] == "Ecchymoses aux poignets"
    assert r.json()["ill_treatment_complaint"] == ""
    assert AdmissionAlert.objects.get().injuries == "Ecchymoses aux poignets"
    # the detail: the findings for those who record or act on them, null for a viewer
    custody_uuid = r.json()["uuid"]
    viewer = _client(rec["viewer_a"]).get(f"{URL}{custody_uuid}/").json()
    assert viewer["injuries_observed"] is None and viewer["ill_treatment_complaint"] is None
    director = _client(rec["director_a"]).get(f"{URL}{custody_uuid}/").json()
    assert director["injuries_observed"] == "Ecchymoses aux poignets"


# -- corrections -----------------------------------------------------------------------------
def test_person_patch(rec):
    custody = rec["custody_a"]
    api = _client(rec["officer_a"])
    r = api.patch(
        _url(custody, "person/"), {"birth_place": "Berkane", "cin": "ab 444444"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["birth_place"] == "Berkane" and r.json()["cin"] == "AB444444"
    assert r.json()["first_name_latin"] == "Youssef"  # untouched
    r = api.patch(_url(custody, "person/"), {"cin": "CD222222"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "cin_on_file" and r.json()["field"] == "cin"
    assert Person.objects.get(pk=custody.person_id).cin == "AB444444"
    r = _client(rec["viewer_a"]).patch(
        _url(custody, "person/"), {"birth_place": "X"}, format="json"
    )
    assert r.status_code == 403


def test_committal_patch(rec):
    OffenceFactory(code="VOL")
    custody = rec["custody_a"]
    api = _client(rec["officer_a"])
    r = api.patch(
        _url(custody, "committal/"), {"court": "TPI Oujda", "offence_codes": ["VOL"]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["court"] == "TPI Oujda" and [o["code"] for o in r.json()["offences"]] == ["VOL"]
    r = api.patch(_url(custody, "committal/"), {"offence_codes": ["NOPE"]}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "offence_codes"


def test_photo_put_and_get(rec, settings):
    custody = rec["custody_a"]
    api = _client(rec["officer_a"])
    url = _url(custody, "photo/")
    assert api.get(url).status_code == 404
    r = api.put(
        url, {"photo": upload("photo.jpg", b"plain text, not an image\n" * 50)}, format="multipart"
    )
    assert r.status_code == 400 and r.json()["code"] == "photo_format"
    assert not Person.objects.get(pk=custody.person_id).photo
    r = api.put(
        url, {"photo": upload("photo.png", image_bytes("PNG"), "image/png")}, format="multipart"
    )
    assert r.status_code == 200, r.content
    assert r.json()["has_photo"] is True
    r = api.get(url, HTTP_ACCEPT="image/*")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert b"".join(r.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    detail = api.get(_url(custody)).json()
    assert detail["photo_url"].endswith(url)
    assert _client(rec["officer_b"]).get(url).status_code == 404


# -- scoping ---------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["officer_b", "director_b"])
def test_another_institution_gets_404_on_every_endpoint(rec, who):
    custody = rec["custody_a"]
    member = FamilyMemberFactory(person=custody.person)
    item = PropertyItemFactory(detention=custody.detention, facility=rec["a"])
    alert = _alert(rec)
    before = _snapshot()
    api = _client(rec[who])
    calls = [
        ("get", _url(custody, "family/"), None),
        ("post", _url(custody, "family/"), {"relationship": "spouse", "full_name": "X"}),
        ("patch", _url(custody, f"family/{member.uuid}/"), {"full_name": "X"}),
        ("delete", _url(custody, f"family/{member.uuid}/"), None),
        ("get", _url(custody, "property/"), None),
        ("post", _url(custody, "property/"), {"description": "X", "quantity": 1}),
        ("post", _url(custody, f"property/{item.uuid}/return/"), {"status": "returned"}),
        ("get", _url(custody, "notices/"), None),
        ("post", _url(custody, "notices/"), {"channel": "none", "note": "x"}),
        ("get", _url(custody, "person/"), None),
        ("patch", _url(custody, "person/"), {"birth_place": "X"}),
        ("patch", _url(custody, "committal/"), {"court": "X"}),
        ("get", _url(custody, "photo/"), None),
        ("post", f"{URL}alerts/{alert.uuid}/acknowledge/", {"action_taken": "x"}),
    ]
    for method, url, data in calls:
        r = getattr(api, method)(url, data, format="json") if data else getattr(api, method)(url)
        assert r.status_code == 404, (method, url, r.status_code)
    r = api.put(
        _url(custody, "photo/"), {"photo": upload("p.jpg", image_bytes())}, format="multipart"
    )
    assert r.status_code == 404
    assert str(alert.uuid) not in api.get(f"{URL}alerts/").content.decode()
    # unknown identifiers answer the same, for the institution's own officer too
    own = _client(rec["officer_a"])
    assert (
        own.patch(
            _url(custody, f"family/{uuid.uuid4()}/"), {"note": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        own.post(
            _url(custody, f"property/{uuid.uuid4()}/return/"), {"status": "returned"}
        ).status_code
        == 404
    )
    assert (
        own.post(f"{URL}alerts/{uuid.uuid4()}/acknowledge/", {"action_taken": "x"}).status_code
        == 404
    )
    assert _snapshot() == before
