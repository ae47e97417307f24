"""Staff API of the visit figures: ``GET /api/v1/visits/figures/?from=YYYY-MM&to=YYYY-MM``
(also ``month_from``/``month_to``), optionally ``region`` (directorate code) or ``facility``
(institution code); scoped by ``visits.reports``. ``?export=csv`` gives the rows as CSV."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from .. import selectors
from ..serializers.gate import FiguresSerializer

TAGS = ["visits"]


def _month(request, *names):
    for name in names:
        raw = request.query_params.get(name)
        if raw:
            month = selectors.parse_month(raw)
            if month is None:
                raise DomainError("invalid", _("Give a month as YYYY-MM."), field=name)
            return month
    return None


def figures_for_request(request) -> dict:
    """Reads the query (from/to months, region, facility) and returns the figures; 404 for
    a directorate or institution outside the caller's scope."""
    first, last = selectors.default_months()
    month_from = _month(request, "from", "month_from")
    month_to = _month(request, "to", "month_to")
    if month_from is None and month_to is None:
        month_from, month_to = first, last
    month_from = month_from or month_to
    month_to = month_to or month_from
    region = facility = None
    code = (request.query_params.get("region") or "").strip()
    if code:
        region = selectors.figures_regions(fetched_by=request.user).filter(code=code).first()
        if region is None:
            raise Http404
    code = (request.query_params.get("facility") or "").strip()
    if code:
        facility = (
            selectors.figures_facilities(fetched_by=request.user, region=region)
            .filter(code=code)
            .first()
        )
        if facility is None:
            raise Http404
    return selectors.visit_figures(
        fetched_by=request.user,
        month_from=month_from,
        month_to=month_to,
        region=region,
        facility=facility,
    )


@extend_schema(tags=TAGS)
class VisitFigures(APIView):
    """Bookings per channel (online, desk, phone, walk-in), cancellations, completed visits,
    no-shows and their rate, occupancy of the sessions, per institution and month, with the
    totals per institution, directorate, month and overall; and the institutions where
    online booking is live."""

    @extend_schema(
        operation_id="visits_figures",
        parameters=[
            OpenApiParameter(
                "from", str, description="first month, YYYY-MM (default: five months ago)"
            ),
            OpenApiParameter("to", str, description="last month, YYYY-MM (default: this month)"),
            OpenApiParameter("region", str, description="regional directorate code"),
            OpenApiParameter("facility", str, description="institution code"),
            OpenApiParameter(
                "export", OpenApiTypes.STR, enum=["csv"], description="csv: the rows as CSV"
            ),
        ],
        responses={200: FiguresSerializer},
    )
    def get(self, request):
        figures = figures_for_request(request)
        if request.query_params.get("export") == "csv":
            response = HttpResponse(
                selectors.figures_csv(figures), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="visit-figures.csv"'
            return response
        return Response(FiguresSerializer(selectors.figures_as_data(figures)).data)


urlpatterns = [path("figures/", VisitFigures.as_view(), name="api-visits-figures")]
