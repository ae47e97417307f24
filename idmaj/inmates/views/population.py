"""HTML page of the population counts: per institution, regional directorate and nation at a
chosen date and time, by legal status, sex and age group, with beds, occupancy and
overcrowding. Scoped by the selector (the institutions whose prisoners the user sees)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..constants import LegalStatus, PersonSex
from ..forms.housing import PopulationForm


@login_required
def population(request: HttpRequest) -> HttpResponse:
    facilities = list(selectors.housing_facilities(fetched_by=request.user))
    form = PopulationForm(request.GET or None, facilities=facilities)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    region = data.get("region")
    report = selectors.population_report(
        fetched_by=request.user,
        at=form.moment(),
        facility=data.get("facility") or None,
        region=region.code if region else None,
    )
    context = {
        "form": form,
        "report": report,
        "legal_statuses": [
            (LegalStatus.REMAND, _("On remand")),
            (LegalStatus.CONVICTED, _("Convicted")),
            (LegalStatus.APPEALING, _("Appealing")),
        ],
        "sexes": PersonSex.choices,
    }
    template = (
        "inmates/population/_tables.html" if request.htmx else "inmates/population/population.html"
    )
    return render(request, template, context, status=200 if valid else 400)


urlpatterns = [
    path("population/", population, name="population"),
]
