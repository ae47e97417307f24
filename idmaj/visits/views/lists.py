"""Staff pages of the visitor lists.

* ``visits:requests``: the queue of requests of the user's institutions (pending first,
  oldest first), filtered by status and institution;
* ``visits:request_detail``: one request: prisoner, relationship, children, the supporting
  document (download, audited), the approval and refusal forms;
* ``visits:visitor_list``: the list of one prisoner (custody UUID), with restrictions;
* ``visits:visitor``: one visitor, their restrictions (history), add / lift, removal, and
  the decision on a pending child.

Each form posts to its own address, calls one service and redirects; a ``DomainError`` is
shown as a page message (or next to its field).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from .. import selectors, services
from ..constants import RequestStatus, VisitorStatus
from ..forms.lists import ChildAddForm, ReasonForm, RefuseForm, RestrictionForm
from ..models import Visitor
from ..services._common import current_custody

VIEW = "visits.view"
MANAGE = "visits.manage"


def _require_view(request) -> None:
    if not access_for(request.user).has_perm(VIEW):
        raise HttpForbidden


def _can_manage(request, facility_id: int) -> bool:
    return access_for(request.user).has_perm(MANAGE, facility_id)


def _call(request, fn, success: str) -> bool:
    """Call a service: a page message either way; ``PermissionDenied`` becomes 403."""
    try:
        fn()
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        messages.error(request, err.message)
        return False
    messages.success(request, success)
    return True


def _form_error(request, form) -> None:
    for errors in form.errors.values():
        for e in errors:
            messages.error(request, e)


def _facilities(user):
    ids = access_for(user).perm_facility_ids(VIEW)
    qs = Facility.objects.order_by("code")
    return qs if ids is None else qs.filter(pk__in=ids)


# -- requests ----------------------------------------------------------------------------------
@login_required
def requests(request):
    """The queue of requests (pending by default)."""
    _require_view(request)
    status = request.GET.get("status", RequestStatus.PENDING)
    if status not in RequestStatus.values and status != "all":
        status = RequestStatus.PENDING
    facilities = list(_facilities(request.user))
    facility = None
    code = request.GET.get("facility", "")
    if code:
        facility = next((f for f in facilities if f.code == code), None)
    qs = selectors.visitor_request_list(
        fetched_by=request.user,
        facility=facility,
        status=None if status == "all" else status,
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "visits/lists/requests.html",
        {
            "page": page,
            "status": status,
            "statuses": RequestStatus.choices,
            "facilities": facilities,
            "facility": facility,
        },
    )


def _request(request, uuid):
    return selectors.get_visitor_request_for_user_or_404(user=request.user, uuid=uuid)


@login_required
def request_detail(request, uuid):
    req = _request(request, uuid)
    visitors = list(req.visitors.select_related("guardian").order_by("guardian_id", "full_name"))
    can_decide = req.status == RequestStatus.PENDING and _can_manage(request, req.facility_id)
    return render(
        request,
        "visits/lists/request_detail.html",
        {
            "req": req,
            "prisoner": selectors.person_name(req.detention.person),
            "visitors": visitors,
            "can_decide": can_decide,
            "refuse_form": RefuseForm() if can_decide else None,
        },
    )


@login_required
@require_POST
def request_approve(request, uuid):
    req = _request(request, uuid)
    _call(
        request,
        lambda: services.visitor_request_approve(actor=request.user, request=req),
        _("The request was approved: the visitors are on the list."),
    )
    return redirect("visits:request_detail", uuid=req.uuid)


@login_required
@require_POST
def request_refuse(request, uuid):
    req = _request(request, uuid)
    form = RefuseForm(request.POST)
    if form.is_valid():
        _call(
            request,
            lambda: services.visitor_request_refuse(
                actor=request.user, request=req, reason=form.cleaned_data["reason"]
            ),
            _("The request was refused; the family is told why."),
        )
    else:
        _form_error(request, form)
    return redirect("visits:request_detail", uuid=req.uuid)


@login_required
def request_document(request, uuid):
    req = _request(request, uuid)
    return selectors.visitor_request_document_response(fetched_by=request.user, request=req)


# -- lists and visitors ------------------------------------------------------------------------
@login_required
def visitor_list(request, uuid):
    """One prisoner's visitor list (by custody period)."""
    custody = selectors.custody_for_visits_or_404(user=request.user, uuid=uuid)
    visitors = selectors.visitor_list_for_custody(fetched_by=request.user, custody=custody)
    return render(
        request,
        "visits/lists/visitor_list.html",
        {
            "custody": custody,
            "prisoner": selectors.person_name(custody.person),
            "visitors": visitors,
            "on_list": sum(1 for v in visitors if v.status == VisitorStatus.APPROVED),
            "pending": sum(1 for v in visitors if v.status == VisitorStatus.PENDING),
            "policy": selectors.policy_or_default(custody.facility),
            "can_manage": _can_manage(request, custody.facility_id),
        },
    )


def _visitor(request, uuid) -> Visitor:
    return selectors.get_visitor_for_user_or_404(user=request.user, uuid=uuid)


