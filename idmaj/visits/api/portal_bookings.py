"""Family portal API of bookings: ``/api/v1/portal/...``.

* ``prisoners/<uuid>/sessions/``: the sessions the family may book for that prisoner now
  (``uuid`` = the family's own visitor entry), with their free places;
* ``bookings/``: the family's bookings; ``POST`` books (``{"prisoner", "session",
  "visitors"}``); refusals 400/409 (429 when rate-limited) ``{"code", "detail"}`` in the
  language of the request;
* ``bookings/<uuid>/``, ``bookings/<uuid>/cancel/``, ``bookings/<uuid>/change/``.

Anything that is not the family's own answers 404. ``POST bookings/`` is the path of a
national holiday rush: a handful of queries (see ``tests/test_bookings_api.py``).
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from .. import portal_auth, selectors
from ..ratelimit import client_address
from ..serializers.bookings import (
    BookableSessionSerializer,
    BookingCancelInputSerializer,
    BookingSerializer,
    PortalBookingChangeSerializer,
    PortalBookingInputSerializer,
)
from ..services import bookings as services

TAGS = ["portal"]
REFUSED = OpenApiResponse(description="Refused: `{code, detail[, field]}` (translated detail)")
LIMITED = OpenApiResponse(description="Too many attempts: `{code: rate_limited, detail}`")


class _Family(APIView):
    authentication_classes = portal_auth.PORTAL_AUTHENTICATION
    permission_classes = [portal_auth.IsFamily]
    throttle_classes: list = []


def _input(serializer_class, data) -> dict:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _session(uuid):
    session = selectors.session_for_booking(uuid)
    if session is None:
        raise DomainError("invalid", _("This session does not exist."), field="session")
    return session


def _parties(account, prisoner, visitors):
    adult, chosen, complete = selectors.family_booking_parties(
        account=account, prisoner=prisoner, visitors=visitors
    )
    if not complete:
        raise DomainError(
            "not_on_list",
            _("Someone chosen is not on the prisoner's approved visitor list."),
            field="visitors",
        )
    return adult, chosen


class PrisonerSessions(_Family):
    """Sessions the family may book for the prisoner now (within the institution's booking
    window, fitting the prisoner's regime and wing, with a free place)."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_prisoner_sessions",
        responses={200: BookableSessionSerializer(many=True)},
    )
    def get(self, request, uuid):
        adult = selectors.get_family_visitor_or_404(account=request.user, uuid=uuid)
        # Plain rows, shared a second or two by the families of an institution (see the
        # selector); their shape is ``BookableSessionSerializer``'s.
        return Response(selectors.family_bookable_session_rows(adult=adult))


class BookingListCreate(_Family):
    """The family's bookings (newest session first); ``POST`` books a session. Refusal
    codes: ``not_on_list``, ``banned``, ``closed_only``, ``not_with_child``,
    ``too_many_adults``, ``too_many_children``, ``allowance_used`` (the detail says when it
    renews), ``session_full``, ``outside_window``, ``online_paused``, ``not_in_custody``,
    ``wrong_regime``, ``duplicate``, ``session_cancelled``, ``excluded_date``,
    ``rate_limited``."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_bookings_list",
        responses={200: BookingSerializer(many=True)},
    )
    def get(self, request):
        rows = selectors.family_bookings(account=request.user).select_related("replaced_by")[:200]
        return Response(BookingSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="portal_bookings_create",
        request=PortalBookingInputSerializer,
        responses={201: BookingSerializer, 400: REFUSED, 409: REFUSED, 429: LIMITED},
    )
    def post(self, request):
        data = _input(PortalBookingInputSerializer, request.data)
        adult, chosen = _parties(request.user, data["prisoner"], data["visitors"])
        booking = services.visit_book(
            session=_session(data["session"]),
            detention=adult.detention,
            visitors=chosen,
            account=request.user,
            ip=client_address(request),
        )
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


class BookingDetail(_Family):
    """One of the family's bookings."""

    @extend_schema(tags=TAGS, operation_id="portal_bookings_retrieve", responses=BookingSerializer)
    def get(self, request, uuid):
        booking = selectors.get_family_booking_or_404(account=request.user, uuid=uuid)
        return Response(BookingSerializer(booking).data)


class BookingCancel(_Family):
    """Cancel the booking (until the institution's cut-off before the visit): the place and
    the allowance are given back. Refusals: 409 ``too_late``, ``not_cancellable``."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_bookings_cancel",
        request=BookingCancelInputSerializer,
        responses={200: BookingSerializer, 409: REFUSED},
    )
    def post(self, request, uuid):
        booking = selectors.get_family_booking_or_404(account=request.user, uuid=uuid)
        _input(BookingCancelInputSerializer, request.data)
        done = services.booking_cancel(booking=booking, account=request.user, reason="")
        return Response(BookingSerializer(done).data)


class BookingChange(_Family):
    """Replace the booking by another session and/or other visitors, in one step: if the new
    booking is refused (same codes as booking), the old one stays as it was."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_bookings_change",
        request=PortalBookingChangeSerializer,
        responses={201: BookingSerializer, 400: REFUSED, 409: REFUSED, 429: LIMITED},
    )
    def post(self, request, uuid):
        booking = selectors.get_family_booking_or_404(account=request.user, uuid=uuid)
        data = _input(PortalBookingChangeSerializer, request.data)
        own = selectors.family_own_entry(account=request.user, detention_id=booking.detention_id)
        _adult, chosen = _parties(request.user, own.uuid, data["visitors"])
        new = services.booking_change(
            booking=booking,
            session=_session(data["session"]),
            visitors=chosen,
            account=request.user,
            ip=client_address(request),
        )
        return Response(BookingSerializer(new).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path(
        "prisoners/<uuid:uuid>/sessions/",
        PrisonerSessions.as_view(),
        name="api-portal-prisoner-sessions",
    ),
    path("bookings/", BookingListCreate.as_view(), name="api-portal-bookings"),
    path("bookings/<uuid:uuid>/", BookingDetail.as_view(), name="api-portal-booking"),
    path("bookings/<uuid:uuid>/cancel/", BookingCancel.as_view(), name="api-portal-booking-cancel"),
    path("bookings/<uuid:uuid>/change/", BookingChange.as_view(), name="api-portal-booking-change"),
]
