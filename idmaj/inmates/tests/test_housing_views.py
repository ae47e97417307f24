"""Housing pages: the institution's housing, a cell, the allocation form and the custody
record section, the count sheet; scoping (404), refusals shown with nothing changed, query
counts pinned."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from idmaj.core.models import AuditEntry
from idmaj.facilities.constants import SpecialUse
from idmaj.facilities.models import Cell
from idmaj.inmates.constants import LegalStatus, MovementKind, PersonSex
from idmaj.inmates.models import CellAssignment, Movement
from idmaj.inmates.services import cell_allocate

from .housing_fixtures import *  # noqa: F403 - the ``hw`` fixture
from .housing_fixtures import adult_birth, cell, counter, place, prisoner, wing

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def housed(hw):
    """A few cells and prisoners in institution A: an overcrowded cell, a full one, a
    misplaced prisoner, an unhoused one."""
    w = hw["w"]
    hw["c_over"] = cell(w["men_remand"], beds=1, maximum=3, number="R-01")
    hw["c_full"] = cell(w["men_remand"], beds=1, maximum=1, number="R-02")
    hw["c_free"] = cell(w["men_remand"], beds=2, maximum=4, number="R-03")
    hw["c_women"] = cell(w["women"], number="F-01")
    hw["c_conv"] = cell(w["men_conv"], number="C-01")
    hw["c_med"] = cell(w["men_mixed"], use=SpecialUse.MEDICAL, number="M-01")
    hw["p1"], hw["p2"], hw["p3"] = (prisoner(hw["a"]) for _ in range(3))
    place(hw["p1"], hw["c_over"])
    place(hw["p2"], hw["c_over"])
    place(hw["p3"], hw["c_full"])
    # convicted since, still in a remand wing: misplaced
    hw["misplaced"] = prisoner(hw["a"], status=LegalStatus.CONVICTED)
    place(hw["misplaced"], hw["c_free"])
    hw["new"] = prisoner(hw["a"])
    return hw


# -- the institution's housing -----------------------------------------------------------------
def test_housing_page(client, housed):
    c = _client(client, housed["viewer_a"])
    resp = c.get(reverse("inmates:housing", args=["OUJDA2"]))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "R-01" in body and "R-02" in body and "F-01" in body
    assert 'class="num over">2<' in body  # the overcrowded cell highlighted
    assert housed["misplaced"].committal_number in body  # the misplaced list
    assert housed["new"].committal_number in body  # the unhoused list
    ov = resp.context["overview"]["totals"]
    assert ov.occupants == 4 and ov.overcrowded_cells == 1
    # a viewer gets no allocation links
    assert reverse("inmates:cell_allocate", args=[housed["new"].uuid]) not in body


def test_housing_page_filters(client, housed):
    c = _client(client, housed["officer_a"])
    url = reverse("inmates:housing", args=["OUJDA2"])
    resp = c.get(url, {"wing": housed["w"]["women"].uuid}, HTTP_HX_TARGET="housing-cells", **HTMX)
    assert resp.status_code == 200
    assert [t.name for t in resp.templates][0] == "inmates/housing/_cells.html"
    body = resp.content.decode()
    assert "F-01" in body and "R-01" not in body
    resp = c.get(url, {"show": "overcrowded"})
    cells = [r.cell.number for w in resp.context["overview"]["wings"] for r in w.cells]
    assert cells == ["R-01"]
    resp = c.get(url, {"show": "free"})
    cells = {r.cell.number for w in resp.context["overview"]["wings"] for r in w.cells}
    assert "R-02" not in cells and "R-01" in cells
    assert reverse("inmates:cell_allocate", args=[housed["new"].uuid]) in resp.content.decode()


def test_housing_index(client, housed):
    resp = _client(client, housed["officer_a"]).get(reverse("inmates:housing_index"))
    assert resp.status_code == 302 and resp.url.endswith("/housing/OUJDA2/")


@pytest.mark.parametrize("who", ["officer_b", "registry.sale2", "facility_only_a"])
def test_other_institution_gets_404(client, housed, who):
    c = _client(client, housed[who])
    for url in (
        reverse("inmates:housing", args=["OUJDA2"]),
        reverse("inmates:count_sheet", args=["OUJDA2"]),
        reverse("inmates:cell_detail", args=[housed["c_over"].uuid]),
        reverse("inmates:cell_allocate", args=[housed["new"].uuid]),
        reverse("inmates:housing", args=["NOPE"]),
        reverse("inmates:cell_detail", args=[uuid.uuid4()]),
    ):
        assert c.get(url).status_code == 404, url
    before = CellAssignment.objects.count()
    resp = c.post(
        reverse("inmates:cell_allocate", args=[housed["new"].uuid]),
        {"cell": housed["c_free"].uuid},
    )
    assert resp.status_code == 404 and CellAssignment.objects.count() == before


def test_anonymous_redirected(client, housed):
    resp = client.get(reverse("inmates:housing", args=["OUJDA2"]))
    assert resp.status_code == 302 and "login" in resp.url


def test_housing_page_query_count_does_not_grow(client, housed, django_assert_max_num_queries):
    c = _client(client, housed["officer_a"])
    url = reverse("inmates:housing", args=["OUJDA2"])
    c.get(url)  # warm the session and the access cache
    with django_assert_max_num_queries(14) as small:
        c.get(url)
    w = housed["w"]["men_mixed"]
    Cell.objects.bulk_create(
        [
            Cell(facility=housed["a"], wing=w, number=f"X-{i:04d}", beds=2, operational_max=3)
            for i in range(300)
        ]
    )
    for _ in range(20):
        place(prisoner(housed["a"], status=LegalStatus.REMAND), housed["c_free"])
    assert len(small.captured_queries) >= 3
    with django_assert_max_num_queries(len(small.captured_queries)):
        c.get(url)


def test_housing_page_of_2000_cells_is_fast(client, housed, django_assert_max_num_queries):
    """An institution of 2,000 cells in 20 wings: a constant number of queries; the page
    lists the wings and the cells of the wing chosen, each in well under a second."""
    wings = [wing(housed["a"], regime="mixed", name=f"Big {i:02d}") for i in range(20)]
    cells = Cell.objects.bulk_create(
        [
            Cell(facility=housed["a"], wing=w, number=f"Y-{i:04d}", beds=2, operational_max=3)
            for i in range(100)
            for w in wings
        ]
    )
    for c_ in cells[:50]:
        place(prisoner(housed["a"], status=LegalStatus.CONVICTED), c_)
    c = _client(client, housed["officer_a"])
    url = reverse("inmates:housing", args=["OUJDA2"])
    c.get(url)
    with django_assert_max_num_queries(14):
        start = time.perf_counter()
        resp = c.get(url)
        whole = time.perf_counter() - start
    assert resp.status_code == 200
    ov = resp.context["overview"]
    assert ov["totals"].occupants == 54 and len(ov["totals"].cells) == 2006
    assert ov["too_many"] and ov["wings"] == [] and len(ov["summary"]) == 24  # the wings with cells
    assert "Big 07" in resp.content.decode()
    with django_assert_max_num_queries(11):
        start = time.perf_counter()
        resp = c.get(url, {"wing": wings[3].uuid}, HTTP_HX_TARGET="housing-cells", **HTMX)
        one_wing = time.perf_counter() - start
    assert resp.status_code == 200
    assert [len(w.cells) for w in resp.context["overview"]["wings"]] == [100]
    assert whole < 1.0 and one_wing < 1.0, (whole, one_wing)


# -- a cell --------------------------------------------------------------------------------
def test_cell_page(client, housed):
    moved = housed["p1"]
    cell_allocate(actor=housed["officer_a"], custody=moved, cell=housed["c_free"])
    resp = _client(client, housed["viewer_a"]).get(
        reverse("inmates:cell_detail", args=[housed["c_over"].uuid])
    )
    assert resp.status_code == 200
    assert [s.custody for s in resp.context["occupants"]] == [housed["p2"]]
    assert [s.custody for s in resp.context["history"]] == [moved]
    assert moved.committal_number in resp.content.decode()


# -- allocation form -------------------------------------------------------------------------
def test_allocate_form_lists_only_allowed_cells_with_room(client, housed):
    c = _client(client, housed["officer_a"])
    resp = c.get(reverse("inmates:cell_allocate", args=[housed["new"].uuid]))
    assert resp.status_code == 200
    offered = {r.cell.number for _w, rows in resp.context["choices"] for r in rows}
    # a man on remand: remand wing and mixed wings of men, with room
    assert "R-01" in offered and "R-03" in offered and "M-01" in offered
    assert "R-02" not in offered  # full
    assert "F-01" not in offered  # women's wing
    assert "C-01" not in offered  # convicted wing
    body = resp.content.decode()
    assert "<optgroup" in body and str(housed["c_over"].uuid) in body


def test_allocate_form_search_box(client, housed):
    c = _client(client, housed["officer_a"])
    url = reverse("inmates:cell_allocate", args=[housed["new"].uuid])
    resp = c.get(url, {"q": "M-0"}, HTTP_HX_TARGET="cell-choices", **HTMX)
    assert resp.status_code == 200
    assert [t.name for t in resp.templates][0] == "inmates/housing/_choices.html"
    offered = {r.cell.number for _w, rows in resp.context["choices"] for r in rows}
    assert offered == {"M-01"}
    resp = c.get(url, HTTP_HX_TARGET="housing-form", **HTMX)
    assert [t.name for t in resp.templates][0] == "inmates/housing/_form.html"


def test_allocate_and_move(client, housed):
    c = _client(client, housed["officer_a"])
    custody = housed["new"]
    url = reverse("inmates:cell_allocate", args=[custody.uuid])
    resp = c.post(url, {"cell": housed["c_free"].uuid, "at": "", "reason": ""})
    assert resp.status_code == 302 and resp.url.endswith("#housing")
    custody.refresh_from_db()
    assert custody.cell == housed["c_free"]
    resp = c.post(url, {"cell": housed["c_med"].uuid, "reason": "Suivi médical"})
    assert resp.status_code == 302
    custody.refresh_from_db()
    assert custody.cell == housed["c_med"]
    assert CellAssignment.objects.filter(custody=custody).count() == 2
    # the custody record page shows the section
    resp = c.get(reverse("inmates:detail", args=[custody.uuid]))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert 'id="housing"' in body and "M-01" in body and "R-03" in body
    assert url in body


@pytest.mark.parametrize(
    ("cell_key", "code_text", "status"),
    [
        ("c_women", None, 400),
        ("c_conv", None, 400),
        ("c_full", "R-02", 409),
        ("c_med", "M-01", 400),
    ],
)
def test_allocate_refusals_shown_nothing_changed(client, housed, cell_key, code_text, status):
    c = _client(client, housed["officer_a"])
    custody = housed["new"]
    before = (CellAssignment.objects.count(), AuditEntry.objects.count(), counter(housed[cell_key]))
    resp = c.post(
        reverse("inmates:cell_allocate", args=[custody.uuid]), {"cell": housed[cell_key].uuid}
    )
    assert resp.status_code == status
    assert resp.context["form"].errors
    # The refusal names the wing it concerns (or the cell).
    assert (code_text or housed[cell_key].wing.name) in resp.content.decode()
    after = (CellAssignment.objects.count(), AuditEntry.objects.count(), counter(housed[cell_key]))
    assert after == before
    custody.refresh_from_db()
    assert custody.cell is None


def test_refusal_message_in_french(client, housed):
    c = _client(client, housed["officer_a"])
    with translation.override("fr"):
        resp = c.post(
            reverse("inmates:cell_allocate", args=[housed["new"].uuid]),
            {"cell": housed["c_women"].uuid},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert resp.status_code == 400
    errors = " ".join(resp.context["form"].errors["cell"])
    assert "Women" in errors and "femmes" in errors and "masculin" in errors


def test_viewer_may_not_allocate(client, housed):
    c = _client(client, housed["viewer_a"])
    url = reverse("inmates:cell_allocate", args=[housed["new"].uuid])
    assert c.get(url).status_code == 403
    before = CellAssignment.objects.count()
    assert c.post(url, {"cell": housed["c_free"].uuid}).status_code == 403
    assert CellAssignment.objects.count() == before
    body = c.get(reverse("inmates:detail", args=[housed["p1"].uuid])).content.decode()
    assert 'id="housing"' in body and url not in body


def test_cell_of_another_institution_is_not_a_choice(client, housed):
    other = cell(wing(housed["b"], regime="remand"))
    c = _client(client, housed["officer_a"])
    resp = c.post(reverse("inmates:cell_allocate", args=[housed["new"].uuid]), {"cell": other.uuid})
    assert resp.status_code == 400 and "cell" in resp.context["form"].errors
    assert CellAssignment.objects.filter(custody=housed["new"]).count() == 0


# -- count sheet ---------------------------------------------------------------------------
def test_count_sheet_page(client, housed):
    out = housed["p2"]
    Movement.objects.create(
        detention_id=out.detention_id,
        custody=out,
        facility=housed["a"],
        kind=MovementKind.COURT,
        out_at=timezone.now() - dt.timedelta(hours=1),
        destination="Tribunal de première instance d'Oujda",
    )
    c = _client(client, housed["viewer_a"])
    resp = c.get(reverse("inmates:count_sheet", args=["OUJDA2"]))
    assert resp.status_code == 200
    body = resp.content.decode()
    sheet = resp.context["sheet"]
    assert sheet["totals"] == {
        "roll": 5,
        "present": 4,
        "in_cells": 3,
        "absent": 1,
        "unhoused": 1,
    }
    assert "Tribunal de première instance d&#x27;Oujda" in body
    assert "@media print" in body and out.committal_number in body
    assert "هـ" in body  # the Hijri date (Arabic page)
    with translation.override("fr"):
        resp = c.get(
            reverse("inmates:count_sheet", args=["OUJDA2"]), {"on": "2026-01-15", "time": ""}
        )
    assert resp.status_code == 200


def test_count_sheet_bad_date(client, housed):
    c = _client(client, housed["viewer_a"])
    resp = c.get(reverse("inmates:count_sheet", args=["OUJDA2"]), {"on": "not-a-date"})
    assert resp.status_code == 400


def test_count_sheet_query_count(client, housed, django_assert_max_num_queries):
    c = _client(client, housed["viewer_a"])
    url = reverse("inmates:count_sheet", args=["OUJDA2"])
    c.get(url)
    with django_assert_max_num_queries(12) as few:
        assert c.get(url).status_code == 200
    for _ in range(30):
        place(prisoner(housed["a"]), housed["c_free"])
    assert len(few.captured_queries) >= 3
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert c.get(url).status_code == 200


def test_women_and_juveniles_on_the_form(client, housed):
    woman = prisoner(housed["a"], sex=PersonSex.FEMALE, birth_date=adult_birth(40))
    c = _client(client, housed["officer_a"])
    resp = c.get(reverse("inmates:cell_allocate", args=[woman.uuid]))
    offered = {r.cell.number for _w, rows in resp.context["choices"] for r in rows}
    assert offered == {"F-01"}
