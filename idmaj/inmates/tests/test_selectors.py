import datetime as dt
import uuid
import zoneinfo

import pytest
from django.apps import apps
from django.http import Http404
from django.utils import timezone

from idmaj.core.tests.factories import UserFactory, grant
from idmaj.facilities import selectors as facility_selectors
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.selectors import (
    custody_list,
    get_custody_for_user_or_404,
    inmate_search,
    population_at,
)

from .factories import CustodyPeriodFactory, PersonFactory, registry_roles

CASA = zoneinfo.ZoneInfo("Africa/Casablanca")


@pytest.fixture
def reg(two_facilities):
    registry_roles()
    a, b = two_facilities["a"], two_facilities["b"]
    users = {}
    for name, role, kwargs in (
        ("viewer_a", "test_registry_viewer", {"facility": a}),
        ("viewer_b", "test_registry_viewer", {"facility": b}),
        ("viewer_r1", "test_registry_viewer", {"region": two_facilities["r1"]}),
        ("viewer_nat", "test_registry_viewer", {}),
        ("facility_only_a", "test_facility_only", {"facility": a}),
    ):
        users[name] = UserFactory(username=name)
        grant(users[name], role, **kwargs)
    return {"a": a, "b": b, **users, **two_facilities["users"]}


def _custody(facility, first="Mohamed", family="El Alaoui", ar=("محمد", "العلوي"), **kw):
    person = PersonFactory(
        first_name_latin=first, family_name_latin=family, first_name_ar=ar[0], family_name_ar=ar[1]
    )
    return CustodyPeriodFactory(person=person, facility=facility, **kw)


# -- scoping ---------------------------------------------------------------------------------
def test_custody_list_is_scoped(reg):
    ca = _custody(reg["a"])
    cb = _custody(reg["b"], first="Karim")
    assert list(custody_list(fetched_by=reg["viewer_a"])) == [ca]
    assert list(custody_list(fetched_by=reg["viewer_b"])) == [cb]
    assert list(custody_list(fetched_by=reg["viewer_r1"])) == [ca]
    assert set(custody_list(fetched_by=reg["viewer_nat"])) == {ca, cb}
    # asking for another institution gives nothing, not an error
    assert list(custody_list(fetched_by=reg["viewer_a"], facility=reg["b"])) == []
    # seeing the institution is not enough: inmates.view is needed
    assert list(custody_list(fetched_by=reg["facility_only_a"])) == []
    superuser = UserFactory(username="root", is_superuser=True)
    assert set(custody_list(fetched_by=superuser)) == {ca, cb}


def test_custody_list_filters(reg):
    current = _custody(reg["a"], committed_at=timezone.now() - dt.timedelta(days=3))
    newer = _custody(reg["a"], first="Karim", ar=("كريم", "بناني"), committed_at=timezone.now())
    released = _custody(
        reg["a"],
        first="Said",
        status=CustodyStatus.RELEASED,
        committed_at=timezone.now() - dt.timedelta(days=30),
        released_at=timezone.now() - dt.timedelta(days=1),
    )
    user = reg["viewer_a"]
    assert list(custody_list(fetched_by=user)) == [newer, current]
    assert list(custody_list(fetched_by=user, status=None)) == [newer, current, released]
    assert list(custody_list(fetched_by=user, q="muhammad")) == [current]
    assert list(custody_list(fetched_by=user, q="كريم")) == [newer]
    assert list(custody_list(fetched_by=user, q="   ")) == [newer, current]


def test_list_query_count_does_not_grow(reg, django_assert_num_queries):
    for i in range(5):
        _custody(reg["a"], first=f"N{i}")
    user = reg["viewer_a"]
    list(custody_list(fetched_by=user))  # the user's access is computed once, then cached
    with django_assert_num_queries(1):
        rows = list(custody_list(fetched_by=user))
        assert [r.person.full_name_latin for r in rows] and [r.facility.code for r in rows]


def test_get_custody_for_user_or_404(reg):
    ca = _custody(reg["a"])
    assert get_custody_for_user_or_404(user=reg["viewer_a"], uuid=ca.uuid) == ca
    assert get_custody_for_user_or_404(user=reg["viewer_a"], uuid=str(ca.uuid)) == ca
    for user, key in (
        (reg["viewer_b"], ca.uuid),  # not yours
        (reg["facility_only_a"], ca.uuid),  # no inmates.view
        (reg["viewer_a"], uuid.uuid4()),  # missing
        (reg["viewer_a"], "not-a-uuid"),  # malformed
        (reg["viewer_a"], ca.pk),  # sequential ids are not identifiers
    ):
        with pytest.raises(Http404):
            get_custody_for_user_or_404(user=user, uuid=key)


# -- search ----------------------------------------------------------------------------------
def test_search_by_committal_number_and_cin(reg):
    ca = _custody(reg["a"], committal_number="OUJDA2-2026-000123")
    ca.person.cin = "AB123456"
    ca.person.save(update_fields=["cin"])
    _custody(reg["a"], committal_number="OUJDA2-2026-001230", first="Other")
    user = reg["viewer_a"]
    assert inmate_search(fetched_by=user, q="OUJDA2-2026-000123") == [ca]
    assert inmate_search(fetched_by=user, q=" oujda2-2026-123 ") == [ca]
    assert inmate_search(fetched_by=user, q="ab123456") == [ca]
    assert inmate_search(fetched_by=user, q="AB 123456") == [ca]
    assert inmate_search(fetched_by=user, q="AB12345") == []
    assert inmate_search(fetched_by=reg["viewer_b"], q="OUJDA2-2026-000123") == []
    assert inmate_search(fetched_by=reg["viewer_b"], q="AB123456") == []
    assert inmate_search(fetched_by=user, q="") == []


