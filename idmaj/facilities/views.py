"""HTML pages of the facilities domain: institutions, capacity, projects, installations.

Each view validates its input with a form, calls the selectors or one service of
``idmaj.facilities`` and renders. Who may see an institution is decided by the selectors
(404 alike for "missing" and "not yours"); who may change it is asked of ``access_for``
before a form is shown, and decided again by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for, get_for_user_or_404
from idmaj.core.selectors import record_history

from . import selectors, services
from .constants import FacilityStatus
from .forms import (
    BuildingForm,
    CapacityFilterForm,
    CellEditForm,
    CellForm,
    FacilityEditForm,
    FacilityFilterForm,
    InstallationFilterForm,
    InstallationForm,
    InstallationRemoveForm,
    ProjectFilterForm,
    ProjectForm,
    StatusPeriodForm,
    WingForm,
)
from .models import Cell, Facility, InfrastructureProject, Installation

EDIT = "facilities.edit"
PROJECTS = "facilities.manage_projects"
INSTALLATIONS = "facilities.manage_installations"


# -- helpers ---------------------------------------------------------------------------------
def _facility(request: HttpRequest, code: str) -> Facility:
    """The institution, or 404 when it is missing or outside the user's scope."""
    return selectors.get_facility_for_user_or_404(user=request.user, code=code)


def _require(request: HttpRequest, perm: str, facility_id: int) -> None:
    """403 for a user who sees the institution but may not change this part of it."""
    if not access_for(request.user).has_perm(perm, facility_id):
        raise HttpForbidden


def _filters(form) -> dict[str, Any]:
    """The cleaned values of a valid filter form, empty ones left out."""
    if not form.is_valid():
        return {}
    return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}


def _with_default_date(request: HttpRequest, name: str = "on"):
    data = request.GET.copy()
    if not data.get(name):
        data[name] = timezone.localdate().isoformat()
    return data


def _partial_or_page(request, page: str, partial: str, context: dict) -> HttpResponse:
    return render(request, partial if request.htmx else page, context)


def _edit(
    request: HttpRequest,
    *,
    form,
    run: Callable[[dict], Any],
    facility: Facility,
    title,
    success,
    next_url: str | None = None,
    intro=None,
) -> HttpResponse:
    """Validate, call the service, redirect with a message; or show the form again (400)."""
    if request.method == "POST":
        if form.is_valid():
            try:
                run(form.cleaned_data)
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                field = err.field if err.field in form.fields else None
                form.add_error(field, err.message)
            else:
                messages.success(request, success)
                return redirect(next_url or "facilities:detail", code=facility.code)
        status = 400
    else:
        status = 200
    return render(
        request,
        "facilities/form.html",
        {"form": form, "facility": facility, "title": title, "intro": intro},
        status=status,
    )


# -- lists -----------------------------------------------------------------------------------
@login_required
def facility_list(request):
    form = FacilityFilterForm(request.GET)
    facilities = selectors.facility_list(fetched_by=request.user, **_filters(form))
    return _partial_or_page(
        request,
        "facilities/facility_list.html",
        "facilities/_facility_rows.html",
        {"form": form, "facilities": facilities},
    )


@login_required
def capacity(request):
    form = CapacityFilterForm(_with_default_date(request))
    filters = _filters(form)
    on = filters.get("on") or timezone.localdate()
    report = selectors.capacity_at(fetched_by=request.user, on=on, region=filters.get("region"))
    return _partial_or_page(
        request,
        "facilities/capacity.html",
        "facilities/_capacity_tables.html",
        {
            "form": form,
            "report": report,
            "region_chosen": bool(filters.get("region")),
            "status_labels": dict(FacilityStatus.choices),
        },
    )


@login_required
def project_list(request):
    form = ProjectFilterForm(request.GET)
    projects = selectors.project_list(fetched_by=request.user, **_filters(form))
    return _partial_or_page(
        request,
        "facilities/project_list.html",
        "facilities/_project_rows.html",
        {
            "form": form,
            "projects": projects,
            "summary": selectors.projects_summary(projects),
        },
    )


@login_required
def installation_list(request):
    types = list(selectors.installation_types())
    form = InstallationFilterForm(_with_default_date(request), types=types)
    filters = _filters(form)
    on = filters.get("on") or timezone.localdate()
    type_code = filters.get("type_code")
    installations = selectors.installation_list(
        fetched_by=request.user, type_code=type_code, on=on
    ).order_by("facility__code", "type__code")
    count = (
        selectors.installation_count_at(fetched_by=request.user, type_code=type_code, on=on)
        if type_code
        else None
    )
    return _partial_or_page(
        request,
        "facilities/installation_list.html",
        "facilities/_installation_rows.html",
        {
            "form": form,
            "installations": installations,
            "count": count,
            "on": on,
            "type": next((t for t in types if t.code == type_code), None),
        },
    )


# -- one institution -------------------------------------------------------------------------
@login_required
def facility_detail(request, code):
    facility = _facility(request, code)
    today = timezone.localdate()
    capacity_today = selectors.capacity_at(
        fetched_by=request.user, on=today, region=facility.region.code
    )
    row = next((r for r in capacity_today["facilities"] if r["facility"].pk == facility.pk), None)
    return render(
        request,
        "facilities/facility_detail.html",
        {
            "facility": facility,
            "today": today,
            "capacity": row,
            "history": selectors.status_history(facility=facility),
            "buildings": selectors.facility_structure(facility=facility),
            "projects": selectors.project_list(fetched_by=request.user, facility=facility),
            "installations": selectors.installation_list(
                fetched_by=request.user, facility=facility
            ).order_by("type__code", "installed_on"),
            "record_history": record_history(
                fetched_by=request.user,
                object_type="facilities.facility",
                object_id=str(facility.uuid),
            ),
        },
    )


