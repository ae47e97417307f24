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


# -- search: every spelling of the issue, end to end, both directions -------------------------
def _spelled(latin_first, latin_family, ar_first, ar_family):
    return {
        "first_name_latin": latin_first,
        "family_name_latin": latin_family,
        "first_name_ar": ar_first,
        "family_name_ar": ar_family,
    }


def _pairs():
    from .test_names import REQUIREMENT_GROUPS

    for group in REQUIREMENT_GROUPS:
        for stored in group:
            for typed in group:
                if stored != typed:
                    yield stored, typed


@pytest.mark.parametrize(("stored", "typed"), list(_pairs()))
def test_search_finds_every_spelling_both_ways(reg, stored, typed):
    """The person written one way on file is found typed the other way (every ordered pair
    of a group of the issue's examples, so both directions), and a person with another name
    is not."""
    from idmaj.inmates.names import is_arabic

    arabic = is_arabic(stored)
    names = _spelled("Karim", stored, "كريم", "بناني") if not arabic else None
    names = names or _spelled("Karim", "Bennani", "كريم", stored)
    person = PersonFactory(**names)
    found = CustodyPeriodFactory(person=person, facility=reg["a"])
    other = PersonFactory(**_spelled("Karim", "Zerouali", "كريم", "الزروالي"))
    CustodyPeriodFactory(person=other, facility=reg["a"])
    assert inmate_search(fetched_by=reg["viewer_a"], q=typed) == [found]
    assert inmate_search(fetched_by=reg["viewer_b"], q=typed) == []


# -- search: ranking --------------------------------------------------------------------------
def _person_in(facility, latin, arabic=("", ""), *, days_ago=10, released_days_ago=None, **kw):
    first, family = latin
    committed = timezone.now() - dt.timedelta(days=days_ago)
    extra = {}
    if released_days_ago is not None:
        extra = {
            "status": CustodyStatus.RELEASED,
            "released_at": timezone.now() - dt.timedelta(days=released_days_ago),
        }
    person = PersonFactory(**_spelled(first, family, *arabic), **kw)
    return CustodyPeriodFactory(person=person, facility=facility, committed_at=committed, **extra)


def test_search_ranks_tiers_then_custody_then_latest(reg):
    a = reg["a"]
    # the whole key, written family name first (tokens in any order are the whole key)
    exact_reversed = _person_in(a, ("Alaoui", "Mohamed"), days_ago=50)
    exact_old = _person_in(a, ("Mohamed", "Alaoui"), days_ago=400, released_days_ago=300)
    exact_new = _person_in(a, ("Mohamed", "Alaoui"), days_ago=5)
    prefix = _person_in(a, ("Mohamed", "Alaoui Hassani"), days_ago=1)
    words = _person_in(a, ("Mohamed Amine", "Alaoui"), days_ago=2)
    inside = _person_in(a, ("Mohamed", "Benalaoui"), days_ago=3)
    _person_in(a, ("Ahmed", "Alaoui"))  # one token only: not a result
    result = inmate_search(fetched_by=reg["viewer_a"], q="Mohamed Alaoui")
    assert result == [exact_new, exact_reversed, exact_old, prefix, words, inside]
    assert inmate_search(fetched_by=reg["viewer_a"], q="mohammed el-alaoui", limit=3) == [
        exact_new,
        exact_reversed,
        exact_old,
    ]
    assert inmate_search(fetched_by=reg["viewer_a"], q="Mohamed Alaoui", limit=0) == []


def test_search_ranks_a_word_before_a_piece_of_a_word(reg):
    a = reg["a"]
    piece = _person_in(a, ("Halima", "Tazi"), days_ago=1)  # "ali" inside a word
    word = _person_in(a, ("Mohamed", "Ali"), days_ago=30)  # "ali" starts a word
    first = _person_in(a, ("Ali", "Tazi"), days_ago=60)  # the key starts with "ali"
    assert inmate_search(fetched_by=reg["viewer_a"], q="Ali") == [first, word, piece]


