"""Registry reads: population. How many persons each institution held at a moment, by
legal status, sex and age group, present or temporarily absent (``population_breakdown``,
counted in the database), with the beds and occupancy of the facilities domain
(``population_report``); and the morning count sheet of an institution (``count_sheet``).

A moment is an aware datetime, or a date meaning the end of that day
(``registry.moment_of``): persons committed that day count, persons released or
transferred out that day do not. The age group is read on the date of the moment (a date
given as such, or the local date of a datetime).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, FilteredRelation, Q
from django.http import Http404
from django.utils import timezone

from idmaj.facilities import selectors as facility_selectors
from idmaj.facilities.models import Facility, Region

from ..constants import TEMPORARY_ABSENCES, LegalStatus, PersonSex
from ..models import CellAssignment, CustodyPeriod, Movement
from ..services.housing import adult_cutoff
from .housing import housing_facilities, may_see_housing
from .registry import moment_of

__all__ = [
    "AGE_GROUPS",
    "population_breakdown",
    "population_facility_ids",
    "population_report",
    "date_of",
    "count_sheet",
]

JUVENILE = "juvenile"
ADULT = "adult"
AGE_GROUPS = (JUVENILE, ADULT)
UNKNOWN = "unknown"


def date_of(at: date | datetime) -> date:
    """The day a moment belongs to: the date itself, or the local date of a datetime."""
    if isinstance(at, datetime):
        return timezone.localdate(at) if timezone.is_aware(at) else at.date()
    return at


def _empty() -> dict:
    return {
        "total": 0,
        "legal_status": {**dict.fromkeys(LegalStatus.values, 0), UNKNOWN: 0},
        "sex": dict.fromkeys(PersonSex.values, 0),
        "age_group": dict.fromkeys(AGE_GROUPS, 0),
        "present": 0,
        "absent": 0,
    }


def _add(into: dict, counts: dict) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            _add(into[key], value)
        else:
            into[key] += value


def population_breakdown(*, facility_ids: Iterable[int], at: date | datetime) -> dict:
    """The population of each institution at ``at``, counted in the database (one query
    for the counts, one for the institutions' regions); not scoped: counts only.

    Returns ``{"at": moment, "on": date, "facilities": {id: counts}, "regions":
    {region_id: counts}, "nation": counts}`` where ``counts`` is ``{"total",
    "legal_status": {remand, convicted, appealing, unknown}, "sex": {M, F}, "age_group":
    {juvenile, adult}, "present", "absent"}``:

    * legal status as ``LegalStatusPeriod`` says at the moment (``unknown`` when no period
      covers it);
    * age group on the date of the moment (under 18: juvenile; a date of birth not recorded
      counts as adult);
    * ``absent``: out on a temporary absence (court, hospital, other: an open non-transfer
      ``Movement`` at the moment), still on the roll; ``present`` the others.

    Every institution asked for is in the answer (zeros when empty); the regions and the
    nation are the sums over the institutions asked for.
    """
    ids = list(dict.fromkeys(facility_ids))
    moment = moment_of(at)
    on = date_of(at)
    out = {"at": moment, "on": on, "facilities": {}, "regions": {}, "nation": _empty()}
    if not ids:
        return out
    # The legal status period and the temporary absence covering the moment, joined (LEFT
    # JOIN ... ON the moment): one pass that PostgreSQL hashes, rather than a subquery per
    # prisoner. Distinct counts keep every figure exact whatever the joins bring.
    status_at = FilteredRelation(
        "legal_status_periods",
        condition=Q(legal_status_periods__valid_from__lte=moment)
        & (
            Q(legal_status_periods__valid_to__isnull=True)
            | Q(legal_status_periods__valid_to__gt=moment)
        ),
    )
    out_at = FilteredRelation(
        "movements",
        condition=Q(movements__kind__in=TEMPORARY_ABSENCES, movements__out_at__lte=moment)
        & (Q(movements__back_at__isnull=True) | Q(movements__back_at__gt=moment)),
    )
    juvenile = Q(person__birth_date__gt=adult_cutoff(on))

    def count(condition: Q | None = None) -> Count:
        return Count("id", filter=condition, distinct=True)

    aggregates = {
        "total": count(),
        "absent": count(Q(out_at__id__isnull=False)),
        JUVENILE: count(juvenile),
        **{f"sex_{s}": count(Q(person__sex=s)) for s in PersonSex.values},
        **{f"ls_{s}": count(Q(status_at__status=s)) for s in LegalStatus.values},
    }
    rows = (
        CustodyPeriod.objects.filter(facility_id__in=ids)
        .in_custody_at(moment)
        .alias(status_at=status_at, out_at=out_at)
        .values("facility_id")
        .annotate(**aggregates)
        .order_by()
    )
    facilities = {fid: _empty() for fid in ids}
    for row in rows:
        counts = facilities[row["facility_id"]]
        counts["total"] = row["total"]
        counts["absent"] = row["absent"]
        counts["present"] = row["total"] - row["absent"]
        counts["age_group"] = {JUVENILE: row[JUVENILE], ADULT: row["total"] - row[JUVENILE]}
        counts["sex"] = {s: row[f"sex_{s}"] for s in PersonSex.values}
        known = {s: row[f"ls_{s}"] for s in LegalStatus.values}
        counts["legal_status"] = {**known, UNKNOWN: max(0, row["total"] - sum(known.values()))}
    regions: dict[int, dict] = {}
    for fid, region_id in Facility.objects.filter(pk__in=ids).values_list("pk", "region_id"):
        _add(regions.setdefault(region_id, _empty()), facilities[fid])
        _add(out["nation"], facilities[fid])
    out["facilities"] = facilities
    out["regions"] = regions
    return out


# -- the population pages and API ---------------------------------------------------------------
def population_facility_ids(
    *, fetched_by, facility: str | None = None, region: str | None = None
) -> tuple[list[Facility], dict]:
    """The institutions a population report covers for this user: one institution (by
    code; 404 when missing or not the user's), a regional directorate (by code; 404 when
    unknown), or every institution the user may see (``inmates.view``)."""
    qs = housing_facilities(fetched_by=fetched_by)
    scope: dict = {"kind": "nation", "facility": None, "region": None}
    if facility:
        qs = qs.filter(code=facility)
        scope = {"kind": "facility", "facility": None, "region": None}
    elif region:
        found = Region.objects.filter(code=region).first()
        if found is None:
            raise Http404
        qs = qs.filter(region=found)
        scope = {"kind": "region", "facility": None, "region": found}
    facilities = list(qs.order_by("region__code", "code"))
    if facility:
        if not facilities:
            raise Http404
        scope["facility"] = facilities[0]
        scope["region"] = facilities[0].region
    return facilities, scope


@dataclass
class PopulationRow:
    """Counts of one institution, regional directorate or the nation, with beds."""

    counts: dict
    beds: int | None
    operational_max: int | None
    facility: Facility | None = None
    region: Region | None = None
    facilities: int = 1
    overcrowding: int | None = None

    @property
    def total(self) -> int:
        return self.counts["total"]

    @property
    def occupancy(self) -> float | None:
        return facility_selectors.occupancy(self.total, self.beds)


def _sum_beds(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def population_report(
    *, fetched_by, at: date | datetime, facility: str | None = None, region: str | None = None
) -> dict:
    """The population at ``at`` of one institution, a regional directorate or every
    institution the user sees, per institution, per regional directorate and in total, by
    legal status, sex and age group, with the beds in service that day and the occupancy
    (``facilities.selectors.beds_at`` and ``occupancy``). Overcrowding is, as on the
    facilities capacity pages, the persons above the beds of each institution, summed.
    A constant number of queries whatever the number of institutions."""
    facilities, scope = population_facility_ids(
        fetched_by=fetched_by, facility=facility, region=region
    )
    ids = [f.pk for f in facilities]
    data = population_breakdown(facility_ids=ids, at=at)
    beds = facility_selectors.beds_at(facility_ids=ids, on=data["on"]) if ids else {}
    rows = []
    for f in facilities:
        b = beds.get(f.pk)
        counts = data["facilities"][f.pk]
        row = PopulationRow(
            counts=counts,
            beds=b["beds"] if b else None,
            operational_max=b["operational_max"] if b else None,
            facility=f,
            region=f.region,
        )
        row.overcrowding = None if row.beds is None else max(0, row.total - row.beds)
        rows.append(row)

    def total(group: list[PopulationRow], **kw) -> PopulationRow:
        counts = _empty()
        for r in group:
            _add(counts, r.counts)
        out = PopulationRow(
            counts=counts,
            beds=_sum_beds([r.beds for r in group]),
            operational_max=_sum_beds([r.operational_max for r in group]),
            facilities=len(group),
            **kw,
        )
        out.overcrowding = _sum_beds([r.overcrowding for r in group])
        return out

    by_region: dict[int, list[PopulationRow]] = {}
    for r in rows:
        by_region.setdefault(r.facility.region_id, []).append(r)
    regions = [total(group, region=group[0].region) for group in by_region.values()]
    return {
        "at": data["at"],
        "on": data["on"],
        "time_given": isinstance(at, datetime),
        "scope": scope,
        "facilities": rows,
        "regions": regions,
        "nation": total(rows),
    }


# -- the morning count sheet ----------------------------------------------------------------------
@dataclass
class SheetCell:
    cell: object
    persons: list = field(default_factory=list)
    absent: list = field(default_factory=list)


@dataclass
class SheetWing:
    wing: object
    cells: list[SheetCell] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(len(c.persons) for c in self.cells)

    @property
    def absent(self) -> int:
        return sum(len(c.absent) for c in self.cells)


def count_sheet(*, fetched_by, facility: Facility, at: date | datetime | None = None) -> dict:
    """The count sheet of ``facility`` at ``at`` (now by default), for the officers to
    tick: per wing and cell, the persons who should be there (in custody, housed there,
    not out); the temporarily absent with where they are; the persons in custody without
    a cell; the totals. Three queries; scoped (404 when the user may not see the
    institution's prisoners)."""
    if not may_see_housing(fetched_by, facility.pk):
        raise Http404
    at = at or timezone.now()
    moment = moment_of(at)
    roll = {
        c.pk: c
        for c in CustodyPeriod.objects.visible_to(fetched_by)
        .filter(facility_id=facility.pk)
        .in_custody_at(moment)
        .select_related("person")
        .order_by("committal_number")
    }
    stays = (
        CellAssignment.objects.filter(facility_id=facility.pk, started_at__lte=moment)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=moment))
        .select_related("cell", "cell__wing", "cell__wing__building")
        .order_by()
    )
    absences = {
        m.custody_id: m
        for m in Movement.objects.filter(
            facility_id=facility.pk, kind__in=TEMPORARY_ABSENCES, out_at__lte=moment
        ).filter(Q(back_at__isnull=True) | Q(back_at__gt=moment))
    }
    housed: dict[int, CellAssignment] = {}
    for s in stays:
        if s.custody_id in roll:
            housed[s.custody_id] = s
    wings: dict[int, SheetWing] = {}
    cells: dict[int, SheetCell] = {}
    absent_rows = []
    for custody in roll.values():
        stay = housed.get(custody.pk)
        movement = absences.get(custody.pk)
        if movement is not None:
            absent_rows.append(
                {"custody": custody, "cell": stay.cell if stay else None, "movement": movement}
            )
        if stay is None:
            continue
        cell = stay.cell
        sheet_cell = cells.get(cell.pk)
        if sheet_cell is None:
            sheet_cell = cells[cell.pk] = SheetCell(cell=cell)
            wings.setdefault(cell.wing_id, SheetWing(wing=cell.wing)).cells.append(sheet_cell)
        (sheet_cell.absent if movement is not None else sheet_cell.persons).append(custody)
    for w in wings.values():
        w.cells.sort(key=lambda c: c.cell.number)
    ordered = sorted(wings.values(), key=lambda w: (w.wing.building.name, w.wing.name))
    unhoused = [
        {"custody": c, "movement": absences.get(c.pk)} for c in roll.values() if c.pk not in housed
    ]
    absent_rows.sort(key=lambda r: r["custody"].committal_number)
    expected = sum(w.expected for w in ordered)
    return {
        "facility": facility,
        "at": moment,
        "on": date_of(at),
        "time_given": isinstance(at, datetime),
        "wings": ordered,
        "absent": absent_rows,
        "unhoused": unhoused,
        "totals": {
            "roll": len(roll),
            "in_cells": expected,
            "absent": len(absent_rows),
            "unhoused": sum(1 for u in unhoused if u["movement"] is None),
            "present": len(roll) - len(absent_rows),
        },
    }
