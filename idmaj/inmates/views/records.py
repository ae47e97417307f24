"""Registry pages: records (Mandela rule 7 at admission and corrections of the record).

* sections of the custody record page: the admission (alerts, notices to the family), the
  family and contacts (a read of third parties' data, audited), the personal property;
* pages: identity and photo correction, committal correction, family member add/edit/
  remove, property deposit and return, notice to the family, the admission alerts with
  their acknowledgement; the photo itself, served to those who may see the custody period;
* the dashboard widget listing the open admission alerts of the user's institutions.

Each page validates with a form, calls one service and redirects to the custody record;
a ``DomainError`` is shown next to its field with what was typed kept.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from idmaj.core import dashboard
from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import sections, selectors, services
from ..constants import CustodyStatus, PropertyStatus
from ..forms.records import (
    AdmissionNoticeForm,
    AlertAcknowledgeForm,
    CommittalEditForm,
    FamilyMemberForm,
    PersonEditForm,
    PhotoForm,
    PropertyItemForm,
    PropertyReturnForm,
)
from ..models import FamilyMember

ALERTS = "inmates.alerts"
EDIT = "inmates.edit"


# -- helpers ---------------------------------------------------------------------------------
def _custody(request, uuid):
    return selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)


def _detail(custody, anchor: str = "") -> str:
    url = reverse("inmates:detail", args=[custody.uuid])
    return f"{url}#{anchor}" if anchor else url


def _submit(form, call: Callable) -> tuple[object | None, int]:
    """Validate ``form`` and call the service with its cleaned data: (result, 200), or
    (None, status) with the error added next to its field (what was typed is kept)."""
    if not form.is_valid():
        return None, 400
    try:
        return call(form.cleaned_data), 200
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.status


def _require_keeper(request, custody, perm: str | None = None) -> None:
    """403 unless the user may write this record (the services check again); a custody
    period that has ended here is read-only."""
    if custody.status != CustodyStatus.IN_CUSTODY:
        raise HttpForbidden
    access = access_for(request.user)
    allowed = (
        access.has_perm(perm, custody.facility_id)
        if perm
        else selectors.may_keep_records(request.user, custody)
    )
    if not allowed:
        raise HttpForbidden


# -- sections of the custody record page -----------------------------------------------------
@sections.register(10)
def admission_alerts_section(request, custody) -> dict | None:
    """Mandela rule 7: the director's alerts raised at this admission, to those who may
    read the injuries and complaint recorded (the committal card shows the facts)."""
    if not selectors.may_see_admission_findings(request.user, custody):
        return None
    alerts = list(custody.admission_alerts.select_related("acknowledged_by"))
    if not alerts:
        return None
    return {
        "template": "inmates/records/_section_alerts.html",
        "custody": custody,
        "alerts": alerts,
        "can_acknowledge": access_for(request.user).has_perm(ALERTS, custody.facility_id),
    }


@sections.register(11)
def family_section(request, custody) -> dict:
    """Family and contacts, while the person is held here (reading them is audited), and
    how the family was told of the admission."""
    in_custody = custody.status == CustodyStatus.IN_CUSTODY
    members = (
        selectors.family_member_list(fetched_by=request.user, custody=custody)
        if in_custody
        else None
    )
    can_keep = selectors.may_keep_records(request.user, custody)
    return {
        "template": "inmates/records/_section_family.html",
        "custody": custody,
        "members": members,
        "notices": selectors.admission_notice_list(
            fetched_by=request.user, custody=custody, record_read=not in_custody
        ),
        "can_keep": can_keep,
        "notice_form": AdmissionNoticeForm(members=_member_choices(custody)) if can_keep else None,
    }


@sections.register(60)
def property_section(request, custody) -> dict:
    """The personal property of the detention: the inventory and its forms."""
    items = list(selectors.property_item_list(fetched_by=request.user, custody=custody))
    can_keep = selectors.may_keep_records(request.user, custody)
    return {
        "template": "inmates/records/_section_property.html",
        "custody": custody,
        "items": items,
        "kept": PropertyStatus.KEPT,
        "can_keep": can_keep,
        "property_form": PropertyItemForm() if can_keep else None,
    }


def _member_choices(custody):
    return FamilyMember.objects.filter(person_id=custody.person_id).order_by("pk")


# -- dashboard widget ------------------------------------------------------------------------
@dashboard.register(20)
def admission_alerts_widget(request) -> dict | None:
    """The open admission alerts of the institutions where the user holds
    ``inmates.alerts`` (the director's in-interface alert)."""
    if not access_for(request.user).has_perm(ALERTS):
        return None
    qs = selectors.admission_alert_list(fetched_by=request.user, open_only=True)
    alerts = list(qs[:10])
    return {
        "title": _("Admission alerts"),
        "template": "inmates/records/_widget_alerts.html",
        "alerts": alerts,
        "open_count": len(alerts) if len(alerts) < 10 else qs.count(),
        "url": reverse("inmates:alerts"),
    }


# -- identity, photo, committal --------------------------------------------------------------
@login_required
def person_edit(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody, EDIT)
    person = custody.person
    status = 200
    if request.method == "POST":
        form = PersonEditForm.for_person(person, request.POST)
        result, status = _submit(
            form,
            lambda data: services.person_update(
                actor=request.user, custody=custody, changes=form.changes()
            ),
        )
        if result is not None:
            messages.success(request, _("The identity was corrected."))
            return redirect(_detail(custody, "identity"))
    else:
        form = PersonEditForm.for_person(person)
    return render(
        request,
        "inmates/records/person_edit.html",
        {"custody": custody, "person": person, "form": form, "photo_form": PhotoForm()},
        status=status,
    )


@login_required
@require_POST
def photo_upload(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody)
    form = PhotoForm(request.POST, request.FILES)
    result, status = _submit(
        form,
        lambda data: services.person_photo_set(
            actor=request.user, custody=custody, upload=data["photo"]
        ),
    )
    if result is not None:
        messages.success(request, _("The photo was saved."))
        return redirect(_detail(custody, "identity"))
    can_edit = access_for(request.user).has_perm(EDIT, custody.facility_id)
    return render(
        request,
        "inmates/records/person_edit.html",
        {
            "custody": custody,
            "person": custody.person,
            "form": PersonEditForm.for_person(custody.person) if can_edit else None,
            "photo_form": form,
        },
        status=status,
    )


@login_required
def photo(request, uuid):
    """The person's photo, to users who may see this custody period (404 otherwise, and
    when there is none). Never served from the media root directly."""
    custody = _custody(request, uuid)
    photo = custody.person.photo
    if not photo:
        raise Http404
    try:
        fh = photo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(photo.name)[0] or "application/octet-stream"
    response = FileResponse(fh, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


@login_required
def committal_edit(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody, EDIT)
    status = 200
    if request.method == "POST":
        form = CommittalEditForm.for_custody(custody, request.POST)
        result, status = _submit(
            form,
            lambda data: services.custody_update(
                actor=request.user, custody=custody, changes=form.changes()
            ),
        )
        if result is not None:
            messages.success(request, _("The committal was corrected."))
            return redirect(_detail(custody))
    else:
        form = CommittalEditForm.for_custody(custody)
    return render(
        request,
        "inmates/records/committal_edit.html",
        {"custody": custody, "form": form},
        status=status,
    )


# -- family and contacts ---------------------------------------------------------------------
@login_required
def family_add(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody)
    status = 200
    if request.method == "POST":
        form = FamilyMemberForm(request.POST)
        result, status = _submit(
            form,
            lambda data: services.family_member_add(
                actor=request.user, custody=custody, **form.values()
            ),
        )
        if result is not None:
            messages.success(request, _("The family member was added."))
            return redirect(_detail(custody, "family"))
    else:
        form = FamilyMemberForm()
    return render(
        request,
        "inmates/records/family_form.html",
        {"custody": custody, "form": form, "member": None},
        status=status,
    )


@login_required
def family_edit(request, uuid, member_uuid):
    custody = _custody(request, uuid)
    member = selectors.get_family_member_for_user_or_404(
        user=request.user, custody=custody, uuid=member_uuid
    )
    _require_keeper(request, custody)
    status = 200
    if request.method == "POST":
        form = FamilyMemberForm.for_member(member, request.POST)
        result, status = _submit(
            form,
            lambda data: services.family_member_update(
                actor=request.user, custody=custody, member=member, changes=form.values()
            ),
        )
        if result is not None:
            messages.success(request, _("The family member was changed."))
            return redirect(_detail(custody, "family"))
    else:
        form = FamilyMemberForm.for_member(member)
    return render(
        request,
        "inmates/records/family_form.html",
        {"custody": custody, "form": form, "member": member},
        status=status,
    )


@login_required
@require_POST
def family_remove(request, uuid, member_uuid):
    custody = _custody(request, uuid)
    member = selectors.get_family_member_for_user_or_404(
        user=request.user, custody=custody, uuid=member_uuid
    )
    _require_keeper(request, custody)
    try:
        services.family_member_remove(actor=request.user, custody=custody, member=member)
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("The family member was removed."))
    return redirect(_detail(custody, "family"))


@login_required
def notice_add(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody)
    members = _member_choices(custody)
    status = 200
    if request.method == "POST":
        form = AdmissionNoticeForm(request.POST, members=members)
        result, status = _submit(
            form,
            lambda data: services.admission_notice_record(
                actor=request.user,
                custody=custody,
                family_member=data["family_member"],
                channel=data["channel"],
                note=data["note"],
            ),
        )
        if result is not None:
            messages.success(request, _("The notice to the family was recorded."))
            return redirect(_detail(custody, "family"))
    else:
        form = AdmissionNoticeForm(members=members)
    return render(
        request,
        "inmates/records/notice_form.html",
        {"custody": custody, "form": form},
        status=status,
    )


# -- personal property -----------------------------------------------------------------------
@login_required
def property_add(request, uuid):
    custody = _custody(request, uuid)
    _require_keeper(request, custody)
    status = 200
    if request.method == "POST":
        form = PropertyItemForm(request.POST)
        result, status = _submit(
            form,
            lambda data: services.property_item_add(actor=request.user, custody=custody, **data),
        )
        if result is not None:
            messages.success(request, _("The item was added to the inventory."))
            return redirect(_detail(custody, "property"))
    else:
        form = PropertyItemForm()
    return render(
        request,
        "inmates/records/property_form.html",
        {"custody": custody, "form": form},
        status=status,
    )


@login_required
def property_return(request, uuid, item_uuid):
    custody = _custody(request, uuid)
    item = selectors.get_property_item_for_user_or_404(
        user=request.user, custody=custody, uuid=item_uuid
    )
    access = access_for(request.user)
    if not any(access.has_perm(c, item.facility_id) for c in services.PROPERTY_RETURN_PERMISSIONS):
        raise HttpForbidden
    status = 200
    if request.method == "POST":
        form = PropertyReturnForm(request.POST)
        result, status = _submit(
            form,
            lambda data: services.property_item_return(actor=request.user, item=item, **data),
        )
        if result is not None:
            messages.success(request, _("The item left storage."))
            return redirect(_detail(custody, "property"))
    else:
        form = PropertyReturnForm()
    return render(
        request,
        "inmates/records/property_return.html",
        {"custody": custody, "item": item, "form": form},
        status=status,
    )


# -- admission alerts ------------------------------------------------------------------------
@login_required
def alerts(request):
    """The admission alerts of the user's institutions, open first."""
    if not access_for(request.user).has_perm(ALERTS):
        raise HttpForbidden
    qs = selectors.admission_alert_list(fetched_by=request.user)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inmates/records/alerts.html",
        {"page": page, "form": AlertAcknowledgeForm()},
    )