@login_required
def facility_edit(request, code):
    facility = _facility(request, code)
    _require(request, EDIT, facility.pk)
    initial = {name: getattr(facility, name) for name in FacilityEditForm.field_names}
    form = FacilityEditForm(request.POST or None, initial=initial)
    return _edit(
        request,
        form=form,
        facility=facility,
        title=_("Edit the institution"),
        success=_("The institution was saved."),
        run=lambda data: services.facility_update(actor=request.user, facility=facility, **data),
    )


@login_required
def status_add(request, code):
    facility = _facility(request, code)
    _require(request, EDIT, facility.pk)
    form = StatusPeriodForm(request.POST or None, initial={"since": timezone.localdate()})
    return _edit(
        request,
        form=form,
        facility=facility,
        title=_("Record a change of status"),
        intro=_("From this date on, the institution has this status."),
        success=_("The status was recorded."),
        run=lambda data: services.facility_status_set(
            actor=request.user, facility=facility, **data
        ),
    )


@login_required
def building_add(request, code):
    facility = _facility(request, code)
    _require(request, EDIT, facility.pk)
    return _edit(
        request,
        form=BuildingForm(request.POST or None),
        facility=facility,
        title=_("Add a building"),
        success=_("The building was added."),
        run=lambda data: services.building_create(actor=request.user, facility=facility, **data),
    )


@login_required
def wing_add(request, code):
    facility = _facility(request, code)
    _require(request, EDIT, facility.pk)
    return _edit(
        request,
        form=WingForm(request.POST or None, facility=facility),
        facility=facility,
        title=_("Add a wing"),
        success=_("The wing was added."),
        run=lambda data: services.wing_create(actor=request.user, facility=facility, **data),
    )


@login_required
def cell_add(request, code):
    facility = _facility(request, code)
    _require(request, EDIT, facility.pk)
    return _edit(
        request,
        form=CellForm(request.POST or None, facility=facility),
        facility=facility,
        title=_("Add a cell"),
        success=_("The cell was added."),
        run=lambda data: services.cell_create(actor=request.user, **data),
    )


def _scoped(model, request, *related: str, **lookup):
    """A record of an institution the user sees, with its institution; 404 otherwise."""
    qs: QuerySet = model.objects.select_related("facility", "facility__region", *related)
    return get_for_user_or_404(qs, request.user, **lookup)


@login_required
def cell_edit(request, uuid):
    cell = _scoped(Cell, request, uuid=uuid)
    _require(request, EDIT, cell.facility_id)
    initial = {name: getattr(cell, name) for name in CellEditForm.field_names}
    return _edit(
        request,
        form=CellEditForm(request.POST or None, initial=initial),
        facility=cell.facility,
        title=_("Edit cell %(number)s") % {"number": cell.number},
        success=_("The cell was saved."),
        run=lambda data: services.cell_update(actor=request.user, cell=cell, **data),
    )


@login_required
def project_add(request, code):
    facility = _facility(request, code)
    _require(request, PROJECTS, facility.pk)
    return _edit(
        request,
        form=ProjectForm(request.POST or None),
        facility=facility,
        title=_("Record an infrastructure project"),
        success=_("The project was recorded."),
        run=lambda data: services.project_record(actor=request.user, facility=facility, **data),
    )


@login_required
def project_edit(request, uuid):
    project = _scoped(InfrastructureProject, request, uuid=uuid)
    _require(request, PROJECTS, project.facility_id)
    initial = {name: getattr(project, name) for name in ProjectForm.field_names}
    return _edit(
        request,
        form=ProjectForm(request.POST or None, initial=initial),
        facility=project.facility,
        title=_("Edit the project"),
        success=_("The project was saved."),
        run=lambda data: services.project_update(actor=request.user, project=project, **data),
    )


@login_required
def installation_add(request, code):
    facility = _facility(request, code)
    _require(request, INSTALLATIONS, facility.pk)
    form = InstallationForm(
        request.POST or None,
        types=selectors.installation_types(),
        initial={"installed_on": timezone.localdate()},
    )
    return _edit(
        request,
        form=form,
        facility=facility,
        title=_("Record an installation"),
        success=_("The installation was recorded."),
        run=lambda data: services.installation_record(
            actor=request.user, facility=facility, **data
        ),
    )


@login_required
def installation_remove(request, uuid):
    installation = _scoped(Installation, request, "type", uuid=uuid)
    _require(request, INSTALLATIONS, installation.facility_id)
    return _edit(
        request,
        form=InstallationRemoveForm(
            request.POST or None, initial={"removed_on": timezone.localdate()}
        ),
        facility=installation.facility,
        title=_("Remove an installation"),
        intro=_("%(type)s, installed on %(date)s: from which date is it out of use?")
        % {"type": installation.type.name, "date": installation.installed_on.isoformat()},
        success=_("The installation was recorded as removed."),
        run=lambda data: services.installation_remove(
            actor=request.user, installation=installation, **data
        ),
    )
