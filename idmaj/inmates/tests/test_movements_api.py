"""Movements API under /api/v1/inmates/: transfer, absences, release and its certificate,
escape, death, the lists of movements and of persons out now."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CustodyIncident, CustodyPeriod, Movement, ReleaseRecord

from . import movements_fixtures as fx
from .factories import CustodyPeriodFactory
from .movements_fixtures import *  # noqa: F403

BASE = "/api/v1/inmates/"


def _client(w, name, lang="fr") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_authenticate(fx.user(w, name))
    return client


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _transfer_body(**overrides):
    body = {
        "to_facility": "SALE2",
        "at": _iso(fx.ago(hours=2)),
        "reason": "Rapprochement familial",
        "authority_reference": "DGAPR/T/2026/118",
        "escort": "Gendarmerie royale",
    }
    body.update(overrides)
    return body


def _release_body(**overrides):
    body = {
        "reason": "acquittal",
        "at": _iso(fx.ago(hours=1)),
        "authority": "TPI Oujda",
        "decision_reference": "JUG-2026-55",
        "checklist": fx.ALL_TICKED,
    }
    body.update(overrides)
    return body


def _incident_body(**overrides):
    body = {
        "occurred_at": _iso(fx.ago(hours=2)),
        "place": "Cour de promenade",
        "circumstances": "Escalade du mur d'enceinte.",
        "authority_notified": "Procureur du Roi, TPI Oujda",
        "authority_notified_at": _iso(fx.ago(hours=1)),
    }
    body.update(overrides)
    return body


def test_transfer_endpoint_and_both_ends(mv):
    w = mv
    old = w["custody"]
    r = _client(w, "registry.oujda2").post(
        f"{BASE}{old.uuid}/transfer/", _transfer_body(), format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["facility"], body["to_facility"]) == ("transfer", "OUJDA2", "SALE2")
    assert body["custody"] == str(old.uuid)
    new = CustodyPeriod.objects.get(facility=w["b"])
    sender, receiver = _client(w, "registry.oujda2"), _client(w, "registry.sale2")
    assert sender.get(f"{BASE}{new.uuid}/").status_code == 404
    assert receiver.get(f"{BASE}{old.uuid}/").status_code == 404
    assert receiver.get(f"{BASE}{new.uuid}/").json()["status"] == "in_custody"
    assert sender.get(f"{BASE}{old.uuid}/").json()["status"] == "transferred_out"
    # both see the movement, each with the file it may open
    for client, file in ((sender, old), (receiver, new)):
        rows = client.get(f"{BASE}movements/").json()["results"]
        assert [(m["kind"], m["custody"], m["committal_number"]) for m in rows] == [
            ("transfer", str(file.uuid), file.committal_number)
        ]
    rows = receiver.get(f"{BASE}movements/", {"facility": "SALE2"}).json()["results"]
    assert len(rows) == 1
    assert receiver.get(f"{BASE}movements/", {"facility": "OUJDA2"}).status_code == 404


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("viewer.oujda2", {}, 403, "forbidden"),
        ("registry.sale2", {}, 404, "not_found"),
        ("registry.oujda2", {"to_facility": "NOPE"}, 400, "invalid"),
        ("registry.oujda2", {"to_facility": "OUJDA2"}, 400, "same_facility"),
        ("registry.oujda2", {"to_facility": "CLOSED1"}, 400, "facility_not_operating"),
        ("registry.oujda2", {"authority_reference": ""}, 400, None),
    ],
)
def test_transfer_endpoint_refused(mv, who, body, status, code):
    w = mv
    before = fx.state()
    r = _client(w, who).post(
        f"{BASE}{w['custody'].uuid}/transfer/", _transfer_body(**body), format="json"
    )
    assert r.status_code == status, r.content
    if code:
        assert r.json()["code"] == code
    assert fx.state() == before


def test_absences_endpoints(mv):
    w = mv
    client = _client(w, "registry.oujda2")
    url = f"{BASE}{w['custody'].uuid}/absences/"
    body = {
        "kind": "court",
        "out_at": _iso(fx.ago(hours=3)),
        "expected_back_at": _iso(fx.ago(hours=1)),
        "destination": "Cour d'appel d'Oujda",
        "authority_reference": "EXT-7",
    }
    r = client.post(url, body, format="json")
    assert r.status_code == 201, r.content
    absence = r.json()
    assert absence["kind"] == "court" and absence["back_at"] is None
    r = client.post(url, body, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_out"
    out = client.get(f"{BASE}out-now/", {"facility": "OUJDA2"}).json()
    assert [(a["uuid"], a["overdue"]) for a in out] == [(absence["uuid"], True)]
    assert _client(w, "registry.sale2").get(f"{BASE}out-now/").json() == []
    assert (
        _client(w, "registry.sale2").get(f"{BASE}out-now/", {"facility": "OUJDA2"}).status_code
        == 404
    )
    back = f"{BASE}absences/{absence['uuid']}/return/"
    assert (
        _client(w, "registry.sale2").post(back, {"back_at": _iso(fx.ago(minutes=5))}).status_code
        == 404
    )
    r = client.post(back, {"back_at": _iso(fx.ago(minutes=5))}, format="json")
    assert r.status_code == 200 and r.json()["back_at"]
    r = client.post(back, {"back_at": _iso(fx.ago(minutes=4))}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_back"
    rows = client.get(url).json()
    assert [a["uuid"] for a in rows] == [absence["uuid"]]
    assert client.get(f"{BASE}out-now/").json() == []


def test_release_endpoint_and_certificate(mv):
    w = mv
    client = _client(w, "registry.oujda2")
    url = f"{BASE}{w['custody'].uuid}/release/"
    before = fx.state()
    r = client.post(url, _release_body(checklist=["identity_verified"]), format="json")
    assert r.status_code == 400 and r.json()["code"] == "checklist_incomplete"
    assert r.json()["field"] == "checklist"
    assert fx.state() == before
    r = client.post(url, _release_body(checklist=["identity_verified", "cake"]), format="json")
    assert r.status_code == 400 and fx.state() == before
    r = client.post(url, _release_body(), format="json")
    assert r.status_code == 201, r.content
    record = r.json()
    year = timezone.localdate().year
    assert record["certificate_number"] == f"OUJDA2-L-{year}-000001"
    assert record["checklist"]["property_returned"] is True
    cert = record["certificate_urls"]["fr"]
    pdf = client.get(cert)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    pdf = client.get(record["certificate_urls"]["ar"], HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert _client(w, "registry.sale2").get(cert).status_code == 404
    r = client.post(url, _release_body(), format="json")
    assert r.status_code == 409 and r.json()["code"] == "not_in_custody"


def test_certificate_endpoint_without_release(mv):
    w = mv
    r = _client(w, "registry.oujda2").get(f"{BASE}{w['custody'].uuid}/release-certificate.pdf")
    assert r.status_code == 404
    r = _client(w, "registry.oujda2").get(
        f"{BASE}{w['custody'].uuid}/release-certificate.pdf", {"lang": "de"}
    )
    assert r.status_code == 400


def test_release_before_the_date_says_it(mv):
    w = mv
    detention = w["custody"].detention
    detention.expected_release = timezone.localdate() + dt.timedelta(days=10)
    detention.save()
    r = _client(w, "registry.oujda2").post(
        f"{BASE}{w['custody'].uuid}/release/",
        _release_body(reason="end_of_sentence", authority="", decision_reference=""),
        format="json",
    )
    assert r.status_code == 400 and r.json()["code"] == "before_release_date"
    assert str(detention.expected_release.year) in r.json()["detail"]


def test_escape_and_death_endpoints(mv):
    w = mv
    director = _client(w, "director.oujda2")
    r = _client(w, "registry.oujda2").post(
        f"{BASE}{w['custody'].uuid}/escape/", _incident_body(), format="json"
    )
    assert r.status_code == 403
    r = director.post(
        f"{BASE}{w['custody'].uuid}/escape/", _incident_body(authority_notified=""), format="json"
    )
    assert r.status_code == 400 and not CustodyIncident.objects.exists()
    r = director.post(f"{BASE}{w['custody'].uuid}/escape/", _incident_body(), format="json")
    assert r.status_code == 201 and r.json()["kind"] == "escape"
    assert fx.fresh(w["custody"]).status == CustodyStatus.ESCAPED
    other = CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=3))
    r = director.post(
        f"{BASE}{other.uuid}/death/",
        _incident_body(
            cause="Arrêt cardiaque apparent",
            family_notified_at=_iso(fx.ago(minutes=20)),
            investigation_reference="ENQ-1",
            autopsy_requested=True,
        ),
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["autopsy_requested"] is True and r.json()["kind"] == "death"
    assert (
        _client(w, "director.sale2")
        .post(f"{BASE}{other.uuid}/death/", _incident_body(), format="json")
        .status_code
        == 404
    )


def test_every_endpoint_of_another_institution_is_404(mv):
    w = mv
    custody = w["custody"]
    absence = Movement.objects.create(
        detention=custody.detention,
        custody=custody,
        facility=w["a"],
        kind="hospital",
        out_at=fx.ago(hours=1),
        destination="CHU",
    )
    client = _client(w, "director.sale2")
    before = fx.state()
    for url in ("transfer/", "absences/", "release/", "escape/", "death/"):
        assert client.post(f"{BASE}{custody.uuid}/{url}", {}, format="json").status_code == 404
    assert client.get(f"{BASE}{custody.uuid}/absences/").status_code == 404
    assert client.get(f"{BASE}{custody.uuid}/release-certificate.pdf").status_code == 404
    assert client.post(f"{BASE}absences/{absence.uuid}/return/", {}).status_code == 404
    assert client.post(f"{BASE}absences/{uuid.uuid4()}/return/", {}).status_code == 404
    assert fx.state() == before
    assert not ReleaseRecord.objects.exists()


def test_movement_list_filters_and_query_count(mv, django_assert_max_num_queries):
    w = mv
    client = _client(w, "director.oujda2")
    for i in range(3):
        c = CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=30))
        client.post(
            f"{BASE}{c.uuid}/absences/",
            {"kind": "hospital", "out_at": _iso(fx.ago(days=i + 1)), "destination": f"CHU {i}"},
            format="json",
        )
    with django_assert_max_num_queries(20) as few:
        rows = client.get(f"{BASE}movements/").json()["results"]
    baseline = len(few.captured_queries)  # now: later requests clear the query log
    assert len(rows) == 3
    for _ in range(5):
        c = CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=30))
        client.post(
            f"{BASE}{c.uuid}/transfer/", _transfer_body(at=_iso(fx.ago(days=2))), format="json"
        )
    with django_assert_max_num_queries(baseline):
        rows = client.get(f"{BASE}movements/").json()["results"]
    assert len(rows) == 8
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    rows = client.get(f"{BASE}movements/", {"since": since}).json()["results"]
    assert {r["destination"] for r in rows} == {"CHU 0"}
    until = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    rows = client.get(f"{BASE}movements/", {"until": until, "kind": "transfer"}).json()["results"]
    assert len(rows) == 5
    with django_assert_max_num_queries(12):
        client.get(f"{BASE}out-now/")
