import datetime as dt
import io
import threading
import zoneinfo

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CommittalCounter, CustodyPeriod, Person
from idmaj.inmates.services import (
    PossibleDuplicateError,
    inmate_admit,
    person_find_duplicates,
    person_name_keys_refresh,
)

from .factories import (
    CustodyPeriodFactory,
    OffenceFactory,
    PersonFactory,
    committal_data,
    person_data,
    registry_roles,
)


@pytest.fixture
def reg(two_facilities):
    registry_roles()
    a, b = two_facilities["a"], two_facilities["b"]
    users = {}
    for name, role, fac in (
        ("officer_a", "test_registry", a),
        ("officer_b", "test_registry", b),
        ("viewer_a", "test_registry_viewer", a),
        ("facility_only_a", "test_facility_only", a),
    ):
        users[name] = UserFactory(username=name)
        grant(users[name], role, facility=fac)
    return {"a": a, "b": b, **users, **two_facilities["users"]}


def _counts():
    return (
        Person.objects.count(),
        CustodyPeriod.objects.count(),
        AuditEntry.objects.count(),
        CommittalCounter.objects.filter(last_number__gt=0).count(),
    )


def _release(custody):
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.RELEASED, released_at=timezone.now()
    )


# -- admission -------------------------------------------------------------------------------
def test_admit_new_person(reg):
    a, officer = reg["a"], reg["officer_a"]
    theft = OffenceFactory(code="THEFT")
    custody = inmate_admit(
        actor=officer,
        facility=a,
        person_data=person_data(cin="f 123-456"),
        committal=committal_data(offence_codes=["THEFT"]),
    )
    year = timezone.localtime(custody.committed_at).year
    assert custody.committal_number == f"OUJDA2-{year}-000001"
    assert custody.status == CustodyStatus.IN_CUSTODY and custody.facility_id == a.pk
    assert list(custody.offences.all()) == [theft]
    person = custody.person
    assert person.cin == "F123456"
    assert person.name_key_ar == "محمد العلوي"
    assert person.name_key_latin == "muhamed alaui"
    second = inmate_admit(
        actor=officer,
        facility=a,
        person_data=person_data(cin="", first_name_latin="Karim", first_name_ar="كريم"),
        committal=committal_data(),
    )
    assert second.committal_number == f"OUJDA2-{year}-000002"
    # a separate counter per institution
    other = inmate_admit(
        actor=reg["officer_b"],
        facility=reg["b"],
        person_data=person_data(cin="", first_name_latin="Said", first_name_ar="سعيد"),
        committal=committal_data(),
    )
    assert other.committal_number == f"SALE2-{year}-000001"


def test_admission_is_audited_on_the_institution_chain(reg):
    custody = inmate_admit(
        actor=reg["officer_a"],
        facility=reg["a"],
        person_data=person_data(),
        committal=committal_data(),
    )
    entries = list(AuditEntry.objects.order_by("chain", "seq"))
    assert [(e.object_type, e.action, e.chain) for e in entries] == [
        ("inmates.person", "create", reg["a"].pk),
        ("inmates.custodyperiod", "create", reg["a"].pk),
    ]
    assert entries[1].object_id == str(custody.uuid)
    assert entries[1].after["committal_number"] == custody.committal_number
    assert entries[1].after["person_uuid"] == str(custody.person.uuid)
    assert entries[1].actor_username == "officer_a"
    assert entries[0].after["cin"] == "F123456"


