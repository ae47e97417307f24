"""The registry's demo and national seed (``inmates.demo``): every invariant the services
keep holds for every row it writes; it is idempotent and deterministic; the national
population follows the expected curve, scaled down to a few institutions."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from idmaj.facilities import demo as facilities_demo
from idmaj.facilities.constants import HOUSING_STATUSES, AgeGroup, Regime
from idmaj.facilities.models import Cell, Facility, FacilityStatusPeriod
from idmaj.inmates import demo
from idmaj.inmates.constants import (
    REMAND_SIDE,
    ConditionalReleaseStatus,
    CustodyStatus,
    DetentionEnd,
    HearingOutcome,
    LegalStatus,
    MovementKind,
    PardonKind,
    SentenceStatus,
)
from idmaj.inmates.models import (
    CellAssignment,
    CellOccupancy,
    CommittalCounter,
    ConditionalRelease,
    CustodyPeriod,
    Detention,
    Hearing,
    LegalStatusPeriod,
    Movement,
    Offence,
    PardonGrant,
    Person,
    ReleaseRecord,
    Sentence,
    cin_validator,
)
from idmaj.inmates.release import SentenceSpec, expected_release
from idmaj.inmates.services import legal as legal_services
from idmaj.inmates.services.admission import fill_name_keys

TZ = ZoneInfo(settings.TIME_ZONE)
# "Today" of the seeded registry in these tests: fixed, so that runs compare.
UNTIL = datetime(2021, 3, 31, 15, 0)


class Rollback(Exception):
    pass


@pytest.fixture
def facilities(db):
    facilities_demo.seed(scale="demo", random_seed=2020)
    return {f.code: f for f in Facility.objects.all()}


def seed(scale="demo", codes=demo.DEMO_FACILITIES, until=UNTIL, random_seed=2020):
    out = StringIO()
    result = demo.seed(
        scale=scale, random_seed=random_seed, stdout=out, facility_codes=codes, until=until
    )
    return result, out.getvalue()


def local(moment: datetime) -> datetime:
    return timezone.localtime(moment, TZ).replace(tzinfo=None)


# -- the invariants ----------------------------------------------------------------------------
def assert_registry_invariants(facility_ids: list[int], until: datetime) -> None:  # noqa: C901
    """Every rule the registry's services keep, checked over every row of these
    institutions (a failure names the first rows that break it)."""
    today = until.date()
    custody = {
        c["pk"]: c
        for c in CustodyPeriod.objects.filter(facility_id__in=facility_ids).values(
            "pk", "person_id", "detention_id", "facility_id", "facility__code",
            "committal_number", "committed_at", "released_at", "status", "legal_status",
            "transferred_from_id", "cell_id",
        )
    }  # fmt: skip
    assert custody, "nothing seeded"
    detention_ids = {c["detention_id"] for c in custody.values()}
    person_ids = {c["person_id"] for c in custody.values()}

    # persons: name keys as the services fill them, CIN format
    for p in Person.objects.filter(pk__in=person_ids):
        keys = (p.name_key_ar, p.name_key_latin)
        fill_name_keys(p)
        assert keys == (p.name_key_ar, p.name_key_latin), p.pk
        assert p.full_name_ar or p.full_name_latin
        if p.cin:
            cin_validator(p.cin)
        assert p.birth_date is not None and p.birth_date < p.created_at.date()

    # committal numbers: <CODE>-<YEAR>-<6 digits>, in the order of committal, counters ahead
    used: dict[tuple[int, int], list[tuple[datetime, int]]] = defaultdict(list)
    for c in custody.values():
        committed = local(c["committed_at"])
        m = re.fullmatch(rf"{c['facility__code']}-(\d{{4}})-(\d{{6}})", c["committal_number"])
        assert m, c["committal_number"]
        assert int(m.group(1)) == committed.year, c["committal_number"]
        used[(c["facility_id"], committed.year)].append((committed, int(m.group(2))))
    counters = {
        (x.facility_id, x.year): x.last_number
        for x in CommittalCounter.objects.filter(facility_id__in=facility_ids)
    }
    for key, numbers in used.items():
        numbers.sort()
        assert counters.get(key, 0) >= numbers[-1][1], key
        in_order = [n for _at, n in numbers]
        assert in_order == sorted(in_order) and len(set(in_order)) == len(in_order), key

    # status, release and transfers
    by_detention: dict[int, list[dict]] = defaultdict(list)
    for c in custody.values():
        assert (c["status"] == CustodyStatus.IN_CUSTODY) == (c["released_at"] is None), c
        if c["released_at"] is not None:
            assert c["released_at"] > c["committed_at"], c
        by_detention[c["detention_id"]].append(c)
    open_per_person = Counter(
        c["person_id"] for c in custody.values() if c["status"] == CustodyStatus.IN_CUSTODY
    )
    assert max(open_per_person.values(), default=0) <= 1
    transfers = {
        m.custody_id: m
        for m in Movement.objects.filter(kind=MovementKind.TRANSFER, facility_id__in=facility_ids)
    }
    for c in custody.values():
        previous_id = c["transferred_from_id"]
        if previous_id is None:
            continue
        previous = custody[previous_id]
        assert previous["status"] == CustodyStatus.TRANSFERRED_OUT, c
        assert previous["released_at"] == c["committed_at"], c
        assert previous["detention_id"] == c["detention_id"], c
        assert previous["person_id"] == c["person_id"], c
        assert previous["facility_id"] != c["facility_id"], c
        move = transfers[previous_id]
        assert move.to_facility_id == c["facility_id"] and move.out_at == c["committed_at"]
        assert move.back_at == move.out_at
    operating = defaultdict(list)
    for fid, since, status in FacilityStatusPeriod.objects.filter(
        facility_id__in=facility_ids
    ).values_list("facility_id", "since", "status"):
        operating[fid].append((since, status))

    def holds_prisoners(fid: int, on: date) -> bool:
        periods = sorted(p for p in operating[fid] if p[0] <= on)
        return bool(periods) and periods[-1][1] in HOUSING_STATUSES

    for c in custody.values():
        assert holds_prisoners(c["facility_id"], local(c["committed_at"]).date()), c

    # legal status periods: contiguous, one open per open custody period, closed at the end
    periods: dict[int, list] = defaultdict(list)
    for lsp in LegalStatusPeriod.objects.filter(custody_id__in=custody).order_by(
        "valid_from", "pk"
    ):
        periods[lsp.custody_id].append(lsp)
    open_lsp = sum(1 for ps in periods.values() for p in ps if p.valid_to is None)
    open_custody = sum(1 for c in custody.values() if c["status"] == CustodyStatus.IN_CUSTODY)
    assert open_lsp == open_custody
    for cid, c in custody.items():
        ps = periods[cid]
        assert ps, c
        assert ps[0].valid_from == c["committed_at"], c
        for a, b in zip(ps, ps[1:], strict=False):
            assert a.valid_to == b.valid_from and a.status != b.status, c
        assert ps[-1].valid_to == c["released_at"], c
        assert ps[-1].status == c["legal_status"], c
        assert all(p.facility_id == c["facility_id"] for p in ps)

    # detentions, releases, expected release dates
    detentions = {d.pk: d for d in Detention.objects.filter(pk__in=detention_ids)}
    releases = {r.custody_id: r for r in ReleaseRecord.objects.filter(custody_id__in=custody)}
    sentences = defaultdict(list)
    for s in Sentence.objects.filter(detention_id__in=detention_ids).order_by("pk"):
        sentences[s.detention_id].append(s)
    grants = defaultdict(list)
    for g in PardonGrant.objects.filter(detention_id__in=detention_ids).select_related("decree"):
        grants[g.detention_id].append(g)
    conditionals = defaultdict(list)
    for cr in ConditionalRelease.objects.filter(detention_id__in=detention_ids):
        conditionals[cr.detention_id].append(cr)
    certificates = set()
    for did, d in detentions.items():
        chain = sorted(by_detention[did], key=lambda c: c["committed_at"])
        last = chain[-1]
        assert d.started_at == chain[0]["committed_at"], did
        assert (d.ended_at is None) == (last["status"] == CustodyStatus.IN_CUSTODY), did
        assert d.ended_at == last["released_at"], did
        for a, b in zip(chain, chain[1:], strict=False):
            assert b["transferred_from_id"] == a["pk"], did
        expected = _recompute(sentences[did], grants[did], conditionals[did])
        assert d.expected_release == expected, (did, d.expected_release, expected)
        assert d.life_sentence == any(
            s.life for s in sentences[did] if s.status == SentenceStatus.IN_FORCE
        )
        if last["status"] == CustodyStatus.RELEASED:
            record = releases[last["pk"]]
            assert record.reason == d.end_reason and record.released_at == d.ended_at
            year = local(record.released_at).year
            code = last["facility__code"]
            assert re.fullmatch(rf"{code}-L-{year}-\d{{6}}", record.certificate_number)
            assert record.certificate_number not in certificates
            certificates.add(record.certificate_number)
            released_on = local(record.released_at).date()
            if d.end_reason == DetentionEnd.END_OF_SENTENCE:
                assert d.expected_release is not None and released_on >= d.expected_release
            if d.end_reason == DetentionEnd.PARDON:
                assert any(g.kind == PardonKind.RELEASE for g in grants[did]), did
            if d.end_reason == DetentionEnd.CONDITIONAL_RELEASE:
                granted = [
                    cr for cr in conditionals[did] if cr.status == ConditionalReleaseStatus.GRANTED
                ]
                assert granted and granted[0].release_on <= released_on, did
        else:
            assert last["pk"] not in releases
        assert not any(r in releases for r in (c["pk"] for c in chain[:-1]))
        for s in sentences[did]:
            assert s.start_date is not None or s.consecutive_to_id is not None

    # and as the legal services compute it themselves, on a sample
    explain = getattr(legal_services, "detention_release_explain", None)
    if explain is not None:
        for d in sorted(detentions.values(), key=lambda d: d.pk)[::40]:
            info = explain(d)
            assert (info.expected_release, info.life) == (d.expected_release, d.life_sentence)

    # hearings: decided in the past, at most one upcoming (after "today"), never decided ahead
    upcoming = Counter()
    for h in Hearing.objects.filter(detention_id__in=detention_ids):
        if h.outcome == HearingOutcome.PENDING:
            assert h.decided_on is None and h.scheduled_at > until.replace(tzinfo=TZ)
            upcoming[h.detention_id] += 1
        else:
            assert h.decided_on == local(h.scheduled_at).date() <= today
    assert max(upcoming.values(), default=0) <= 1
    for did in upcoming:
        assert detentions[did].ended_at is None

    # court appearances: out and back the same day, inside the custody period
    for m in Movement.objects.filter(custody_id__in=custody, kind=MovementKind.COURT):
        c = custody[m.custody_id]
        assert m.back_at is not None and m.out_at < m.back_at
        assert c["committed_at"] < m.out_at
        assert c["released_at"] is None or m.back_at <= c["released_at"]

    # housing: never above the operational maximum, separation rules, one side per cell
    cells = {
        cell.pk: cell
        for cell in Cell.objects.filter(facility_id__in=facility_ids).select_related("wing")
    }
    occupancy = dict(
        CellOccupancy.objects.filter(facility_id__in=facility_ids).values_list(
            "cell_id", "occupants"
        )
    )
    assignments = list(CellAssignment.objects.filter(custody_id__in=custody, ended_at__isnull=True))
    per_cell = Counter(a.cell_id for a in assignments)
    assert len({a.custody_id for a in assignments}) == len(assignments)
    for cell_id, cell in cells.items():
        assert occupancy.get(cell_id, 0) == per_cell.get(cell_id, 0), cell_id
        assert per_cell.get(cell_id, 0) <= cell.operational_max, cell_id
    persons = {p.pk: p for p in Person.objects.filter(pk__in=person_ids)}
    sides = defaultdict(set)
    for a in assignments:
        c = custody[a.custody_id]
        cell = cells[a.cell_id]
        wing = cell.wing
        person = persons[c["person_id"]]
        assert c["status"] == CustodyStatus.IN_CUSTODY and c["cell_id"] == a.cell_id
        assert cell.facility_id == c["facility_id"] == a.facility_id
        assert not cell.special_use and not wing.special_use
        assert wing.sex == person.sex, a.pk
        eighteen = (
            person.birth_date.replace(year=person.birth_date.year + 18)
            if not (person.birth_date.month == 2 and person.birth_date.day == 29)
            else date(person.birth_date.year + 18, 3, 1)
        )
        juvenile = eighteen > today
        assert (wing.age_group == AgeGroup.JUVENILE) == juvenile, a.pk
        side = Regime.REMAND if c["legal_status"] in REMAND_SIDE else Regime.CONVICTED
        assert wing.regime in (side, Regime.MIXED), a.pk
        if wing.regime == Regime.MIXED:
            sides[a.cell_id].add(side)
        assert a.started_at >= c["committed_at"]
    assert all(len(s) == 1 for s in sides.values())
    for c in custody.values():
        if c["status"] != CustodyStatus.IN_CUSTODY:
            assert c["cell_id"] is None


def _recompute(sentences, grants, conditionals) -> date | None:
    """``Detention.expected_release`` as the legal services define it, computed with
    ``release.expected_release`` from the rows."""
    in_force = [s for s in sentences if s.status == SentenceStatus.IN_FORCE]
    reductions = Counter()
    for g in grants:
        if g.kind == PardonKind.REDUCTION:
            reductions[g.sentence_id] += g.days
    release = None
    if in_force and not any(s.life for s in in_force):
        index = {s.pk: i for i, s in enumerate(in_force)}
        specs = [
            SentenceSpec(
                start=None if s.consecutive_to_id else s.start_date,
                years=s.years,
                months=s.months,
                days=s.days,
                credited_days=s.credited_days,
                pardon_days=reductions[s.pk],
                consecutive_to=index[s.consecutive_to_id] if s.consecutive_to_id else None,
            )
            for s in in_force
        ]
        release = expected_release(specs).release_date
    for g in grants:
        if g.kind == PardonKind.RELEASE and (release is None or g.decree.signed_on < release):
            release = g.decree.signed_on
    granted = [c for c in conditionals if c.status == ConditionalReleaseStatus.GRANTED]
    if granted and (release is None or granted[-1].release_on < release):
        release = granted[-1].release_on
    return release


def snapshot() -> list[tuple]:
    return list(
        CustodyPeriod.objects.order_by("pk").values_list(
            "pk", "uuid", "committal_number", "committed_at", "released_at", "status",
            "legal_status", "cell_id", "person__cin", "person__name_key_latin",
            "detention__expected_release",
        )
    ) + [
        (model.__name__, model.objects.count())
        for model in (Hearing, Sentence, PardonGrant, Movement, ReleaseRecord, CellAssignment)
    ]  # fmt: skip


# -- the demo --------------------------------------------------------------------------------
def test_demo_seed_keeps_every_registry_invariant(facilities):
    result, output = seed()
    ids = [facilities[c].pk for c in demo.DEMO_FACILITIES]
    assert_registry_invariants(ids, UNTIL)
    assert result["detentions"] > 1000 and result["housed"] > 1000
    assert f"population on {UNTIL:%Y-%m-%d}" in output and "left without one" in output
    assert "kept for one in 12" in output
    # Oujda 1 closed on 24 February 2020: its prisoners went to Oujda 2 and Berkane 2
    moved = Movement.objects.filter(
        kind=MovementKind.TRANSFER,
        facility=facilities["OUJDA1"],
        out_at__date=date(2020, 2, 24),
    )
    assert {m.to_facility.code for m in moved} == {"OUJDA2", "BERKANE2"}
    assert not CustodyPeriod.objects.filter(
        facility=facilities["OUJDA1"], status=CustodyStatus.IN_CUSTODY
    ).exists()
    # women and juveniles where there are wings for them
    held = CustodyPeriod.objects.filter(status=CustodyStatus.IN_CUSTODY)
    assert held.filter(person__sex="F", facility=facilities["OUJDA2"]).exists()
    assert not held.filter(person__sex="F", facility=facilities["BERKANE2"]).exists()
    assert held.filter(person__birth_date__gt=date(2003, 3, 31)).exists()
    # histories: sentences, appeals, pardons, releases of every kind
    assert Sentence.objects.filter(status=SentenceStatus.QUASHED).exists()
    assert PardonGrant.objects.filter(kind=PardonKind.REDUCTION).exists()
    reasons = set(Detention.objects.values_list("end_reason", flat=True))
    for reason in (
        DetentionEnd.END_OF_SENTENCE,
        DetentionEnd.PARDON,
        DetentionEnd.ACQUITTAL,
        DetentionEnd.PROVISIONAL_RELEASE,
    ):
        assert reason in reasons
    assert LegalStatusPeriod.objects.filter(status=LegalStatus.APPEALING).exists()
    assert Hearing.objects.filter(outcome=HearingOutcome.PENDING).exists()
    assert Offence.objects.filter(code="PC-505").exists()


def test_demo_seed_is_idempotent(facilities):
    seed()
    before = snapshot()
    counters = list(CommittalCounter.objects.order_by("pk").values_list("pk", "last_number"))
    result, output = seed()
    assert result["detentions"] == 0 and "nothing to do" in output
    assert snapshot() == before
    assert list(CommittalCounter.objects.order_by("pk").values_list("pk", "last_number")) == (
        counters
    )


def test_demo_seed_leaves_alone_an_institution_with_custody_periods(facilities):
    seed(codes=("BERKANE2",), until=datetime(2020, 6, 30, 12, 0))
    berkane = CustodyPeriod.objects.filter(facility=facilities["BERKANE2"]).count()
    assert berkane
    result, _output = seed(codes=("BERKANE2", "OUJDA2"), until=datetime(2020, 6, 30, 12, 0))
    assert result["detentions"] > 0
    assert CustodyPeriod.objects.filter(facility=facilities["BERKANE2"]).count() == berkane
    assert_registry_invariants(
        [facilities["OUJDA2"].pk, facilities["BERKANE2"].pk], datetime(2020, 6, 30, 12, 0)
    )


def test_demo_seed_is_deterministic(facilities):
    codes, until = ("BERKANE2", "OUJDA2"), datetime(2020, 12, 31, 12, 0)
    with pytest.raises(Rollback), transaction.atomic():
        seed(codes=codes, until=until)
        first = snapshot()
        raise Rollback
    with pytest.raises(Rollback), transaction.atomic():
        seed(codes=codes, until=until, random_seed=7)
        other = snapshot()
        raise Rollback
    assert not CustodyPeriod.objects.exists()
    seed(codes=codes, until=until)
    assert snapshot() == first
    assert other != first


def test_offences_are_seeded_and_updated(db):
    codes = demo.seed_offences()
    assert len(codes) >= 40 and {"PC-505", "DL-2", "DL-8", "PC-392"} <= set(codes)
    Offence.objects.filter(code="PC-505").update(name_fr="ancien nom")
    again = demo.seed_offences()
    assert again == codes
    theft = Offence.objects.get(code="PC-505")
    assert theft.name_fr == "Vol simple" and theft.name_ar == "السرقة" and theft.name_en
    for profile in demo.PROFILES:
        assert profile.code in codes


def test_pardon_decrees_are_seeded_once(db):
    decrees = demo.seed_pardon_decrees(date(2021, 1, 1))
    assert any(d.signed_on == date(2020, 4, 5) and d.exceptional for d in decrees)
    assert len(demo.seed_pardon_decrees(date(2021, 1, 1))) == len(decrees)
    assert all(d.signed_on <= date(2021, 1, 1) for d in decrees)


# -- the national scale, down-scaled -----------------------------------------------------------
NATIONAL_2020 = 85_000  # population the national seed aims at on 2020-06-30


def test_national_seed_follows_the_population_curve(facilities):
    """Three institutions of the Oriental from 2019 to mid-2021: the population on
    2020-06-30 is their share (by the beds of their wings) of the nation's ~85,000, within
    the spread of a small sample; remand near 40 %; every invariant holds."""
    codes = ("TAOURIRT", "GUERCIF", "NADOR2")
    until = datetime(2021, 6, 30, 12, 0)
    result, output = seed(scale="national", codes=codes, until=until)
    sites = demo.load_sites()
    on = date(2020, 6, 30)
    national = sum(s.w["MA"] for s in sites.values() if s.operating(on))
    share = sum(s.w["MA"] for s in sites.values() if s.code in codes) / national
    ids = [facilities[c].pk for c in codes]
    population = demo.population(ids, datetime(2020, 6, 30, 12, 0))
    expected = NATIONAL_2020 * share
    assert 0.8 * expected <= population["total"] <= 1.25 * expected, (population, expected)
    assert 0.30 <= population["remand"] / population["total"] <= 0.50
    start = demo.population(ids, datetime(2019, 1, 1, 12, 0))["total"]
    assert 0.8 * demo.STOCK_AT_START * share <= start <= 1.25 * demo.STOCK_AT_START * share
    # committals a year: the share of the nation's ~106,000 in 2019
    committed_2019 = CustodyPeriod.objects.filter(
        facility_id__in=ids,
        transferred_from__isnull=True,
        committed_at__year=2019,
    ).count()
    admissions = demo.ADMISSIONS_PER_YEAR[2019] * share * demo.ADMISSION_SHARES["MA"]
    assert 0.85 * admissions <= committed_2019 <= 1.3 * admissions
    assert_registry_invariants(ids, until)
    assert f"population on {until:%Y-%m-%d}" in output
    # the wings of these prisons have fewer convicted places than convicted prisoners: the
    # overflow stays without a cell (overcrowding), never above an operational maximum
    assert result["unhoused"] < 0.2 * result["housed"]
    # the exceptional pardon of 5 April 2020 released prisoners
    assert Detention.objects.filter(
        end_reason=DetentionEnd.PARDON, ended_at__date=date(2020, 4, 5)
    ).exists()
    # the stock of 1 January 2019 came in before, with numbers of its years
    assert CustodyPeriod.objects.filter(
        facility_id__in=ids, committed_at__lt=datetime(2019, 1, 1, tzinfo=TZ)
    ).exists()
