"""The registry pages: search (full page and htmx partial), admission flow, custody record."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from idmaj.inmates.models import CustodyPeriod, Person

from .factories import CustodyPeriodFactory, OffenceFactory, PersonFactory, registry_roles

HTMX = {"HTTP_HX_REQUEST": "true"}


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
            birth_date=dt.date(1985, 1, 2),
        ),
    )
    w["in_b"] = CustodyPeriodFactory(
        facility=w["b"],
        committal_number="SALE2-2026-000900",
        person=PersonFactory(first_name_latin="Youssef", family_name_latin="Idrissi"),
    )
    OffenceFactory(code="VOL", name_ar="سرقة", name_fr="Vol")
    return w


def _login(client, world, username="registry.oujda2"):
    client.force_login(world["users"][username])
    return client


def _form(**overrides) -> dict:
    data = {
        "facility": "OUJDA2",
        "first_name_ar": "كريم",
        "family_name_ar": "بناني",
        "first_name_latin": "Karim",
        "family_name_latin": "Bennani",
        "birth_date": "1992-03-04",
        "sex": "M",
        "nationality": "MA",
        "committed_at": timezone.localtime(timezone.now() - dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "committing_authority": "Procureur du Roi, TPI Oujda",
        "warrant_reference": "MD-2026-1",
        "legal_status": "remand",
        "offence_codes": "VOL",
    }
    data.update(overrides)
    return data


def test_search_page_arabic_rtl(client, world):
    r = _login(client, world).get(reverse("inmates:search"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert 'type="search"' in html and "autofocus" in html
    assert 'hx-get="/inmates/"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'href="/inmates/"' in html  # the navigation entry


def test_search_results_scoped_and_partial(client, world):
    _login(client, world)
    r = client.get(reverse("inmates:search"), {"q": "youssef idrissi"}, **HTMX)
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html
    assert "OUJDA2-2026-000900" in html
    assert "SALE2-2026-000900" not in html
    assert reverse("inmates:detail", args=[world["in_a"].uuid]) in html
    assert "يوسف الإدريسي" in html and "Youssef Idrissi" in html
    full = client.get(reverse("inmates:search"), {"q": "youssef idrissi"})
    assert "<html" in full.content.decode() and "OUJDA2-2026-000900" in full.content.decode()


def test_search_query_count_is_constant(client, world, django_assert_max_num_queries):
    _login(client, world)
    url = reverse("inmates:search")
    with django_assert_max_num_queries(12) as few:
        client.get(url, {"q": "youssef"}, **HTMX)
    CustodyPeriodFactory.create_batch(
        5,
        facility=world["a"],
        person__first_name_latin="Youssef",
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url, {"q": "youssef"}, **HTMX)
    assert r.content.decode().count('<a href="/inmates/') == 6 * 2


def test_detail_page_and_scoping(client, world):
    _login(client, world)
    r = client.get(reverse("inmates:detail", args=[world["in_a"].uuid]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "OUJDA2-2026-000900" in html and "Youssef Idrissi" in html
    assert client.get(reverse("inmates:detail", args=[world["in_b"].uuid])).status_code == 404
    assert client.get(reverse("inmates:detail", args=[uuid.uuid4()])).status_code == 404


def test_admission_flow(client, world):
    _login(client, world)
    url = reverse("inmates:admit")
    # search before create: without a search first, the form sends the officer to the search
    r = client.get(url)
    assert r.status_code == 302 and r["Location"] == reverse("inmates:search")
    search = client.get(reverse("inmates:search"), {"q": "Karim Bennani"}).content.decode()
    assert f"{url}?q=Karim%20Bennani" in search
    r = client.get(url, {"q": "Karim Bennani"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'value="OUJDA2"' in html and 'value="SALE2"' not in html
    r = client.post(url, _form())
    assert r.status_code == 302
    custody = CustodyPeriod.objects.get(person__first_name_latin="Karim")
    assert r["Location"] == reverse("inmates:detail", args=[custody.uuid])
    detail = client.get(r["Location"]).content.decode()
    assert custody.committal_number in detail
    assert "VOL" in detail
    assert "registry.oujda2" in detail  # the record history names the officer


def test_admission_duplicate_then_confirm_or_link(client, world):
    _login(client, world, "registry.sale2")
    url = reverse("inmates:admit")
    other = world["in_a"].person
    CustodyPeriod.objects.filter(pk=world["in_a"].pk).update(
        status="released", released_at=timezone.now()
    )
    data = _form(
        facility="SALE2",
        first_name_ar="يوسف",
        family_name_ar="الإدريسي",
        first_name_latin="Youssef",
        family_name_latin="Idrissi",
        birth_date="1985-01-02",
    )
    persons = Person.objects.count()
    r = client.post(url, data)
    assert r.status_code == 409
    html = r.content.decode()
    assert f'name="existing_person" value="{other.uuid}"' in html
    assert 'name="confirm_new_person" value="1"' in html
    assert Person.objects.count() == persons
    # "this is the same person": linked to the person on file
    r = client.post(url, {**data, "existing_person": str(other.uuid)})
    assert r.status_code == 302
    assert other.custody_periods.filter(facility=world["b"], status="in_custody").exists()
    assert Person.objects.count() == persons


def test_admission_confirm_new_person(client, world):
    _login(client, world)
    data = _form(first_name_latin="Youssef", family_name_latin="Idrissi", birth_date="1985-01-02")
    url = reverse("inmates:admit")
    assert client.post(url, data).status_code == 409
    persons = Person.objects.count()
    r = client.post(url, {**data, "confirm_new_person": "1"})
    assert r.status_code == 302
    assert Person.objects.count() == persons + 1


def test_admission_domain_error_next_to_field(client, world):
    _login(client, world)
    r = client.post(reverse("inmates:admit"), _form(offence_codes="NOPE"))
    assert r.status_code == 400
    assert "NOPE" in r.content.decode()
    assert not Person.objects.filter(first_name_latin="Karim").exists()


def test_admission_denied(client, world, make_user):
    registry_roles()
    viewer = make_user("viewer.oujda2", "test_registry_viewer", facility=world["a"])
    client.force_login(viewer)
    before = (Person.objects.count(), CustodyPeriod.objects.count())
    assert client.get(reverse("inmates:admit")).status_code == 403
    assert client.post(reverse("inmates:admit"), _form()).status_code == 403
    # registry.sale2 cannot choose OUJDA2
    _login(client, world, "registry.sale2")
    r = client.post(reverse("inmates:admit"), _form())
    assert r.status_code == 400
    assert (Person.objects.count(), CustodyPeriod.objects.count()) == before


def test_admission_form_preselects_the_only_institution(client, two_facilities):
    client.force_login(two_facilities["users"]["registry.oujda2"])
    page = client.get(reverse("inmates:admit"), {"q": "x"}).content.decode()
    assert f'<option value="{two_facilities["a"].code}" selected>' in page
    assert "---------" not in page