def test_committal_year_is_the_local_year(reg):
    casablanca = zoneinfo.ZoneInfo("Africa/Casablanca")
    at = dt.datetime(2025, 12, 31, 23, 30, tzinfo=casablanca)
    custody = inmate_admit(
        actor=None,
        facility=reg["a"],
        person_data=person_data(),
        committal=committal_data(committed_at=at),
    )
    assert custody.committal_number == "OUJDA2-2025-000001"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cin": "123456"}, "cin"),
        ({"cin": "ABC12345"}, "cin"),
        ({"cin": "AB12C45"}, "cin"),
        ({"nationality": "Maroc"}, "nationality"),
        ({"sex": "X"}, "sex"),
        ({"first_name_ar": "", "first_name_latin": ""}, None),
    ],
)
def test_invalid_identity_changes_nothing(reg, overrides, field):
    before = _counts()
    with pytest.raises(DomainError) as exc:
        inmate_admit(
            actor=reg["officer_a"],
            facility=reg["a"],
            person_data=person_data(**overrides),
            committal=committal_data(),
        )
    assert exc.value.code == "invalid" and exc.value.field == field
    assert _counts() == before


def test_cin_message_is_translated(reg):
    from django.utils import translation

    with translation.override("en"), pytest.raises(DomainError) as exc:
        inmate_admit(
            actor=None,
            facility=reg["a"],
            person_data=person_data(cin="12"),
            committal=committal_data(),
        )
    assert "AB123456" in str(exc.value)


def test_invalid_committal_changes_nothing(reg):
    before = _counts()
    with pytest.raises(DomainError) as exc:
        inmate_admit(
            actor=reg["officer_a"],
            facility=reg["a"],
            person_data=person_data(),
            committal=committal_data(committed_at=timezone.now() + dt.timedelta(days=1)),
        )
    assert exc.value.field == "committed_at"
    with pytest.raises(DomainError) as exc:
        inmate_admit(
            actor=reg["officer_a"],
            facility=reg["a"],
            person_data=person_data(),
            committal=committal_data(offence_codes=["NOPE"]),
        )
    assert exc.value.field == "offence_codes"
    with pytest.raises(DomainError):
        inmate_admit(
            actor=reg["officer_a"],
            facility=reg["a"],
            person_data=person_data(),
            committal=committal_data(legal_status="acquitted"),
        )
    with pytest.raises(DomainError):  # neither a new person nor one on file
        inmate_admit(actor=reg["officer_a"], facility=reg["a"], committal=committal_data())
    assert _counts() == before


# -- permissions -----------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["officer_b", "viewer_a", "facility_only_a", "registry.sale2"])
def test_admission_denied_changes_nothing(reg, who):
    person = PersonFactory()
    before = _counts()
    with pytest.raises(PermissionDenied):
        inmate_admit(
            actor=reg[who],
            facility=reg["a"],
            person_data=person_data(),
            committal=committal_data(),
        )
    with pytest.raises(PermissionDenied):
        inmate_admit(
            actor=reg[who],
            facility=reg["a"],
            existing_person=person,
            committal=committal_data(),
        )
    assert _counts() == before


def test_superuser_may_admit_anywhere(reg):
    admin = UserFactory(username="root", is_superuser=True)
    custody = inmate_admit(
        actor=admin, facility=reg["b"], person_data=person_data(), committal=committal_data()
    )
    assert custody.facility_id == reg["b"].pk


# -- search before create --------------------------------------------------------------------
def test_same_cin_must_be_linked_never_confirmed(reg):
    existing = PersonFactory(cin="F123456")
    before = _counts()
    for confirm in (False, True):
        with pytest.raises(PossibleDuplicateError) as exc:
            inmate_admit(
                actor=reg["officer_a"],
                facility=reg["a"],
                person_data=person_data(cin="f123456", first_name_latin="Other"),
                committal=committal_data(),
                confirm_new_person=confirm,
            )
        assert exc.value.code == "cin_on_file" and exc.value.status == 409
        assert [c.person for c in exc.value.candidates] == [existing]
        assert exc.value.candidates[0].reasons == ["cin"]
    assert _counts() == before


