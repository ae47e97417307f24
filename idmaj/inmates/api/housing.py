"""Registry API: housing. A prisoner's cell and history of moves (``POST`` allocates a cell
or moves the person), and an institution's cells with their occupancy. Thin views over
``selectors.housing`` and ``services.cell_allocate``."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Cell, Wing

from .. import selectors, services
from ..serializers.housing import (
    AllocateSerializer,
    CustodyHousingSerializer,
    FacilityHousingSerializer,
    HousingQuerySerializer,
)

TAGS = ["inmates"]


def _housing(custody) -> dict:
    return {"custody": custody, **selectors.custody_housing(custody=custody)}


@extend_schema(tags=TAGS)
class CustodyHousing(APIView):
    """The prisoner's current cell and history of stays; ``POST`` allocates a cell or moves
    the person to another cell of the institution (``inmates.house``). A refusal answers
    400 with the code of the separation rule broken (``sex_separation``,
    ``juvenile_in_adult_wing``, ``adult_in_juvenile_wing``, ``remand_in_convicted_wing``,
    ``convicted_in_remand_wing``, ``mixed_cell_other_side``, ``mother_child_women_only``,
    ``cell_out_of_service``, ``reason_required``, ``same_cell``) or 409 (``cell_full``,
    ``housing_changed``, ``not_in_custody``)."""

    @extend_schema(operation_id="inmates_housing_retrieve", responses=CustodyHousingSerializer)
    def get(self, request, uuid):
        custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
        return Response(CustodyHousingSerializer(_housing(custody)).data)

    @extend_schema(
        operation_id="inmates_housing_allocate",
        request=AllocateSerializer,
        responses={201: CustodyHousingSerializer},
    )
    def post(self, request, uuid):
        custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
        ser = AllocateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        cell = Cell.objects.filter(uuid=data["cell"], facility_id=custody.facility_id).first()
        if cell is None:
            raise DomainError(
                "invalid", _("No cell of this institution with this identifier."), field="cell"
            )
        services.cell_allocate(
            actor=request.user,
            custody=custody,
            cell=cell,
            at=data.get("at"),
            reason=data.get("reason", ""),
        )
        return Response(
            CustodyHousingSerializer(_housing(custody)).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=TAGS)
class FacilityHousing(APIView):
    """An institution's wings and cells now: beds, operational maximum, occupants, free
    places, overcrowding; the prisoners whose cell breaks a separation rule today and the
    number without a cell. 404 alike for a missing institution and one whose prisoners
    the caller may not see."""

    @extend_schema(
        operation_id="inmates_facility_housing_retrieve",
        parameters=[OpenApiParameter("wing", str, description="UUID of one wing")],
        responses=FacilityHousingSerializer,
    )
    def get(self, request, code):
        facility = selectors.get_housing_facility_for_user_or_404(user=request.user, code=code)
        query = HousingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wing = None
        if query.validated_data.get("wing"):
            wing = Wing.objects.filter(facility=facility, uuid=query.validated_data["wing"]).first()
            if wing is None:
                raise DomainError("invalid", _("No wing of this institution."), field="wing")
        overview = selectors.housing_overview(facility=facility, wing=wing, cells_at_once=None)
        data = {
            "facility": facility,
            "on": overview["on"],
            "totals": overview["totals"],
            "wings": overview["wings"],
            "unhoused": selectors.unhoused_prisoners(
                fetched_by=request.user, facility=facility
            ).count(),
            "misplaced": selectors.misplaced_prisoners(fetched_by=request.user, facility=facility),
        }
        return Response(FacilityHousingSerializer(data).data)


urlpatterns = [
    path("<uuid:uuid>/housing/", CustodyHousing.as_view(), name="api-inmate-housing"),
    path("housing/<str:code>/", FacilityHousing.as_view(), name="api-facility-housing"),
]
