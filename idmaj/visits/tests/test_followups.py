"""Follow-ups of the review of the visits domain:

1. a visitor taken off a list (or a child refused) cancels or flags the future bookings
   naming them (``services.changes.visits_on_visitor_removed``, from ``services.lists``);
2. the family's booking page shows the booking's status (and offers cancel/change only
   when allowed);
3. the institution's address is not followed by its city when it already ends with it;
5. the staff queue of visitor lists and the "Visits today" page keep their query count.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from idmaj.core.errors import PermissionDenied
from idmaj.core.models import AuditChainHead, AuditEntry, Notification

from .. import services
from ..constants import BookingStatus, CancelReason, VisitorStatus
from ..models import Booking, Visitor, VisitSession
from ..templatetags.visits_portal import address_with_city
from . import changes_fixtures as fx
from .accounts_fixtures import portal_sign_in
from .factories import FamilyAccountFactory, VisitRoomFactory, approve_on_list


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _e(text) -> str:
    """``text`` as the tests compare it: with the page's HTML entities decoded (``_page``),
    whether a template escaped it (a variable) or not (a translate tag)."""
    return str(text)


def _second_adult(vs):
    adult, _ = approve_on_list(FamilyAccountFactory(first_name="Omar"), vs.custody)
    return adult


def _remove(vs, visitor=None, actor=None):
    return services.visitor_remove(
        actor=actor or vs.officer,
        visitor=visitor or vs.adult,
        reason="Lien de parenté non établi",
    )


def _verbs_in_order() -> list[str]:
    return list(AuditEntry.objects.order_by("pk").values_list("verb", flat=True))


# -- 1. a visitor taken off the list -----------------------------------------------------------


def test_removing_the_only_adult_cancels_the_booking(vs):
    booking = fx.book(vs, vs.sessions[0])
    past = fx.past_booking(vs)
    Notification.objects.all().delete()
    _remove(vs, vs.adult)
    booking = fx.fresh(booking)
    assert (booking.status, booking.cancel_reason) == (BookingStatus.CANCELLED, CancelReason.STAFF)
    assert fx.counters(vs.sessions[0]) == (0, 0)  # place given back
    assert fx.allowance_used(vs, vs.sessions[0].date) == 0  # allowance given back
    assert fx.fresh(past).status == BookingStatus.COMPLETED  # history untouched
    assert {"booking_cancelled", "visitor_removed"} <= {n.template for n in fx.sms()}
    # The bookings first (sessions locked before the chain head), the removal's entry last.
    verbs = _verbs_in_order()
    assert verbs.index("booking_cancel") < verbs.index("visitor_remove")


def test_removing_one_of_two_adults_flags_the_booking(vs):
    other = _second_adult(vs)
    booking = fx.book(vs, vs.sessions[0], [vs.adult, other, vs.child], actor=vs.officer)
    with translation.override("fr"):
        _remove(vs, other)
        expected = gettext("%(name)s is no longer on the visitor list.") % {"name": other.full_name}
    booking = fx.fresh(booking)
    assert booking.status == BookingStatus.FLAGGED
    assert booking.flag_reason == expected
    assert fx.counters(vs.sessions[0]) == (1, 3)  # keeps its place until the officer decides
    verbs = _verbs_in_order()
    assert verbs.index("booking_flag") < verbs.index("visitor_remove")


def test_removing_a_child_flags_only_the_bookings_naming_the_child(vs):
    with_child = fx.book(vs, vs.sessions[0], [vs.adult, vs.child])
    without = fx.book(vs, vs.sessions[3], [vs.adult])
    with translation.override("ar"):
        _remove(vs, vs.child)
        expected = gettext("%(name)s is no longer on the visitor list.") % {
            "name": vs.child.full_name
        }
    with_child = fx.fresh(with_child)
    assert (with_child.status, with_child.flag_reason) == (BookingStatus.FLAGGED, expected)
    assert fx.fresh(without).status == BookingStatus.BOOKED
    assert "booking_flagged" in {n.template for n in fx.sms()}


def test_removing_an_adult_takes_their_children_bookings_along(vs):
    mine = fx.book(vs, vs.sessions[0], [vs.adult, vs.child])
    other = _second_adult(vs)
    shared = fx.book(vs, vs.sessions[1], [other, vs.adult, vs.child], actor=vs.officer)
    _remove(vs, vs.adult)
    assert fx.fresh(vs.child).status == VisitorStatus.REMOVED
    assert fx.fresh(mine).status == BookingStatus.CANCELLED  # no adult left on it
    shared = fx.fresh(shared)
    assert shared.status == BookingStatus.FLAGGED  # another adult still comes
    assert vs.adult.full_name in shared.flag_reason
    assert vs.child.full_name in shared.flag_reason  # the child went with the adult


def test_bookings_under_way_or_of_other_prisoners_are_left_alone(vs):
    arrived = fx.book(vs, vs.sessions[0])
    Booking.objects.filter(pk=arrived.pk).update(status=BookingStatus.ARRIVED)
    later = fx.book(vs, vs.sessions[1])
    _remove(vs, vs.adult)
    assert fx.fresh(arrived).status == BookingStatus.ARRIVED
    assert fx.fresh(later).status == BookingStatus.CANCELLED
    # Called again (nothing left to do): nothing is written.
    before = fx.state(vs)
    result = services.visits_on_visitor_removed(visitor=fx.fresh(vs.adult), actor=vs.officer)
    assert result == {"cancelled": [], "flagged": []}
    assert fx.state(vs) == before


def test_refusing_a_child_flags_the_bookings_naming_the_child(vs):
    booking = fx.book(vs, vs.sessions[0], [vs.adult, vs.child])
    # A child awaiting the officer's decision again (e.g. after a data correction).
    Visitor.objects.filter(pk=vs.child.pk).update(status=VisitorStatus.PENDING, request=None)
    services.visitor_refuse(actor=vs.officer, visitor=fx.fresh(vs.child))
    assert fx.fresh(booking).status == BookingStatus.FLAGGED
    verbs = _verbs_in_order()
    assert verbs.index("booking_flag") < verbs.index("visitor_refuse")


def test_refusing_a_child_without_bookings_changes_no_booking(vs):
    booking = fx.book(vs, vs.sessions[0], [vs.adult])
    child = services.visitor_child_add(
        adult_visitor=vs.adult,
        full_name="Salma",
        birth_date=timezone.localdate() - dt.timedelta(days=365 * 4),
        account=vs.account,
    )
    services.visitor_refuse(actor=vs.officer, visitor=child)
    assert fx.fresh(child).status == VisitorStatus.REFUSED
    assert fx.fresh(booking).status == BookingStatus.BOOKED


def test_removal_refused_to_another_institution_changes_nothing(vs):
    booking = fx.book(vs, vs.sessions[0])
    before = fx.state(vs)
    with pytest.raises(PermissionDenied):
        _remove(vs, vs.adult, actor=vs.other_officer)
    assert fx.state(vs) == before
    assert fx.fresh(booking).status == BookingStatus.BOOKED


def _locked_session_ids(sql: str) -> set[int]:
    table = VisitSession._meta.db_table
    if f'FROM "{table}"' not in sql or "FOR UPDATE" not in sql:
        return set()
    found = re.search(r'"id" IN \(([\d, ]+)\)', sql) or re.search(r'"id" = (\d+)', sql)
    assert found, sql
    return {int(x) for x in found.group(1).split(",")}


def _ban(vs):
    services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind="banned",
        reason="Objet interdit",
        starts_on=timezone.localdate(),
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
@pytest.mark.parametrize(
    "action",
    [_remove, _ban, fx.transfer, fx.release],
    ids=["remove", "ban", "transfer", "release"],
)
def test_all_sessions_are_locked_before_the_audit_chain_head(vs, action):
    """Cancelling booking after booking would otherwise hold the chain head (and the
    allowance counter) while waiting for the next session: a booking in that session, which
    takes the session then the head, would deadlock with it. The registry sends
    ``custody_left`` before its own audit entries: the same holds for a movement."""
    first = fx.book(vs, vs.sessions[0])
    second = fx.book(vs, vs.sessions[1])
    with CaptureQueriesContext(connection) as ctx:
        action(vs)
    assert fx.fresh(first).status == fx.fresh(second).status == BookingStatus.CANCELLED
    sql = [q["sql"] for q in ctx.captured_queries]
    head_table = AuditChainHead._meta.db_table
    head = next(i for i, s in enumerate(sql) if head_table in s)
    before = set().union(*(_locked_session_ids(s) for s in sql[:head]))
    after = set().union(*(_locked_session_ids(s) for s in sql[head:]))
    assert before == {vs.sessions[0].pk, vs.sessions[1].pk}
    assert after <= before  # nothing newly waited for once the head is held


# -- 2. the family's booking page shows the status ---------------------------------------------


def _family(vs, language="ar"):
    return portal_sign_in(Client(HTTP_ACCEPT_LANGUAGE=language), vs.account)


def _page(vs, booking, language="ar") -> str:
    response = _family(vs, language).get(reverse("portal:booking", args=[booking.uuid]))
    assert response.status_code == 200
    return unescape(response.content.decode())


STATUS_TEXT = {
    BookingStatus.ARRIVED: "Your visitors have been checked in at the gate.",
    BookingStatus.IN_PROGRESS: "The visit is under way.",
    BookingStatus.COMPLETED: "The visit took place.",
    BookingStatus.NO_SHOW: "Nobody came to this visit.",
}


@pytest.mark.parametrize("language", ["ar", "fr"])
@pytest.mark.parametrize("status", list(STATUS_TEXT))
def test_booking_page_shows_the_visit_status(vs, language, status):
    booking = fx.book(vs, vs.sessions[0])
    Booking.objects.filter(pk=booking.pk).update(status=status)
    html = _page(vs, booking, language)
    with translation.override(language):
        assert _e(BookingStatus(status).label) in html
        assert _e(gettext(STATUS_TEXT[status])) in html
        too_late = gettext(
            "It is too late to change or cancel this visit online: contact the institution."
        )
    assert f'data-status="{status}"' in html
    assert booking.code in html
    assert reverse("portal:booking_cancel", args=[booking.uuid]) not in html
    assert reverse("portal:booking_change", args=[booking.uuid]) not in html
    assert _e(too_late) not in html  # under way or over: nothing to change any more


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_booking_page_of_a_booked_visit_offers_cancel_and_change(vs, language):
    booking = fx.book(vs, vs.sessions[0])
    html = _page(vs, booking, language)
    with translation.override(language):
        assert _e(BookingStatus.BOOKED.label) in html
    assert 'data-status="booked"' in html
    assert reverse("portal:booking_cancel", args=[booking.uuid]) in html
    assert reverse("portal:booking_change", args=[booking.uuid]) in html


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_booking_page_of_a_cancelled_visit_shows_the_reason(vs, language):
    booking = fx.book(vs, vs.sessions[0])
    _remove(vs, vs.adult)  # cancelled by the officer
    html = _page(vs, fx.fresh(booking), language)
    with translation.override(language):
        assert _e(BookingStatus.CANCELLED.label) in html
        assert _e(capfirst(CancelReason.STAFF.label)) in html
    assert 'data-status="cancelled"' in html
    assert reverse("portal:booking_cancel", args=[booking.uuid]) not in html
    assert reverse("portal:booking_change", args=[booking.uuid]) not in html


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_booking_page_of_a_flagged_visit_shows_the_reason(vs, language):
    booking = fx.book(vs, vs.sessions[0])
    services.booking_flag(booking=booking, reason="Pièce d'identité à vérifier", notify=False)
    html = _page(vs, booking, language)
    with translation.override(language):
        assert _e(BookingStatus.FLAGGED.label) in html
        assert _e(gettext("To be reviewed by the visits officer")) in html
    assert "Pièce d'identité à vérifier" in html
    assert 'data-status="flagged"' in html
    # Still before the cut-off: the family may still cancel or change it.
    assert reverse("portal:booking_cancel", args=[booking.uuid]) in html


def test_booking_page_after_the_cutoff_hides_cancel_and_change(vs):
    booking = fx.book(vs, vs.sessions[0])  # in 3 days
    type(vs.policy).objects.filter(pk=vs.policy.pk).update(change_cutoff_hours=24 * 7)
    html = _page(vs, booking)
    with translation.override("ar"):
        too_late = gettext(
            "It is too late to change or cancel this visit online: contact the institution."
        )
    assert _e(too_late) in html
    assert reverse("portal:booking_cancel", args=[booking.uuid]) not in html
    assert reverse("portal:booking_change", args=[booking.uuid]) not in html
    # Nor is the cancel form served: the family is sent back to the visit's page.
    before = fx.state(vs)
    response = _family(vs).get(reverse("portal:booking_cancel", args=[booking.uuid]))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:booking", args=[booking.uuid])
    assert fx.state(vs) == before


def test_cancel_page_of_a_cancelled_visit_redirects(vs):
    booking = fx.book(vs, vs.sessions[0])
    services.booking_cancel(booking=booking, account=vs.account, reason="")
    response = _family(vs).get(reverse("portal:booking_cancel", args=[booking.uuid]))
    assert response.status_code == 302
    # The form is still refused by the service if posted.
    before = fx.state(vs)
    response = _family(vs).post(reverse("portal:booking_cancel", args=[booking.uuid]))
    assert response.status_code == 409
    assert fx.state(vs) == before


# -- 3. the address and the city ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "city", "shown"),
    [
        ("Route de Taza, Oujda", "Oujda", "Route de Taza, Oujda"),
        ("Route de Taza, OUJDA.", "Oujda", "Route de Taza, OUJDA"),
        ("Route de Taza  Oujda", " Oujda ", "Route de Taza Oujda"),
        ("Route de Taza", "Oujda", "Route de Taza, Oujda"),
        ("Rue Xoujda", "Oujda", "Rue Xoujda, Oujda"),
        ("طريق تازة، وجدة", "وجدة", "طريق تازة، وجدة"),
        ("طريق تازة", "وجدة", "طريق تازة, وجدة"),
        ("", "Oujda", "Oujda"),
        ("Route de Taza", "", "Route de Taza"),
        ("", "", ""),
    ],
)
def test_address_with_city(address, city, shown):
    assert address_with_city(address, city) == shown


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_pages_do_not_repeat_the_city(vs, language):
    assert vs.facility.address == "Route de Taza, Oujda" and vs.facility.city == "Oujda"
    booking = fx.book(vs, vs.sessions[0])
    client = _family(vs, language)
    pages = [
        reverse("portal:booking", args=[booking.uuid]),
        reverse("portal:prisoner", args=[vs.adult.uuid]),
        reverse("portal:home"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Route de Taza, Oujda" in html, url
        assert "Oujda, Oujda" not in html, url
    # An address without the city: the city follows it, on every page alike.
    type(vs.facility).objects.filter(pk=vs.facility.pk).update(address="Route de Taza")
    for url in pages:
        assert "Route de Taza, Oujda" in client.get(url).content.decode(), url


# -- 5. query counts of the staff queue and of today's page ------------------------------------


def test_queue_query_count_does_not_grow_with_requests_of_every_status(client, vs):
    from .lists_fixtures import new_family, pdf_upload, prisoner, years_ago

    def request():
        custody = prisoner(vs.facility)
        return services.visitor_request_create(
            account=new_family(),
            committal_number=custody.committal_number,
            prisoner_name="Youssef Idrissi",
            relationship="spouse",
            document_kind="marriage_certificate",
            document=pdf_upload(),
            children=[("Amine", years_ago(6)), ("Sara", years_ago(3))],
        )

    request()
    client.force_login(vs.officer)
    urls = [reverse("visits:requests"), reverse("visits:requests") + "?status=all"]
    counts = {}
    for url in urls:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts[url] = len(ctx.captured_queries)
    more = [request() for _ in range(6)]
    services.visitor_request_approve(actor=vs.officer, request=more[0])
    services.visitor_request_refuse(actor=vs.officer, request=more[1], reason="Document illisible")
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        assert len(ctx.captured_queries) <= counts[url], (url, ctx.captured_queries)
    assert str(more[1].uuid) in response.content.decode()  # ?status=all lists decided ones


def test_today_page_query_count_does_not_grow_with_rooms_and_sessions(client, vs):
    from .gate_fixtures import make_booking, today_session
    from .test_gate_selectors import _more_bookings

    session = today_session(vs, capacity_visits=30, capacity_visitors=90)
    make_booking(vs, session)
    client.force_login(vs.officer)
    url = reverse("visits:gate_today", args=[vs.facility.code])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    # Two more rooms with sessions, bookings of other prisoners, a flagged one.
    for i, start in enumerate((dt.time(13), dt.time(15))):
        room = VisitRoomFactory(facility=vs.facility, name=f"Salle {i}", places=10, seats=30)
        other = today_session(
            vs, room=room, start=start, end=start.replace(hour=start.hour + 1), capacity_visits=10
        )
        made = _more_bookings(vs, other, 3)
        Booking.objects.filter(pk=made[0].pk).update(
            status=BookingStatus.FLAGGED, flag_reason="À vérifier"
        )
    _more_bookings(vs, session, 4)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("/visits/gate/bookings/") == 11
    assert len(many.captured_queries) <= len(one.captured_queries), many.captured_queries
