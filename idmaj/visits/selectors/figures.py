"""Visit figures per institution and month: how bookings were made (online, desk, phone,
walk-in), no-shows, occupancy of the sessions, visits completed; and the institutions where
online booking is live.

Scoped by ``visits.reports``: a national holder sees every institution, a regional one the
institutions of their directorates, an institution's staff their own. Two aggregate queries
(bookings, sessions) grouped by institution and month, whatever the number of institutions,
then sums in Python for the institution, regional and national views. Reports read through
here only (a read replica can serve them).

Definitions:

* a booking counts in the month of its session's date; cancelled bookings (by the family,
  the staff or a change of circumstances, and those replaced by a change) are counted apart
  and in none of the channels;
* no-show rate: no-shows over the bookings (not cancelled) of sessions that have begun;
* occupancy: places taken (``booked_visits`` + ``extra_visits`` of the sessions) over the
  sessions' capacity in visits, sessions cancelled left out.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility, Region

from ..constants import BookingChannel, BookingStatus
from ..models import Booking, VisitPolicy, VisitSession

__all__ = [
    "FIGURES_PERMISSION",
    "FigureRow",
    "parse_month",
    "month_end",
    "default_months",
    "figures_regions",
    "figures_facilities",
    "visit_figures",
    "figures_csv",
    "figures_as_data",
]

FIGURES_PERMISSION = "visits.reports"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str | None) -> date | None:
    """``YYYY-MM`` → the first day of that month; ``None`` when empty or malformed."""
    m = _MONTH.match((value or "").strip())
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        return None
    return date(year, month, 1)


def month_end(first: date) -> date:
    """The last day of ``first``'s month."""
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def default_months(today: date | None = None) -> tuple[date, date]:
    """The months shown when none are asked for: this month and the five before."""
    today = today or timezone.localdate()
    to = today.replace(day=1)
    year, month = divmod(to.year * 12 + to.month - 1 - 5, 12)
    return date(year, month + 1, 1), to


@dataclass
class FigureRow:
    """The figures of one institution and month, or a sum of such rows."""

    online: int = 0
    desk: int = 0
    phone: int = 0
    walk_in: int = 0
    cancelled: int = 0
    completed: int = 0
    no_shows: int = 0
    due: int = 0  # bookings (not cancelled) of sessions that have begun
    sessions: int = 0
    capacity: int = 0
    taken: int = 0
    facility: Facility | None = None
    region: Region | None = None
    month: date | None = None
    label: str = ""
    facilities: set = field(default_factory=set)

    _SUMMED = (
        "online",
        "desk",
        "phone",
        "walk_in",
        "cancelled",
        "completed",
        "no_shows",
        "due",
        "sessions",
        "capacity",
        "taken",
    )

    def add(self, other: FigureRow) -> FigureRow:
        for name in self._SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.facility is not None:
            self.facilities.add(other.facility.pk)
        self.facilities |= other.facilities
        return self

    @property
    def booked(self) -> int:
        return self.online + self.desk + self.phone + self.walk_in

    @property
    def online_share(self) -> float | None:
        return round(self.online / self.booked, 4) if self.booked else None

    @property
    def no_show_rate(self) -> float | None:
        return round(self.no_shows / self.due, 4) if self.due else None

    @property
    def occupancy(self) -> float | None:
        return round(self.taken / self.capacity, 4) if self.capacity else None

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self._SUMMED}
        out.update(
            booked=self.booked,
            online_share=self.online_share,
            no_show_rate=self.no_show_rate,
            occupancy=self.occupancy,
        )
        return out


def _scope_ids(user) -> frozenset[int] | None:
    access = access_for(user)
    if not access.has_perm(FIGURES_PERMISSION, None):
        raise Http404
    return access.perm_facility_ids(FIGURES_PERMISSION)


def figures_facilities(*, fetched_by, region: Region | None = None):
    """Institutions whose figures the user sees (optionally of one directorate)."""
    ids = _scope_ids(fetched_by)
    qs = Facility.objects.select_related("region").order_by("code")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if region is not None:
        qs = qs.filter(region_id=region.pk)
    return qs


def figures_regions(*, fetched_by):
    """Regional directorates with at least one institution whose figures the user sees."""
    ids = _scope_ids(fetched_by)
    qs = Region.objects.order_by("code")
    if ids is not None:
        qs = qs.filter(facilities__pk__in=ids).distinct()
    return qs


def _scoped(qs, ids, region, facility, prefix: str = ""):
    if ids is not None:
        qs = qs.filter(**{f"{prefix}facility_id__in": ids})
    if region is not None:
        qs = qs.filter(**{f"{prefix}facility__region_id": region.pk})
    if facility is not None:
        qs = qs.filter(**{f"{prefix}facility_id": facility.pk})
    return qs