def test_short_tokens_start_a_word(reg):
    """One or two letters (shorter than a trigram) match the start of a word only."""
    a = reg["a"]
    ab = _person_in(a, ("Abdelkader", "Tazi"))
    _person_in(a, ("Karim", "Rabhi"))  # "ab" inside "rabhi"
    assert inmate_search(fetched_by=reg["viewer_a"], q="ab") == [ab]
    assert inmate_search(fetched_by=reg["viewer_a"], q="ab ta") == [ab]


def test_search_mixing_scripts(reg):
    a = reg["a"]
    both = _person_in(a, ("Mohamed", "Alaoui"), ("محمد", "العلوي"))
    _person_in(a, ("Mohamed", "Tazi"), ("محمد", "التازي"))
    assert inmate_search(fetched_by=reg["viewer_a"], q="محمد Alaoui") == [both]


# -- search: identifiers ----------------------------------------------------------------------
def test_search_by_legacy_reference_and_arabic_digits(reg):
    imported = _custody(reg["a"], committal_number="OUJDA2-2019-000042")
    CustodyPeriod = apps.get_model("inmates", "CustodyPeriod")
    CustodyPeriod.objects.filter(pk=imported.pk).update(legacy_reference="DGAPR-77/1234")
    imported.person.cin = "JB456789"
    imported.person.save(update_fields=["cin"])
    _custody(reg["b"], first="Other")
    user = reg["viewer_a"]
    assert inmate_search(fetched_by=user, q="DGAPR-77/1234") == [imported]
    assert inmate_search(fetched_by=user, q=" DGAPR-77/1234 ") == [imported]
    assert inmate_search(fetched_by=user, q="DGAPR-77/123") == []
    assert inmate_search(fetched_by=reg["viewer_b"], q="DGAPR-77/1234") == []
    assert inmate_search(fetched_by=reg["viewer_nat"], q="DGAPR-77/1234") == [imported]
    # numbers typed on an Arabic keyboard
    assert inmate_search(fetched_by=user, q="OUJDA2-٢٠١٩-٤٢") == [imported]
    assert inmate_search(fetched_by=user, q="jb ٤٥٦٧٨٩") == [imported]
    assert list(custody_list(fetched_by=user, q="DGAPR-77/1234")) == [imported]
    assert list(custody_list(fetched_by=user, q="jb456789")) == [imported]


def test_identifier_lists_periods_in_custody_first(reg):
    now = timezone.now()
    old = _custody(
        reg["a"],
        committed_at=now - dt.timedelta(days=900),
        status=CustodyStatus.RELEASED,
        released_at=now - dt.timedelta(days=800),
    )
    old.person.cin = "AB12"
    old.person.save(update_fields=["cin"])
    current = CustodyPeriodFactory(
        person=old.person, facility=reg["a"], committed_at=now - dt.timedelta(days=500)
    )
    assert inmate_search(fetched_by=reg["viewer_a"], q="AB12") == [current, old]


# -- search: scope ----------------------------------------------------------------------------
def test_search_is_scoped_like_the_lists(reg):
    ca = _custody(reg["a"])
    cb = _custody(reg["b"])
    for user, expected in (
        ("viewer_a", {ca}),
        ("viewer_b", {cb}),
        ("viewer_r1", {ca}),
        ("viewer_nat", {ca, cb}),
        ("facility_only_a", set()),
    ):
        assert set(inmate_search(fetched_by=reg[user], q="Mohamed Alaoui")) == expected, user


# -- search: the paths for many persons give the same results ----------------------------------
def _crowd(reg):
    """Many namesakes in two institutions, in custody and released, committed on many
    dates: enough persons to go past a small ``CANDIDATE_CAP``."""
    now = timezone.now()
    rows = []
    names = [
        ("Mohamed", "Alaoui"),
        ("Mohammed", "El Alaoui"),
        ("Alaoui", "Mohamed"),
        ("Mohamed", "Alaoui Tazi"),
        ("Mohamed Amine", "Alaoui"),
        ("Ahmed", "Benalaoui"),
        ("Mohamed", "Benalaoui"),
        ("Karim", "Tazi"),
    ]
    for i in range(48):
        first, family = names[i % len(names)]
        facility = reg["a"] if i % 3 else reg["b"]
        committed = now - dt.timedelta(days=3 * i + 1)
        extra = {}
        if i % 4 == 0:
            extra = {"status": CustodyStatus.RELEASED, "released_at": committed + dt.timedelta(1)}
        person = PersonFactory(**_spelled(first, family, "محمد", "العلوي" if i % 2 else "التازي"))
        rows.append(
            CustodyPeriodFactory(person=person, facility=facility, committed_at=committed, **extra)
        )
    return rows


