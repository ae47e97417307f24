"""Identifiers that leave the system cannot be guessed: UUID4 for every visits record a page,
the API or an SMS names, random 10-character booking codes, and no URL of the visits pages,
the family portal or their APIs that takes a sequential integer id."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ..models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Booking,
    ExcludedDate,
    FamilyAccount,
    OnlineBookingPause,
    SessionTemplate,
    Visitor,
    VisitorRequest,
    VisitorRestriction,
    VisitSession,
    new_booking_code,
)
from . import changes_fixtures as fx

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")
# Where the visits URLs are mounted (idmaj/urls.py).
VISITS_PREFIXES = ("visits/", "family/", "api/v1/visits/", "api/v1/portal/")
# Integers allowed in a route: parts of a date, never a record's id.
DATE_PARTS = {"year", "month", "day", "week"}
INT_CONVERTER = re.compile(r"<int:(\w+)>")
REGEX_DIGITS = re.compile(r"\(\?P<(\w+)>\\d\+?\)|\(\?P<(\w+)>\[0-9\]\+\)")


@pytest.mark.parametrize(
    "model",
    [
        Booking,
        Visitor,
        VisitorRequest,
        VisitorRestriction,
        VisitSession,
        FamilyAccount,
        SessionTemplate,
        ExcludedDate,
        OnlineBookingPause,
    ],
)
def test_records_named_outside_carry_a_random_uuid(model):
    field = model._meta.get_field("uuid")
    assert field.unique and field.default is uuid.uuid4 and not field.editable


def test_booked_rows_hold_uuid4_and_a_crockford_code(vs):
    booking = fx.book(vs, vs.sessions[0])
    booking = fx.fresh(booking)
    for value in (booking.uuid, vs.adult.uuid, vs.child.uuid, vs.adult.request.uuid):
        assert isinstance(value, uuid.UUID) and value.version == 4
    assert len(booking.code) == CODE_LENGTH == 10
    assert CROCKFORD.match(booking.code)


def test_booking_codes_use_crockford_base32_only():
    assert CODE_ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert not set("ILOU") & set(CODE_ALPHABET)
    codes = {new_booking_code() for _ in range(2000)}
    assert all(CROCKFORD.match(c) for c in codes)
    assert len(codes) == 2000  # 50 random bits: no collision in a few thousand
    # every symbol turns up: the codes are spread over the whole alphabet
    assert set("".join(codes)) == set(CODE_ALPHABET)


def _routes(resolvers, prefix=""):
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


def _visits_routes():
    routes = [
        (route, name)
        for route, name in _routes(get_resolver().url_patterns)
        if route.startswith(VISITS_PREFIXES)
    ]
    return routes


def test_visits_urls_are_mounted():
    routes = dict(_visits_routes())
    # the pages the navigation and the portal point to exist under the visits prefixes
    names = set(routes.values())
    for name in ("today", "requests", "settings", "figures", "home", "bookings", "signin"):
        assert name in names, name
    # records are reached by UUID (or booking code), so the check below is not vacuous
    assert any("<uuid:" in route for route in routes)


def test_no_visits_url_takes_an_integer_id():
    offending = []
    for route, name in _visits_routes():
        for var in INT_CONVERTER.findall(route):
            if var not in DATE_PARTS:
                offending.append((route, name))
        for groups in REGEX_DIGITS.findall(route):
            if not set(groups) - {""} <= DATE_PARTS:
                offending.append((route, name))
        assert "<pk>" not in route and "<id>" not in route, route
    assert offending == []


def test_the_visits_url_lists_themselves_hold_no_integer_converter():
    """The lists gathered by the visits app (whatever the prefix they are mounted under)."""
    from idmaj.visits import api_urls, portal_api_urls, portal_urls, urls

    for module in (urls, portal_urls, api_urls, portal_api_urls):
        for route, name in _routes(module.urlpatterns):
            for var in INT_CONVERTER.findall(route):
                assert var in DATE_PARTS, (module.__name__, route, name)
