"""Housing and population API: a prisoner's housing (GET, POST allocate/move), an
institution's cells, population counts, the count sheet; scoping (404), refusals with
their codes and nothing changed, query counts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from rest_framework.test import APIClient

from idmaj.core.models import AuditEntry
from idmaj.facilities.constants import Regime, SpecialUse
from idmaj.facilities.models import Cell
from idmaj.facilities.tests.factories import StatusPeriodFactory
from idmaj.inmates.constants import LegalStatus, MovementKind, PersonSex
from idmaj.inmates.models import CellAssignment, Movement

from .housing_fixtures import *  # noqa: F403 - the ``hw`` fixture
from .housing_fixtures import cell, counter, place, prisoner, wing

BASE = "/api/v1/inmates/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(hw):
    w = hw["w"]
    hw["r1"] = cell(w["men_remand"], beds=1, maximum=2, number="R-1")
    hw["r2"] = cell(w["men_remand"], beds=2, maximum=3, number="R-2")
    hw["f1"] = cell(w["women"], number="F-1")
    hw["med"] = cell(w["men_mixed"], use=SpecialUse.MEDICAL, number="M-1")
    hw["p"] = prisoner(hw["a"])
    hw["q"] = prisoner(hw["a"])
    place(hw["q"], hw["r1"])
    return hw


def _state():
    return (CellAssignment.objects.count(), AuditEntry.objects.count())


# -- a prisoner's housing ---------------------------------------------------------------------
def test_allocate_move_and_read(world):
    api = _client(world["officer_a"])
    url = f"{BASE}{world['p'].uuid}/housing/"
    resp = api.get(url)
    assert resp.status_code == 200
    assert resp.json() == {
        "custody": str(world["p"].uuid),
        "committal_number": world["p"].committal_number,
        "current": None,
        "history": [],
    }
    resp = api.post(url, {"cell": str(world["r1"].uuid)}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["current"]["cell"]["number"] == "R-1"
    assert body["current"]["cell"]["wing"]["name"] == "Men remand"
    assert counter(world["r1"]) == 2  # above the bed: allowed
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    resp = api.post(url, {"cell": str(world["med"].uuid), "reason": "TB", "at": at}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["current"]["cell"]["number"] == "M-1" and body["current"]["reason"] == "TB"
    assert [s["cell"]["number"] for s in body["history"]] == ["M-1", "R-1"]
    assert body["history"][1]["ended_at"] is not None
    assert counter(world["r1"]) == 1


@pytest.mark.parametrize(
    ("cell_key", "code", "status"),
    [
        ("f1", "sex_separation", 400),
        ("med", "reason_required", 400),
    ],
)
def test_refusals_with_codes(world, cell_key, code, status):
    api = _client(world["officer_a"])
    before = _state()
    resp = api.post(
        f"{BASE}{world['p'].uuid}/housing/", {"cell": str(world[cell_key].uuid)}, format="json"
    )
    assert resp.status_code == status
    assert resp.json()["code"] == code and resp.json()["detail"]
    assert _state() == before


def test_full_cell_409(world):
    api = _client(world["officer_a"])
    place(prisoner(world["a"]), world["r1"])  # now at its maximum of 2
    before = _state()
    resp = api.post(
        f"{BASE}{world['p'].uuid}/housing/", {"cell": str(world["r1"].uuid)}, format="json"
    )
    assert resp.status_code == 409 and resp.json()["code"] == "cell_full"
    assert _state() == before


def test_convicted_in_remand_wing_and_same_cell(world):
    api = _client(world["officer_a"])
    convicted = prisoner(world["a"], status=LegalStatus.CONVICTED)
    resp = api.post(
        f"{BASE}{convicted.uuid}/housing/", {"cell": str(world["r2"].uuid)}, format="json"
    )
    assert resp.status_code == 400 and resp.json()["code"] == "convicted_in_remand_wing"
    assert resp.json()["field"] == "cell"
    resp = api.post(
        f"{BASE}{world['q'].uuid}/housing/", {"cell": str(world["r1"].uuid)}, format="json"
    )
    assert resp.status_code == 400 and resp.json()["code"] == "same_cell"


def test_unknown_or_foreign_cell(world):
    api = _client(world["officer_a"])
    foreign = cell(wing(world["b"], regime=Regime.REMAND))
    before = _state()
    for ident in (str(uuid.uuid4()), str(foreign.uuid)):
        resp = api.post(f"{BASE}{world['p'].uuid}/housing/", {"cell": ident}, format="json")
        assert resp.status_code == 400 and resp.json()["field"] == "cell"
    resp = api.post(f"{BASE}{world['p'].uuid}/housing/", {"cell": "12"}, format="json")
    assert resp.status_code == 400
    assert _state() == before


def test_viewer_may_read_not_allocate(world):
    api = _client(world["viewer_a"])
    url = f"{BASE}{world['p'].uuid}/housing/"
    assert api.get(url).status_code == 200
    before = _state()
    resp = api.post(url, {"cell": str(world["r2"].uuid)}, format="json")
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    assert _state() == before


@pytest.mark.parametrize("who", ["officer_b", "registry.sale2", "facility_only_a"])
def test_other_institution_404(world, who):
    api = _client(world[who])
    before = _state()
    assert api.get(f"{BASE}{world['p'].uuid}/housing/").status_code == 404
    assert (
        api.post(
            f"{BASE}{world['p'].uuid}/housing/", {"cell": str(world["r2"].uuid)}, format="json"
        ).status_code
        == 404
    )
    assert api.get(f"{BASE}housing/OUJDA2/").status_code == 404
    assert api.get(f"{BASE}count-sheet/", {"facility": "OUJDA2"}).status_code == 404
    assert api.get(f"{BASE}population/", {"facility": "OUJDA2"}).status_code == 404
    assert _state() == before


def test_missing_things_404(world):
    api = _client(world["officer_a"])
    assert api.get(f"{BASE}{uuid.uuid4()}/housing/").status_code == 404
    assert api.get(f"{BASE}housing/NOPE/").status_code == 404
    assert api.get(f"{BASE}count-sheet/", {"facility": "NOPE"}).status_code == 404
    assert api.get(f"{BASE}population/", {"region": "NOPE"}).status_code == 404


def test_anonymous_refused(world):
    assert APIClient().get(f"{BASE}housing/OUJDA2/").status_code in (401, 403)


# -- an institution's cells --------------------------------------------------------------------
def test_facility_housing(world, django_assert_max_num_queries):
    api = _client(world["viewer_a"])
    misplaced = prisoner(world["a"], status=LegalStatus.CONVICTED)
    place(misplaced, world["r2"])
    api.get(f"{BASE}housing/OUJDA2/")
    with django_assert_max_num_queries(8) as few:
        resp = api.get(f"{BASE}housing/OUJDA2/")
    pinned = len(few.captured_queries)  # read now: the next request clears the log
    assert resp.status_code == 200
    body = resp.json()
    assert body["facility"] == "OUJDA2" and body["unhoused"] == 1
    cells = {c["number"]: c for w in body["wings"] for c in w["cells"]}
    assert cells["R-1"] == {
        "uuid": str(world["r1"].uuid),
        "number": "R-1",
        "special_use": "",
        "beds": 1,
        "operational_max": 2,
        "occupants": 1,
        "free": 1,
        "overcrowding": 0,
        "in_service": True,
    }
    assert cells["M-1"]["special_use"] == SpecialUse.MEDICAL
    assert body["totals"]["occupants"] == 2
    assert [m["committal_number"] for m in body["misplaced"]] == [misplaced.committal_number]
    assert body["misplaced"][0]["breaches"][0]["code"] == "convicted_in_remand_wing"
    wing_only = api.get(f"{BASE}housing/OUJDA2/", {"wing": str(world["w"]["women"].uuid)})
    assert [w["name"] for w in wing_only.json()["wings"]] == ["Women"]
    assert api.get(f"{BASE}housing/OUJDA2/", {"wing": str(uuid.uuid4())}).status_code == 400
    # more cells and prisoners, same number of queries
    w = world["w"]["men_mixed"]
    Cell.objects.bulk_create(
        [
            Cell(facility=world["a"], wing=w, number=f"Z{i}", beds=2, operational_max=3)
            for i in range(200)
        ]
    )
    for _ in range(10):
        place(prisoner(world["a"], status=LegalStatus.CONVICTED), world["r2"])
    assert pinned >= 3
    with django_assert_max_num_queries(pinned):
        assert api.get(f"{BASE}housing/OUJDA2/").status_code == 200


# -- population and count sheet ---------------------------------------------------------------
def test_population_endpoint(world, make_user, django_assert_max_num_queries):
    StatusPeriodFactory(facility=world["a"], since=dt.date(2000, 1, 1))
    StatusPeriodFactory(facility=world["b"], since=dt.date(2000, 1, 1))
    prisoner(world["a"], sex=PersonSex.FEMALE, status=LegalStatus.CONVICTED)
    prisoner(world["b"])
    api = _client(world["director.oujda2"])
    resp = api.get(f"{BASE}population/", {"facility": "OUJDA2"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["scope"] == "facility"
    [row] = body["facilities"]
    assert row["code"] == "OUJDA2" and row["region"] == "ORIENTAL"
    assert row["counts"]["total"] == 3
    assert row["counts"]["sex"] == {"M": 2, "F": 1}
    assert row["counts"]["legal_status"]["convicted"] == 1
    assert row["beds"] == 1 + 2 + 2 + 2  # the cells of the world, in service
    assert body["nation"]["counts"]["total"] == 3
    # a national user sees both institutions, by region and in total
    national = _client(make_user("nat", "central_admin"))
    with django_assert_max_num_queries(10):
        body = national.get(f"{BASE}population/").json()
    assert body["scope"] == "nation" and body["nation"]["counts"]["total"] == 4
    assert {r["code"]: r["counts"]["total"] for r in body["regions"]} == {"ORIENTAL": 3, "RSK": 1}
    body = national.get(f"{BASE}population/", {"region": "RSK"}).json()
    assert body["nation"]["counts"]["total"] == 1
    # a moment before the committals
    body = national.get(f"{BASE}population/", {"at": "2020-01-01"}).json()
    assert body["nation"]["counts"]["total"] == 0 and body["on"] == "2020-01-01"
    body = national.get(f"{BASE}population/", {"at": "2020-01-01T08:30"}).json()
    assert body["at"].startswith("2020-01-01T08:30")
    assert national.get(f"{BASE}population/", {"at": "yesterday"}).status_code == 400
    resp = national.get(f"{BASE}population/", {"facility": "OUJDA2", "region": "RSK"})
    assert resp.status_code == 400


def test_count_sheet_endpoint(world):
    out = world["q"]
    Movement.objects.create(
        detention_id=out.detention_id,
        custody=out,
        facility=world["a"],
        kind=MovementKind.HOSPITAL,
        out_at=out.committed_at + dt.timedelta(hours=1),
        destination="CHU Mohammed VI",
    )
    api = _client(world["viewer_a"])
    resp = api.get(f"{BASE}count-sheet/", {"facility": "OUJDA2"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["totals"] == {"roll": 2, "present": 1, "in_cells": 0, "absent": 1, "unhoused": 1}
    [absent] = body["absent"]
    assert absent["custody"]["committal_number"] == out.committal_number
    assert absent["cell"] == str(world["r1"].uuid)
    assert absent["destination"] == "CHU Mohammed VI" and absent["kind"] == "hospital"
    assert body["wings"][0]["cells"][0]["absent"][0]["uuid"] == str(out.uuid)
    assert [u["custody"]["uuid"] for u in body["unhoused"]] == [str(world["p"].uuid)]
    assert api.get(f"{BASE}count-sheet/").status_code == 400
