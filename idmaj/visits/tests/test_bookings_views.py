"""Booking pages: the family portal's (book, my visits, one visit with its QR code, cancel,
change) in Arabic and French, and the staff desk's (book on a family's behalf, detail and
cancel). Refusals are shown as form errors in the active language; a family reaches only
its own entries and bookings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from idmaj.visits import services
from idmaj.visits.constants import BookingStatus
from idmaj.visits.models import Booking, VisitSession

from .accounts_fixtures import portal_sign_in
from .bookings_fixtures import other_family, state


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def family(vs, account=None, language="ar"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    return portal_sign_in(client, account or vs.account)


def staff(user, language="fr"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def booked(vs, session=None, visitors=None):
    return services.visit_book(
        session=session or vs.sessions[0],
        detention=vs.custody.detention,
        visitors=visitors or [vs.adult, vs.child],
        account=vs.account,
    )


# -- family ------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["ar", "fr"])
def test_book_page_lists_sessions_by_day_and_books(vs, language, django_assert_max_num_queries):
    client = family(vs, language=language)
    url = reverse("portal:book", args=[vs.adult.uuid])
    with django_assert_max_num_queries(12):
        r = client.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert f'lang="{language}"' in html
    for s in vs.sessions:
        assert str(s.uuid) in html
    assert str(vs.child.uuid) in html and vs.child.full_name in html
    r = client.post(
        url,
        {"session": str(vs.sessions[0].uuid), "visitors": [str(vs.adult.uuid), str(vs.child.uuid)]},
    )
    b = Booking.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("portal:booking", args=[b.uuid])
    page = client.get(r["Location"]).content.decode()
    assert b.code in page and "<svg" in page


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_refusal_shown_in_the_active_language(vs, language):
    VisitSession.objects.filter(pk=vs.sessions[0].pk).update(booked_visits=2)
    before = state()
    r = family(vs, language=language).post(
        reverse("portal:book", args=[vs.adult.uuid]),
        {"session": str(vs.sessions[0].uuid), "visitors": [str(vs.adult.uuid)]},
    )
    assert r.status_code == 409
    with translation.override(language):
        expected = translation.gettext("This session is full: choose another one.")
    assert expected.replace("'", "&#x27;") in r.content.decode()
    assert state() == before


def test_family_reaches_only_its_own(vs):
    b = booked(vs)
    acc2, adult2, _ = other_family(vs)
    client = family(vs, account=acc2)
    before = state()
    assert client.get(reverse("portal:book", args=[vs.adult.uuid])).status_code == 404
    assert client.get(reverse("portal:book", args=[vs.child.uuid])).status_code == 404
    assert client.get(reverse("portal:booking", args=[b.uuid])).status_code == 404
    assert client.post(reverse("portal:booking_cancel", args=[b.uuid])).status_code == 404
    assert (
        client.post(
            reverse("portal:booking_change", args=[b.uuid]),
            {"session": str(vs.sessions[1].uuid), "visitors": [str(adult2.uuid)]},
        ).status_code
        == 404
    )
    assert b.code not in client.get(reverse("portal:bookings")).content.decode()
    # The prisoner's own committal number or custody UUID is no way in either.
    assert client.get(f"/family/prisoners/{vs.custody.uuid}/book/").status_code == 404
    assert state() == before


def test_signed_out_goes_to_sign_in(vs):
    r = Client().get(reverse("portal:bookings"))
    assert r.status_code == 302 and reverse("portal:signin") in r["Location"]


def test_my_visits_upcoming_and_past(vs, django_assert_max_num_queries):
    vs.policy.weekly_visits_remand = 9
    vs.policy.save()
    b1 = booked(vs)
    b2 = booked(vs, session=vs.sessions[1], visitors=[vs.adult])
    b3 = booked(vs, session=vs.sessions[2], visitors=[vs.adult])
    services.booking_cancel(booking=b2, account=vs.account, reason="")
    client = family(vs, language="fr")
    # Session, account, bookings, their visitors (2); the session store saved (4 with the
    # test's savepoints): the same for 3 bookings as for 300.
    with django_assert_max_num_queries(8):
        r = client.get(reverse("portal:bookings"))
    html = r.content.decode()
    assert b1.code in html and b3.code in html
    up, past = html.split('<h2 style="margin-block-start: 1.5rem;">')
    assert b1.code in up and b3.code in up and b2.code not in up
    assert b2.get_status_display() in past or b2.code not in past  # past shows no code


def test_cancel_and_change_pages(vs):
    b = booked(vs)
    client = family(vs, language="fr")
    detail = client.get(reverse("portal:booking", args=[b.uuid])).content.decode()
    assert reverse("portal:booking_cancel", args=[b.uuid]) in detail
    r = client.get(reverse("portal:booking_change", args=[b.uuid]))
    assert r.status_code == 200 and b.code in r.content.decode()
    r = client.post(
        reverse("portal:booking_change", args=[b.uuid]),
        {"session": str(vs.sessions[1].uuid), "visitors": [str(vs.adult.uuid)]},
    )
    b.refresh_from_db()
    new = b.replaced_by
    assert r.status_code == 302 and new is not None and new.session == vs.sessions[1]
    assert client.get(reverse("portal:booking_cancel", args=[new.uuid])).status_code == 200
    r = client.post(reverse("portal:booking_cancel", args=[new.uuid]))
    assert r.status_code == 302
    new.refresh_from_db()
    assert new.status == BookingStatus.CANCELLED
    assert VisitSession.objects.get(pk=vs.sessions[1].pk).booked_visits == 0


def test_no_change_buttons_after_cutoff(vs):
    from .factories import session_at

    soon = session_at(vs.room, timezone.localdate() + dt.timedelta(days=1))
    b = services.visit_book(
        session=soon,
        detention=vs.custody.detention,
        visitors=[vs.adult],
        account=vs.account,
        actor=vs.officer,
        channel="phone",
    )
    client = family(vs, language="fr")
    html = client.get(reverse("portal:booking", args=[b.uuid])).content.decode()
    assert reverse("portal:booking_cancel", args=[b.uuid]) not in html
    before = state()
    r = client.post(reverse("portal:booking_cancel", args=[b.uuid]))
    assert r.status_code == 409 and state() == before


# -- staff -------------------------------------------------------------------------------------
def test_staff_book_on_behalf(vs):
    client = staff(vs.officer)
    url = reverse("visits:book")
    r = client.get(url, {"committal_number": vs.custody.committal_number})
    assert r.status_code == 200 and str(vs.sessions[0].uuid) in r.content.decode()
    assert "over_capacity_reason" not in r.content.decode()  # no override for the officer
    r = client.post(
        f"{url}?committal_number={vs.custody.committal_number}",
        {"session": str(vs.sessions[0].uuid), "visitors": [str(vs.adult.uuid)], "channel": "phone"},
    )
    b = Booking.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("visits:booking", args=[b.uuid])
    assert b.channel == "phone" and b.booked_by == vs.officer and b.account == vs.account
    detail = client.get(r["Location"])
    assert detail.status_code == 200 and b.code in detail.content.decode()


def test_staff_over_capacity_field_for_override(vs):
    VisitSession.objects.filter(pk=vs.sessions[0].pk).update(booked_visits=2, booked_visitors=6)
    client = staff(vs.director)
    url = f"{reverse('visits:book')}?committal_number={vs.custody.committal_number}"
    page = client.get(url).content.decode()
    assert "over_capacity_reason" in page and str(vs.sessions[0].uuid) in page
    data = {
        "session": str(vs.sessions[0].uuid),
        "visitors": [str(vs.adult.uuid)],
        "channel": "desk",
    }
    r = client.post(url, data)
    assert r.status_code == 409 and not Booking.objects.exists()
    r = client.post(url, {**data, "over_capacity_reason": "Malade, venue de loin"})
    assert r.status_code == 302 and Booking.objects.get().over_capacity


def test_staff_of_another_institution(vs):
    b = booked(vs)
    client = staff(vs.other_officer)
    r = client.get(reverse("visits:book"), {"committal_number": vs.custody.committal_number})
    assert r.status_code == 200 and str(vs.sessions[0].uuid) not in r.content.decode()
    before = state()
    assert client.get(reverse("visits:booking", args=[b.uuid])).status_code == 404
    assert client.post(reverse("visits:booking", args=[b.uuid]), {"reason": "x"}).status_code == 404
    assert state() == before


def test_staff_cancel_with_reason(vs):
    b = booked(vs)
    client = staff(vs.officer)
    url = reverse("visits:booking", args=[b.uuid])
    assert client.post(url, {"reason": ""}).status_code == 400
    b.refresh_from_db()
    assert b.status == BookingStatus.BOOKED
    r = client.post(url, {"reason": "La famille a appelé"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == BookingStatus.CANCELLED and b.cancel_reason == "staff"


def test_staff_without_visits_role(vs):
    from idmaj.core.tests.factories import UserFactory, grant

    nurse = UserFactory()
    grant(nurse, "nurse", facility=vs.facility)
    assert staff(nurse).get(reverse("visits:book")).status_code == 403


def test_staff_page_offers_the_windows_last_days(vs):
    from .factories import session_at

    tomorrow = session_at(vs.room, timezone.localdate() + dt.timedelta(days=1))
    url = reverse("visits:book")
    page = staff(vs.officer).get(url, {"committal_number": vs.custody.committal_number})
    assert str(tomorrow.uuid) in page.content.decode()
    family_page = family(vs).get(reverse("portal:book", args=[vs.adult.uuid]))
    assert str(tomorrow.uuid) not in family_page.content.decode()
