"""Staff API of bookings: ``/api/v1/visits/bookings/...``.

* ``bookings/?facility=<code>&date=<YYYY-MM-DD>``: the bookings of an institution's day
  (``visits.view`` there); ``POST`` books on a family's behalf (desk, phone, walk-in;
  ``visits.manage``; beyond capacity with a reason: ``visits.override``);
* ``bookings/<uuid>/``; ``bookings/<uuid>/cancel/`` (with the reason).
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError
from idmaj.facilities.selectors import get_facility_for_user_or_404

from .. import selectors
from ..constants import VisitorStatus
from ..models import Visitor
from ..serializers.bookings import (
    BookingCancelInputSerializer,
    StaffBookingInputSerializer,
    StaffBookingQuerySerializer,
    StaffBookingSerializer,
)
from ..services import bookings as services

TAGS = ["visits"]
REFUSED = OpenApiResponse(description="Refused: `{code, detail[, field]}`")


def _input(serializer_class, data) -> dict:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


class BookingListCreate(APIView):
    """Bookings of one institution on one day; ``POST`` books on a family's behalf."""

    @extend_schema(
        tags=TAGS,
        operation_id="visits_bookings_list",
        parameters=[
            OpenApiParameter("facility", str, required=True, description="institution code"),
            OpenApiParameter("date", str, required=True, description="YYYY-MM-DD"),
        ],
        responses={200: StaffBookingSerializer(many=True)},
    )
    def get(self, request):
        query = _input(StaffBookingQuerySerializer, request.query_params)
        facility = get_facility_for_user_or_404(user=request.user, code=query["facility"].upper())
        rows = selectors.booking_list(
            fetched_by=request.user, facility=facility, date=query["date"]
        )
        rows = rows.select_related("replaced_by")
        return Response(StaffBookingSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="visits_bookings_create",
        request=StaffBookingInputSerializer,
        responses={201: StaffBookingSerializer, 400: REFUSED, 403: REFUSED, 409: REFUSED},
    )
    def post(self, request):
        data = _input(StaffBookingInputSerializer, request.data)
        custody = selectors.staff_custody_for_booking(
            user=request.user, committal_number=data["committal_number"]
        )
        if custody is None:
            raise DomainError(
                "not_found",
                _("No prisoner in custody under this committal number in your institutions."),
                field="committal_number",
                status=404,
            )
        session = selectors.session_for_booking(data["session"])
        if session is None:
            raise DomainError("invalid", _("This session does not exist."), field="session")
        wanted = {str(u) for u in data["visitors"]}
        visitors = list(
            Visitor.objects.filter(
                uuid__in=wanted, detention_id=custody.detention_id, status=VisitorStatus.APPROVED
            )
        )
        if len(visitors) != len(wanted):
            raise DomainError(
                "not_on_list",
                _("Someone chosen is not on the prisoner's approved visitor list."),
                field="visitors",
            )
        account = next((v.account for v in visitors if v.account_id), None)
        booking = services.visit_book(
            session=session,
            detention=custody.detention,
            visitors=visitors,
            account=account,
            actor=request.user,
            channel=data["channel"],
            over_capacity_reason=data["over_capacity_reason"],
        )
        booking.custody = custody
        return Response(StaffBookingSerializer(booking).data, status=status.HTTP_201_CREATED)


class BookingDetail(APIView):
    @extend_schema(
        tags=TAGS, operation_id="visits_bookings_retrieve", responses=StaffBookingSerializer
    )
    def get(self, request, uuid):
        booking = selectors.get_booking_for_user_or_404(user=request.user, uuid=uuid)
        return Response(StaffBookingSerializer(booking).data)


class BookingCancel(APIView):
    """Cancel a booking (``visits.manage``), with the reason; the family is told."""

    @extend_schema(
        tags=TAGS,
        operation_id="visits_bookings_cancel",
        request=BookingCancelInputSerializer,
        responses={200: StaffBookingSerializer, 400: REFUSED, 403: REFUSED, 409: REFUSED},
    )
    def post(self, request, uuid):
        booking = selectors.get_booking_for_user_or_404(user=request.user, uuid=uuid)
        data = _input(BookingCancelInputSerializer, request.data)
        done = services.booking_cancel(booking=booking, actor=request.user, reason=data["reason"])
        done.custody = booking.custody
        return Response(StaffBookingSerializer(done).data)


urlpatterns = [
    path("bookings/", BookingListCreate.as_view(), name="api-visits-bookings"),
    path("bookings/<uuid:uuid>/", BookingDetail.as_view(), name="api-visits-booking"),
    path("bookings/<uuid:uuid>/cancel/", BookingCancel.as_view(), name="api-visits-booking-cancel"),
]
