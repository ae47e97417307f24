"""Pages of the gate: today's sessions and bookings of an institution with the code box
(typed, or the QR code scanned with the device's camera by ``visits-gate.js``), a booking's
check-in page (identity cards, arrival, start, end, no-show; htmx partial updates), walk-in
visits and the printable daily sheet of each room (PDF, Arabic or French).

Who may see is decided by the selectors (404 alike for "missing" and "not yours"); who may
act by the services (``PermissionDenied`` → 403). Forms and buttons are shown only to a user
who holds ``visits.manage`` at the institution.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import selectors, services
from ..constants import BookingStatus
from ..forms.gate import BookingCodeForm, GateDayForm, IdentityCheckForm, WalkInForm

MANAGE = services.GATE_PERMISSION


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _can_manage(user, facility_id: int) -> bool:
    return access_for(user).has_perm(MANAGE, facility_id)


def _day(request: HttpRequest):
    form = GateDayForm(request.GET or None)
    on = form.cleaned_data.get("on") if form.is_bound and form.is_valid() else None
    return form, on or timezone.localdate()


# -- today -----------------------------------------------------------------------------------
@login_required
def today(request: HttpRequest) -> HttpResponse:
    """The institutions whose gate the user sees; straight to the one when only one."""
    facilities = list(selectors.gate_facilities(fetched_by=request.user))
    if len(facilities) == 1:
        return redirect("visits:gate_today", code=facilities[0].code)
    if not facilities:
        raise HttpForbidden
    return render(request, "visits/gate/index.html", {"facilities": facilities})


def _today_page(request, facility, *, code_form=None, status=200) -> HttpResponse:
    day_form, on = _day(request)
    overview = selectors.today_overview(fetched_by=request.user, facility=facility, on=on)
    can_manage = _can_manage(request.user, facility.pk)
    return render(
        request,
        "visits/gate/today.html",
        {
            "facility": facility,
            "overview": overview,
            "day_form": day_form,
            "code_form": code_form or BookingCodeForm(),
            "can_manage": can_manage,
            "walk_ins": can_manage and selectors.gate_walk_ins_allowed(facility),
        },
        status=status,
    )


@login_required
def gate_today(request: HttpRequest, code: str) -> HttpResponse:
    facility = selectors.get_gate_facility_for_user_or_404(user=request.user, code=code)
    return _today_page(request, facility)


@login_required
@require_POST
def gate_lookup(request: HttpRequest, code: str) -> HttpResponse:
    """The code box: to the booking's check-in page, or the page again with why not."""
    facility = selectors.get_gate_facility_for_user_or_404(user=request.user, code=code)
    form = BookingCodeForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            booking = services.booking_find_by_code(
                actor=request.user, code=form.cleaned_data["code"]
            )
        except DomainError as err:
            form.add_error("code", err.message)
            status = err.status
        else:
            return redirect("visits:gate_booking", uuid=booking.uuid)
    return _today_page(request, facility, code_form=form, status=status)


# -- one booking -----------------------------------------------------------------------------
def _checkin_context(request, booking, *, identity_form=None) -> dict:
    booking = selectors.gate_booking_visitors(booking)
    can_manage = _can_manage(request.user, booking.facility_id)
    now = timezone.now()
    today = timezone.localdate()
    session = booking.session
    on_day = session.date == today and session.cancelled_at is None
    waiting = booking.status in (BookingStatus.BOOKED, BookingStatus.FLAGGED)
    return {
        "booking": booking,
        "session": session,
        "person": booking.custody.person,
        "can_manage": can_manage,
        "identity_form": identity_form or IdentityCheckForm(),
        "can_check": can_manage
        and on_day
        and booking.status
        in (
            BookingStatus.BOOKED,
            BookingStatus.FLAGGED,
            BookingStatus.ARRIVED,
            BookingStatus.IN_PROGRESS,
        ),
        "can_arrive": can_manage and on_day and waiting and booking.checked > 0,
        "can_start": can_manage and on_day and booking.status == BookingStatus.ARRIVED,
        "can_end": can_manage and booking.status == BookingStatus.IN_PROGRESS,
        "can_no_show": can_manage and waiting and now >= session.starts_at,
        "is_today": session.date == today,
        "waiting": waiting,
    }


@login_required
def gate_booking(request: HttpRequest, uuid) -> HttpResponse:
    booking = selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=uuid)
    return render(request, "visits/gate/booking.html", _checkin_context(request, booking))


_ACTIONS = {
    "arrive": (services.booking_arrive, _("Arrival recorded.")),
    "start": (services.booking_start, _("The visit has begun.")),
    "end": (services.booking_end, _("The visit is over.")),
    "no-show": (services.booking_no_show, _("No-show recorded.")),
}


