"""Registry API: population counts (per institution, regional directorate and nation at a
moment, by legal status, sex and age group, with beds and occupancy) and the morning count
sheet of an institution. Thin views over ``selectors.population``."""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..serializers.housing import (
    CountSheetQuerySerializer,
    CountSheetSerializer,
    PopulationQuerySerializer,
    PopulationSerializer,
)

TAGS = ["inmates"]
AT = OpenApiParameter(
    "at",
    str,
    description="a date (YYYY-MM-DD: the end of that day) or an ISO date and time "
    "(without an offset: local time); default: now",
)


@extend_schema(tags=TAGS)
class Population(APIView):
    """The population at a moment of one institution (``facility``), one regional
    directorate (``region``) or every institution the caller may see (neither): per
    institution, per regional directorate and in total, by legal status (as recorded at
    the moment), sex, age group (under 18 on the date), present or temporarily absent, with
    the beds in service that day, the occupancy and the overcrowding (persons above the
    beds, per institution). 404 for an institution or region the caller may not see."""

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", str, description="institution code"),
            OpenApiParameter("region", str, description="regional directorate code"),
            AT,
        ],
        responses=PopulationSerializer,
    )
    def get(self, request):
        query = PopulationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        report = selectors.population_report(
            fetched_by=request.user,
            at=data.get("at") or timezone.now(),
            facility=data.get("facility") or None,
            region=data.get("region") or None,
        )
        return Response(PopulationSerializer(report).data)


@extend_schema(tags=TAGS)
class CountSheet(APIView):
    """The count sheet of an institution at a moment: per wing and cell the persons who
    should be there, the temporarily absent with where they are, the persons without a
    cell, the totals."""

    @extend_schema(
        parameters=[OpenApiParameter("facility", str, required=True), AT],
        responses=CountSheetSerializer,
    )
    def get(self, request):
        query = CountSheetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        facility = selectors.get_housing_facility_for_user_or_404(
            user=request.user, code=data["facility"]
        )
        sheet = selectors.count_sheet(fetched_by=request.user, facility=facility, at=data.get("at"))
        return Response(CountSheetSerializer(sheet).data)


urlpatterns = [
    path("population/", Population.as_view(), name="api-inmate-population"),
    path("count-sheet/", CountSheet.as_view(), name="api-inmate-count-sheet"),
]