@pytest.mark.parametrize(
    "q",
    [
        "Muhammad Alaoui",
        "mohammed el-alaoui",
        "MOHAMAD",
        "alaoui",
        "Alaoui Mohamed",
        "مُحَمَّد",
        "محمد العلوي",
        "العلوى",
    ],
)
def test_search_by_name_in_either_script(reg, q):
    ca = _custody(reg["a"])
    _custody(reg["a"], first="Karim", family="Bennani", ar=("كريم", "بناني"))
    _custody(reg["b"])  # same name, other institution
    assert inmate_search(fetched_by=reg["viewer_a"], q=q) == [ca]


def test_search_ranking(reg):
    now = timezone.now()
    contains = _custody(
        reg["a"], first="Ahmed", family="Ben Alaoui", ar=("أحمد", "بن العلوي"), committed_at=now
    )
    prefix = _custody(
        reg["a"],
        first="Alaoui",
        family="Hassani",
        ar=("علوي", "حسني"),
        committed_at=now - dt.timedelta(days=1),
    )
    exact_old = _custody(
        reg["a"],
        first="Alaoui",
        family="",
        ar=("", ""),
        committed_at=now - dt.timedelta(days=400),
        status=CustodyStatus.RELEASED,
        released_at=now - dt.timedelta(days=300),
    )
    # the same person's current custody ranks before their old one
    exact_current = CustodyPeriodFactory(
        person=exact_old.person, facility=reg["a"], committed_at=now - dt.timedelta(days=2)
    )
    result = inmate_search(fetched_by=reg["viewer_a"], q="Alaoui")
    assert result == [exact_current, exact_old, prefix, contains]
    assert inmate_search(fetched_by=reg["viewer_a"], q="Alaoui", limit=2) == [
        exact_current,
        exact_old,
    ]


# -- population --------------------------------------------------------------------------------
def test_population_at(reg):
    a, b = reg["a"], reg["b"]
    at = dt.datetime

    def period(facility, committed, released=None, status=CustodyStatus.IN_CUSTODY):
        return _custody(
            facility,
            committed_at=committed,
            released_at=released,
            status=status if released is None else CustodyStatus.RELEASED,
        )

    period(a, at(2026, 1, 10, 9, 0, tzinfo=CASA))
    period(a, at(2026, 1, 5, 9, 0, tzinfo=CASA), at(2026, 1, 12, 15, 0, tzinfo=CASA))
    period(a, at(2026, 1, 12, 23, 0, tzinfo=CASA))  # committed late on the 12th
    period(b, at(2025, 6, 1, 9, 0, tzinfo=CASA), at(2026, 1, 20, 9, 0, tzinfo=CASA))
    # a transfer out ends the period like a release
    CustodyPeriodFactory(
        facility=b,
        committed_at=at(2025, 1, 1, tzinfo=CASA),
        status=CustodyStatus.TRANSFERRED_OUT,
        released_at=at(2026, 1, 11, 10, 0, tzinfo=CASA),
    )
    ids = [a.pk, b.pk]
    assert population_at(ids, dt.date(2026, 1, 4)) == {a.pk: 0, b.pk: 2}
    assert population_at(ids, dt.date(2026, 1, 10)) == {a.pk: 2, b.pk: 2}
    # a date is the end of that day: the release on the 12th no longer counts, the late
    # committal of the 12th does
    assert population_at(ids, dt.date(2026, 1, 12)) == {a.pk: 2, b.pk: 1}
    assert population_at(ids, at(2026, 1, 12, 12, 0, tzinfo=CASA)) == {a.pk: 2, b.pk: 1}
    assert population_at(ids, at(2026, 1, 12, 16, 0, tzinfo=CASA)) == {a.pk: 1, b.pk: 1}
    assert population_at(ids, dt.date(2026, 2, 1)) == {a.pk: 2, b.pk: 0}
    assert population_at([], dt.date(2026, 2, 1)) == {}


def test_population_feeds_the_capacity_pages(reg):
    previous = facility_selectors._population_provider
    try:
        facility_selectors.register_population_provider(None)
        apps.get_app_config("inmates").ready()
        assert facility_selectors._population_provider is population_at
        _custody(reg["a"], committed_at=timezone.now() - dt.timedelta(days=1))
        today = timezone.localdate()
        assert facility_selectors.population_at(facility_ids=[reg["a"].pk], on=today) == {
            reg["a"].pk: 1
        }
    finally:
        facility_selectors.register_population_provider(previous)


def test_name_keys_have_trigram_indexes_on_postgresql(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only; SQLite scans")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inmates_person'"
        )
        defs = dict(cursor.fetchall())
    for name, column in (
        ("inmates_person_key_ar_trgm", "name_key_ar"),
        ("inmates_person_key_latin_trgm", "name_key_latin"),
    ):
        assert "gin" in defs[name] and column in defs[name] and "gin_trgm_ops" in defs[name]
