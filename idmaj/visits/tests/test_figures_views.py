"""The figures page (Arabic and French, CSV export) and the figures API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from .figures_fixtures import figures_data  # noqa: F401  (fixture "data")
from .gate_fixtures import user_with

URL = "/api/v1/visits/figures/"
PERIOD = {"month_from": "2025-01", "month_to": "2025-02"}


def _client(client, user, language="ar"):
    client.force_login(user)
    client.cookies["idmaj_language"] = language
    return client


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_figures_page(client, vs, data, language, django_assert_max_num_queries):
    c = _client(client, user_with("auditor"), language)
    c.get(reverse("visits:figures"), PERIOD)
    with django_assert_max_num_queries(16):
        response = c.get(reverse("visits:figures"), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'lang="{language}"' in html
    with translation.override(language):
        assert gettext("Visit figures") in html
        assert gettext("By regional directorate") in html
        assert gettext("Institutions with online booking live") in html
    for code in ("OUJDA2", "BERKANE2", "CASA1"):
        assert code in html
    assert "format=csv" in html


def test_figures_page_of_an_institution(client, vs, data):
    response = _client(client, vs.officer, "fr").get(reverse("visits:figures"), PERIOD)
    html = response.content.decode()
    assert response.status_code == 200 and "OUJDA2" in html and "CASA1" not in html
    with translation.override("fr"):
        assert gettext("By regional directorate") not in html


def test_figures_page_bad_month(client, vs, data):
    response = _client(client, vs.officer, "fr").get(
        reverse("visits:figures"), {"month_from": "janvier"}
    )
    assert response.status_code == 400
    with translation.override("fr"):
        assert gettext("Give a month as YYYY-MM.") in response.content.decode()


def test_figures_page_needs_the_permission(client, vs, data):
    clerk = user_with("registry_officer", facility=vs.facility)
    assert _client(client, clerk).get(reverse("visits:figures")).status_code == 404


def test_figures_csv_export(client, vs, data):
    regional = user_with("regional_director", region=vs.facility.region)
    response = _client(client, regional).get(reverse("visits:figures"), {**PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "visit-figures-2025-01-2025-02.csv" in response["Content-Disposition"]
    lines = response.content.decode().strip().splitlines()
    assert len(lines) == 4  # header, OUJDA2 January and February, BERKANE2 January
    assert not any("CASA1" in line for line in lines)


def _api(user):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_authenticate(user)
    return client


def test_figures_api(vs, data, django_assert_max_num_queries):
    client = _api(user_with("auditor"))
    with django_assert_max_num_queries(8):
        response = client.get(URL, {"from": "2025-01", "to": "2025-02"})
    assert response.status_code == 200
    body = response.json()
    assert body["month_from"] == "2025-01" and body["month_to"] == "2025-02"
    assert body["total"]["booked"] == 11 and body["total"]["online"] == 6
    assert body["online_live_count"] == 2
    assert [f["code"] for f in body["online_live"]] == ["CASA1", "OUJDA2"]
    row = next(r for r in body["rows"] if r["facility"] == "OUJDA2" and r["month"] == "2025-01")
    assert row["no_show_rate"] == 0.3333 and row["occupancy"] == 0.3 and row["region"] == "ORIENTAL"
    region = next(r for r in body["regions"] if r["region"] == "ORIENTAL")
    assert region["booked"] == 10 and region["facilities"] == 2


def test_figures_api_region_filter_and_scope(vs, data):
    auditor = _api(user_with("auditor"))
    body = auditor.get(URL, {"from": "2025-01", "to": "2025-02", "region": "ORIENTAL"}).json()
    assert {r["facility"] for r in body["facilities"]} == {"OUJDA2", "BERKANE2"}
    regional = _api(user_with("regional_director", region=vs.facility.region))
    response = regional.get(URL, {"from": "2025-01", "region": "CASA-SETTAT"})
    assert response.status_code == 404
    response = _api(vs.officer).get(URL, {"from": "2025-01", "to": "2025-02"})
    assert {r["facility"] for r in response.json()["rows"]} == {"OUJDA2"}
    response = _api(vs.officer).get(URL, {"facility": "CASA1"})
    assert response.status_code == 404


def test_figures_api_bad_month_and_csv(vs, data):
    client = _api(user_with("auditor"))
    response = client.get(URL, {"from": "2025-1"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = client.get(URL, {"from": "2025-01", "export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(response.content.decode().strip().splitlines()) == 4  # January: 3 rows


def test_figures_api_needs_the_permission(vs, data):
    clerk = user_with("registry_officer", facility=vs.facility)
    assert _api(clerk).get(URL).status_code == 404
