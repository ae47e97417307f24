"""Pages of the gate, in Arabic and French: today's page and its code box, the check-in page
(identity, steps, htmx partials), walk-ins, the PDF sheets."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from idmaj.core.models import AuditEntry

from ..constants import BookingStatus
from ..models import Booking, BookingVisitor, VisitPolicy
from .gate_fixtures import audit_count, booking_state, make_booking, other_booking, today_session

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def booking(vs):
    return make_booking(vs, today_session(vs), code="QRST5678VW")


def _client(client, user, language="ar"):
    client.force_login(user)
    client.cookies["idmaj_language"] = language
    return client


def _tr(language, text):
    with translation.override(language):
        return gettext(text)


def test_today_redirects_to_the_one_institution(client, vs):
    response = _client(client, vs.officer).get(reverse("visits:today"))
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:gate_today", args=[vs.facility.code])


def test_today_lists_institutions_when_several(client, vs):
    regional = vs.director  # one institution; a regional director sees two
    from .gate_fixtures import user_with

    regional = user_with("regional_director", region=vs.facility.region)
    response = _client(client, regional).get(reverse("visits:today"))
    assert response.status_code == 200
    html = response.content.decode()
    assert vs.facility.code in html and vs.other_facility.code in html


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_today_page(client, vs, booking, language, django_assert_max_num_queries):
    c = _client(client, vs.officer, language)
    url = reverse("visits:gate_today", args=[vs.facility.code])
    with django_assert_max_num_queries(16):
        response = c.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'lang="{language}"' in html
    assert booking.code in html and vs.custody.committal_number in html
    assert _tr(language, "Check a visitor in") in html
    assert reverse("visits:gate_sheet", args=[vs.facility.code, vs.room.uuid]) in html
    # the QR scanner: our own script, no inline script
    assert "idmaj/js/visits-gate.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert finders.find("idmaj/js/visits-gate.js")


def test_today_page_queries_do_not_grow(client, vs, booking, django_assert_max_num_queries):
    c = _client(client, vs.officer)
    url = reverse("visits:gate_today", args=[vs.facility.code])
    c.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        c.get(url)
    session = Booking.objects.get(pk=booking.pk).session
    session.capacity_visits, session.capacity_visitors = 30, 90
    session.save(update_fields=["capacity_visits", "capacity_visitors"])
    from .test_gate_selectors import _more_bookings

    _more_bookings(vs, session, 8)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = c.get(url)
    assert response.content.decode().count("/visits/gate/bookings/") == 9


def test_today_page_of_another_institution_is_404(client, vs, booking):
    response = _client(client, vs.other_officer).get(
        reverse("visits:gate_today", args=[vs.facility.code])
    )
    assert response.status_code == 404


def test_code_box_opens_the_booking(client, vs, booking):
    c = _client(client, vs.officer)
    response = c.post(
        reverse("visits:gate_lookup", args=[vs.facility.code]), {"code": "qrst-5678-vw"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:gate_booking", args=[booking.uuid])


def test_code_box_with_another_institutions_code(client, vs, booking):
    foreign = other_booking(vs)
    c = _client(client, vs.officer, "fr")
    before = audit_count()
    response = c.post(
        reverse("visits:gate_lookup", args=[vs.facility.code]), {"code": foreign.code}
    )
    assert response.status_code == 404
    assert _tr("fr", "No booking has this code here.") in response.content.decode()
    assert audit_count() == before
    assert booking_state(foreign)[0] == BookingStatus.BOOKED


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_checkin_page(client, vs, booking, language):
    response = _client(client, vs.officer, language).get(
        reverse("visits:gate_booking", args=[booking.uuid])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert booking.code in html and vs.adult.full_name in html and vs.child.full_name in html
    assert reverse("visits:gate_check_identity", args=[booking.uuid]) in html
    assert reverse("visits:gate_no_show", args=[booking.uuid]) in html  # the session has begun
    # no arrival before an identity check
    assert reverse("visits:gate_arrive", args=[booking.uuid]) not in html
    assert _tr(language, "Check the identity card") in html


def test_checkin_page_of_another_institution_is_404(client, vs, booking):
    response = _client(client, vs.other_officer).get(
        reverse("visits:gate_booking", args=[booking.uuid])
    )
    assert response.status_code == 404


def test_identity_then_arrival_start_end_with_htmx(client, vs, booking):
    c = _client(client, vs.officer, "fr")
    url = reverse("visits:gate_check_identity", args=[booking.uuid])
    response = c.post(url, {"cin": "zz000000"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="checkin"')
    # A message shown through a variable is HTML-escaped (its apostrophe, in French).
    assert (
        escape(
            _tr("fr", "This identity card is not that of an adult visitor named on the booking.")
        )
        in html
    )
    assert AuditEntry.objects.filter(verb="visit_identity_mismatch").count() == 1
    assert booking_state(booking)[4] == (None, None)

    response = c.post(url, {"cin": vs.adult.cin}, **HTMX)
    html = response.content.decode()
    assert reverse("visits:gate_arrive", args=[booking.uuid]) in html
    assert BookingVisitor.objects.get(booking=booking, visitor=vs.adult).checked_at

    for name, status in [
        ("gate_arrive", BookingStatus.ARRIVED),
        ("gate_start", BookingStatus.IN_PROGRESS),
        ("gate_end", BookingStatus.COMPLETED),
    ]:
        response = c.post(reverse(f"visits:{name}", args=[booking.uuid]), **HTMX)
        assert response.status_code == 200
        assert Booking.objects.get(pk=booking.pk).status == status
        assert str(Booking(status=status).get_status_display()) in response.content.decode()


def test_steps_without_htmx_redirect(client, vs, booking):
    c = _client(client, vs.officer)
    response = c.post(reverse("visits:gate_arrive", args=[booking.uuid]))
    assert response.status_code == 302  # refused (identity not checked): back with a message
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.BOOKED
    response = c.get(response["Location"])
    assert _tr("ar", "Check the identity card of at least one adult visitor first.") in (
        response.content.decode()
    )
    response = c.post(reverse("visits:gate_no_show", args=[booking.uuid]))
    assert response.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.NO_SHOW


def test_steps_by_a_viewer_are_forbidden(client, vs, booking):
    from .gate_fixtures import user_with

    regional = user_with("regional_director", region=vs.facility.region)
    c = _client(client, regional)
    page = c.get(reverse("visits:gate_booking", args=[booking.uuid]))
    assert page.status_code == 200
    assert reverse("visits:gate_check_identity", args=[booking.uuid]) not in page.content.decode()
    before = booking_state(booking)
    assert c.post(reverse("visits:gate_no_show", args=[booking.uuid])).status_code == 403
    response = c.post(
        reverse("visits:gate_check_identity", args=[booking.uuid]), {"cin": vs.adult.cin}
    )
    assert response.status_code == 403
    assert booking_state(booking) == before


def test_walk_in_page_refused_where_not_allowed(client, vs):
    session = today_session(vs)
    VisitPolicy.objects.filter(pk=vs.facility.pk).update(walk_ins_allowed=False)
    c = _client(client, vs.officer, "fr")
    url = reverse("visits:gate_walk_in", args=[vs.facility.code])
    page = c.get(url)
    assert _tr("fr", "This institution does not take visits without booking.") in (
        page.content.decode()
    )
    response = c.post(
        url,
        {
            "session": str(session.uuid),
            "committal_number": vs.custody.committal_number,
            "visitors": [str(vs.adult.uuid)],
        },
    )
    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_walk_in_page(client, vs):
    session = today_session(vs)
    c = _client(client, vs.officer, "fr")
    url = reverse("visits:gate_walk_in", args=[vs.facility.code])
    step1 = c.get(url, {"session": str(session.uuid), "committal_number": "NOPE"})
    assert step1.status_code == 400
    step2 = c.get(
        url, {"session": str(session.uuid), "committal_number": vs.custody.committal_number}
    )
    html = step2.content.decode()
    assert step2.status_code == 200 and vs.adult.full_name in html and 'method="post"' in html
    response = c.post(
        url,
        {
            "session": str(session.uuid),
            "committal_number": vs.custody.committal_number,
            "visitors": [str(vs.adult.uuid)],
            "reason": "Venue de Nador",
        },
    )
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:gate_booking", args=[booking.uuid])
    assert booking.channel == "walk_in" and booking.status == BookingStatus.ARRIVED


def test_walk_in_page_of_a_viewer_is_forbidden(client, vs):
    from .gate_fixtures import user_with

    regional = user_with("regional_director", region=vs.facility.region)
    response = _client(client, regional).get(
        reverse("visits:gate_walk_in", args=[vs.facility.code])
    )
    assert response.status_code == 403


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_sheet_pdf(client, vs, booking, language):
    url = reverse("visits:gate_sheet", args=[vs.facility.code, vs.room.uuid])
    response = _client(client, vs.officer).get(
        url, {"lang": language, "on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"-{language}.pdf" in response["Content-Disposition"]


def test_sheet_pdf_of_another_institution_is_404(client, vs, booking):
    url = reverse("visits:gate_sheet", args=[vs.facility.code, vs.room.uuid])
    assert _client(client, vs.other_officer).get(url).status_code == 404
