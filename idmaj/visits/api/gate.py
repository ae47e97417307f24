"""Staff API of the gate: find a booking by its code, check an identity card, record the
steps of the visit, record a walk-in visit. Thin views over ``services.gate`` and
``selectors.gate``; ``visits.manage`` at the booking's institution for every write.

Unknown codes and codes of another institution answer alike: 404 ``not_found``.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from .. import selectors, services
from ..serializers.gate import (
    GateBookingSerializer,
    GateCodeInputSerializer,
    GateIdentityInputSerializer,
    GateMomentInputSerializer,
    GateWalkInInputSerializer,
)

TAGS = ["visits"]


def _input(serializer_class, data) -> dict:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _answer(request, booking, *, code: int = 200) -> Response:
    fresh = selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=booking.uuid)
    selectors.gate_booking_visitors(fresh)
    return Response(GateBookingSerializer(fresh).data, status=code)


def _booking(request, uuid):
    return selectors.get_gate_booking_for_user_or_404(user=request.user, uuid=uuid)


@extend_schema(tags=TAGS)
class GateLookup(APIView):
    """The booking with this code (normalised: upper case, no spaces or dashes, O → 0,
    I/L → 1) at an institution where the caller holds ``visits.manage``; 404 otherwise."""

    @extend_schema(
        request=GateCodeInputSerializer,
        responses={200: GateBookingSerializer},
        operation_id="visits_gate_lookup",
    )
    def post(self, request):
        data = _input(GateCodeInputSerializer, request.data)
        booking = services.booking_find_by_code(actor=request.user, code=data["code"])
        return _answer(request, booking)


@extend_schema(tags=TAGS)
class GateCheckIdentity(APIView):
    """Check the identity card shown against the adults of the booking (on the session's
    day): 400 ``identity_mismatch`` when it is none of theirs (the attempt is audited)."""

    @extend_schema(
        request=GateIdentityInputSerializer,
        responses={200: GateBookingSerializer},
        operation_id="visits_gate_check_identity",
    )
    def post(self, request, uuid):
        booking = _booking(request, uuid)
        data = _input(GateIdentityInputSerializer, request.data)
        services.visitor_identity_check(actor=request.user, booking=booking, cin=data["cin"])
        return _answer(request, booking)


def _step_view(name: str, service, doc: str, *, with_moment: bool = True):
    class StepView(APIView):
        __doc__ = doc

        @extend_schema(
            tags=TAGS,
            request=GateMomentInputSerializer if with_moment else None,
            responses={200: GateBookingSerializer},
            operation_id=f"visits_gate_{name}",
        )
        def post(self, request, uuid):
            booking = _booking(request, uuid)
            kwargs = {}
            if with_moment:
                at = _input(GateMomentInputSerializer, request.data).get("at")
                if at is not None:
                    kwargs["at"] = at
            service(actor=request.user, booking=booking, **kwargs)
            return _answer(request, booking)

    StepView.__name__ = StepView.__qualname__ = f"Gate{name.title().replace('_', '')}"
    return StepView


GateArrive = _step_view(
    "arrive",
    services.booking_arrive,
    "The visitors have arrived: on the session's day, for a booked or flagged booking, once "
    "an adult's identity card is checked.",
)
GateStart = _step_view("start", services.booking_start, "The visit begins (after the arrival).")
GateEnd = _step_view("end", services.booking_end, "The visit is over.")
GateNoShow = _step_view(
    "no_show",
    services.booking_no_show,
    "Nobody came: once the session has begun, for a booked or flagged booking.",
    with_moment=False,
)


@extend_schema(tags=TAGS)
class GateWalkIn(APIView):
    """A visit without booking in one of today's sessions, where the institution allows
    them; recorded as arrived (the adults' identity cards count as checked)."""

    @extend_schema(
        request=GateWalkInInputSerializer,
        responses={201: GateBookingSerializer},
        operation_id="visits_gate_walk_in",
    )
    def post(self, request):
        data = _input(GateWalkInInputSerializer, request.data)
        session = selectors.get_gate_session_for_user_or_404(
            user=request.user, uuid=data["session"]
        )
        custody = selectors.gate_walk_in_custody(
            facility=session.facility,
            committal_number=data["committal_number"],
            uuid=data["custody"],
        )
        if custody is None:
            raise DomainError(
                "not_in_custody",
                _("No prisoner held here has this committal number."),
                field="committal_number",
            )
        wanted = set(data["visitors"])
        visitors = selectors.gate_walk_in_visitors(custody=custody, uuids=wanted)
        if len(visitors) != len(wanted):
            raise DomainError(
                "not_on_list",
                _("A visitor is not on this prisoner's list."),
                field="visitors",
            )
        booking = services.walk_in_record(
            actor=request.user,
            session=session,
            custody=custody,
            visitors=visitors,
            reason=data["reason"],
        )
        return _answer(request, booking, code=status.HTTP_201_CREATED)


urlpatterns = [
    path("gate/lookup/", GateLookup.as_view(), name="api-visits-gate-lookup"),
    path(
        "bookings/<uuid:uuid>/check-identity/",
        GateCheckIdentity.as_view(),
        name="api-visits-gate-check-identity",
    ),
    path("bookings/<uuid:uuid>/arrive/", GateArrive.as_view(), name="api-visits-gate-arrive"),
    path("bookings/<uuid:uuid>/start/", GateStart.as_view(), name="api-visits-gate-start"),
    path("bookings/<uuid:uuid>/end/", GateEnd.as_view(), name="api-visits-gate-end"),
    path("bookings/<uuid:uuid>/no-show/", GateNoShow.as_view(), name="api-visits-gate-no-show"),
    path("walk-ins/", GateWalkIn.as_view(), name="api-visits-gate-walk-in"),
]
