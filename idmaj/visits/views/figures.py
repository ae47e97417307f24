"""The page of visit figures (``visits:figures``): per institution and month, bookings by
channel, no-shows, occupancy of the sessions, completed visits; totals per directorate and
for the country; the institutions where online booking is live; CSV export (``?format=csv``).
Scoped by ``visits.reports`` (national, regional or institution holders)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from .. import selectors
from ..forms.gate import FiguresForm


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    regions = selectors.figures_regions(fetched_by=request.user)
    facilities = selectors.figures_facilities(fetched_by=request.user)
    form = FiguresForm(request.GET or None, regions=regions, facilities=facilities)
    first, last = selectors.default_months()
    values = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            values = form.cleaned_data
        else:
            status = 400
    month_from = values.get("month_from")
    month_to = values.get("month_to")
    if month_from is None and month_to is None:
        month_from, month_to = first, last
    month_from = month_from or month_to
    month_to = month_to or month_from
    data = selectors.visit_figures(
        fetched_by=request.user,
        month_from=month_from,
        month_to=month_to,
        region=values.get("region"),
        facility=values.get("facility"),
    )
    if request.GET.get("format") == "csv":
        if status != 200:
            raise Http404
        response = HttpResponse(selectors.figures_csv(data), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="visit-figures-{month_from:%Y-%m}-{month_to:%Y-%m}.csv"'
        )
        return response
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "visits/figures/figures.html",
        {
            "form": form,
            "figures": data,
            "csv_query": query.urlencode(),
            "many_regions": len(data["regions"]) > 1,
        },
        status=status,
    )


urlpatterns = [path("figures/", figures, name="figures")]
