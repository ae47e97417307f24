"""Reads of the facilities domain. Anything that depends on who asks takes ``fetched_by`` and
is scoped through ``Facility.objects.visible_to`` / ``access_for(...).filter`` only."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from idmaj.core.scoping import access_for, get_for_user_or_404

from .constants import HOUSING_STATUSES
from .models import (
    Building,
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    InstallationType,
    Wing,
)

# -- population (provided by the inmates registry when it exists) ---------------------------
PopulationProvider = Callable[[list[int], date], dict[int, int]]
_population_provider: PopulationProvider | None = None


def register_population_provider(fn: PopulationProvider | None) -> None:
    """Let the registry tell how many prisoners each institution held on a date.

    ``fn(facility_ids, on) -> {facility_id: population}``. ``None`` unregisters."""
    global _population_provider
    _population_provider = fn


def population_at(*, facility_ids: Iterable[int], on: date) -> dict[int, int] | None:
    """Population per institution on ``on``; ``None`` while no provider is registered."""
    if _population_provider is None:
        return None
    ids = list(facility_ids)
    if not ids:
        return {}
    return dict(_population_provider(ids, on))


def occupancy(population: int | None, beds: int | None) -> float | None:
    if population is None or not beds:
        return None
    return round(population / beds, 4)


# -- institutions ----------------------------------------------------------------------------
def _in_service(on: date, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}in_service_from__isnull": True}) | Q(**{f"{prefix}in_service_from__lte": on})
    ) & (
        Q(**{f"{prefix}in_service_until__isnull": True})
        | Q(**{f"{prefix}in_service_until__gt": on})
    )


def _with_beds(qs: QuerySet, on: date | None = None) -> QuerySet:
    """Annotate ``beds``: beds of the cells in service on ``on`` (today by default)."""
    on = on or timezone.localdate()
    beds = (
        Cell.objects.filter(_in_service(on), facility=OuterRef("pk"))
        .order_by()
        .values("facility")
        .annotate(total=Sum("beds"))
        .values("total")
    )
    return qs.annotate(beds=Coalesce(Subquery(beds, output_field=IntegerField()), Value(0)))


def facility_list(
    *,
    fetched_by,
    region: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[Facility]:
    """Institutions the user sees, with ``beds`` in service today; a constant number of
    queries whatever the number of institutions."""
    qs = Facility.objects.visible_to(fetched_by).select_related("region")
    if region:
        qs = qs.filter(region__code=region)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(current_status=status)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(code__icontains=q)
            | Q(name_ar__icontains=q)
            | Q(name_fr__icontains=q)
            | Q(city__icontains=q)
        )
    return _with_beds(qs).order_by("code")


def get_facility_for_user_or_404(*, user, code: str) -> Facility:
    """One institution by code, with ``beds`` today; 404 alike for missing and not yours."""
    qs = _with_beds(Facility.objects.select_related("region"))
    return get_for_user_or_404(qs, user, "id", code=code)


def _statuses_at(facility_ids: Iterable[int] | None, on: date) -> dict[int, str]:
    """Status of each institution on ``on`` (institutions with no status yet are absent)."""
    periods = FacilityStatusPeriod.objects.filter(since__lte=on)
    if facility_ids is not None:
        periods = periods.filter(facility_id__in=list(facility_ids))
    out: dict[int, str] = {}
    for fid, status in periods.order_by("facility_id", "since").values_list(
        "facility_id", "status"
    ):
        out[fid] = status  # the latest one wins
    return out


def facility_status_at(*, facility: Facility, on: date) -> str | None:
    period = (
        FacilityStatusPeriod.objects.filter(facility=facility, since__lte=on)
        .order_by("-since")
        .first()
    )
    return period.status if period else None


def beds_at(*, facility_ids: Iterable[int] | None, on: date) -> dict[int, dict]:
    """``{facility_id: {"beds", "operational_max"}}`` on a date, in two queries.

    Only cells in service that day count, and only at institutions that held prisoners that
    day (operating or under renovation); every institution that had a status then is in the
    answer, with zeros where nothing counts."""
    ids = list(facility_ids) if facility_ids is not None else None
    statuses = _statuses_at(ids, on)
    housing = [fid for fid, s in statuses.items() if s in HOUSING_STATUSES]
    out = {fid: {"beds": 0, "operational_max": 0} for fid in statuses}
    if housing:
        rows = (
            Cell.objects.filter(_in_service(on), facility_id__in=housing)
            .order_by()
            .values("facility_id")
            .annotate(beds=Sum("beds"), operational_max=Sum("operational_max"))
        )
        for row in rows:
            out[row["facility_id"]] = {
                "beds": row["beds"] or 0,
                "operational_max": row["operational_max"] or 0,
            }
    return out


def capacity_at(*, fetched_by, on: date, region: str | None = None) -> dict:
    """Capacity, population and occupancy on a date, per institution, per regional
    directorate and in total.

    Scoped to ``fetched_by``: the "nation" totals are totals over the institutions this user
    sees (the whole country for national roles only). Institutions without any status on
    that date (not yet planned) are left out. ``population``, ``occupancy`` and
    ``overcrowding`` are ``None`` while no population provider is registered."""
    facilities = (
        Facility.objects.visible_to(fetched_by)
        .select_related("region")
        .order_by("region__code", "code")
    )
    if region:
        facilities = facilities.filter(region__code=region)
    facilities = list(facilities)
    ids = [f.pk for f in facilities]
    statuses = _statuses_at(ids, on)
    beds = beds_at(facility_ids=ids, on=on) if ids else {}
    population = population_at(facility_ids=ids, on=on)

    def totals(rows: list[dict]) -> dict:
        b = sum(r["beds"] for r in rows)
        m = sum(r["operational_max"] for r in rows)
        if population is None:
            p = o = over = None
        else:
            p = sum(r["population"] or 0 for r in rows)
            o = occupancy(p, b)
            over = sum(r["overcrowding"] or 0 for r in rows)
        return {
            "facilities": len(rows),
            "beds": b,
            "operational_max": m,
            "population": p,
            "occupancy": o,
            "overcrowding": over,
        }

    rows: list[dict] = []
    for f in facilities:
        if f.pk not in statuses:
            continue
        b = beds.get(f.pk, {"beds": 0, "operational_max": 0})
        p = None if population is None else population.get(f.pk, 0)
        rows.append(
            {
                "facility": f,
                "status": statuses[f.pk],
                "beds": b["beds"],
                "operational_max": b["operational_max"],
                "population": p,
                "occupancy": occupancy(p, b["beds"]),
                "overcrowding": None if p is None else max(0, p - b["beds"]),
            }
        )
    regions = []
    by_region: dict[int, list[dict]] = {}
    for r in rows:
        by_region.setdefault(r["facility"].region_id, []).append(r)
    for group in by_region.values():
        regions.append({"region": group[0]["facility"].region, **totals(group)})
    return {"on": on, "facilities": rows, "regions": regions, "nation": totals(rows)}


def facility_structure(*, facility: Facility) -> list[Building]:
    """Buildings with their wings and cells prefetched (three queries)."""
    return list(
        Building.objects.filter(facility=facility)
        .order_by("name")
        .prefetch_related(
            Prefetch(
                "wings",
                queryset=Wing.objects.order_by("name").prefetch_related(
                    Prefetch("cells", queryset=Cell.objects.order_by("number"))
                ),
            )
        )
    )


def status_history(*, facility: Facility) -> QuerySet[FacilityStatusPeriod]:
    return FacilityStatusPeriod.objects.filter(facility=facility).order_by("since")


# -- projects --------------------------------------------------------------------------------
def project_list(
    *,
    fetched_by,
    kind: str | None = None,
    status: str | None = None,
    completed_year: int | None = None,
    region: str | None = None,
    facility: Facility | None = None,
) -> QuerySet[InfrastructureProject]:
    qs = access_for(fetched_by).filter(
        InfrastructureProject.objects.select_related("facility", "facility__region")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if completed_year:
        qs = qs.filter(completed_on__year=completed_year)
    if region:
        qs = qs.filter(facility__region__code=region)
    if facility is not None:
        qs = qs.filter(facility=facility)
    return qs


def projects_summary(qs: QuerySet[InfrastructureProject]) -> dict:
    """``{"count", "beds_added", "beds_restored"}`` of a project list, in one query."""
    return qs.order_by().aggregate(
        count=Count("id"),
        beds_added=Coalesce(Sum("beds_added"), Value(0)),
        beds_restored=Coalesce(Sum("beds_restored"), Value(0)),
    )


# -- installations ---------------------------------------------------------------------------
def _active_on(on: date) -> Q:
    """Active at the end of day ``on``: installed that day or before, not removed by then."""
    return Q(installed_on__lte=on) & (Q(removed_on__isnull=True) | Q(removed_on__gt=on))


def installation_list(
    *,
    fetched_by,
    type_code: str | None = None,
    on: date | None = None,
    facility: Facility | None = None,
) -> QuerySet[Installation]:
    qs = access_for(fetched_by).filter(
        Installation.objects.select_related("type", "facility", "facility__region")
    )
    if type_code:
        qs = qs.filter(type__code=type_code)
    if on is not None:
        qs = qs.filter(_active_on(on))
    if facility is not None:
        qs = qs.filter(facility=facility)
    return qs


def installation_count_at(*, fetched_by, type_code: str, on: date) -> int:
    """How many institutions had that installation at the end of day ``on``."""
    return (
        installation_list(fetched_by=fetched_by, type_code=type_code, on=on)
        .order_by()
        .values("facility_id")
        .distinct()
        .count()
    )


def installation_types() -> QuerySet[InstallationType]:
    return InstallationType.objects.order_by("code")
