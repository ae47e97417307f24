from datetime import date

import pytest
from rest_framework.test import APIClient

from idmaj.facilities import selectors, services
from idmaj.facilities.constants import FacilityKind, FacilityStatus

from .factories import (
    BuildingFactory,
    CellFactory,
    FacilityFactory,
    InstallationTypeFactory,
    StatusPeriodFactory,
    WingFactory,
)


@pytest.fixture(autouse=True)
def _no_population():
    selectors.register_population_provider(None)
    yield
    selectors.register_population_provider(None)


def _token_client(user, password) -> APIClient:
    client = APIClient()
    r = client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert r.status_code == 200, r.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    return client


@pytest.fixture
def setup(two_facilities, make_user, password):
    a = two_facilities["a"]
    wing = WingFactory(building=BuildingFactory(facility=a))
    CellFactory(wing=wing, beds=4, operational_max=6)
    CellFactory(wing=wing, beds=2, operational_max=2, in_service_until=date(2000, 1, 1))
    central = make_user("central", "central_admin")
    return {**two_facilities, "central": central, "password": password}


def test_requires_authentication(setup):
    assert APIClient().get("/api/v1/facilities/").status_code in (401, 403)


def test_list_national_with_token(setup):
    client = _token_client(setup["central"], setup["password"])
    r = client.get("/api/v1/facilities/")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    row = next(x for x in body["results"] if x["code"] == "OUJDA2")
    assert row["beds"] == 4
    assert row["region"]["code"] == "ORIENTAL"
    assert row["status"] == FacilityStatus.OPERATING
    assert row["population"] is None and row["occupancy"] is None
    assert set(row) >= {"uuid", "name_ar", "name_fr", "kind", "city"}


def test_population_when_provider_registered(setup):
    a = setup["a"]
    selectors.register_population_provider(lambda ids, on: {a.pk: 6})
    client = _token_client(setup["central"], setup["password"])
    row = client.get("/api/v1/facilities/OUJDA2/").json()
    assert row["population"] == 6 and row["occupancy"] == 1.5


def test_filters(setup):
    client = _token_client(setup["central"], setup["password"])
    FacilityFactory(
        code="KENITRA_CENTRALE",
        region=setup["r2"],
        kind=FacilityKind.CENTRAL_PRISON,
        city="Kénitra",
    )

    def codes(qs):
        return sorted(x["code"] for x in client.get(f"/api/v1/facilities/?{qs}").json()["results"])

    assert codes("region=RSK") == ["KENITRA_CENTRALE", "SALE2"]
    assert codes("kind=central_prison") == ["KENITRA_CENTRALE"]
    assert codes("q=ouJDA2") == ["OUJDA2"]
    assert codes("q=nitra") == ["KENITRA_CENTRALE"]  # city
    assert codes("status=closed") == []
    assert client.get("/api/v1/facilities/?kind=castle").status_code == 400


def test_scoping_list_and_detail(setup):
    client = _token_client(setup["users"]["registry.oujda2"], setup["password"])
    body = client.get("/api/v1/facilities/").json()
    assert [x["code"] for x in body["results"]] == ["OUJDA2"]
    assert client.get("/api/v1/facilities/OUJDA2/").status_code == 200
    other = client.get("/api/v1/facilities/SALE2/")
    missing = client.get("/api/v1/facilities/NOPE/")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_list_query_count_is_pinned(setup, django_assert_max_num_queries):
    for i in range(10):
        w = WingFactory(building=BuildingFactory(facility=FacilityFactory(code=f"X{i}")))
        CellFactory(wing=w)
    client = _token_client(setup["central"], setup["password"])
    with django_assert_max_num_queries(7):
        r = client.get("/api/v1/facilities/")
    assert r.json()["count"] == 12


def test_capacity_endpoint(setup):
    a = setup["a"]
    StatusPeriodFactory(facility=a, status=FacilityStatus.OPERATING, since=date(1990, 1, 1))
    client = _token_client(setup["central"], setup["password"])
    r = client.get("/api/v1/facilities/capacity/?on=2020-12-31")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["on"] == "2020-12-31"
    assert body["nation"]["beds"] == 4 and body["nation"]["population"] is None
    assert [x["facility"]["code"] for x in body["facilities"]] == ["OUJDA2"]
    assert client.get("/api/v1/facilities/capacity/?on=yesterday").status_code == 400
    body = client.get("/api/v1/facilities/capacity/?on=2020-12-31&region=RSK").json()
    assert body["nation"]["beds"] == 0


def test_installation_count_endpoint(setup):
    InstallationTypeFactory(code="biometric")
    services.installation_record(
        actor=None, facility=setup["a"], type_code="biometric", installed_on=date(2020, 3, 1)
    )
    services.installation_record(
        actor=None, facility=setup["b"], type_code="biometric", installed_on=date(2021, 1, 1)
    )
    client = _token_client(setup["central"], setup["password"])
    url = "/api/v1/facilities/installations/count/"
    assert client.get(f"{url}?type=biometric&on=2020-12-31").json()["count"] == 1
    assert client.get(f"{url}?type=biometric&on=2021-01-01").json()["count"] == 2
    r = client.get(f"{url}?type=unknown&on=2021-01-01")
    assert r.status_code == 400 and r.json()["code"] == "unknown_type"
    scoped = _token_client(setup["users"]["director.sale2"], setup["password"])
    assert scoped.get(f"{url}?type=biometric&on=2021-01-01").json()["count"] == 1