@pytest.mark.parametrize("cap", [1, 2, 5])
@pytest.mark.parametrize("budget", [1, 3, 1000])
def test_many_persons_paths_rank_alike(reg, monkeypatch, cap, budget):
    """With a tiny ``CANDIDATE_CAP`` every query takes the paths meant for common names
    (the walk in ranking order, the institution's window, then the persons' periods): the
    results are those of the path for few persons, for every kind of user."""
    from idmaj.inmates.selectors import registry

    _crowd(reg)
    queries = ["Mohamed Alaoui", "Alaoui", "moh ala", "محمد العلوي", "محمد", "Tazi", "Mohamed"]
    users = ["viewer_a", "viewer_b", "viewer_r1", "viewer_nat"]
    expected = {
        (u, q, n): inmate_search(fetched_by=reg[u], q=q, limit=n)
        for u in users
        for q in queries
        for n in (3, 20)
    }
    assert any(len(v) == 20 for v in expected.values())
    monkeypatch.setattr(registry, "CANDIDATE_CAP", cap)
    monkeypatch.setattr(registry, "WALK_BUDGET", budget)
    for (u, q, n), rows in expected.items():
        assert inmate_search(fetched_by=reg[u], q=q, limit=n) == rows, (u, q, n)


def test_search_query_count_is_bounded(reg, django_assert_max_num_queries):
    _crowd(reg)
    user = reg["viewer_a"]
    inmate_search(fetched_by=user, q="Mohamed")  # the user's access is computed once
    for q in ("Mohamed Alaoui", "Alaoui", "moh ala", "OUJDA2-2026-000001", "AB123456"):
        with django_assert_max_num_queries(8):
            inmate_search(fetched_by=user, q=q)


# -- PostgreSQL: trigram indexes, fuzzy matching -------------------------------------------------
def _postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite has no trigram index and no fuzzy matching)")
    return connection


def test_name_queries_use_the_trigram_indexes(reg):
    """The conditions the search sends are those the GIN trigram indexes answer (with
    sequential scans off, as on a table of a million rows): no function around the key."""
    from django.db.models import Q

    from idmaj.inmates.models import Person
    from idmaj.inmates.selectors.registry import _name_tiers

    connection = _postgresql()
    _crowd(reg)
    for q, index in (
        ("Alaoui", "inmates_person_key_latin_trgm"),
        ("moh ala", "inmates_person_key_latin_trgm"),
        ("محمد العلوي", "inmates_person_key_ar_trgm"),
    ):
        from idmaj.inmates.names import name_tokens

        tiers = _name_tiers(name_tokens(q))
        cond = Q()
        for t in tiers[-2:]:
            cond |= t.q()
        sql, params = Person.objects.filter(cond).values_list("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
        assert index in plan, plan


def test_fuzzy_finds_a_typo_on_postgresql(reg):
    _postgresql()
    benkirane = _person_in(reg["a"], ("Mohamed", "Benkirane"), ("محمد", "بنكيران"))
    _person_in(reg["a"], ("Karim", "Tazi"), ("كريم", "التازي"))
    _person_in(reg["b"], ("Mohamed", "Benkirane"), ("محمد", "بنكيران"))
    user = reg["viewer_a"]
    for typo in ("Mohamed Benkiren", "Benkirn", "Mohamed Bankirane", "محمد بنكيرن"):
        assert inmate_search(fetched_by=user, q=typo) == [benkirane], typo
    assert inmate_search(fetched_by=user, q="Zzyzx Qwerty") == []


def test_no_fuzzy_matching_on_sqlite(reg):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("SQLite fallback")
    _person_in(reg["a"], ("Mohamed", "Benkirane"))
    assert inmate_search(fetched_by=reg["viewer_a"], q="Mohamed Benkiren") == []
