"""Family portal pages of bookings: book a visit for one of my prisoners, my visits, one
visit (its code in big letters and its QR code), cancel, change.

A family reaches only its own approved entries and its own bookings (404 otherwise); the
rules and their refusals are the service's, shown as form errors in the active language.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from idmaj.core.errors import DomainError

from .. import selectors
from ..constants import ACTIVE_BOOKING
from ..forms.bookings import FamilyBookForm
from ..portal_auth import family_required
from ..ratelimit import client_address
from ..services import bookings as services


def _days(sessions) -> list[tuple]:
    """Sessions grouped by day: ``[(date, [session, ...]), ...]``, each with its
    ``free_places``."""
    for s in sessions:
        s.free_places = max(0, s.capacity_visits - s.booked_visits)
    return [(day, list(rows)) for day, rows in groupby(sessions, key=lambda s: s.date)]


def _refusal(form, err: DomainError) -> int:
    field = err.field if err.field in form.fields else None
    form.add_error(field, err.message)
    return err.status if err.status != 404 else 400


def _booking_form_page(request, *, adult, booking=None):
    """The book page and the change page: the same form."""
    account = request.family
    custody, sessions = selectors.family_bookable_sessions(adult=adult)
    people = selectors.family_side_visitors(adult)
    status = 200
    if request.method == "POST":
        form = FamilyBookForm(request.POST, visitors=people)
        status = 400
        if form.is_valid():
            session = selectors.session_for_booking(form.cleaned_data["session"])
            if session is None:
                form.add_error("session", _("This session does not exist."))
            else:
                try:
                    if booking is None:
                        done = services.visit_book(
                            session=session,
                            detention=adult.detention,
                            visitors=form.chosen_visitors(),
                            account=account,
                            ip=client_address(request),
                        )
                        messages.success(
                            request, _("Your visit is booked. An SMS confirms it with its code.")
                        )
                    else:
                        done = services.booking_change(
                            booking=booking,
                            session=session,
                            visitors=form.chosen_visitors(),
                            account=account,
                            ip=client_address(request),
                        )
                        messages.success(
                            request, _("Your visit was changed: here is its new code.")
                        )
                except DomainError as err:
                    status = _refusal(form, err)
                else:
                    return redirect("portal:booking", uuid=done.uuid)
    else:
        initial = {"visitors": [str(adult.uuid)]}
        if booking is not None:
            initial = {
                "visitors": [str(bv.visitor.uuid) for bv in booking.visitors.all()],
                "session": booking.session.uuid,
            }
        form = FamilyBookForm(initial=initial, visitors=people)
    chosen = str(form["session"].value() or "")
    return render(
        request,
        "visits/portal/bookings/book.html",
        {
            "family": account,
            "adult": adult,
            "custody": custody,
            "prisoner": selectors.person_name(custody.person) if custody else "",
            "days": _days(sessions),
            "form": form,
            "chosen_session": chosen,
            "booking": booking,
        },
        status=status,
    )


@family_required
@require_http_methods(["GET", "POST"])
def book(request, uuid):
    adult = selectors.get_family_visitor_or_404(account=request.family, uuid=uuid)
    return _booking_form_page(request, adult=adult)


@family_required
def bookings(request):
    rows = list(selectors.family_bookings(account=request.family))
    now = timezone.now()
    upcoming = [b for b in rows if b.status in ACTIVE_BOOKING and b.session.ends_at >= now]
    upcoming.sort(key=lambda b: b.session.starts_at)
    past = [b for b in rows if b not in upcoming]
    for b in rows:  # the name in the script of the page's language
        b.prisoner = selectors.person_name(b.custody.person)
    return render(
        request,
        "visits/portal/bookings/list.html",
        {"family": request.family, "upcoming": upcoming, "past": past},
    )


@family_required
def booking(request, uuid):
    b = selectors.get_family_booking_or_404(account=request.family, uuid=uuid)
    return render(
        request,
        "visits/portal/bookings/detail.html",
        {
            "family": request.family,
            "booking": b,
            "prisoner": selectors.person_name(b.custody.person),
            "visitors": selectors.booking_visitors(b),
            # segno's SVG of the booking code (letters and digits only): safe to inline.
            "qr": mark_safe(selectors.booking_qr_svg(b)),  # noqa: S308
            "can_change": services.booking_family_can_change(b),
            # cancel/change are offered only while the booking is booked or flagged
            "cancellable": b.status in services.CANCELLABLE,
            "live": b.status in ACTIVE_BOOKING,
        },
    )


@family_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request, uuid):
    b = selectors.get_family_booking_or_404(account=request.family, uuid=uuid)
    error = None
    status = 200
    if request.method == "GET" and not services.booking_family_can_change(b):
        # Not offered on the visit's page either: no form that can only be refused.
        messages.error(request, _("This booking can no longer be cancelled or changed."))
        return redirect("portal:booking", uuid=b.uuid)
    if request.method == "POST":
        try:
            services.booking_cancel(booking=b, account=request.family, reason="")
        except DomainError as err:
            error, status = err.message, err.status
        else:
            messages.success(request, _("Your visit is cancelled."))
            return redirect("portal:booking", uuid=b.uuid)
    return render(
        request,
        "visits/portal/bookings/cancel.html",
        {"family": request.family, "booking": b, "error": error},
        status=status,
    )


@family_required
@require_http_methods(["GET", "POST"])
def booking_change(request, uuid):
    b = selectors.get_family_booking_or_404(account=request.family, uuid=uuid)
    adult = selectors.family_own_entry(account=request.family, detention_id=b.detention_id)
    if not services.booking_family_can_change(b):
        messages.error(request, _("This booking can no longer be cancelled or changed."))
        return redirect("portal:booking", uuid=b.uuid)
    return _booking_form_page(request, adult=adult, booking=b)


urlpatterns = [
    path("prisoners/<uuid:uuid>/book/", book, name="book"),
    path("visits/", bookings, name="bookings"),
    path("visits/<uuid:uuid>/", booking, name="booking"),
    path("visits/<uuid:uuid>/cancel/", booking_cancel, name="booking_cancel"),
    path("visits/<uuid:uuid>/change/", booking_change, name="booking_change"),
]
