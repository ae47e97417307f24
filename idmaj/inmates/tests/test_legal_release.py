"""The expected release date through the service path: hand-computed cases (leap years, the
31st, 29 February, consecutive and concurrent sentences, credited days, pardon reductions,
life and commutation), then Hypothesis properties: what the services store agrees with
``release.expected_release`` over the same sentences."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idmaj.inmates import services
from idmaj.inmates.models import Detention
from idmaj.inmates.release import SentenceSpec, expected_release

from . import legal_fixtures as fx
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import d

TODAY = timezone.localdate()


def _stored(custody) -> tuple[dt.date | None, bool]:
    det = Detention.objects.get(pk=custody.detention_id)
    return det.expected_release, det.life_sentence


# -- hand-computed, through sentence_record --------------------------------------------------
@pytest.mark.parametrize(
    ("sentences", "expected"),
    [
        # 29 February 2024 + 1 year: 28 February 2025 (a common year)
        ([{"years": 1, "start_date": d(2024, 2, 29)}], d(2025, 2, 28)),
        # + 4 years: 29 February 2028 again (leap year)
        ([{"years": 4, "start_date": d(2024, 2, 29)}], d(2028, 2, 29)),
        # years, then months: 28 February 2025 + 1 month = 28 March 2025
        ([{"years": 1, "months": 1, "start_date": d(2024, 2, 29)}], d(2025, 3, 28)),
        # the 31st: 31 August + 1 month = 30 September; 31 January 2024 + 1 month = 29 Feb
        ([{"months": 1, "start_date": d(2023, 8, 31)}], d(2023, 9, 30)),
        ([{"months": 1, "start_date": d(2024, 1, 31)}], d(2024, 2, 29)),
        ([{"months": 1, "days": 1, "start_date": d(2023, 1, 31)}], d(2023, 3, 1)),
        # credited days: 50 days in detention (10 January to 1 March 2023) credited on a
        # 2-year sentence from 1 March 2023: 1 March 2025 - 50 days = 10 January 2025
        ([{"years": 2, "start_date": d(2023, 3, 1), "credited_days": 50}], d(2025, 1, 10)),
        # consecutive: 31 January + 1 month = 28 February 2023, then + 1 month = 28 March
        (
            [
                {"months": 1, "start_date": d(2023, 1, 31)},
                {"months": 1, "consecutive_to": 0},
            ],
            d(2023, 3, 28),
        ),
        # a chain of three and a concurrent one: the chain ends 4 April 2023 + 3 years
        (
            [
                {"years": 1, "start_date": d(2023, 2, 1)},  # 1 Feb 2024
                {"years": 2, "consecutive_to": 0},  # 1 Feb 2026
                {"months": 2, "days": 3, "consecutive_to": 1},  # 1 Apr 2026, 4 Apr 2026
                {"years": 3, "start_date": d(2023, 3, 1)},  # concurrent: 1 March 2026
            ],
            d(2026, 4, 4),
        ),
        # concurrent sentences end at the latest end, whatever the order
        (
            [
                {"years": 2, "start_date": d(2023, 2, 1)},  # 1 Feb 2025
                {"years": 1, "months": 6, "start_date": d(2023, 9, 1)},  # 1 March 2025
                {"years": 1, "start_date": d(2023, 6, 1)},  # 1 June 2024
            ],
            d(2025, 3, 1),
        ),
        # credited days on the first link bring the consecutive one forward
        (
            [
                {"years": 1, "start_date": d(2023, 3, 1), "credited_days": 31},  # 29 Jan 2024
                {"months": 1, "consecutive_to": 0},  # 29 February 2024
            ],
            d(2024, 2, 29),
        ),
    ],
)
def test_hand_computed(lg, sentences, expected):
    custody = lg["custody"]
    recorded = []
    for spec in sentences:
        spec = dict(spec)
        if "consecutive_to" in spec:
            spec["consecutive_to"] = recorded[spec["consecutive_to"]]
        recorded.append(fx.sentence(lg["officer"], custody, **spec))
    assert _stored(custody) == (expected, False)


def test_pardon_reductions_are_taken_off_the_sentence_that_ends_last(lg):
    officer, custody = lg["officer"], lg["custody"]
    fx.sentence(officer, custody, years=3, start_date=d(2023, 3, 1))  # 1 March 2026
    late = fx.sentence(officer, custody, years=3, months=1, start_date=d(2023, 3, 1))  # 1 Apr
    dec = fx.decree(officer, "DEC-1")
    (grant,) = fx.apply(officer, dec, "OUJDA2-2023-000001;reduction;60")
    assert grant.sentence_id == late.pk
    # 1 April 2026 - 60 days = 31 January 2026; the other one ends later now: 1 March 2026
    assert _stored(custody) == (d(2026, 3, 1), False)
    # a second decree: 1 March 2026 - 29 days = 31 January 2026 (2026 is a common year)
    fx.apply(officer, fx.decree(officer, "DEC-2"), "OUJDA2-2023-000001;reduction;29")
    assert _stored(custody) == (d(2026, 1, 31), False)
    info = services.detention_release_explain(custody.detention)
    assert info.pardon_days == {late.pk: 60, late.pk - 1: 29}


def test_life_sentence_then_commutation(lg):
    officer, custody = lg["officer"], lg["custody"]
    fx.sentence(officer, custody, years=2, start_date=d(2023, 3, 1))
    assert _stored(custody) == (d(2025, 3, 1), False)
    life = fx.sentence(officer, custody, life=True, start_date=d(2023, 3, 1), credited_days=50)
    assert _stored(custody) == (None, True)
    with translation.override("en"):
        info = services.detention_release_explain(custody.detention)
    assert info.basis == "life" and "life imprisonment" in info.steps[0].text
    # commuted to 20 years from its start, less the 50 credited days
    dec = fx.decree(lg["central"], "DEC-COMM", signed_on=d(2024, 7, 30))
    (grant,) = fx.apply(lg["central"], dec, "OUJDA2-2023-000001;commutation;20")
    assert grant.sentence_id == life.pk and grant.days == 20
    assert _stored(custody) == (d(2043, 3, 1) - dt.timedelta(days=50), False)
    with translation.override("fr"):
        info = services.detention_release_explain(custody.detention)
    assert "20" in info.steps[0].text and "DEC-COMM" in info.steps[0].text
    # then reductions apply to the commuted term
    fx.apply(lg["central"], fx.decree(lg["central"], "DEC-RED"), "OUJDA2-2023-000001;reduction;10")
    assert _stored(custody) == (d(2043, 3, 1) - dt.timedelta(days=60), False)


def test_pardon_release_of_a_remand_prisoner(lg):
    custody = lg["custody"]
    dec = fx.decree(lg["officer"], "DEC-REL", signed_on=d(2024, 7, 30))
    fx.apply(lg["officer"], dec, "OUJDA2-2023-000001;release")
    assert _stored(custody) == (d(2024, 7, 30), False)
    info = services.detention_release_explain(custody.detention)
    assert info.basis == "pardon"


def test_pardon_release_after_the_end_of_the_sentence_changes_nothing(lg):
    custody = lg["custody"]
    fx.sentence(lg["officer"], custody, months=6, start_date=d(2023, 3, 1))  # 1 Sept 2023
    fx.apply(lg["officer"], fx.decree(lg["officer"]), "OUJDA2-2023-000001;release")
    assert _stored(custody) == (d(2023, 9, 1), False)


def test_explanation_in_the_users_language(lg):
    custody = lg["custody"]
    fx.sentence(
        lg["officer"], custody, years=1, months=1, start_date=d(2024, 2, 29), credited_days=10
    )
    for lang, word in (("fr", "Début de la peine 1"), ("ar", "بداية العقوبة رقم 1")):
        with translation.override(lang):
            info = services.detention_release_explain(custody.detention)
        assert word in info.steps[0].text, (lang, info.steps[0].text)
        assert [s.on for s in info.steps] == [
            d(2024, 2, 29),
            d(2025, 2, 28),
            d(2025, 3, 28),
            d(2025, 3, 28),
            d(2025, 3, 18),
            d(2025, 3, 18),
        ]


# -- properties ------------------------------------------------------------------------------
LATEST_START = min(TODAY, d(2035, 1, 1))
quantity = st.tuples(st.integers(0, 30), st.integers(0, 24), st.integers(0, 1000)).filter(
    lambda t: any(t)
)


@st.composite
def sentence_plans(draw):
    """A list of sentences as an officer may record them: concurrent ones with a start date
    and credited days within the time in detention, consecutive ones each following a
    sentence not yet followed."""
    n = draw(st.integers(1, 5))
    plans: list[dict] = []
    followed: set[int] = set()
    for i in range(n):
        years, months, days = draw(quantity)
        free = [j for j in range(i) if j not in followed]
        if free and draw(st.booleans()):
            k = draw(st.sampled_from(free))
            followed.add(k)
            available = max(0, (TODAY - fx.COMMITTED.date()).days)
            credited = draw(st.integers(0, min(available, 400)))
            plans.append(
                {
                    "years": years,
                    "months": months,
                    "days": days,
                    "consecutive_to": k,
                    "credited_days": credited,
                }
            )
        else:
            start = draw(st.dates(min_value=d(2023, 1, 10), max_value=LATEST_START))
            available = (start - d(2023, 1, 10)).days
            credited = draw(st.integers(0, min(available, 400)))
            plans.append(
                {
                    "years": years,
                    "months": months,
                    "days": days,
                    "start_date": start,
                    "credited_days": credited,
                }
            )
    return plans


_numbers = itertools.count(500000)


def _record(lg, plans, *, pronounced_on=None):
    """A new prisoner with these sentences; returns the custody period."""
    custody = fx.prisoner(lg["a"], f"OUJDA2-2023-{next(_numbers):06d}")
    recorded = []
    for plan in plans:
        plan = dict(plan)
        if "consecutive_to" in plan:
            plan["consecutive_to"] = recorded[plan["consecutive_to"]]
        recorded.append(
            fx.sentence(lg["officer"], custody, pronounced_on=pronounced_on or TODAY, **plan)
        )
    return custody


def _specs(plans) -> list[SentenceSpec]:
    return [
        SentenceSpec(
            start=p.get("start_date"),
            years=p["years"],
            months=p["months"],
            days=p["days"],
            credited_days=p["credited_days"],
            consecutive_to=p.get("consecutive_to"),
        )
        for p in plans
    ]


HYP = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYP
@given(plans=sentence_plans())
def test_stored_release_agrees_with_the_function(lg, plans):
    with transaction.atomic():
        custody = _record(lg, plans)
        assert _stored(custody) == (expected_release(_specs(plans)).release_date, False)
        info = services.detention_release_compute(fx.reload(custody).detention)
        assert info.expected_release == _stored(custody)[0]
        transaction.set_rollback(True)


@HYP
@given(plans=sentence_plans(), extra=quantity)
def test_one_more_sentence_never_brings_the_release_forward(lg, plans, extra):
    with transaction.atomic():
        custody = _record(lg, plans)
        before = _stored(custody)[0]
        years, months, days = extra
        fx.sentence(
            lg["officer"],
            custody,
            pronounced_on=TODAY,
            years=years,
            months=months,
            days=days,
            start_date=d(2023, 1, 10),
        )
        assert _stored(custody)[0] >= before
        transaction.set_rollback(True)


@HYP
@given(plans=sentence_plans(), reduction=st.integers(1, 2000))
def test_a_reduction_never_moves_the_release_later(lg, plans, reduction):
    with transaction.atomic():
        custody = _record(lg, plans)
        without = _stored(custody)[0]
        dec = fx.decree(lg["officer"], f"DEC-H-{reduction}", signed_on=TODAY)
        fx.apply(lg["officer"], dec, f"{custody.committal_number};reduction;{reduction}")
        with_it = _stored(custody)[0]
        assert with_it <= without
        starts = [p["start_date"] for p in plans if "start_date" in p]
        assert with_it >= min(starts)  # never before the earliest start
        transaction.set_rollback(True)


@HYP
@given(plans=sentence_plans())
def test_credited_days_never_move_the_release_past_the_release_without_them(lg, plans):
    with transaction.atomic():
        with_credit = _record(lg, plans)
        without = _record(lg, [{**p, "credited_days": 0} for p in plans])
        assert _stored(with_credit)[0] <= _stored(without)[0]
        transaction.set_rollback(True)
