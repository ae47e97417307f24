"""Housing services: allocation and moves under the separation rules and the operational
maximum, ``cell_vacate``, the races."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.facilities.constants import AgeGroup, Regime, Sex, SpecialUse
from idmaj.facilities.tests.factories import CellFactory, FacilityFactory
from idmaj.inmates.constants import REMAND_SIDE, CustodyStatus, LegalStatus, PersonSex
from idmaj.inmates.models import CellAssignment, CellOccupancy, CustodyPeriod
from idmaj.inmates.services import (
    adult_cutoff,
    age_on,
    cell_allocate,
    cell_occupancy_rebuild,
    cell_vacate,
    is_juvenile_on,
)

from .housing_fixtures import *  # noqa: F403 - the ``hw`` fixture
from .housing_fixtures import (
    adult_birth,
    assert_counters_match,
    cell,
    counter,
    open_stays,
    place,
    prisoner,
    run_threads,
    wing,
)


def _state():
    return (
        list(CellAssignment.objects.order_by("pk").values_list("pk", "cell_id", "ended_at")),
        list(CellOccupancy.objects.order_by("pk").values_list("cell_id", "occupants")),
        list(CustodyPeriod.objects.order_by("pk").values_list("pk", "cell_id")),
        AuditEntry.objects.count(),
    )


def _refused(code, **kwargs):
    before = _state()
    with pytest.raises(DomainError) as err:
        cell_allocate(**kwargs)
    assert err.value.code == code, err.value.message
    assert _state() == before
    return err.value


# -- ages ------------------------------------------------------------------------------------
def test_age_on_birthdays():
    assert age_on(dt.date(2008, 3, 10), dt.date(2026, 3, 9)) == 17
    assert age_on(dt.date(2008, 3, 10), dt.date(2026, 3, 10)) == 18
    # 29 February: the birthday is 1 March in the other years
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18
    assert age_on(dt.date(2010, 2, 28), dt.date(2028, 2, 29)) == 18
    assert age_on(None, dt.date(2026, 1, 1)) is None
    assert adult_cutoff(dt.date(2028, 2, 29)) == dt.date(2010, 2, 28)
    assert not is_juvenile_on(None, dt.date(2026, 1, 1))


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    on=st.dates(min_value=dt.date(1918, 1, 1), max_value=dt.date(2120, 1, 1)),
)
def test_juvenile_iff_under_18(birth, on):
    age = age_on(birth, on)
    assert is_juvenile_on(birth, on) == (age < 18)


# -- allocation and moves --------------------------------------------------------------------
def test_first_allocation(hw):
    c = cell(hw["w"]["men_remand"], beds=2, maximum=3)
    custody = prisoner(hw["a"])
    stay = cell_allocate(actor=hw["officer_a"], custody=custody, cell=c)
    assert stay.cell == c and stay.ended_at is None and stay.facility_id == hw["a"].pk
    custody.refresh_from_db()
    assert custody.cell == c
    assert counter(c) == 1
    entry = AuditEntry.objects.get(verb="cell_allocate")
    assert entry.facility_id == hw["a"].pk and entry.object_id == str(custody.uuid)
    assert entry.before == {"cell": None} and entry.after["cell"].endswith(c.number)


def test_registry_officer_role_may_house(hw):
    c = cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    cell_allocate(actor=hw["registry.oujda2"], custody=custody, cell=c)
    assert open_stays(c) == 1


def test_move_keeps_history(hw):
    c1, c2, c3 = (cell(hw["w"]["men_remand"]) for _ in range(3))
    custody = prisoner(hw["a"])
    t0 = timezone.now() - dt.timedelta(days=3)
    t1 = timezone.now() - dt.timedelta(days=2)
    first = cell_allocate(actor=hw["officer_a"], custody=custody, cell=c1, at=t0)
    second = cell_allocate(actor=hw["officer_a"], custody=custody, cell=c2, at=t1, reason="x")
    third = cell_allocate(actor=hw["officer_a"], custody=custody, cell=c3)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.ended_at == t1 == second.started_at
    assert second.ended_at == third.started_at and third.ended_at is None
    assert (counter(c1), counter(c2), counter(c3)) == (0, 0, 1)
    assert list(CellAssignment.objects.filter(custody=custody).values_list("cell", flat=True)) == [
        c1.pk,
        c2.pk,
        c3.pk,
    ]
    assert AuditEntry.objects.filter(verb="cell_move").count() == 2
    assert_counters_match()


def test_same_cell_refused(hw):
    c = cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    cell_allocate(actor=hw["officer_a"], custody=custody, cell=c)
    _refused("same_cell", actor=hw["officer_a"], custody=custody, cell=c)


def test_move_not_before_current_stay(hw):
    c1, c2 = cell(hw["w"]["men_remand"]), cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    cell_allocate(actor=hw["officer_a"], custody=custody, cell=c1)
    err = _refused(
        "invalid",
        actor=hw["officer_a"],
        custody=custody,
        cell=c2,
        at=timezone.now() - dt.timedelta(hours=1),
    )
    assert err.field == "at"


def test_dates_checked(hw):
    c = cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    for at in (timezone.now() + dt.timedelta(days=1), custody.committed_at - dt.timedelta(days=1)):
        err = _refused("invalid", actor=hw["officer_a"], custody=custody, cell=c, at=at)
        assert err.field == "at"


def test_permission_and_institution(hw):
    c = cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    for user in (hw["viewer_a"], hw["officer_b"], hw["facility_only_a"]):
        before = _state()
        with pytest.raises(PermissionDenied):
            cell_allocate(actor=user, custody=custody, cell=c)
        assert _state() == before
    # a cell of another institution
    other = CellFactory(wing=wing(hw["b"], regime=Regime.REMAND))
    err = _refused("wrong_facility", actor=hw["officer_a"], custody=custody, cell=other)
    assert err.field == "cell"


def test_not_in_custody(hw):
    c = cell(hw["w"]["men_remand"])
    custody = prisoner(hw["a"])
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.RELEASED, released_at=timezone.now()
    )
    _refused("not_in_custody", actor=hw["officer_a"], custody=custody, cell=c)


def test_out_of_service(hw):
    today = timezone.localdate()
    later = cell(hw["w"]["men_remand"], in_service_from=today + dt.timedelta(days=1))
    closed = cell(hw["w"]["men_remand"], in_service_until=today)
    custody = prisoner(hw["a"])
    for c in (later, closed):
        _refused("cell_out_of_service", actor=hw["officer_a"], custody=custody, cell=c)
    # in service on the day of a past allocation
    past = timezone.now() - dt.timedelta(days=2)
    cell_allocate(actor=hw["officer_a"], custody=custody, cell=closed, at=past)


def test_reason_required_for_special_cells(hw):
    for use in (SpecialUse.MEDICAL, SpecialUse.ISOLATION, SpecialUse.DISCIPLINARY):
        c = cell(hw["w"]["men_mixed"], use=use)
        custody = prisoner(hw["a"])
        err = _refused("reason_required", actor=hw["officer_a"], custody=custody, cell=c)
        assert err.field == "reason" and c.number in str(err.message)
        cell_allocate(actor=hw["officer_a"], custody=custody, cell=c, reason="Fièvre, avis médical")
    # a wing of special use makes its cells special
    c = cell(hw["w"]["medical"])
    custody = prisoner(hw["a"])
    _refused("reason_required", actor=hw["officer_a"], custody=custody, cell=c, reason="  ")
    stay = cell_allocate(actor=hw["officer_a"], custody=custody, cell=c, reason=" suivi  TB ")
    assert stay.reason == "suivi TB"


def test_mother_and_child_for_women_only(hw):
    women_mc = cell(hw["w"]["women"], use=SpecialUse.MOTHER_CHILD)
    men_mc = cell(hw["w"]["men_mixed"], use=SpecialUse.MOTHER_CHILD)
    man = prisoner(hw["a"])
    woman = prisoner(hw["a"], sex=PersonSex.FEMALE)
    err = _refused("mother_child_women_only", actor=hw["officer_a"], custody=man, cell=men_mc)
    assert hw["w"]["men_mixed"].name in str(err.message)
    cell_allocate(actor=hw["officer_a"], custody=woman, cell=women_mc)


def test_sex_separation_message_names_wing_and_sex(hw):
    c = cell(hw["w"]["women"])
    man = prisoner(hw["a"])
    with translation.override("fr"):
        err = _refused("sex_separation", actor=hw["officer_a"], custody=man, cell=c)
        assert "Women" in str(err.message)  # the wing's name
        assert "femmes" in str(err.message) and "masculin" in str(err.message)


def test_juvenile_rules_around_the_18th_birthday(hw):
    today = timezone.localdate()
    adult_cell = cell(hw["w"]["men_mixed"])
    juv_cell = cell(hw["w"]["juv"])
    turns_18_tomorrow = adult_cutoff(today) + dt.timedelta(days=1)
    turned_18_today = adult_cutoff(today)
    young = prisoner(hw["a"], birth_date=turns_18_tomorrow)
    err = _refused("juvenile_in_adult_wing", actor=hw["officer_a"], custody=young, cell=adult_cell)
    assert "17" in str(err.message) and "Men mixed" in str(err.message)
    cell_allocate(actor=hw["officer_a"], custody=young, cell=juv_cell)
    grown = prisoner(hw["a"], birth_date=turned_18_today)
    err = _refused("adult_in_juvenile_wing", actor=hw["officer_a"], custody=grown, cell=juv_cell)
    assert "18" in str(err.message)
    cell_allocate(actor=hw["officer_a"], custody=grown, cell=adult_cell)
    unknown = prisoner(hw["a"], birth_date=None)
    _refused("adult_in_juvenile_wing", actor=hw["officer_a"], custody=unknown, cell=juv_cell)
    # the date of the allocation counts: yesterday the adult of today was 17
    yesterday = timezone.now() - dt.timedelta(days=1)
    young_then = prisoner(
        hw["a"], birth_date=turned_18_today, committed_at=yesterday - dt.timedelta(days=1)
    )
    cell_allocate(actor=hw["officer_a"], custody=young_then, cell=juv_cell, at=yesterday)


def test_remand_and_convicted_apart(hw):
    conv_cell = cell(hw["w"]["men_conv"])
    remand_cell = cell(hw["w"]["men_remand"])
    for status in REMAND_SIDE:
        p = prisoner(hw["a"], status=status)
        err = _refused("remand_in_convicted_wing", actor=hw["officer_a"], custody=p, cell=conv_cell)
        assert "Men convicted" in str(err.message)
        cell_allocate(actor=hw["officer_a"], custody=p, cell=remand_cell)
    convicted = prisoner(hw["a"], status=LegalStatus.CONVICTED)
    _refused("convicted_in_remand_wing", actor=hw["officer_a"], custody=convicted, cell=remand_cell)
    cell_allocate(actor=hw["officer_a"], custody=convicted, cell=conv_cell)


def test_mixed_wing_cell_holds_one_side(hw):
    c = cell(hw["w"]["men_mixed"], beds=4, maximum=6)
    remand = prisoner(hw["a"], status=LegalStatus.REMAND)
    appealing = prisoner(hw["a"], status=LegalStatus.APPEALING)
    convicted = prisoner(hw["a"], status=LegalStatus.CONVICTED)
    cell_allocate(actor=hw["officer_a"], custody=remand, cell=c)
    cell_allocate(actor=hw["officer_a"], custody=appealing, cell=c)  # same side
    err = _refused("mixed_cell_other_side", actor=hw["officer_a"], custody=convicted, cell=c)
    assert "Men mixed" in str(err.message)
    # once the remand side has left, the cell takes the convicted
    other = cell(hw["w"]["men_mixed"])
    cell_allocate(actor=hw["officer_a"], custody=remand, cell=other)
    cell_allocate(actor=hw["officer_a"], custody=appealing, cell=other)
    cell_allocate(actor=hw["officer_a"], custody=convicted, cell=c)
    assert_counters_match()


# -- capacity --------------------------------------------------------------------------------
def test_beds_may_be_exceeded_not_the_operational_maximum(hw):
    c = cell(hw["w"]["men_remand"], beds=1, maximum=2)
    p1, p2, p3 = (prisoner(hw["a"]) for _ in range(3))
    cell_allocate(actor=hw["officer_a"], custody=p1, cell=c)
    cell_allocate(actor=hw["officer_a"], custody=p2, cell=c)  # above the beds: allowed
    assert counter(c) == 2
    err = _refused("cell_full", actor=hw["officer_a"], custody=p3, cell=c)
    assert isinstance(err, ConflictError) and err.status == 409 and "2" in str(err.message)


def test_cell_vacate_frees_the_place(hw):
    c = cell(hw["w"]["men_remand"], beds=1, maximum=1)
    p1, p2 = prisoner(hw["a"]), prisoner(hw["a"])
    stay = cell_allocate(actor=hw["officer_a"], custody=p1, cell=c)
    _refused("cell_full", actor=hw["officer_a"], custody=p2, cell=c)
    at = timezone.now()
    p1.refresh_from_db()
    ended = cell_vacate(custody=p1, at=at)
    assert ended.pk == stay.pk and ended.ended_at == at
    p1.refresh_from_db()
    assert p1.cell is None and counter(c) == 0
    assert cell_vacate(custody=p1, at=at) is None
    cell_allocate(actor=hw["officer_a"], custody=p2, cell=c)
    assert_counters_match()


def test_move_out_of_a_full_cell_and_back(hw):
    a1 = cell(hw["w"]["men_remand"], beds=1, maximum=1)
    a2 = cell(hw["w"]["men_remand"], beds=1, maximum=1)
    p = prisoner(hw["a"])
    q = prisoner(hw["a"])
    cell_allocate(actor=hw["officer_a"], custody=p, cell=a1)
    cell_allocate(actor=hw["officer_a"], custody=q, cell=a2)
    _refused("cell_full", actor=hw["officer_a"], custody=p, cell=a2)
    CustodyPeriod.objects.get(pk=p.pk)
    cell_vacate(custody=CustodyPeriod.objects.get(pk=q.pk), at=timezone.now())
    cell_allocate(actor=hw["officer_a"], custody=p, cell=a2)
    assert (counter(a1), counter(a2)) == (0, 1)


def test_occupancy_rebuild(hw):
    c = cell(hw["w"]["men_remand"])
    p = prisoner(hw["a"])
    cell_allocate(actor=hw["officer_a"], custody=p, cell=c)
    CellOccupancy.objects.filter(cell=c).update(occupants=5)
    assert cell_occupancy_rebuild(facility=hw["a"]) == 1
    assert counter(c) == 1
    assert cell_occupancy_rebuild(facility=hw["a"]) == 0


def test_stale_custody_object_is_refused(hw):
    c1, c2 = cell(hw["w"]["men_remand"]), cell(hw["w"]["men_remand"])
    p = prisoner(hw["a"])
    stale = CustodyPeriod.objects.get(pk=p.pk)
    cell_allocate(actor=hw["officer_a"], custody=p, cell=c1)
    assert p.cell_id == c1.pk  # the object passed in follows
    _refused("housing_changed", actor=hw["officer_a"], custody=stale, cell=c2)


# -- every rule at once (Hypothesis) ---------------------------------------------------------
def _expected_codes(*, sex, birth, status, w, c, on, occupant_side):
    """An oracle written from the rules as stated, independently of the service."""
    codes = set()
    if sex != w.sex:
        codes.add("sex_separation")
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 18 and w.age_group == AgeGroup.ADULT:
        codes.add("juvenile_in_adult_wing")
    if age >= 18 and w.age_group == AgeGroup.JUVENILE:
        codes.add("adult_in_juvenile_wing")
    remand_side = status in (LegalStatus.REMAND, LegalStatus.APPEALING)
    if w.regime == Regime.CONVICTED and remand_side:
        codes.add("remand_in_convicted_wing")
    if w.regime == Regime.REMAND and not remand_side:
        codes.add("convicted_in_remand_wing")
    if w.regime == Regime.MIXED and occupant_side is not None and occupant_side != remand_side:
        codes.add("mixed_cell_other_side")
    if (c.special_use or w.special_use) == SpecialUse.MOTHER_CHILD and sex != PersonSex.FEMALE:
        codes.add("mother_child_women_only")
    return codes


@pytest.mark.django_db
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sex=st.sampled_from(PersonSex.values),
    days_from_18th=st.integers(min_value=-3, max_value=3),
    far=st.sampled_from([0, 0, -10 * 365, 5 * 365]),
    status=st.sampled_from(LegalStatus.values),
    wing_sex=st.sampled_from(Sex.values),
    age_group=st.sampled_from(AgeGroup.values),
    regime=st.sampled_from(Regime.values),
    wing_use=st.sampled_from(["", "", SpecialUse.MOTHER_CHILD, SpecialUse.MEDICAL]),
    cell_use=st.sampled_from(["", "", "", SpecialUse.MOTHER_CHILD, SpecialUse.ISOLATION]),
    occupant=st.sampled_from([None, LegalStatus.REMAND, LegalStatus.CONVICTED]),
)
def test_allowed_iff_no_rule_broken(
    sex, days_from_18th, far, status, wing_sex, age_group, regime, wing_use, cell_use, occupant
):
    from idmaj.core.tests.factories import UserFactory, grant

    from .housing_fixtures import housing_roles

    housing_roles()
    facility = FacilityFactory()
    officer = UserFactory()
    grant(officer, "test_housing", facility=facility)
    on = timezone.localdate()
    birth = adult_cutoff(on) + dt.timedelta(days=days_from_18th + far)
    w = wing(facility, sex=wing_sex, age=age_group, regime=regime, use=wing_use)
    c = cell(w, beds=2, maximum=4, use=cell_use)
    occupant_side = None
    if occupant is not None:
        other = prisoner(facility, sex=wing_sex, status=occupant)
        place(other, c)
        occupant_side = occupant == LegalStatus.REMAND
    custody = prisoner(facility, sex=sex, birth_date=birth, status=status)
    expected = _expected_codes(
        sex=sex, birth=birth, status=status, w=w, c=c, on=on, occupant_side=occupant_side
    )
    before = _state()
    try:
        cell_allocate(actor=officer, custody=custody, cell=c, reason="raison")
    except DomainError as err:
        assert expected, f"refused ({err.code}) but no rule is broken"
        assert err.code in expected
        assert _state() == before
    else:
        assert not expected, f"allowed but breaks {expected}"
        assert open_stays(c) == (2 if occupant else 1)


# -- races -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_last_places_race(hw):
    """Eight officers put eight prisoners in a cell with three places left: three get in."""
    c = cell(hw["w"]["men_remand"], beds=2, maximum=4)
    place(prisoner(hw["a"]), c)
    prisoners = [prisoner(hw["a"]) for _ in range(8)]
    officers = [hw["officer_a"], hw["registry.oujda2"], hw["director.oujda2"]]

    def allocate(i):
        return cell_allocate(actor=officers[i % 3], custody=prisoners[i], cell=c)

    results, errors = run_threads(8, allocate)
    assert len(results) == 3, errors
    assert len(errors) == 5 and all(
        isinstance(e, ConflictError) and e.code == "cell_full" for e in errors
    ), errors
    assert open_stays(c) == 4 == counter(c)
    assert CustodyPeriod.objects.filter(cell=c).count() == 4
    assert AuditEntry.objects.filter(verb="cell_allocate").count() == 3
    assert_counters_match()


@pytest.mark.django_db(transaction=True)
def test_last_place_race_with_moves(hw):
    """Prisoners moving in from other cells race for the last place too; opposite moves
    never deadlock."""
    target = cell(hw["w"]["men_remand"], beds=1, maximum=1)
    others = [cell(hw["w"]["men_remand"], beds=1, maximum=1) for _ in range(4)]
    movers = []
    for o in others:
        p = prisoner(hw["a"])
        place(p, o)
        movers.append(CustodyPeriod.objects.get(pk=p.pk))

    def move(i):
        return cell_allocate(actor=hw["officer_a"], custody=movers[i], cell=target)

    results, errors = run_threads(4, move)
    assert len(results) == 1 and len(errors) == 3, errors
    assert all(e.code == "cell_full" for e in errors)
    assert open_stays(target) == 1 == counter(target)
    assert sum(counter(o) for o in others) == 3
    assert_counters_match()


@pytest.mark.django_db(transaction=True)
def test_opposite_moves_do_not_deadlock(hw):
    c1 = cell(hw["w"]["men_remand"], beds=2, maximum=2)
    c2 = cell(hw["w"]["men_remand"], beds=2, maximum=2)
    p, q = prisoner(hw["a"]), prisoner(hw["a"])
    place(p, c1)
    place(q, c2)
    pairs = [(CustodyPeriod.objects.get(pk=p.pk), c2), (CustodyPeriod.objects.get(pk=q.pk), c1)]

    def move(i):
        custody, to = pairs[i]
        return cell_allocate(actor=hw["officer_a"], custody=custody, cell=to)

    results, errors = run_threads(2, move)
    assert errors == [] and len(results) == 2
    assert (counter(c1), counter(c2)) == (1, 1)
    assert_counters_match()


@pytest.mark.django_db(transaction=True)
def test_same_prisoner_allocated_twice_at_once(hw):
    """Two (four) officers house the same prisoner at the same moment, to the same cell or
    to different cells: one allocation, the others are refused."""
    cells = [cell(hw["w"]["men_remand"], beds=4, maximum=4) for _ in range(2)]
    p = prisoner(hw["a"])
    copies = [CustodyPeriod.objects.get(pk=p.pk) for _ in range(4)]

    def allocate(i):
        return cell_allocate(actor=hw["officer_a"], custody=copies[i], cell=cells[i % 2])

    results, errors = run_threads(4, allocate)
    assert len(results) == 1 and len(errors) == 3, errors
    assert all(isinstance(e, ConflictError) and e.code == "housing_changed" for e in errors)
    assert CellAssignment.objects.filter(custody=p).count() == 1
    assert sum(counter(c) for c in cells) == 1
    assert_counters_match()


@pytest.mark.django_db(transaction=True)
def test_mixed_cell_race_keeps_one_side(hw):
    """A remand and a convicted prisoner put in the same empty cell of a mixed wing at the
    same moment: one of them only."""
    c = cell(hw["w"]["men_mixed"], beds=4, maximum=6)
    people = [
        prisoner(hw["a"], status=LegalStatus.REMAND),
        prisoner(hw["a"], status=LegalStatus.CONVICTED),
        prisoner(hw["a"], status=LegalStatus.REMAND),
        prisoner(hw["a"], status=LegalStatus.CONVICTED),
    ]

    def allocate(i):
        return cell_allocate(actor=hw["officer_a"], custody=people[i], cell=c)

    results, errors = run_threads(4, allocate)
    assert results and all(e.code == "mixed_cell_other_side" for e in errors), errors
    statuses = set(
        CellAssignment.objects.filter(cell=c, ended_at__isnull=True).values_list(
            "custody__legal_status", flat=True
        )
    )
    assert statuses in ({LegalStatus.REMAND}, {LegalStatus.CONVICTED})
    assert len(results) == 2
    assert_counters_match()


def test_adult_birth_helper():
    assert age_on(adult_birth(30), timezone.localdate()) == 30


@pytest.mark.django_db(transaction=True)
def test_conditional_update_alone_holds_the_maximum(hw):
    """The place-taking step on its own, raced by twelve clients with nothing else to
    serialise them (the services also lock the custody period, which on PostgreSQL locks
    the institution's row too): the conditional UPDATE alone keeps the maximum."""
    from django.db import transaction

    from idmaj.inmates.services.housing import _take_place

    c = cell(hw["w"]["men_remand"], beds=2, maximum=5)

    def take(i):
        with transaction.atomic():
            _take_place(c, c.wing, previous_cell_id=None)
        return i

    results, errors = run_threads(12, take)
    assert len(results) == 5, errors
    assert len(errors) == 7 and all(e.code == "cell_full" for e in errors), errors
    assert counter(c) == 5


def test_transfer_out_frees_the_place(hw):
    """The movement services free the place through ``cell_vacate`` in their transaction."""
    from idmaj.inmates.services import inmate_transfer

    c = cell(hw["w"]["men_remand"], beds=1, maximum=1)
    p, q = prisoner(hw["a"]), prisoner(hw["a"])
    cell_allocate(
        actor=hw["officer_a"], custody=p, cell=c, at=timezone.now() - dt.timedelta(hours=2)
    )
    _refused("cell_full", actor=hw["officer_a"], custody=q, cell=c)
    inmate_transfer(
        actor=hw["director.oujda2"],
        custody=CustodyPeriod.objects.get(pk=p.pk),
        to_facility=hw["b"],
        at=timezone.now() - dt.timedelta(hours=1),
        reason="Rapprochement familial",
        authority_reference="DGAPR/T/2026/77",
    )
    assert counter(c) == 0 and open_stays(c) == 0
    stay = CellAssignment.objects.get(custody=p)
    assert stay.ended_at is not None
    cell_allocate(actor=hw["officer_a"], custody=q, cell=c)
    assert_counters_match()
