"""The expected release date: hand-computed cases, then properties."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from idmaj.inmates.release import SentenceSpec, add_months, add_years, expected_release


def release(*specs: SentenceSpec) -> date:
    return expected_release(list(specs)).release_date


# -- hand-computed cases -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # one year from 10 January 2026: released on 10 January 2027 (end date = release day)
        (SentenceSpec(date(2026, 1, 10), years=1), date(2027, 1, 10)),
        # 29 February + 1 year: 28 February of the common year
        (SentenceSpec(date(2024, 2, 29), years=1), date(2025, 2, 28)),
        # 29 February + 4 years: 29 February again (2028 is a leap year)
        (SentenceSpec(date(2024, 2, 29), years=4), date(2028, 2, 29)),
        # years then months, one after the other: 28 Feb 2025 + 1 month = 28 March 2025
        (SentenceSpec(date(2024, 2, 29), years=1, months=1), date(2025, 3, 28)),
        # 31 August + 1 month: 30 September (clamped)
        (SentenceSpec(date(2026, 8, 31), months=1), date(2026, 9, 30)),
        # 31 January + 1 month: 28 February (2026) / 29 February (2024)
        (SentenceSpec(date(2026, 1, 31), months=1), date(2026, 2, 28)),
        (SentenceSpec(date(2024, 1, 31), months=1), date(2024, 2, 29)),
        # clamped, then + 1 day: 28 February 2026 + 1 day = 1 March
        (SentenceSpec(date(2026, 1, 31), months=1, days=1), date(2026, 3, 1)),
        # months across the year end: 31 October + 4 months = 28 February 2027
        (SentenceSpec(date(2026, 10, 31), months=4), date(2027, 2, 28)),
        # days across 29 February: 28 Feb 2024 + 2 days = 1 March 2024
        (SentenceSpec(date(2024, 2, 28), days=2), date(2024, 3, 1)),
        # 2 years 3 months 10 days from 15 May 2025: 15 May 2027, 15 Aug 2027, 25 Aug 2027
        (SentenceSpec(date(2025, 5, 15), years=2, months=3, days=10), date(2027, 8, 25)),
        # credited days: 1 March 2028 - 100 days. Back from 1 March 2028: 1 day to 29 Feb,
        # 29 to 31 Jan, 31 to 31 Dec, 31 to 30 Nov, 8 more to 22 Nov (1+29+31+31+8 = 100)
        (SentenceSpec(date(2026, 3, 1), years=2, credited_days=100), date(2027, 11, 22)),
        # credited and pardon: 15 June 2025 - 30 days = 16 May 2025; - 90 days:
        # 16 May -> 16 April (30) -> 16 March (31) -> 16 Feb (28) -> 15 Feb (1) = 90
        (
            SentenceSpec(date(2020, 6, 15), years=5, credited_days=30, pardon_days=90),
            date(2025, 2, 15),
        ),
        # reductions longer than the sentence: fully served on its start date
        (SentenceSpec(date(2026, 5, 1), months=2, credited_days=200), date(2026, 5, 1)),
        # a zero-length sentence ends where it starts
        (SentenceSpec(date(2026, 5, 1)), date(2026, 5, 1)),
    ],
)
def test_single_sentence(spec, expected):
    assert release(spec) == expected


def test_concurrent_sentences_end_at_the_latest_end():
    a = SentenceSpec(date(2026, 1, 1), years=2)  # 1 January 2028
    b = SentenceSpec(date(2026, 6, 1), years=1)  # 1 June 2027
    c = SentenceSpec(date(2026, 3, 1), years=2, pardon_days=10)  # 1 March 2028 - 10 = 20 Feb
    assert release(a, b, c) == date(2028, 2, 20)
    result = expected_release([a, b, c])
    assert [r.end for r in result.sentences] == [
        date(2028, 1, 1),
        date(2027, 6, 1),
        date(2028, 2, 20),
    ]
    assert "3" in result.steps[-1].text  # the conclusion names the sentence that ends last


def test_consecutive_sentence_starts_on_the_day_the_previous_ends():
    first = SentenceSpec(date(2026, 1, 1), years=1)  # ends 1 January 2027
    second = SentenceSpec(None, months=6, consecutive_to=0)  # 1 January -> 1 July 2027
    assert release(first, second) == date(2027, 7, 1)
    # credited days on the first sentence bring the second one forward: 1 Dec 2026 + 6 months
    assert release(replace(first, credited_days=31), second) == date(2027, 6, 1)
    # the start given for a consecutive sentence is ignored
    assert release(first, replace(second, start=date(2020, 1, 1))) == date(2027, 7, 1)


def test_chain_and_concurrent_mixed():
    specs = [
        SentenceSpec(date(2025, 1, 31), months=1),  # 28 Feb 2025
        SentenceSpec(None, months=1, consecutive_to=0),  # 28 Mar 2025
        SentenceSpec(None, days=10, pardon_days=3, consecutive_to=1),  # 7 Apr - 3 = 4 Apr 2025
        SentenceSpec(date(2025, 2, 1), months=2),  # concurrent, 1 April 2025
    ]
    result = expected_release(specs)
    assert [r.start for r in result.sentences] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 28),
        date(2025, 2, 1),
    ]
    assert result.release_date == date(2025, 4, 4)


def test_explanation_line_by_line():
    with translation.override("en"):
        result = expected_release(
            [SentenceSpec(date(2024, 2, 29), years=1, months=1, days=3, credited_days=2)]
        )
    lines = result.explanation()
    assert lines == [
        (date(2024, 2, 29), "Sentence 1 starts."),
        (date(2025, 2, 28), "+ 1 year (29 February becomes 28 February)"),
        (date(2025, 3, 28), "+ 1 month"),
        (date(2025, 3, 31), "+ 3 days"),
        (date(2025, 3, 31), "End of sentence 1 before reductions."),
        (date(2025, 3, 29), "− 2 credited days (detention already served)"),
        (
            date(2025, 3, 29),
            "Expected release date (the release day: the last day served is the day before).",
        ),
    ]
    with translation.override("en"):
        clamped = expected_release([SentenceSpec(date(2026, 8, 31), months=1)])
    assert "clamped" in clamped.steps[1].text
    assert str(clamped.steps[1]).startswith("2026-09-30")


@pytest.mark.parametrize(
    "specs",
    [
        [],
        [SentenceSpec(None, years=1)],
        [SentenceSpec(date(2026, 1, 1), years=-1)],
        [SentenceSpec(date(2026, 1, 1), credited_days=-1)],
        [SentenceSpec(date(2026, 1, 1), consecutive_to=0)],
        [SentenceSpec(date(2026, 1, 1)), SentenceSpec(None, consecutive_to=2)],
    ],
)
def test_invalid_input_is_refused(specs):
    with pytest.raises(ValueError):
        expected_release(specs)


# -- properties ----------------------------------------------------------------------------
starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
quantities = {
    "years": st.integers(0, 30),
    "months": st.integers(0, 24),
    "days": st.integers(0, 1000),
}
specs = st.builds(
    SentenceSpec,
    start=starts,
    credited_days=st.integers(0, 2000),
    pardon_days=st.integers(0, 800),
    **quantities,
)


@given(specs, st.integers(0, 5), st.integers(0, 13), st.integers(0, 400))
def test_monotone_in_the_length(spec, more_years, more_months, more_days):
    longer = replace(
        spec,
        years=spec.years + more_years,
        months=spec.months + more_months,
        days=spec.days + more_days,
    )
    assert release(longer) >= release(spec)


@given(specs)
def test_reductions_never_move_the_date_past_the_date_without_them(spec):
    without = release(replace(spec, credited_days=0, pardon_days=0))
    assert release(replace(spec, pardon_days=0)) <= without
    assert release(spec) <= release(replace(spec, pardon_days=0))
    assert spec.start <= release(spec) <= without


@given(st.lists(specs, min_size=1, max_size=5))
def test_concurrent_result_is_the_max_of_the_ends(sentences):
    assert release(*sentences) == max(release(s) for s in sentences)


@given(specs, st.lists(specs, min_size=1, max_size=4))
def test_consecutive_chain_adds_up(first, rest):
    chain = [first] + [replace(s, start=None, consecutive_to=i) for i, s in enumerate(rest)]
    # folding: each link computed alone, starting on the previous link's release day
    d = release(first)
    for s in rest:
        d = release(replace(s, start=d))
    assert release(*chain) == d


@given(
    starts,
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 100), st.integers(0, 100)),
        min_size=1,
        max_size=5,
    ),
)
def test_consecutive_days_only_chain_is_a_sum(start, parts):
    parts = [(days, min(c, days), min(p, days - min(c, days))) for days, c, p in parts]
    chain = [
        SentenceSpec(start, days=parts[0][0], credited_days=parts[0][1], pardon_days=parts[0][2])
    ]
    chain += [
        SentenceSpec(None, days=d, credited_days=c, pardon_days=p, consecutive_to=i)
        for i, (d, c, p) in enumerate(parts[1:])
    ]
    assert release(*chain) == start + timedelta(days=sum(d - c - p for d, c, p in parts))


@given(starts, st.integers(0, 50), st.integers(0, 600))
def test_calendar_helpers(d, years, months):
    y = add_years(d, years)
    assert (y.year, y.month) == (d.year + years, d.month) and y.day <= d.day
    m = add_months(d, months)
    assert (m.year * 12 + m.month) - (d.year * 12 + d.month) == months and m.day <= d.day
    assert m.day == d.day or m.month != (m + timedelta(days=1)).month  # clamped to month end
