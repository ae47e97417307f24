"""Registry pages: movements (transfer, temporary absences, release and its certificate,
escape and death in custody), the lists of persons out now and of an institution's
movements, and the "Movements" section of the custody record page.

Who may see a custody period or a movement is decided by the selectors (404 alike for
"missing" and "not yours"); who may act is decided by the services (``PermissionDenied`` →
403). The forms of a page are shown only to a user who holds its permission there.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from .. import sections, selectors, services
from ..constants import CustodyStatus, PropertyStatus
from ..forms.movements import (
    AbsenceEndForm,
    AbsenceStartForm,
    DeathForm,
    EscapeForm,
    MovementFilterForm,
    OutNowFilterForm,
    ReleaseForm,
    TransferForm,
)
from ..models import CustodyPeriod, PropertyItem

MOVE = services.MOVE
RELEASE = services.RELEASE
INCIDENT = services.INCIDENT
PAGE_SIZE = 100


# -- helpers ---------------------------------------------------------------------------------
def _custody_for(request, uuid, perm: str) -> CustodyPeriod:
    """The custody period (404 out of scope), 403 without ``perm`` at its institution."""
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(perm, custody.facility_id):
        raise HttpForbidden
    return custody


def _call(form, call):
    """Run one service call; a ``DomainError`` becomes a form error. Returns (result,
    status): the result is None when the service refused."""
    try:
        return call(), 200
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        field = err.field if err.field in form.fields else None
        form.add_error(field, err.message)
        return None, err.status


def _not_in_custody(request, custody):
    """A form for a prisoner who has left: back to the record, with why."""
    messages.error(
        request,
        _("This person is no longer in custody here (%(status)s).")
        % {"status": custody.get_status_display()},
    )
    return redirect("inmates:detail", uuid=custody.uuid)


def _scope_facilities(user):
    ids = selectors.movement_scope_ids(user)
    qs = Facility.objects.order_by("code")
    return qs if ids is None else qs.filter(pk__in=ids)


# -- transfer --------------------------------------------------------------------------------
@login_required
def transfer(request, uuid):
    custody = _custody_for(request, uuid, MOVE)
    if custody.status != CustodyStatus.IN_CUSTODY:
        return _not_in_custody(request, custody)
    status = 200
    if request.method == "POST":
        form = TransferForm(request.POST, custody=custody)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            new, status = _call(
                form,
                lambda: services.inmate_transfer(
                    actor=request.user,
                    custody=custody,
                    to_facility=data["to_facility"],
                    at=data["at"],
                    reason=data["reason"],
                    escort=data["escort"],
                    authority=data["authority"],
                    authority_reference=data["authority_reference"],
                ),
            )
            if new is not None:
                messages.success(
                    request,
                    _("Transferred to %(facility)s.") % {"facility": data["to_facility"]},
                )
                return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = TransferForm(custody=custody)
    return render(
        request,
        "inmates/movements/transfer.html",
        {"form": form, "custody": custody, "person": custody.person},
        status=status,
    )


# -- temporary absences ----------------------------------------------------------------------
@login_required
def absence_start(request, uuid):
    custody = _custody_for(request, uuid, MOVE)
    if custody.status != CustodyStatus.IN_CUSTODY:
        return _not_in_custody(request, custody)
    status = 200
    if request.method == "POST":
        form = AbsenceStartForm(request.POST)
        status = 400
        if form.is_valid():
            movement, status = _call(
                form,
                lambda: services.temporary_absence_start(
                    actor=request.user, custody=custody, **form.cleaned_data
                ),
            )
            if movement is not None:
                messages.success(
                    request,
                    _("Departure recorded: %(kind)s.") % {"kind": movement.get_kind_display()},
                )
                return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = AbsenceStartForm()
    return render(
        request,
        "inmates/movements/absence_start.html",
        {"form": form, "custody": custody, "person": custody.person},
        status=status,
    )


@login_required
def absence_return(request, uuid):
    movement = selectors.get_absence_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(MOVE, movement.facility_id):
        raise HttpForbidden
    custody = movement.custody
    status = 200
    if request.method == "POST":
        form = AbsenceEndForm(request.POST)
        status = 400
        if form.is_valid():
            done, status = _call(
                form,
                lambda: services.temporary_absence_end(
                    actor=request.user, movement=movement, back_at=form.cleaned_data["back_at"]
                ),
            )
            if done is not None:
                messages.success(request, _("Return recorded."))
                if request.POST.get("back") == "out_now":
                    return redirect("inmates:out_now")
                return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = AbsenceEndForm()
    return render(
        request,
        "inmates/movements/absence_return.html",
        {"form": form, "movement": movement, "custody": custody, "person": custody.person},
        status=status,
    )


@login_required
def out_now(request):
    facilities = _scope_facilities(request.user)
    form = OutNowFilterForm(request.GET, facilities=facilities)
    facility = form.cleaned_data.get("facility") if form.is_valid() else None
    absences = list(selectors.absences_out_now(fetched_by=request.user, facility=facility))
    return render(
        request,
        "inmates/movements/out_now.html",
        {
            "form": form,
            "absences": absences,
            "overdue": sum(1 for a in absences if a.overdue),
            "now": timezone.now(),
        },
    )


@login_required
def movement_history(request):
    facilities = _scope_facilities(request.user)
    form = MovementFilterForm(request.GET, facilities=facilities)
    filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    movements = selectors.movement_list(fetched_by=request.user, **filters)
    page = Paginator(movements, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.movements_with_files(page.object_list, fetched_by=request.user)
    template = (
        "inmates/movements/_movement_rows.html"
        if request.htmx
        else "inmates/movements/movement_list.html"
    )
    return render(
        request,
        template,
        {"form": form, "page": page, "movements": rows, "facility": filters.get("facility")},
    )


# -- release ---------------------------------------------------------------------------------
@login_required
def release(request, uuid):
    custody = _custody_for(request, uuid, RELEASE)
    if custody.status != CustodyStatus.IN_CUSTODY:
        return _not_in_custody(request, custody)
    status = 200
    if request.method == "POST":
        form = ReleaseForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            record, status = _call(
                form,
                lambda: services.inmate_release(
                    actor=request.user,
                    custody=custody,
                    reason=data["reason"],
                    at=data["at"],
                    authority=data["authority"],
                    decision_reference=data["decision_reference"],
                    checklist=data["checklist"],
                    note=data["note"],
                ),
            )
            if record is not None:
                messages.success(
                    request,
                    _("Released. Release certificate %(number)s.")
                    % {"number": record.certificate_number},
                )
                return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = ReleaseForm()
    kept = PropertyItem.objects.filter(
        detention_id=custody.detention_id, status=PropertyStatus.KEPT
    ).order_by("pk")
    return render(
        request,
        "inmates/movements/release.html",
        {
            "form": form,
            "custody": custody,
            "person": custody.person,
            "detention": custody.detention,
            "checklist": services.RELEASE_CHECKLIST,
            "kept_property": list(kept),
        },
        status=status,
    )


@login_required
def release_certificate(request, uuid):
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    data, filename = selectors.release_certificate_pdf(
        custody=custody, language=selectors.certificate_language(request.GET.get("lang"))
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# -- escape and death in custody -------------------------------------------------------------
def _incident_page(request, uuid, *, form_class, service, template, done_message):
    custody = _custody_for(request, uuid, INCIDENT)
    if custody.status != CustodyStatus.IN_CUSTODY:
        return _not_in_custody(request, custody)
    status = 200
    confirm = False
    if request.method == "POST":
        form = form_class(request.POST)
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            if not data.pop("confirmed"):
                confirm, status = True, 200  # show the summary to confirm
            else:
                incident, status = _call(
                    form,
                    lambda: service(actor=request.user, custody=custody, **data),
                )
                if incident is not None:
                    messages.success(request, done_message)
                    return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = form_class()
    return render(
        request,
        template,
        {"form": form, "custody": custody, "person": custody.person, "confirm": confirm},
        status=status,
    )


@login_required
def escape(request, uuid):
    return _incident_page(
        request,
        uuid,
        form_class=EscapeForm,
        service=services.inmate_escape_record,
        template="inmates/movements/escape.html",
        done_message=_("The escape is recorded; the director is notified."),
    )


@login_required
def death(request, uuid):
    return _incident_page(
        request,
        uuid,
        form_class=DeathForm,
        service=services.inmate_death_record,
        template="inmates/movements/death.html",
        done_message=_("The death in custody is recorded; the director is notified."),
    )


# -- the section of the custody record page --------------------------------------------------
@sections.register(60)
def movements_section(request, custody):
    access = access_for(request.user)
    open_ = custody.status == CustodyStatus.IN_CUSTODY
    absence = selectors.custody_open_absence(custody=custody) if open_ else None
    return {
        "template": "inmates/movements/_section.html",
        "custody": custody,
        "movements": selectors.custody_movement_list(fetched_by=request.user, custody=custody),
        "origin": selectors.transfer_origin(custody=custody),
        "release_record": None if open_ else selectors.custody_release_record(custody=custody),
        "incident": None if open_ else selectors.custody_incident(custody=custody),
        "open_absence": absence,
        "can_move": open_ and access.has_perm(MOVE, custody.facility_id),
        "can_release": open_ and absence is None and access.has_perm(RELEASE, custody.facility_id),
        "can_incident": open_ and access.has_perm(INCIDENT, custody.facility_id),
    }


urlpatterns = [
    path("movements/", movement_history, name="movements"),
    path("movements/out-now/", out_now, name="out_now"),
    path("absences/<uuid:uuid>/return/", absence_return, name="absence_return"),
    path("<uuid:uuid>/transfer/", transfer, name="transfer"),
    path("<uuid:uuid>/absence/", absence_start, name="absence_start"),
    path("<uuid:uuid>/release/", release, name="release"),
    path("<uuid:uuid>/release-certificate.pdf", release_certificate, name="release_certificate"),
    path("<uuid:uuid>/escape/", escape, name="escape"),
    path("<uuid:uuid>/death/", death, name="death"),
]
