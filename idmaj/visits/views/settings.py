"""HTML pages of visit configuration: an institution's booking rules, rooms, weekly sessions,
days without visits, pauses of online booking and the online booking switch; the dated
sessions of a period (booked / capacity, cancel, change capacity, make them now).

Who may read an institution's settings is decided by the selectors (``visits.view``; 404
alike for "missing" and "not yours"); who may change them by the services
(``visits.configure``; 403), asked of ``access_for`` beforehand only to show the forms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import selectors
from ..forms.sessions import (
    WEEKDAYS,
    CapacityForm,
    ExcludedDateForm,
    GenerateForm,
    OnlineBookingForm,
    PauseForm,
    PeriodForm,
    PolicyForm,
    RoomForm,
    SessionCancelForm,
    TemplateEndForm,
    TemplateForm,
)
from ..services import sessions as services

CONFIGURE = services.CONFIGURE


def _can_configure(user, facility_id: int) -> bool:
    return access_for(user).has_perm(CONFIGURE, facility_id)


def _require_configure(user, facility_id: int) -> None:
    if not _can_configure(user, facility_id):
        raise HttpForbidden


def _settings_url(facility) -> str:
    return reverse("visits:settings_facility", args=[facility.code])


def _facility(request: HttpRequest, code: str, *, configure: bool = False):
    facility = selectors.get_visit_facility_for_user_or_404(user=request.user, code=code)
    if configure:
        _require_configure(request.user, facility.pk)
    return facility


def _form_page(
    request: HttpRequest,
    *,
    form,
    call: Callable[[dict], object],
    done: str,
    back: str,
    title,
    context: dict | None = None,
) -> HttpResponse:
    """The one sequence of every settings form: validate, call the service, show its
    refusal next to the field (or as a page error) with nothing changed."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                call(form.cleaned_data)
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                status = err.status
            else:
                messages.success(request, done)
                return redirect(back)
    return render(
        request,
        "visits/settings/form.html",
        {"form": form, "title": title, "back": back, **(context or {})},
        status=status,
    )


def _post_action(request: HttpRequest, call: Callable[[], object], done, back: str):
    try:
        call()
    except DomainPermissionDenied as err:
        raise HttpForbidden from err
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, done)
    return redirect(back)


# -- the institution's settings ---------------------------------------------------------------
@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    facilities = list(selectors.visit_facilities(fetched_by=request.user))
    if len(facilities) == 1:
        return redirect("visits:settings_facility", code=facilities[0].code)
    return render(request, "visits/settings/index.html", {"facilities": facilities})


@login_required
def settings_facility(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code)
    data = selectors.visit_settings(fetched_by=request.user, facility=facility)
    names = dict(WEEKDAYS)
    for t in data["templates"]:
        t.weekday_name = names.get(t.weekday, t.weekday)
    data["switch_form"] = OnlineBookingForm(
        initial={"online_booking": data["policy"].online_booking}
    )
    data["generate_form"] = GenerateForm()
    return render(request, "visits/settings/facility.html", data)


@login_required
def policy_edit(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    policy = services.policy_for(facility)
    form = PolicyForm(request.POST or None, instance=policy)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.policy_update(actor=request.user, facility=facility, **data),
        done=_("Visit rules saved."),
        back=_settings_url(facility),
        title=_("Visit rules"),
        context={"facility": facility},
    )


@login_required
@require_POST
def online_booking_switch(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = OnlineBookingForm(request.POST)
    live = form.is_valid() and form.cleaned_data["online_booking"]
    return _post_action(
        request,
        lambda: services.policy_update(actor=request.user, facility=facility, online_booking=live),
        _("Online booking is now live.") if live else _("Online booking is now off."),
        _settings_url(facility),
    )


# -- rooms -------------------------------------------------------------------------------------
@login_required
def room_create(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = RoomForm(request.POST or None)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.room_create(actor=request.user, facility=facility, **data),
        done=_("Room added."),
        back=_settings_url(facility),
        title=_("New visit room"),
        context={"facility": facility},
    )


@login_required
def room_edit(request: HttpRequest, uuid) -> HttpResponse:
    room = selectors.get_room_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, room.facility_id)
    form = RoomForm(request.POST or None, instance=room)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.room_update(actor=request.user, room=room, **data),
        done=_("Room saved."),
        back=_settings_url(room.facility),
        title=room.name,
        context={"facility": room.facility},
    )