@login_required
def alert_detail(request, alert_uuid):
    """One alert, and its acknowledgement form while open."""
    alert = selectors.get_admission_alert_for_user_or_404(user=request.user, uuid=alert_uuid)
    status = 200
    if request.method == "POST":
        form = AlertAcknowledgeForm(request.POST)
        result, status = _submit(
            form,
            lambda data: services.admission_alert_acknowledge(
                actor=request.user, alert=alert, action_taken=data["action_taken"]
            ),
        )
        if result is not None:
            messages.success(request, _("The alert was acknowledged."))
            return redirect("inmates:alerts")
    else:
        form = AlertAcknowledgeForm()
    return render(
        request,
        "inmates/records/alert_detail.html",
        {"alert": alert, "form": form},
        status=status,
    )


urlpatterns = [
    path("alerts/", alerts, name="alerts"),
    path("alerts/<uuid:alert_uuid>/", alert_detail, name="alert-detail"),
    path("<uuid:uuid>/identity/", person_edit, name="person-edit"),
    path("<uuid:uuid>/photo/", photo, name="photo"),
    path("<uuid:uuid>/photo/upload/", photo_upload, name="photo-upload"),
    path("<uuid:uuid>/committal/", committal_edit, name="committal-edit"),
    path("<uuid:uuid>/family/add/", family_add, name="family-add"),
    path("<uuid:uuid>/family/<uuid:member_uuid>/", family_edit, name="family-edit"),
    path("<uuid:uuid>/family/<uuid:member_uuid>/remove/", family_remove, name="family-remove"),
    path("<uuid:uuid>/notices/add/", notice_add, name="notice-add"),
    path("<uuid:uuid>/property/add/", property_add, name="property-add"),
    path("<uuid:uuid>/property/<uuid:item_uuid>/return/", property_return, name="property-return"),
]
