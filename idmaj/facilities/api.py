"""The facilities JSON API: thin views over the selectors, scoped like the pages."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from . import selectors
from .constants import FacilityKind, FacilityStatus
from .models import Facility, InstallationType
from .serializers import (
    CapacityQuerySerializer,
    CapacitySerializer,
    FacilityFilterSerializer,
    FacilitySerializer,
    InstallationCountQuerySerializer,
    InstallationCountSerializer,
)

TAGS = ["facilities"]


def _population_context(facilities) -> dict:
    ids = [f.pk for f in facilities]
    return {"population": selectors.population_at(facility_ids=ids, on=timezone.localdate())}


@extend_schema(
    tags=TAGS,
    parameters=[
        OpenApiParameter("region", str, description="regional directorate code"),
        OpenApiParameter("kind", str, enum=FacilityKind.values),
        OpenApiParameter("status", str, enum=FacilityStatus.values),
        OpenApiParameter("q", str, description="code, name or city contains"),
    ],
)
class FacilityList(ListAPIView):
    """Institutions the caller may see, with beds in service today."""

    serializer_class = FacilitySerializer
    queryset = Facility.objects.none()  # for the schema; get_queryset answers

    def get_queryset(self):
        filters = FacilityFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.facility_list(fetched_by=self.request.user, **filters.validated_data)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), **_population_context(page)}
        data = FacilitySerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


@extend_schema(tags=TAGS)
class FacilityDetail(RetrieveAPIView):
    """One institution by code; 404 alike for missing and out of the caller's scope."""

    serializer_class = FacilitySerializer
    queryset = Facility.objects.none()
    lookup_field = "code"

    def get_object(self):
        return selectors.get_facility_for_user_or_404(
            user=self.request.user, code=self.kwargs["code"]
        )

    def retrieve(self, request, *args, **kwargs):
        facility = self.get_object()
        context = {**self.get_serializer_context(), **_population_context([facility])}
        return Response(FacilitySerializer(facility, context=context).data)


class CapacityView(APIView):
    """Beds, population and occupancy on a date, per institution, region and in total."""

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("on", OpenApiTypes.DATE, description="default: today"),
            OpenApiParameter("region", str, description="regional directorate code"),
        ],
        responses=CapacitySerializer,
    )
    def get(self, request):
        query = CapacityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = selectors.capacity_at(
            fetched_by=request.user,
            on=query.validated_data["on"],
            region=query.validated_data.get("region") or None,
        )
        return Response(CapacitySerializer(data).data)


class InstallationCountView(APIView):
    """How many institutions had an installation at the end of a day."""

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("type", str, required=True, description="installation type code"),
            OpenApiParameter("on", OpenApiTypes.DATE, description="default: today"),
        ],
        responses=InstallationCountSerializer,
    )
    def get(self, request):
        query = InstallationCountQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        type_code = query.validated_data["type"]
        on = query.validated_data["on"]
        if not InstallationType.objects.filter(code=type_code).exists():
            raise DomainError("unknown_type", _("Unknown installation type."), field="type")
        count = selectors.installation_count_at(fetched_by=request.user, type_code=type_code, on=on)
        return Response(
            InstallationCountSerializer({"type": type_code, "on": on, "count": count}).data
        )