# -- weekly sessions ---------------------------------------------------------------------------
@login_required
def template_create(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = TemplateForm(request.POST or None, facility=facility)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.template_create(actor=request.user, facility=facility, **data),
        done=_("Weekly session added. Make the dated sessions to open it for booking."),
        back=_settings_url(facility),
        title=_("New weekly session"),
        context={"facility": facility},
    )


@login_required
def template_edit(request: HttpRequest, uuid) -> HttpResponse:
    template = selectors.get_template_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, template.facility_id)
    facility = template.facility
    form = TemplateForm(
        request.POST or None, facility=facility, initial=TemplateForm.initial_for(template)
    )
    return _form_page(
        request,
        form=form,
        call=lambda data: services.template_update(actor=request.user, template=template, **data),
        done=_("Weekly session saved. Sessions already made keep their times and capacity."),
        back=_settings_url(facility),
        title=_("Weekly session"),
        context={"facility": facility},
    )


@login_required
def template_end(request: HttpRequest, uuid) -> HttpResponse:
    template = selectors.get_template_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, template.facility_id)
    facility = template.facility
    form = TemplateEndForm(request.POST or None)

    def call(data):
        ended = services.template_end(
            actor=request.user, template=template, valid_until=data["valid_until"]
        )
        if ended.kept_sessions:
            messages.warning(
                request,
                ngettext(
                    "%(n)s session after that day has bookings and was kept: cancel it on "
                    "the sessions page if it will not take place.",
                    "%(n)s sessions after that day have bookings and were kept: cancel them "
                    "on the sessions page if they will not take place.",
                    ended.kept_sessions,
                )
                % {"n": ended.kept_sessions},
            )

    return _form_page(
        request,
        form=form,
        call=call,
        done=_("Weekly session ended."),
        back=_settings_url(facility),
        title=_("End a weekly session"),
        context={"facility": facility, "template": template},
    )


# -- days without visits and pauses -------------------------------------------------------------
@login_required
def excluded_create(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = ExcludedDateForm(request.POST or None)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.excluded_date_add(actor=request.user, facility=facility, **data),
        done=_(
            "Day without visits recorded; the sessions and bookings of those days are cancelled."
        ),
        back=_settings_url(facility),
        title=_("New day without visits"),
        context={
            "facility": facility,
            "intro": _(
                "The sessions of these days are cancelled and the families who booked "
                "them are told by SMS."
            ),
        },
    )


@login_required
@require_POST
def excluded_remove(request: HttpRequest, uuid) -> HttpResponse:
    excluded = selectors.get_excluded_date_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, excluded.facility_id)
    return _post_action(
        request,
        lambda: services.excluded_date_remove(actor=request.user, excluded=excluded),
        _("Day without visits removed."),
        _settings_url(excluded.facility),
    )


@login_required
def pause_create(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = PauseForm(request.POST or None)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.online_pause_start(
            actor=request.user, facility=facility, **data
        ),
        done=_("Online booking paused."),
        back=_settings_url(facility),
        title=_("Pause online booking"),
        context={
            "facility": facility,
            "intro": _(
                "Families cannot book online during the pause and see the message; bookings "
                "already made stay."
            ),
        },
    )


@login_required
@require_POST
def pause_end(request: HttpRequest, uuid) -> HttpResponse:
    pause = selectors.get_pause_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, pause.facility_id)
    return _post_action(
        request,
        lambda: services.online_pause_end(actor=request.user, pause=pause),
        _("Pause ended."),
        _settings_url(pause.facility),
    )


