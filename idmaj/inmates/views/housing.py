"""HTML pages of housing: an institution's wings and cells with their occupancy, a cell's
occupants and history, the allocation and move form, the morning count sheet; and the
housing section of the custody record page.

Each view validates a form and calls one selector or ``cell_allocate``. Who may see an
institution's housing is decided by the selectors (404 alike for "missing" and "not
yours"); who may house is decided by the service (``PermissionDenied`` → 403), and asked of
``access_for`` beforehand only to show or hide links and forms.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import sections, selectors, services
from ..constants import CustodyStatus
from ..forms.housing import AllocateForm, CellSearchForm, HousingFilterForm, MomentForm
from ..models import CustodyPeriod

HOUSE = services.HOUSE
_ZERO = uuid.UUID(int=0)
UNHOUSED_SHOWN = 50


def _can_house(user, custody: CustodyPeriod) -> bool:
    return custody.status == CustodyStatus.IN_CUSTODY and access_for(user).has_perm(
        HOUSE, custody.facility_id
    )


def _back(custody: CustodyPeriod) -> str:
    return reverse("inmates:detail", args=[custody.uuid]) + "#housing"


# -- the section of the custody record page --------------------------------------------------
@sections.register(20)
def housing_section(request: HttpRequest, custody: CustodyPeriod) -> dict:
    return {
        "template": "inmates/housing/_section.html",
        "custody": custody,
        **selectors.custody_housing(custody=custody),
        "can_house": _can_house(request.user, custody),
    }


# -- the institution's housing ------------------------------------------------------------------
@login_required
def housing_index(request: HttpRequest) -> HttpResponse:
    facilities = list(selectors.housing_facilities(fetched_by=request.user))
    if len(facilities) == 1:
        return redirect("inmates:housing", code=facilities[0].code)
    return render(request, "inmates/housing/index.html", {"facilities": facilities})


@login_required
def facility_housing(request: HttpRequest, code: str) -> HttpResponse:
    facility = selectors.get_housing_facility_for_user_or_404(user=request.user, code=code)
    form = HousingFilterForm(request.GET or None, facility=facility)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    overview = selectors.housing_overview(
        facility=facility, wing=filters.get("wing"), show=filters.get("show") or ""
    )
    context = {
        "form": form,
        "overview": overview,
        "facility": facility,
        # Built once for the 2,000 rows of a large institution (reverse() per row is slow).
        "cell_base": reverse("inmates:cell_detail", args=[_ZERO])[: -len(f"{_ZERO}/")],
        "labels": {
            "out_of_service": _("out of service"),
            "full": _("full"),
            "overcrowded": _("overcrowded"),
        },
    }
    if request.htmx and request.htmx.target == "housing-cells":
        return render(request, "inmates/housing/_cells.html", context)
    unhoused = selectors.unhoused_prisoners(fetched_by=request.user, facility=facility)
    context.update(
        {
            "misplaced": selectors.misplaced_prisoners(fetched_by=request.user, facility=facility),
            "unhoused": list(unhoused[:UNHOUSED_SHOWN]),
            "unhoused_count": unhoused.count(),
            "can_house": access_for(request.user).has_perm(HOUSE, facility.pk),
        }
    )
    return render(request, "inmates/housing/facility.html", context)


@login_required
def cell_detail(request: HttpRequest, uuid) -> HttpResponse:
    cell = selectors.get_cell_for_user_or_404(user=request.user, uuid=uuid)
    return render(
        request,
        "inmates/housing/cell.html",
        {
            "cell": cell,
            "row": selectors.CellRow(
                cell=cell,
                occupants=cell.occupants,
                in_service=services.cell_in_service_on(cell, timezone.localdate()),
            ),
            "occupants": selectors.cell_occupants(cell=cell),
            "history": selectors.cell_history(cell=cell),
        },
    )


# -- allocation and moves ---------------------------------------------------------------------
@login_required
def cell_allocate(request: HttpRequest, uuid) -> HttpResponse:
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(HOUSE, custody.facility_id):
        raise HttpForbidden
    search = CellSearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "") if search.is_bound and search.is_valid() else ""
    status = 200
    form = AllocateForm(request.POST or None, custody=custody)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.cell_allocate(
                    actor=request.user,
                    custody=custody,
                    cell=data["cell"],
                    at=data["at"],
                    reason=data["reason"],
                )
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                status = err.status
            else:
                messages.success(request, _("Housing recorded."))
                return redirect(_back(custody))
    in_custody = custody.status == CustodyStatus.IN_CUSTODY
    context = {
        "custody": custody,
        "form": form,
        "search": search,
        "q": q,
        "in_custody": in_custody,
        "choices": selectors.cell_choices(custody=custody, q=q) if in_custody else [],
        "current": selectors.custody_housing(custody=custody)["current"],
        "selected": form["cell"].value() or "",
    }
    if request.htmx and request.htmx.target == "cell-choices":
        return render(request, "inmates/housing/_choices.html", context, status=status)
    if request.htmx and request.htmx.target == "housing-form":
        return render(request, "inmates/housing/_form.html", context, status=status)
    return render(request, "inmates/housing/allocate.html", context, status=status)


# -- the morning count sheet ----------------------------------------------------------------------
@login_required
def count_sheet(request: HttpRequest, code: str) -> HttpResponse:
    facility = selectors.get_housing_facility_for_user_or_404(user=request.user, code=code)
    form = MomentForm(request.GET or None)
    at = form.moment(default_now=True) if form.is_bound else None
    sheet = selectors.count_sheet(fetched_by=request.user, facility=facility, at=at)
    return render(
        request,
        "inmates/housing/count_sheet.html",
        {"sheet": sheet, "facility": facility, "form": form},
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


urlpatterns = [
    path("housing/", housing_index, name="housing_index"),
    path("housing/<str:code>/", facility_housing, name="housing"),
    path("housing/<str:code>/count-sheet/", count_sheet, name="count_sheet"),
    path("cells/<uuid:uuid>/", cell_detail, name="cell_detail"),
    path("<uuid:uuid>/housing/", cell_allocate, name="cell_allocate"),
]