@pytest.mark.parametrize(
    ("first", "family", "first_ar", "family_ar"),
    [
        ("Muhammad", "Alaoui", "", ""),
        ("Mohammed", "El-Alaoui", "", ""),
        ("MOHAMAD", "al alaoui", "", ""),
        ("Alaoui", "Mohamed", "", ""),  # order swapped
        ("", "", "مُحَمَّد", "العلويّ"),
        ("", "", "محمـــد", "ٱلعلوي"),
    ],
)
def test_spelling_variants_are_possible_duplicates(reg, first, family, first_ar, family_ar):
    existing = PersonFactory(
        first_name_latin="Mohamed",
        family_name_latin="El Alaoui",
        first_name_ar="محمد",
        family_name_ar="العلوي",
        birth_date=dt.date(1990, 5, 17),
        cin="",
    )
    data = person_data(
        cin="",
        first_name_latin=first,
        family_name_latin=family,
        first_name_ar=first_ar,
        family_name_ar=family_ar,
    )
    before = _counts()
    with pytest.raises(PossibleDuplicateError) as exc:
        inmate_admit(
            actor=reg["officer_a"], facility=reg["a"], person_data=data, committal=committal_data()
        )
    assert exc.value.code == "possible_duplicate"
    assert [c.person for c in exc.value.candidates] == [existing]
    assert _counts() == before
    # the officer confirms that this is someone else: a second person is created
    custody = inmate_admit(
        actor=reg["officer_a"],
        facility=reg["a"],
        person_data=data,
        committal=committal_data(),
        confirm_new_person=True,
    )
    assert custody.person != existing and Person.objects.count() == 2
    assert AuditEntry.objects.get(object_type="inmates.person").after["confirmed_new"] is True


def test_not_duplicates(reg):
    PersonFactory(
        first_name_latin="Mohamed", family_name_latin="Alaoui", birth_date=dt.date(1990, 5, 17)
    )
    base = {
        "first_name_latin": "Mohamed",
        "family_name_latin": "Alaoui",
        "first_name_ar": "",
        "family_name_ar": "",
    }
    assert person_find_duplicates(**base, birth_date=dt.date(1990, 5, 17))
    assert not person_find_duplicates(**base, birth_date=dt.date(1990, 5, 18))
    assert not person_find_duplicates(**base, birth_date=None)
    assert not person_find_duplicates(
        **{**base, "family_name_latin": "Alami"}, birth_date=dt.date(1990, 5, 17)
    )
    assert not person_find_duplicates(
        **{**base, "first_name_latin": "Mhamed"}, birth_date=dt.date(1990, 5, 17)
    )


def test_candidates_cin_first_then_names(reg):
    by_names = PersonFactory(
        first_name_latin="Youssef", family_name_latin="Bennani", birth_date=dt.date(1985, 1, 2)
    )
    by_cin = PersonFactory(cin="AB123456", birth_date=dt.date(1970, 1, 1))
    found = person_find_duplicates(
        cin="ab123456",
        first_name_latin="Yousef",
        family_name_latin="Benani",
        birth_date=dt.date(1985, 1, 2),
    )
    assert [(c.person, c.reasons) for c in found] == [
        (by_cin, ["cin"]),
        (by_names, ["names_latin"]),
    ]
    assert person_find_duplicates(cin="AB123456", exclude=by_cin) == []


# -- re-admission ----------------------------------------------------------------------------
def test_readmission_keeps_one_person(reg):
    first = inmate_admit(
        actor=reg["officer_a"],
        facility=reg["a"],
        person_data=person_data(),
        committal=committal_data(committed_at=timezone.now() - dt.timedelta(days=400)),
    )
    _release(first)
    # the search finds the person: link instead of creating
    with pytest.raises(PossibleDuplicateError):
        inmate_admit(
            actor=reg["officer_b"],
            facility=reg["b"],
            person_data=person_data(),
            committal=committal_data(),
        )
    again = inmate_admit(
        actor=reg["officer_b"],
        facility=reg["b"],
        existing_person=first.person,
        committal=committal_data(),
    )
    assert again.person_id == first.person_id
    assert Person.objects.count() == 1
    assert first.person.custody_periods.count() == 2
    assert AuditEntry.objects.filter(object_type="inmates.person").count() == 1