# -- dated sessions ------------------------------------------------------------------------------
@login_required
def session_list(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code)
    form = PeriodForm(request.GET or None)
    date_from, date_to = form.period()
    sessions = list(
        selectors.session_list(
            fetched_by=request.user, facility=facility, date_from=date_from, date_to=date_to
        )
    )
    return render(
        request,
        "visits/settings/sessions.html",
        {
            "facility": facility,
            "form": form,
            "sessions": sessions,
            "date_from": date_from,
            "date_to": date_to,
            "now": timezone.now(),
            "can_configure": _can_configure(request.user, facility.pk),
            "generate_form": GenerateForm(),
        },
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


def _sessions_url(session) -> str:
    url = reverse("visits:sessions", args=[session.facility.code])
    return f"{url}?date_from={session.date:%Y-%m-%d}"


@login_required
def session_cancel(request: HttpRequest, uuid) -> HttpResponse:
    session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, session.facility_id)
    form = SessionCancelForm(request.POST or None)
    return _form_page(
        request,
        form=form,
        call=lambda data: services.session_cancel(
            actor=request.user, session=session, reason=data["reason"]
        ),
        done=_("Session cancelled; the families who booked it are told."),
        back=_sessions_url(session),
        title=_("Cancel a session"),
        context={
            "facility": session.facility,
            "session": session,
            "intro": _("Its bookings are cancelled and the families told by SMS."),
            "danger": True,
        },
    )


@login_required
def session_capacity(request: HttpRequest, uuid) -> HttpResponse:
    session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
    _require_configure(request.user, session.facility_id)
    form = CapacityForm(
        request.POST or None,
        initial={
            "capacity_visits": session.capacity_visits,
            "capacity_visitors": session.capacity_visitors,
        },
    )
    return _form_page(
        request,
        form=form,
        call=lambda data: services.session_capacity_update(
            actor=request.user, session=session, **data
        ),
        done=_("Capacity changed."),
        back=_sessions_url(session),
        title=_("Capacity of a session"),
        context={"facility": session.facility, "session": session},
    )


@login_required
@require_POST
def generate(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code, configure=True)
    form = GenerateForm(request.POST)
    days = form.cleaned_data.get("days") if form.is_valid() else None
    policy = services.policy_for(facility)
    today = timezone.localdate()
    until = today + dt.timedelta(days=days or policy.book_from_days)
    made = services.sessions_generate(
        facility=facility, until=until, today=today, actor=request.user
    )
    messages.success(
        request,
        ngettext(
            "%(n)s session made, until %(until)s.", "%(n)s sessions made, until %(until)s.", made
        )
        % {"n": made, "until": until.isoformat()},
    )
    back = request.POST.get("next", "")
    if back != "sessions":
        return redirect(_settings_url(facility))
    return redirect("visits:sessions", code=facility.code)


urlpatterns = [
    path("settings/", settings_index, name="settings"),
    path("settings/<str:code>/", settings_facility, name="settings_facility"),
    path("settings/<str:code>/rules/", policy_edit, name="policy_edit"),
    path("settings/<str:code>/online/", online_booking_switch, name="online_booking"),
    path("settings/<str:code>/rooms/new/", room_create, name="room_create"),
    path("settings/<str:code>/weekly/new/", template_create, name="template_create"),
    path("settings/<str:code>/closed-days/new/", excluded_create, name="excluded_create"),
    path("settings/<str:code>/pauses/new/", pause_create, name="pause_create"),
    path("settings/<str:code>/sessions/", session_list, name="sessions"),
    path("settings/<str:code>/generate/", generate, name="generate_sessions"),
    path("settings/rooms/<uuid:uuid>/", room_edit, name="room_edit"),
    path("settings/weekly/<uuid:uuid>/", template_edit, name="template_edit"),
    path("settings/weekly/<uuid:uuid>/end/", template_end, name="template_end"),
    path("settings/closed-days/<uuid:uuid>/remove/", excluded_remove, name="excluded_remove"),
    path("settings/pauses/<uuid:uuid>/end/", pause_end, name="pause_end"),
    path("settings/sessions/<uuid:uuid>/cancel/", session_cancel, name="session_cancel"),
    path("settings/sessions/<uuid:uuid>/capacity/", session_capacity, name="session_capacity"),
]
