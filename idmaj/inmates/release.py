"""The expected release date: one documented function, with its explanation line by line.

Conventions (decided here, relied upon by every page, report and list of releases due):

* **Day 1 is the start date.** A sentence starting on ``start`` is served from the morning of
  ``start``. Its *end date* is computed as the issue prescribes:

  1. ``start`` + ``years`` (same month and day; 29 February becomes 28 February in a common
     year),
  2. then + ``months`` (same day of the month, clamped to the last day of the target month:
     31 August + 1 month = 30 September, 31 January + 1 month = 28/29 February),
  3. then + ``days`` (calendar days).

  Years and months are added one after the other, never as "years * 12 + months": 29
  February 2024 + 1 year + 1 month = 28 February 2025 + 1 month = 28 March 2025.

* **The end date is the release day** (exclusive end): it is the first day the person no
  longer serves the sentence, i.e. they are released on the morning of that day, and the
  last day served is the day before. A one-year sentence starting on 10 January 2026 ends,
  and the person is released, on 10 January 2027. With this convention a consecutive
  sentence "starts on the day the previous one ends" with neither a gap nor an overlap.

* **Credited days and pardon days are subtracted from the end date** of the sentence they
  belong to, in that order (credited days first, then the royal pardon reduction). The
  reduced end date is never earlier than the sentence's start date: when the reductions
  exceed what is left to serve, the sentence is fully served on its start date.

* **Concurrent sentences** (``consecutive_to=None``) each run from their own start date; the
  expected release date is the **latest** reduced end date of all sentences.

* **A consecutive sentence** (``consecutive_to=k``) starts on the (reduced) end date of
  sentence ``k``, which must come before it in the list (``k < its own index``); its own
  ``start`` is ignored and may be ``None``. A chain of consecutive sentences therefore adds
  up: each link starts where the previous one was released.

* Indexes in the explanation are shown 1-based ("sentence 1"); ``consecutive_to`` is a
  0-based index into the list, like Python.

Life sentences (no release date), conditional release and release by pardon decree are
decided elsewhere; this function only does calendar arithmetic. It is pure Python: the
explanation texts are translated with ``gettext`` in the language active at call time.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass(frozen=True)
class SentenceSpec:
    """One sentence, as the court pronounced it, with what reduces it."""

    start: date | None
    years: int = 0
    months: int = 0
    days: int = 0
    credited_days: int = 0
    pardon_days: int = 0
    consecutive_to: int | None = None


@dataclass(frozen=True)
class Step:
    """One line of the explanation: the date reached and what was done to reach it."""

    on: date
    text: str
    sentence: int | None = None  # 0-based index of the sentence, None for the conclusion

    def __str__(self) -> str:
        return f"{self.on.isoformat()}  {self.text}"


@dataclass(frozen=True)
class SentenceResult:
    index: int
    start: date
    gross_end: date  # start + years + months + days, before reductions
    end: date  # after credited days and pardon reductions: the release day for this sentence


@dataclass(frozen=True)
class ReleaseComputation:
    release_date: date
    sentences: list[SentenceResult] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def explanation(self) -> list[tuple[date, str]]:
        return [(s.on, s.text) for s in self.steps]


def add_years(d: date, years: int) -> date:
    """``d`` + ``years``, 29 February clamped to 28 February in a common year."""
    year = d.year + years
    return date(year, d.month, min(d.day, calendar.monthrange(year, d.month)[1]))


def add_months(d: date, months: int) -> date:
    """``d`` + ``months``, the day clamped to the last day of the target month."""
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _validate(sentences: list[SentenceSpec]) -> None:
    if not sentences:
        raise ValueError("at least one sentence is needed")
    for i, s in enumerate(sentences):
        for name in ("years", "months", "days", "credited_days", "pardon_days"):
            value = getattr(s, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"sentence {i}: {name} must be a non-negative integer")
        if s.consecutive_to is None:
            if s.start is None:
                raise ValueError(f"sentence {i}: a concurrent sentence needs a start date")
        elif not 0 <= s.consecutive_to < i:
            raise ValueError(f"sentence {i}: consecutive_to must name an earlier sentence")


def expected_release(sentences: list[SentenceSpec]) -> ReleaseComputation:
    """The expected release date of a prisoner serving ``sentences``, explained step by step.

    See the module documentation for the conventions. Raises ``ValueError`` for an empty
    list, negative quantities, a concurrent sentence without start date, or a
    ``consecutive_to`` that does not name an earlier sentence.
    """
    _validate(sentences)
    steps: list[Step] = []
    results: list[SentenceResult] = []
    for i, s in enumerate(sentences):
        n = i + 1
        if s.consecutive_to is None:
            start = s.start
            assert start is not None
            steps.append(Step(start, _("Sentence %(n)d starts.") % {"n": n}, i))
        else:
            start = results[s.consecutive_to].end
            steps.append(
                Step(
                    start,
                    _(
                        "Sentence %(n)d is consecutive: it starts on the day sentence "
                        "%(previous)d ends."
                    )
                    % {"n": n, "previous": s.consecutive_to + 1},
                    i,
                )
            )
        d = start
        if s.years:
            d = add_years(d, s.years)
            text = ngettext("+ %(count)d year", "+ %(count)d years", s.years) % {"count": s.years}
            if d.day != start.day:
                text += " " + _("(29 February becomes 28 February)")
            steps.append(Step(d, text, i))
        if s.months:
            before = d
            d = add_months(d, s.months)
            text = ngettext("+ %(count)d month", "+ %(count)d months", s.months) % {
                "count": s.months
            }
            if d.day != before.day:
                text += " " + _("(day clamped to the last day of the month)")
            steps.append(Step(d, text, i))
        if s.days:
            d = d + timedelta(days=s.days)
            steps.append(
                Step(
                    d,
                    ngettext("+ %(count)d day", "+ %(count)d days", s.days) % {"count": s.days},
                    i,
                )
            )
        gross_end = d
        steps.append(Step(gross_end, _("End of sentence %(n)d before reductions.") % {"n": n}, i))
        if s.credited_days:
            d = d - timedelta(days=s.credited_days)
            steps.append(
                Step(
                    d,
                    ngettext(
                        "− %(count)d credited day (detention already served)",
                        "− %(count)d credited days (detention already served)",
                        s.credited_days,
                    )
                    % {"count": s.credited_days},
                    i,
                )
            )
        if s.pardon_days:
            d = d - timedelta(days=s.pardon_days)
            steps.append(
                Step(
                    d,
                    ngettext(
                        "− %(count)d day of royal pardon",
                        "− %(count)d days of royal pardon",
                        s.pardon_days,
                    )
                    % {"count": s.pardon_days},
                    i,
                )
            )
        if d < start:
            d = start
            steps.append(
                Step(
                    d,
                    _("Reductions exceed the sentence: it is fully served on its start date."),
                    i,
                )
            )
        results.append(SentenceResult(index=i, start=start, gross_end=gross_end, end=d))
    release = max(r.end for r in results)
    if len(results) == 1:
        text = _("Expected release date (the release day: the last day served is the day before).")
    else:
        latest = max(r.index for r in results if r.end == release) + 1
        text = _(
            "Expected release date: the latest end of all sentences (sentence %(n)d); "
            "the last day served is the day before."
        ) % {"n": latest}
    steps.append(Step(release, text, None))
    return ReleaseComputation(release_date=release, sentences=results, steps=steps)