def _back(visitor: Visitor) -> str:
    return reverse("visits:visitor", args=[visitor.uuid])


@login_required
def visitor(request, uuid):
    v = _visitor(request, uuid)
    can_manage = _can_manage(request, v.facility_id) and v.status in (
        VisitorStatus.APPROVED,
        VisitorStatus.PENDING,
    )
    history = list(selectors.visitor_restriction_list(fetched_by=request.user, visitor=v))
    today = timezone.localdate()
    active = {r.pk for r in selectors.visitor_active_restrictions(v, today)}
    for r in history:
        r.in_force = r.pk in active
        r.ended = r.lifted_at is not None or (r.ends_on is not None and r.ends_on < today)
    custody = current_custody(v.detention_id)
    children = (
        list(Visitor.objects.filter(guardian=v).order_by("full_name")) if not v.guardian_id else []
    )
    return render(
        request,
        "visits/lists/visitor.html",
        {
            "v": v,
            "custody": custody,
            "prisoner": selectors.person_name(v.detention.person),
            "history": history,
            "children": children,
            "can_manage": can_manage,
            "restriction_form": RestrictionForm(visitor=v) if can_manage else None,
            "reason_form": ReasonForm(auto_id="remove_%s") if can_manage else None,
            "child_form": ChildAddForm(auto_id="child_%s")
            if can_manage and v.account_id and v.status == VisitorStatus.APPROVED
            else None,
            "can_decide": can_manage
            and v.status == VisitorStatus.PENDING
            and not (v.request_id and v.request.status == RequestStatus.PENDING),
        },
    )


@login_required
@require_POST
def restriction_add(request, uuid):
    v = _visitor(request, uuid)
    form = RestrictionForm(request.POST, visitor=v)
    if form.is_valid():
        d = form.cleaned_data
        _call(
            request,
            lambda: services.restriction_add(
                actor=request.user,
                visitor=v,
                kind=d["kind"],
                reason=d["reason"],
                starts_on=d["starts_on"],
                ends_on=d.get("ends_on"),
                child=d.get("child"),
            ),
            _("The restriction was recorded."),
        )
    else:
        _form_error(request, form)
    return redirect(_back(v))


@login_required
@require_POST
def restriction_lift(request, uuid):
    r = selectors.get_restriction_for_user_or_404(user=request.user, uuid=uuid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        _call(
            request,
            lambda: services.restriction_lift(
                actor=request.user, restriction=r, reason=form.cleaned_data["reason"]
            ),
            _("The restriction was lifted."),
        )
    else:
        _form_error(request, form)
    return redirect(_back(r.visitor))


@login_required
@require_POST
def visitor_remove(request, uuid):
    v = _visitor(request, uuid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        _call(
            request,
            lambda: services.visitor_remove(
                actor=request.user, visitor=v, reason=form.cleaned_data["reason"]
            ),
            _("The visitor was removed from the list."),
        )
    else:
        _form_error(request, form)
    return redirect(_back(v))


@login_required
@require_POST
def visitor_decide(request, uuid, decision):
    v = _visitor(request, uuid)
    fn = services.visitor_approve if decision == "approve" else services.visitor_refuse
    _call(
        request,
        lambda: fn(actor=request.user, visitor=v),
        _("The visitor was approved.") if decision == "approve" else _("The visitor was refused."),
    )
    return redirect(_back(v))


@login_required
@require_POST
def child_add(request, uuid):
    v = _visitor(request, uuid)
    form = ChildAddForm(request.POST)
    if form.is_valid():
        _call(
            request,
            lambda: services.visitor_child_add(
                actor=request.user, adult_visitor=v, **form.cleaned_data
            ),
            _("The child was added to the list."),
        )
    else:
        _form_error(request, form)
    return redirect(_back(v))


urlpatterns = [
    path("requests/", requests, name="requests"),
    path("requests/<uuid:uuid>/", request_detail, name="request_detail"),
    path("requests/<uuid:uuid>/approve/", request_approve, name="request_approve"),
    path("requests/<uuid:uuid>/refuse/", request_refuse, name="request_refuse"),
    path("requests/<uuid:uuid>/document/", request_document, name="request_document"),
    path("lists/<uuid:uuid>/", visitor_list, name="visitor_list"),
    path("visitors/<uuid:uuid>/", visitor, name="visitor"),
    path("visitors/<uuid:uuid>/remove/", visitor_remove, name="visitor_remove"),
    path(
        "visitors/<uuid:uuid>/approve/",
        visitor_decide,
        {"decision": "approve"},
        name="visitor_approve",
    ),
    path(
        "visitors/<uuid:uuid>/refuse/",
        visitor_decide,
        {"decision": "refuse"},
        name="visitor_refuse",
    ),
    path("visitors/<uuid:uuid>/children/add/", child_add, name="visitor_child_add"),
    path("visitors/<uuid:uuid>/restrictions/add/", restriction_add, name="visitor_restriction_add"),
    path("restrictions/<uuid:uuid>/lift/", restriction_lift, name="restriction_lift"),
]
