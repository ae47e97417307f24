"""The legal API: hearings, decisions, sentences, quash, release date with its explanation,
pardon decrees and their application, conditional release, releases due; scoping (404 for
another institution on every endpoint), refusals (400/409 with a code, nothing changed),
query counts of the lists."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from idmaj.inmates.constants import HearingOutcome, LegalStatus, SentenceStatus
from idmaj.inmates.models import ConditionalRelease, Hearing, PardonDecree, PardonGrant, Sentence

from . import legal_fixtures as fx
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import d

BASE = "/api/v1/inmates/"
TODAY = timezone.localdate()


def _client(user, lang="en") -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE=lang)
    return client


def _sentence_body(**kw) -> dict:
    body = {
        "court": "TPI Oujda",
        "case_number": "2023/1",
        "pronounced_on": "2023-03-01",
        "years": 2,
        "start_date": "2023-03-01",
    }
    body.update(kw)
    return body


# -- hearings and decisions ------------------------------------------------------------------
def test_hearings_schedule_list_decide(lg):
    api = _client(lg["officer"])
    url = f"{BASE}{lg['custody'].uuid}/hearings/"
    bad = {"kind": "party", "court": "TPI Oujda", "scheduled_at": "2023-03-01T09:00:00+01:00"}
    r = api.post(url, bad, format="json")
    assert r.status_code == 400 and "kind" in r.json()
    assert Hearing.objects.count() == 0
    r = api.post(
        url,
        {"kind": "trial", "court": "TPI Oujda", "scheduled_at": "2023-03-01T09:00:00+01:00"},
        format="json",
    )
    assert r.status_code == 201, r.json()
    hearing = r.json()
    assert hearing["outcome"] == "pending" and hearing["facility"] == "OUJDA2"
    r = api.get(url)
    assert r.status_code == 200 and r.json()["count"] == 1
    decision = f"{BASE}hearings/{hearing['uuid']}/decision/"
    before = fx.state()
    r = api.post(decision, {"outcome": "convicted", "decided_on": "2023-02-01"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "decided_on"
    assert fx.state() == before
    r = api.post(
        decision,
        {"outcome": "convicted", "decided_on": "2023-03-01", "legal_status_after": "convicted"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["outcome"] == "convicted"
    assert fx.reload(lg["custody"]).legal_status == LegalStatus.CONVICTED
    r = api.post(decision, {"outcome": "adjourned", "decided_on": "2023-03-02"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_decided"


# -- sentences -------------------------------------------------------------------------------
def test_sentences_record_list_quash_and_release_date(lg):
    api = _client(lg["officer"])
    custody = lg["custody"]
    url = f"{BASE}{custody.uuid}/sentences/"
    r = api.post(url, _sentence_body(), format="json")
    assert r.status_code == 201, r.json()
    first = r.json()
    assert first["number"] == 1 and first["ends_on"] == "2025-03-01"
    r = api.post(
        url,
        _sentence_body(years=0, months=6, start_date=None, consecutive_to=first["uuid"]),
        format="json",
    )
    assert r.status_code == 201 and r.json()["ends_on"] == "2025-09-01"
    assert r.json()["consecutive_to"] == first["uuid"]
    listing = api.get(url).json()
    assert [s["ends_on"] for s in listing["results"]] == ["2025-03-01", "2025-09-01"]
    # refused: unknown sentence to follow, no length; nothing changed
    before = fx.state()
    r = api.post(
        url, _sentence_body(consecutive_to=str(uuid.uuid4()), start_date=None), format="json"
    )
    assert r.status_code == 400 and r.json()["field"] == "consecutive_to"
    r = api.post(url, _sentence_body(years=0), format="json")
    assert r.status_code == 400 and r.json()["field"] == "years"
    assert fx.state() == before
    # the release date with its explanation, in the caller's language
    r = _client(lg["officer"], "fr").get(f"{BASE}{custody.uuid}/release-date/")
    body = r.json()
    assert body["expected_release"] == "2025-09-01" and body["basis"] == "sentence"
    assert body["life_sentence"] is False and body["as_of"] is None
    assert body["steps"][0] == {"on": "2023-03-01", "text": "Début de la peine 1.", "sentence": 1}
    assert body["steps"][-1]["on"] == "2025-09-01" and body["steps"][-1]["sentence"] is None
    # quash the consecutive one: back to the first end
    second = Sentence.objects.latest("pk")
    r = api.post(f"{BASE}sentences/{second.uuid}/quash/", {"reason": "arrêt"}, format="json")
    assert r.status_code == 200 and r.json()["expected_release"] == "2025-03-01"
    assert Sentence.objects.get(pk=second.pk).status == SentenceStatus.QUASHED
    r = api.post(f"{BASE}sentences/{second.uuid}/quash/", {"reason": "arrêt"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_quashed"


def test_sentence_action_without_the_right_is_403(lg):
    s = fx.sentence(lg["officer"], lg["custody"], years=1, start_date=d(2023, 3, 1))
    api = _client(lg["viewer"])
    before = fx.state()
    assert api.post(f"{BASE}{lg['custody'].uuid}/sentences/", _sentence_body()).status_code == 403
    assert (
        api.post(f"{BASE}sentences/{s.uuid}/quash/", {"reason": "x"}, format="json").status_code
        == 403
    )
    assert api.get(f"{BASE}{lg['custody'].uuid}/sentences/").status_code == 200  # may read
    assert fx.state() == before


# -- conditional release ---------------------------------------------------------------------
def test_conditional_releases(lg):
    fx.sentence(lg["officer"], lg["custody"], years=2, start_date=d(2023, 3, 1))
    api = _client(lg["officer"])
    url = f"{BASE}{lg['custody'].uuid}/conditional-releases/"
    body = {
        "decided_on": "2024-06-01",
        "authority": "Ministre de la Justice",
        "decision_reference": "LC-1",
        "status": "granted",
        "release_on": "2024-06-15",
    }
    r = api.post(url, body, format="json")
    assert r.status_code == 201 and r.json()["facility"] == "OUJDA2"
    assert fx.expected(lg["custody"]) == d(2024, 6, 15)
    release = api.get(f"{BASE}{lg['custody'].uuid}/release-date/").json()
    assert release["basis"] == "conditional_release"
    assert api.get(url).json()["count"] == 1
    before = fx.state()
    r = api.post(url, {**body, "decision_reference": "LC-2", "status": "revoked"}, format="json")
    assert r.status_code == 400  # a revocation has no dates
    assert fx.state() == before


# -- royal pardon ----------------------------------------------------------------------------
def test_pardon_decrees_create_apply_detail(lg):
    fx.sentence(lg["officer"], lg["custody"], years=5, start_date=d(2023, 3, 1))
    fx.sentence(lg["officer_b"], lg["custody_b"], years=5, start_date=d(2023, 3, 1))
    central = _client(lg["central"])
    r = central.post(
        f"{BASE}pardon-decrees/",
        {"reference": "DEC-1", "occasion": "Fête du Trône", "signed_on": "2024-07-30"},
        format="json",
    )
    assert r.status_code == 201
    dec = r.json()
    r = central.post(
        f"{BASE}pardon-decrees/",
        {"reference": "dec-1", "occasion": "x", "signed_on": "2024-07-30"},
        format="json",
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    apply = f"{BASE}pardon-decrees/{dec['uuid']}/apply/"
    officer = _client(lg["officer"])
    # every bad line reported, nothing applied
    before = fx.state()
    r = officer.post(
        apply,
        {
            "beneficiaries": [
                {"committal_number": "OUJDA2-2023-000001", "kind": "reduction", "days": 30},
                {"committal_number": "SALE2-2023-000001", "kind": "reduction", "days": 30},
                {"custody": str(uuid.uuid4()), "kind": "release"},
                {"committal_number": "OUJDA2-2023-000001", "kind": "pardon"},
            ]
        },
        format="json",
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_lines"
    assert [(e["line"], e["identifier"]) for e in body["errors"]] == [
        (2, "SALE2-2023-000001"),
        (3, body["errors"][1]["identifier"]),
        (4, "OUJDA2-2023-000001"),
    ]
    assert body["errors"][0]["message"] == "Unknown committal number."
    assert fx.state() == before
    # the same as text lines
    r = officer.post(apply, {"lines": "OUJDA2-2023-000001;reduction;30"}, format="json")
    assert r.status_code == 201 and r.json() == {"applied": 1}
    r = _client(lg["officer_b"]).post(
        apply,
        {"beneficiaries": [{"custody": str(lg["custody_b"].uuid), "kind": "release"}]},
        format="json",
    )
    assert r.status_code == 201
    # each institution sees its own grants
    detail = officer.get(f"{BASE}pardon-decrees/{dec['uuid']}/").json()
    assert detail["grants_seen"] == 1
    assert detail["grants"][0]["committal_number"] == "OUJDA2-2023-000001"
    assert detail["grants"][0]["custody"] == str(lg["custody"].uuid)
    assert central.get(f"{BASE}pardon-decrees/{dec['uuid']}/").json()["grants_seen"] == 2
    listing = officer.get(f"{BASE}pardon-decrees/").json()
    assert listing["results"][0]["grants_seen"] == 1
    assert PardonGrant.objects.count() == 2


def test_pardon_rights(lg):
    r = _client(lg["director"]).post(
        f"{BASE}pardon-decrees/",
        {"reference": "DEC-1", "occasion": "x", "signed_on": "2024-07-30"},
        format="json",
    )
    assert r.status_code == 403
    dec = fx.decree(lg["central"])
    r = _client(lg["director"]).post(
        f"{BASE}pardon-decrees/{dec.uuid}/apply/", {"lines": "OUJDA2-2023-000001;release"}
    )
    assert r.status_code == 403
    assert PardonDecree.objects.count() == 1 and PardonGrant.objects.count() == 0


# -- releases due ----------------------------------------------------------------------------
def test_releases_due_endpoint(lg):
    days = (TODAY - d(2023, 3, 1)).days
    soon = fx.prisoner(lg["a"], "OUJDA2-2023-000050")
    fx.sentence(lg["officer"], soon, days=days + 5, start_date=d(2023, 3, 1))
    past = fx.prisoner(lg["a"], "OUJDA2-2023-000051")
    fx.sentence(lg["officer"], past, years=1, start_date=d(2023, 3, 1))
    far = fx.prisoner(lg["a"], "OUJDA2-2023-000052")
    fx.sentence(lg["officer"], far, days=days + 90, start_date=d(2023, 3, 1))
    api = _client(lg["officer"])
    r = api.get(f"{BASE}releases-due/", {"facility": "OUJDA2", "days": 30})
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [(x["committal_number"], x["overdue"], x["basis"]) for x in rows] == [
        ("OUJDA2-2023-000051", True, "sentence"),
        ("OUJDA2-2023-000050", False, "sentence"),
    ]
    assert rows[1]["due_in"] == 5 and rows[1]["expected_release"] == str(
        TODAY + dt.timedelta(days=5)
    )
    assert api.get(f"{BASE}releases-due/", {"days": 120}).json()["count"] == 3
    assert api.get(f"{BASE}releases-due/", {"facility": "SALE2"}).status_code == 404
    assert api.get(f"{BASE}releases-due/", {"days": 1000}).status_code == 400


# -- scoping and query counts ----------------------------------------------------------------
def test_another_institution_gets_404_on_every_endpoint(lg):
    officer, custody = lg["officer"], lg["custody"]
    h = Hearing.objects.create(
        detention=custody.detention,
        facility=lg["a"],
        kind="trial",
        court="TPI Oujda",
        scheduled_at=fx.at(2023, 3, 1),
    )
    s = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    api = _client(lg["officer_b"])
    before = fx.state()
    for method, url, body in [
        ("get", f"{BASE}{custody.uuid}/hearings/", None),
        ("post", f"{BASE}{custody.uuid}/hearings/", {"kind": "trial", "court": "x"}),
        ("post", f"{BASE}hearings/{h.uuid}/decision/", {"outcome": "adjourned"}),
        ("get", f"{BASE}{custody.uuid}/sentences/", None),
        ("post", f"{BASE}{custody.uuid}/sentences/", _sentence_body()),
        ("post", f"{BASE}sentences/{s.uuid}/quash/", {"reason": "x"}),
        ("get", f"{BASE}{custody.uuid}/release-date/", None),
        ("get", f"{BASE}{custody.uuid}/conditional-releases/", None),
        ("post", f"{BASE}{custody.uuid}/conditional-releases/", {"status": "refused"}),
        ("get", f"{BASE}pardon-decrees/{uuid.uuid4()}/", None),
        ("post", f"{BASE}pardon-decrees/{uuid.uuid4()}/apply/", {"lines": "x;release"}),
        ("get", f"{BASE}{uuid.uuid4()}/release-date/", None),
    ]:
        r = getattr(api, method)(url, body, format="json")
        assert r.status_code == 404, (url, r.status_code)
        assert r.json()["code"] == "not_found"
    assert fx.state() == before
    h.refresh_from_db()
    assert h.outcome == HearingOutcome.PENDING


@pytest.mark.parametrize("what", ["hearings", "sentences", "conditional-releases", "due"])
def test_list_query_counts_do_not_grow(lg, django_assert_max_num_queries, what):
    officer, custody = lg["officer"], lg["custody"]
    api = _client(officer)
    url = f"{BASE}releases-due/?days=366" if what == "due" else f"{BASE}{custody.uuid}/{what}/"

    def add(i):
        if what == "hearings":
            Hearing.objects.create(
                detention=custody.detention,
                facility=lg["a"],
                kind="trial",
                court=f"TPI {i}",
                scheduled_at=fx.at(2023, 3, 1 + i),
            )
        elif what == "sentences":
            fx.sentence(officer, custody, months=1 + i, start_date=d(2023, 3, 1))
        elif what == "conditional-releases":
            ConditionalRelease.objects.create(
                detention=custody.detention,
                facility=lg["a"],
                decided_on=d(2024, 1, 1 + i),
                authority="Ministre",
                decision_reference=f"LC-{i}",
                status="refused",
            )
        else:
            c = fx.prisoner(lg["a"], f"OUJDA2-2023-{200 + i:06d}")
            fx.sentence(officer, c, days=(TODAY - d(2023, 3, 1)).days + i, start_date=d(2023, 3, 1))

    add(0)
    with django_assert_max_num_queries(15) as few:
        assert api.get(url).status_code == 200
    for i in range(1, 6):
        add(i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = api.get(url)
    assert r.json()["count"] == 6


def test_pardon_decree_list_query_count(lg, django_assert_max_num_queries):
    api = _client(lg["officer"])
    fx.decree(lg["officer"], "D-0")
    with django_assert_max_num_queries(10) as few:
        api.get(f"{BASE}pardon-decrees/")
    for i in range(1, 6):
        fx.apply(lg["officer"], fx.decree(lg["officer"], f"D-{i}"), "OUJDA2-2023-000001;release")
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = api.get(f"{BASE}pardon-decrees/")
    assert r.json()["count"] == 6