def test_person_in_custody_cannot_be_admitted_again(reg):
    first = inmate_admit(
        actor=reg["officer_a"],
        facility=reg["a"],
        person_data=person_data(),
        committal=committal_data(),
    )
    before = _counts()
    for officer, facility in (("officer_b", "b"), ("officer_a", "a")):
        with pytest.raises(ConflictError) as exc:
            inmate_admit(
                actor=reg[officer],
                facility=reg[facility],
                existing_person=first.person,
                committal=committal_data(),
            )
        assert exc.value.code == "already_in_custody"
    assert _counts() == before


def test_database_refuses_two_open_custody_periods(reg):
    custody = CustodyPeriodFactory(facility=reg["a"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CustodyPeriod.objects.create(
            person=custody.person,
            facility=reg["b"],
            committal_number="X-2026-000001",
            committed_at=timezone.now(),
            committing_authority="x",
            warrant_reference="y",
            legal_status="remand",
        )


def test_database_requires_release_time_when_ended(reg):
    custody = CustodyPeriodFactory(facility=reg["a"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CustodyPeriod.objects.filter(pk=custody.pk).update(status=CustodyStatus.RELEASED)


# -- concurrency -----------------------------------------------------------------------------
def _run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(target(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_committal_numbers_unique_under_concurrency(two_facilities):
    registry_roles()
    a = two_facilities["a"]
    officers = []
    for i in range(8):
        u = UserFactory(username=f"officer{i}")
        grant(u, "test_registry", facility=a)
        officers.append(u)

    def admit(i):
        return inmate_admit(
            actor=officers[i],
            facility=a,
            person_data=person_data(
                cin=f"K{100000 + i}", first_name_latin=f"Name{i}", first_name_ar=f"اسم{i}"
            ),
            committal=committal_data(),
        ).committal_number

    numbers, errors = _run_threads(8, admit)
    assert errors == []
    year = timezone.localdate().year
    assert sorted(numbers) == [f"OUJDA2-{year}-{n:06d}" for n in range(1, 9)]
    assert CommittalCounter.objects.get(facility=a).last_number == 8


@pytest.mark.django_db(transaction=True)
def test_same_person_admitted_twice_at_once_only_once(two_facilities):
    registry_roles()
    a, b = two_facilities["a"], two_facilities["b"]
    person = PersonFactory()
    officers = []
    for i, fac in enumerate((a, b, a, b)):
        u = UserFactory(username=f"racer{i}")
        grant(u, "test_registry", facility=fac)
        officers.append((u, fac))

    def admit(i):
        actor, fac = officers[i]
        return inmate_admit(
            actor=actor, facility=fac, existing_person=person, committal=committal_data()
        )

    results, errors = _run_threads(4, admit)
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, ConflictError) and e.code == "already_in_custody" for e in errors)
    assert CustodyPeriod.objects.filter(person=person).count() == 1


def test_name_keys_refresh(db):
    from django.core.management import call_command

    stale = PersonFactory(first_name_latin="Muhammad", family_name_latin="Alaoui")
    Person.objects.filter(pk=stale.pk).update(name_key_latin="old", name_key_ar="")
    fresh = PersonFactory()
    fresh_keys = (fresh.name_key_ar, fresh.name_key_latin)
    out = io.StringIO()
    call_command("refresh_name_keys", stdout=out)
    assert out.getvalue().strip() == "Name keys updated: 1."
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.name_key_latin == "muhamed alaui" and stale.name_key_ar.startswith("محمد")
    assert (fresh.name_key_ar, fresh.name_key_latin) == fresh_keys
    assert person_name_keys_refresh(batch_size=1) == 0


def test_staff_roles_hold_the_registry_permissions(reg):
    """The roles of core.roles: the registry officer of the institution admits."""
    custody = inmate_admit(
        actor=reg["registry.oujda2"],
        facility=reg["a"],
        person_data=person_data(),
        committal=committal_data(),
    )
    assert custody.facility_id == reg["a"].id