def _after_action(request, booking, *, identity_form=None, status=200) -> HttpResponse:
    fresh = selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=booking.uuid)
    if _is_htmx(request):
        context = _checkin_context(request, fresh, identity_form=identity_form)
        return render(request, "visits/gate/_checkin.html", {**context, "partial": True})
    if identity_form is not None and identity_form.errors:
        context = _checkin_context(request, fresh, identity_form=identity_form)
        return render(request, "visits/gate/booking.html", context, status=status)
    return redirect("visits:gate_booking", uuid=booking.uuid)


@login_required
@require_POST
def gate_check_identity(request: HttpRequest, uuid) -> HttpResponse:
    booking = selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=uuid)
    form = IdentityCheckForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            checked = services.visitor_identity_check(
                actor=request.user, booking=booking, cin=form.cleaned_data["cin"]
            )
        except DomainPermissionDenied as err:
            raise HttpForbidden from err
        except DomainError as err:
            form.add_error("cin" if err.field == "cin" else None, err.message)
            status = err.status
        else:
            messages.success(
                request,
                _("Identity checked: %(name)s.") % {"name": checked.visitor.full_name},
            )
            return _after_action(request, booking)
    return _after_action(request, booking, identity_form=form, status=status)


@login_required
@require_POST
def gate_action(request: HttpRequest, uuid, action: str) -> HttpResponse:
    booking = selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=uuid)
    service, done = _ACTIONS[action]
    try:
        service(actor=request.user, booking=booking)
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        messages.error(request, err.message)
        if not _is_htmx(request):
            return redirect("visits:gate_booking", uuid=booking.uuid)
    else:
        messages.success(request, done)
    return _after_action(request, booking)


# -- walk-ins --------------------------------------------------------------------------------
@login_required
def gate_walk_in(request: HttpRequest, code: str) -> HttpResponse:
    """A visit without booking: today's session and the prisoner first, then the visitors
    of the prisoner's list; recorded as arrived."""
    facility = selectors.get_gate_facility_for_user_or_404(user=request.user, code=code)
    if not _can_manage(request.user, facility.pk):
        raise HttpForbidden
    allowed = selectors.gate_walk_ins_allowed(facility)
    data = request.POST if request.method == "POST" else (request.GET or None)
    custody = None
    if data is not None:
        custody = selectors.gate_walk_in_custody(
            facility=facility, committal_number=data.get("committal_number", "")
        )
    form = WalkInForm(data, facility=facility, custody=custody)
    status = 200
    if data is not None and form.is_valid() and custody is None:
        form.add_error("committal_number", _("No prisoner held here has this committal number."))
        status = 400
    elif request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                booking = services.walk_in_record(
                    actor=request.user,
                    session=form.cleaned_data["session"],
                    custody=custody,
                    visitors=list(form.cleaned_data["visitors"]),
                    reason=form.cleaned_data["reason"],
                )
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                field = err.field if err.field in form.fields else None
                form.add_error(field, err.message)
                status = err.status
            else:
                messages.success(
                    request,
                    _("Visit without booking recorded: code %(code)s.") % {"code": booking.code},
                )
                return redirect("visits:gate_booking", uuid=booking.uuid)
    return render(
        request,
        "visits/gate/walk_in.html",
        {"facility": facility, "form": form, "custody": custody, "allowed": allowed},
        status=status,
    )


# -- the daily sheet -------------------------------------------------------------------------
@login_required
def gate_sheet(request: HttpRequest, code: str, room) -> HttpResponse:
    facility = selectors.get_gate_facility_for_user_or_404(user=request.user, code=code)
    room_obj = selectors.get_gate_room_or_404(facility=facility, uuid=room)
    _form, on = _day(request)
    sheet = selectors.daily_sheet(fetched_by=request.user, facility=facility, room=room_obj, on=on)
    data, filename = selectors.daily_sheet_pdf(
        sheet=sheet, language=selectors.sheet_language(request.GET.get("lang"))
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


urlpatterns = [
    path("today/", today, name="today"),
    path("today/<str:code>/", gate_today, name="gate_today"),
    path("gate/<str:code>/lookup/", gate_lookup, name="gate_lookup"),
    path("gate/<str:code>/walk-in/", gate_walk_in, name="gate_walk_in"),
    path("gate/<str:code>/sheet/<uuid:room>/", gate_sheet, name="gate_sheet"),
    path("gate/bookings/<uuid:uuid>/", gate_booking, name="gate_booking"),
    path(
        "gate/bookings/<uuid:uuid>/check-identity/",
        gate_check_identity,
        name="gate_check_identity",
    ),
    path(
        "gate/bookings/<uuid:uuid>/arrive/", gate_action, {"action": "arrive"}, name="gate_arrive"
    ),
    path("gate/bookings/<uuid:uuid>/start/", gate_action, {"action": "start"}, name="gate_start"),
    path("gate/bookings/<uuid:uuid>/end/", gate_action, {"action": "end"}, name="gate_end"),
    path(
        "gate/bookings/<uuid:uuid>/no-show/",
        gate_action,
        {"action": "no-show"},
        name="gate_no_show",
    ),
]
