"""Registry reads: housing. The institution's wings and cells with their occupancy, a
cell's occupants and history, the cells a prisoner may be moved to, the prisoners whose
cell breaks a separation rule today, and a prisoner's stays.

Who may see an institution's housing: a user who sees the institution and holds
``inmates.view`` there (the rule of ``CustodyPeriod.objects.visible_to``); anyone else gets
404, as for a missing institution or cell.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.facilities.constants import AgeGroup, Regime, SpecialUse
from idmaj.facilities.models import Cell, Facility, Wing

from ..constants import REMAND_SIDE, CustodyStatus, PersonSex
from ..models import CellAssignment, CellOccupancy, CustodyPeriod
from ..services.housing import (
    SIDE_CONVICTED,
    SIDE_REMAND,
    Breach,
    adult_cutoff,
    cell_in_service_on,
    effective_special_use,
    housing_breaches,
)

__all__ = [
    "CELLS_AT_ONCE",
    "CellRow",
    "WingRow",
    "may_see_housing",
    "housing_facilities",
    "get_housing_facility_for_user_or_404",
    "housing_overview",
    "get_cell_for_user_or_404",
    "cell_occupants",
    "cell_history",
    "cell_choices",
    "custody_housing",
    "misplaced_prisoners",
    "unhoused_prisoners",
]

VIEW = "inmates.view"


def may_see_housing(user, facility_id: int) -> bool:
    """Whether ``user`` sees the institution and holds ``inmates.view`` there."""
    access = access_for(user)
    return access.sees_facility(facility_id) and access.has_perm(VIEW, facility_id)


def housing_facilities(*, fetched_by) -> QuerySet[Facility]:
    """The institutions whose housing the user may see, by code."""
    access = access_for(fetched_by)
    qs = access.filter(Facility.objects.select_related("region"), "id")
    allowed = access.perm_facility_ids(VIEW)
    if allowed is not None:
        qs = qs.filter(pk__in=allowed)
    return qs.order_by("code")


def get_housing_facility_for_user_or_404(*, user, code: str) -> Facility:
    """One institution by code: 404 alike for missing and not the user's."""
    facility = Facility.objects.select_related("region").filter(code=code).first()
    if facility is None or not may_see_housing(user, facility.pk):
        raise Http404
    return facility


# -- the institution's cells --------------------------------------------------------------------
def _occupants() -> Coalesce:
    counter = CellOccupancy.objects.filter(cell_id=OuterRef("pk")).values("occupants")[:1]
    return Coalesce(Subquery(counter, output_field=IntegerField()), Value(0))


@dataclass
class CellRow:
    cell: Cell
    occupants: int
    in_service: bool

    @property
    def wing(self) -> Wing:
        return self.cell.wing

    @property
    def free(self) -> int:
        """Places left under the operational maximum (none in a cell out of service)."""
        return max(0, self.cell.operational_max - self.occupants) if self.in_service else 0

    @property
    def overcrowding(self) -> int:
        """Persons above the beds."""
        return max(0, self.occupants - self.cell.beds)

    @property
    def overcrowded(self) -> bool:
        return self.occupants > self.cell.beds

    @property
    def full(self) -> bool:
        return self.occupants >= self.cell.operational_max

    @property
    def special_use(self) -> str:
        return effective_special_use(self.cell, self.cell.wing)


@dataclass
class WingRow:
    wing: Wing
    cells: list[CellRow] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.cells)

    @property
    def beds(self) -> int:
        return sum(r.cell.beds for r in self.cells if r.in_service)

    @property
    def operational_max(self) -> int:
        return sum(r.cell.operational_max for r in self.cells if r.in_service)

    @property
    def occupants(self) -> int:
        return self._sum("occupants")

    @property
    def free(self) -> int:
        return self._sum("free")

    @property
    def overcrowding(self) -> int:
        return self._sum("overcrowding")

    @property
    def overcrowded_cells(self) -> int:
        return sum(1 for r in self.cells if r.overcrowded)


def _wing_order(wings: list[WingRow]) -> list[WingRow]:
    return sorted(wings, key=lambda w: (w.wing.building.name, w.wing.name, w.wing.pk))


# Above this many cells to show, the page lists the wings and asks to choose one.
CELLS_AT_ONCE = 600