def visit_figures(
    *,
    fetched_by,
    month_from: date,
    month_to: date,
    region: Region | None = None,
    facility: Facility | None = None,
    now=None,
) -> dict:
    """The figures of the months ``month_from``..``month_to`` (first days of months, both
    included) of the institutions the user sees, optionally one directorate's or one
    institution's. Returns::

        {"rows": [FigureRow per institution and month], "facilities": [per institution],
         "regions": [per directorate], "months": [per month], "total": FigureRow,
         "online_live": [institutions where online booking is live], ...}
    """
    ids = _scope_ids(fetched_by)
    if month_to < month_from:
        month_from, month_to = month_to, month_from
    start, end = month_from, month_end(month_to)
    now = now or timezone.now()
    live = ~Q(status=BookingStatus.CANCELLED)

    bookings = (
        _scoped(Booking.objects.all(), ids, region, facility)
        .filter(session__date__gte=start, session__date__lte=end)
        .annotate(month=TruncMonth("session__date"))
        .values("facility_id", "month")
        .annotate(
            online=Count("pk", filter=live & Q(channel=BookingChannel.ONLINE)),
            desk=Count("pk", filter=live & Q(channel=BookingChannel.DESK)),
            phone=Count("pk", filter=live & Q(channel=BookingChannel.PHONE)),
            walk_in=Count("pk", filter=live & Q(channel=BookingChannel.WALK_IN)),
            cancelled=Count("pk", filter=Q(status=BookingStatus.CANCELLED)),
            completed=Count("pk", filter=Q(status=BookingStatus.COMPLETED)),
            no_shows=Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
            due=Count("pk", filter=live & Q(session__starts_at__lte=now)),
        )
        .order_by()
    )
    sessions = (
        _scoped(VisitSession.objects.all(), ids, region, facility)
        .filter(date__gte=start, date__lte=end, cancelled_at__isnull=True)
        .annotate(month=TruncMonth("date"))
        .values("facility_id", "month")
        .annotate(
            sessions=Count("pk"),
            capacity=Sum("capacity_visits"),
            taken=Sum(F("booked_visits") + F("extra_visits")),
        )
        .order_by()
    )

    cells: dict[tuple[int, date], FigureRow] = {}

    def cell(values: dict) -> FigureRow:
        month = values["month"]
        if hasattr(month, "date") and callable(month.date):  # a datetime on some backends
            month = month.date()
        return cells.setdefault((values["facility_id"], month), FigureRow(month=month))

    for values in bookings:
        row = cell(values)
        for name in ("online", "desk", "phone", "walk_in", "cancelled", "completed"):
            setattr(row, name, values[name])
        row.no_shows, row.due = values["no_shows"], values["due"]
    for values in sessions:
        row = cell(values)
        row.sessions = values["sessions"]
        row.capacity = values["capacity"] or 0
        row.taken = values["taken"] or 0

    policies = _scoped(
        VisitPolicy.objects.filter(online_booking=True), ids, region, facility
    ).values_list("facility_id", flat=True)
    live_ids = set(policies)
    facility_by_id = {
        f.pk: f
        for f in Facility.objects.select_related("region").filter(
            pk__in={fid for fid, _m in cells} | live_ids
        )
    }

    rows = []
    per_facility: dict[int, FigureRow] = {}
    per_region: dict[int, FigureRow] = {}
    per_month: dict[date, FigureRow] = {}
    total = FigureRow()
    for (fid, month), row in sorted(
        cells.items(), key=lambda kv: (facility_by_id[kv[0][0]].code, kv[0][1])
    ):
        fac = facility_by_id[fid]
        row.facility, row.region = fac, fac.region
        rows.append(row)
        per_facility.setdefault(fid, FigureRow(facility=fac, region=fac.region)).add(row)
        per_region.setdefault(fac.region_id, FigureRow(region=fac.region)).add(row)
        per_month.setdefault(month, FigureRow(month=month)).add(row)
        total.add(row)
    online_live = sorted((facility_by_id[i] for i in live_ids), key=lambda f: f.code)
    return {
        "month_from": month_from,
        "month_to": month_to,
        "region": region,
        "facility": facility,
        "rows": rows,
        "facilities": sorted(per_facility.values(), key=lambda r: r.facility.code),
        "regions": sorted(per_region.values(), key=lambda r: r.region.code),
        "months": [per_month[m] for m in sorted(per_month)],
        "total": total,
        "online_live": online_live,
        "online_live_count": len(online_live),
    }


CSV_COLUMNS = (
    "month",
    "region",
    "facility",
    "online",
    "desk",
    "phone",
    "walk_in",
    "booked",
    "cancelled",
    "completed",
    "no_shows",
    "no_show_rate",
    "sessions",
    "capacity",
    "taken",
    "occupancy",
    "online_booking_live",
)


def figures_csv(figures: dict) -> str:
    """The rows (institution and month) as CSV text, header in English codes (stable for
    spreadsheets and scripts; the page carries the translated headings)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    live = {f.pk for f in figures["online_live"]}
    for row in figures["rows"]:
        d = row.as_dict()
        writer.writerow(
            [
                row.month.strftime("%Y-%m"),
                row.region.code if row.region else "",
                row.facility.code,
                *(d[c] for c in CSV_COLUMNS[3:-1]),
                "yes" if row.facility.pk in live else "no",
            ]
        )
    return out.getvalue()


def _month_text(month: date) -> str:
    return month.strftime("%Y-%m")


def figures_as_data(figures: dict) -> dict:
    """The figures as plain data (the API's answer)."""

    def fac(row: FigureRow) -> dict:
        return {"facility": row.facility.code, "region": row.region.code if row.region else ""}

    return {
        "month_from": _month_text(figures["month_from"]),
        "month_to": _month_text(figures["month_to"]),
        "rows": [{**r.as_dict(), **fac(r), "month": _month_text(r.month)} for r in figures["rows"]],
        "facilities": [{**r.as_dict(), **fac(r)} for r in figures["facilities"]],
        "regions": [
            {**r.as_dict(), "region": r.region.code, "facilities": len(r.facilities)}
            for r in figures["regions"]
        ],
        "months": [{**r.as_dict(), "month": _month_text(r.month)} for r in figures["months"]],
        "total": figures["total"].as_dict(),
        "online_live_count": figures["online_live_count"],
        "online_live": figures["online_live"],
    }
