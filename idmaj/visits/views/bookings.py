"""Staff pages of bookings: book on a family's behalf (desk, telephone, walk-in) and one
booking (detail, cancel with the reason).

Who may see a booking is decided by the selectors (404 alike for "missing" and "not yours");
who may act by the services (``PermissionDenied`` → 403).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import selectors
from ..constants import VisitorStatus
from ..forms.bookings import StaffBookForm, StaffCancelForm, StaffFindForm
from ..models import Visitor
from ..services import bookings as services

MANAGE = "visits.manage"
OVERRIDE = "visits.override"


def _call(form, call):
    """Run one service call; a ``DomainError`` becomes a form error."""
    try:
        return call(), 200
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        field = err.field if err.field in form.fields else None
        form.add_error(field, err.message)
        return None, err.status


@login_required
@require_http_methods(["GET", "POST"])
def book(request):
    """Find the prisoner by committal number (within my institutions), then pick the
    session, the visitors and how the family asked."""
    access = access_for(request.user)
    if access.perm_facility_ids(MANAGE) == frozenset():
        raise HttpForbidden
    find = StaffFindForm(request.GET or None)
    custody = None
    if find.is_valid():
        custody = selectors.staff_custody_for_booking(
            user=request.user, committal_number=find.cleaned_data["committal_number"]
        )
        if custody is None:
            find.add_error(
                "committal_number",
                _("No prisoner in custody under this committal number in your institutions."),
            )
    context = {"find": find, "custody": custody}
    status = 200
    if custody is not None:
        can_override = access.has_perm(OVERRIDE, custody.facility_id)
        visitors = list(
            Visitor.objects.filter(
                detention_id=custody.detention_id, status=VisitorStatus.APPROVED
            ).order_by("guardian_id", "full_name")
        )
        sessions = selectors.staff_bookable_sessions(custody=custody, include_full=can_override)
        for s in sessions:
            s.free_places = max(0, s.capacity_visits - s.booked_visits)
        if request.method == "POST":
            form = StaffBookForm(request.POST, visitors=visitors, can_override=can_override)
            status = 400
            if form.is_valid():
                data = form.cleaned_data
                session = selectors.session_for_booking(data["session"])
                if session is None:
                    form.add_error("session", _("This session does not exist."))
                else:
                    chosen = form.chosen_visitors()
                    account = next((v.account for v in chosen if v.account_id), None)
                    done, status = _call(
                        form,
                        lambda: services.visit_book(
                            session=session,
                            detention=custody.detention,
                            visitors=chosen,
                            account=account,
                            actor=request.user,
                            channel=data["channel"],
                            over_capacity_reason=data.get("over_capacity_reason", ""),
                        ),
                    )
                    if done is not None:
                        messages.success(
                            request,
                            _("Visit booked: code %(code)s.") % {"code": done.code},
                        )
                        return redirect("visits:booking", uuid=done.uuid)
        else:
            form = StaffBookForm(visitors=visitors, can_override=can_override)
        context.update(
            form=form,
            sessions=sessions,
            visitors=visitors,
            can_override=can_override,
            chosen_session=str(form["session"].value() or ""),
        )
    return render(request, "visits/bookings/book.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def booking(request, uuid):
    b = selectors.get_booking_for_user_or_404(user=request.user, uuid=uuid)
    can_manage = access_for(request.user).has_perm(MANAGE, b.facility_id)
    status = 200
    form = StaffCancelForm()
    if request.method == "POST":
        if not can_manage:
            raise HttpForbidden
        form = StaffCancelForm(request.POST)
        status = 400
        if form.is_valid():
            done, status = _call(
                form,
                lambda: services.booking_cancel(
                    booking=b, actor=request.user, reason=form.cleaned_data["reason"]
                ),
            )
            if done is not None:
                messages.success(request, _("The booking is cancelled; the family is told."))
                return redirect("visits:booking", uuid=b.uuid)
    return render(
        request,
        "visits/bookings/detail.html",
        {
            "booking": b,
            "visitors": selectors.booking_visitors(b),
            "form": form,
            "can_cancel": can_manage and b.status in services.CANCELLABLE,
        },
        status=status,
    )


urlpatterns = [
    path("book/", book, name="book"),
    path("bookings/<uuid:uuid>/", booking, name="booking"),
]