def housing_overview(
    *,
    facility: Facility,
    wing: Wing | None = None,
    show: str = "",
    on: date | None = None,
    cells_at_once: int | None = CELLS_AT_ONCE,
) -> dict:
    """The institution's wings and cells with beds, operational maximum, occupants, free
    places and overcrowding, now. One query whatever the number of cells. The caller has
    checked that the user may see ``facility``.

    ``totals`` and ``summary`` (one row per wing) cover every cell; ``wings`` holds the
    cells to list: those of ``wing`` when given, with free places (``show="free"``) or
    overcrowded (``show="overcrowded"``) only when asked, and none when more than
    ``cells_at_once`` (``None``: no limit) would be listed without a wing chosen (``too_many``: the page then
    asks to choose a wing)."""
    on = on or timezone.localdate()
    cells = (
        Cell.objects.filter(facility=facility)
        .select_related("wing", "wing__building")
        .annotate(occupants=_occupants())
        .order_by("wing__building__name", "wing__name", "number")
    )
    summary: dict[int, WingRow] = {}
    shown: dict[int, WingRow] = {}
    totals = WingRow(wing=None)  # type: ignore[arg-type]
    count = 0
    for c in cells:
        row = CellRow(cell=c, occupants=c.occupants, in_service=cell_in_service_on(c, on))
        totals.cells.append(row)
        summary.setdefault(c.wing_id, WingRow(wing=c.wing)).cells.append(row)
        if wing is not None and c.wing_id != wing.pk:
            continue
        if show == "free" and row.free <= 0:
            continue
        if show == "overcrowded" and not row.overcrowded:
            continue
        shown.setdefault(c.wing_id, WingRow(wing=c.wing)).cells.append(row)
        count += 1
    too_many = wing is None and cells_at_once is not None and count > cells_at_once
    return {
        "facility": facility,
        "on": on,
        "wing": wing,
        "show": show,
        "totals": totals,
        "summary": _wing_order(list(summary.values())),
        "wings": [] if too_many else _wing_order(list(shown.values())),
        "shown": count,
        "too_many": too_many,
    }


def get_cell_for_user_or_404(*, user, uuid) -> Cell:
    """One cell by UUID, with its wing and institution: 404 alike for missing, malformed
    and not the user's."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    cell = (
        Cell.objects.select_related("wing", "wing__building", "facility")
        .annotate(occupants=_occupants())
        .filter(uuid=key)
        .first()
    )
    if cell is None or not may_see_housing(user, cell.facility_id):
        raise Http404
    return cell


def cell_occupants(*, cell: Cell) -> list[CellAssignment]:
    """The current stays in ``cell``, with the persons."""
    return list(
        CellAssignment.objects.filter(cell=cell, ended_at__isnull=True)
        .select_related("custody", "custody__person")
        .order_by("started_at", "pk")
    )


def cell_history(*, cell: Cell, limit: int = 200) -> list[CellAssignment]:
    """The past stays in ``cell``, latest first."""
    return list(
        CellAssignment.objects.filter(cell=cell, ended_at__isnull=False)
        .select_related("custody", "custody__person")
        .order_by("-ended_at", "-pk")[:limit]
    )


# -- where a prisoner may go ----------------------------------------------------------------
def _sides_present(custody: CustodyPeriod) -> dict:
    open_here = CellAssignment.objects.filter(cell=OuterRef("pk"), ended_at__isnull=True).exclude(
        custody=custody
    )
    return {
        "has_remand": Exists(open_here.filter(custody__legal_status__in=REMAND_SIDE)),
        "has_convicted": Exists(open_here.exclude(custody__legal_status__in=REMAND_SIDE)),
    }


def cell_choices(
    *, custody: CustodyPeriod, q: str = "", on: date | None = None
) -> list[tuple[Wing, list[CellRow]]]:
    """The cells of the custody period's institution where the person may go today (no
    separation rule broken, ``services.housing_breaches``) and which have room under the
    operational maximum, grouped by wing; the current cell is left out. ``q`` keeps the
    cells whose number or wing name contains it. One query."""
    on = on or timezone.localdate()
    person = custody.person
    qs = (
        Cell.objects.filter(facility_id=custody.facility_id, wing__sex=person.sex)
        .filter(Q(in_service_from__isnull=True) | Q(in_service_from__lte=on))
        .filter(Q(in_service_until__isnull=True) | Q(in_service_until__gt=on))
        .select_related("wing", "wing__building")
        .annotate(occupants=_occupants(), **_sides_present(custody))
        .order_by("wing__building__name", "wing__name", "number")
    )
    if custody.cell_id:
        qs = qs.exclude(pk=custody.cell_id)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(wing__name__icontains=q))
    groups: dict[int, tuple[Wing, list[CellRow]]] = {}
    for c in qs:
        if c.occupants >= c.operational_max:
            continue
        sides = {
            s
            for s, present in ((SIDE_REMAND, c.has_remand), (SIDE_CONVICTED, c.has_convicted))
            if present
        }
        if housing_breaches(
            sex=person.sex,
            birth_date=person.birth_date,
            legal_status=custody.legal_status,
            cell=c,
            wing=c.wing,
            on=on,
            facility_id=custody.facility_id,
            other_sides=sides,
        ):
            continue
        row = CellRow(cell=c, occupants=c.occupants, in_service=True)
        groups.setdefault(c.wing_id, (c.wing, []))[1].append(row)
    return list(groups.values())


# -- a prisoner's stays ---------------------------------------------------------------------------
def custody_housing(*, custody: CustodyPeriod) -> dict:
    """The current stay and the history of stays of a custody period (already scoped)."""
    stays = list(
        CellAssignment.objects.filter(custody=custody)
        .select_related("cell", "cell__wing")
        .order_by("-started_at", "-pk")
    )
    current = next((s for s in stays if s.ended_at is None), None)
    return {"current": current, "stays": stays}


# -- prisoners whose cell breaks a rule ---------------------------------------------------------
def _misplaced_filter(facility: Facility, on: date) -> Q:
    """Open stays that may break a rule on ``on``: a database filter that narrows the rows
    ``housing_breaches`` then explains (the tests check that both agree)."""
    juvenile = Q(custody__person__birth_date__gt=adult_cutoff(on))
    remand = Q(custody__legal_status__in=REMAND_SIDE)
    mother_child = Q(cell__special_use=SpecialUse.MOTHER_CHILD) | (
        Q(cell__special_use="") & Q(cell__wing__special_use=SpecialUse.MOTHER_CHILD)
    )
    open_stays = CellAssignment.objects.filter(cell_id=OuterRef("pk"), ended_at__isnull=True)
    mixed_cells = (
        Cell.objects.filter(facility=facility, wing__regime=Regime.MIXED)
        .filter(Exists(open_stays.filter(custody__legal_status__in=REMAND_SIDE)))
        .filter(Exists(open_stays.exclude(custody__legal_status__in=REMAND_SIDE)))
        .values("pk")
    )
    return (
        ~Q(custody__person__sex=F("cell__wing__sex"))
        | (Q(cell__wing__age_group=AgeGroup.ADULT) & juvenile)
        | (Q(cell__wing__age_group=AgeGroup.JUVENILE) & ~juvenile)
        | (Q(cell__wing__regime=Regime.CONVICTED) & remand)
        | (Q(cell__wing__regime=Regime.REMAND) & ~remand)
        | Q(cell_id__in=mixed_cells)
        | (mother_child & ~Q(custody__person__sex=PersonSex.FEMALE))
        | Q(cell__in_service_from__gt=on)
        | Q(cell__in_service_until__lte=on)
        | ~Q(cell__facility_id=facility.pk)
    )


@dataclass
class Misplaced:
    stay: CellAssignment
    breaches: list[Breach]

    @property
    def custody(self) -> CustodyPeriod:
        return self.stay.custody


def misplaced_prisoners(*, fetched_by, facility: Facility, on: date | None = None) -> list:
    """The prisoners of ``facility`` whose current cell breaks a separation rule on ``on``
    (today by default): turned 18 in a juvenile wing, convicted in a remand wing, a cell of
    a mixed wing holding both sides, a cell taken out of service... each with the rules it
    breaks. Two queries; scoped (a user who may not see the institution gets none)."""
    on = on or timezone.localdate()
    visible = CustodyPeriod.objects.visible_to(fetched_by).filter(
        facility_id=facility.pk, status=CustodyStatus.IN_CUSTODY
    )
    stays = list(
        CellAssignment.objects.filter(
            facility_id=facility.pk, ended_at__isnull=True, custody__in=visible
        )
        .filter(_misplaced_filter(facility, on))
        .select_related("custody", "custody__person", "cell", "cell__wing")
        .order_by("cell__wing__name", "cell__number", "custody__committal_number")
    )
    sides: dict[int, set[str]] = {}
    mixed = [s.cell_id for s in stays if s.cell.wing.regime == Regime.MIXED]
    if mixed:
        for cell_id, status in CellAssignment.objects.filter(
            cell_id__in=set(mixed), ended_at__isnull=True
        ).values_list("cell_id", "custody__legal_status"):
            sides.setdefault(cell_id, set()).add(
                SIDE_REMAND if status in REMAND_SIDE else SIDE_CONVICTED
            )
    out = []
    for stay in stays:
        person = stay.custody.person
        breaches = housing_breaches(
            sex=person.sex,
            birth_date=person.birth_date,
            legal_status=stay.custody.legal_status,
            cell=stay.cell,
            wing=stay.cell.wing,
            on=on,
            facility_id=facility.pk,
            other_sides=sides.get(stay.cell_id, set()),
        )
        if breaches:
            out.append(Misplaced(stay=stay, breaches=breaches))
    return out


def unhoused_prisoners(*, fetched_by, facility: Facility) -> QuerySet[CustodyPeriod]:
    """The persons in custody at ``facility`` without a cell, earliest committal first."""
    return (
        CustodyPeriod.objects.visible_to(fetched_by)
        .filter(facility_id=facility.pk, status=CustodyStatus.IN_CUSTODY, cell__isnull=True)
        .select_related("person")
        .order_by("committed_at", "pk")
    )
