"""Staff API of the visitor lists: ``/api/v1/visits/...``.

* ``requests/`` (``?status=pending&facility=CODE``), ``requests/<uuid>/``,
  ``requests/<uuid>/approve/``, ``requests/<uuid>/refuse/`` (``{"reason"}``),
  ``requests/<uuid>/document/`` (the file, audited);
* ``visitors/<uuid>/restrictions/`` (list, add), ``restrictions/<uuid>/lift/``
  (``{"reason"}``), ``visitors/<uuid>/remove/`` (``{"reason"}``).

Scoped like the pages (``visits.view`` to read, ``visits.manage`` to act: 403); 404 alike for
missing and out of scope.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Facility

from .. import selectors, services
from ..constants import RequestStatus
from ..models import Visitor, VisitorRequest, VisitorRestriction
from ..serializers.lists import (
    ReasonSerializer,
    RestrictionInputSerializer,
    RestrictionSerializer,
    VisitorBriefSerializer,
    VisitorRequestDetailSerializer,
    VisitorRequestSerializer,
)

TAGS = ["visits"]


def _detail(request, uuid):
    req = selectors.get_visitor_request_for_user_or_404(user=request.user, uuid=uuid)
    return VisitorRequestDetailSerializer(req).data


@extend_schema(tags=TAGS)
@extend_schema_view(
    get=extend_schema(
        operation_id="visits_requests_list",
        parameters=[
            OpenApiParameter("status", str, enum=list(RequestStatus.values)),
            OpenApiParameter("facility", str, description="institution code"),
        ],
    )
)
class RequestList(ListAPIView):
    """Visitor list requests of the caller's institutions (``visits.view``): pending ones
    oldest first with ``?status=pending``, otherwise newest first."""

    serializer_class = VisitorRequestSerializer
    queryset = VisitorRequest.objects.none()

    def get_queryset(self):
        params = self.request.query_params
        st = params.get("status") or None
        if st is not None and st not in RequestStatus.values:
            raise DomainError("invalid", _("Unknown status."), field="status")
        facility = None
        if params.get("facility"):
            facility = Facility.objects.filter(code=params["facility"]).first()
            if facility is None:
                return VisitorRequest.objects.none()
        return selectors.visitor_request_list(
            fetched_by=self.request.user, facility=facility, status=st
        )


@extend_schema(tags=TAGS)
class RequestDetail(APIView):
    """One request, with the visitors asked for."""

    @extend_schema(
        operation_id="visits_requests_retrieve", responses=VisitorRequestDetailSerializer
    )
    def get(self, request, uuid):
        return Response(_detail(request, uuid))


@extend_schema(tags=TAGS)
class RequestApprove(APIView):
    """Approve (``visits.manage``): the visitors join the list; 409 ``list_full``,
    ``already_decided``, ``not_in_custody``."""

    @extend_schema(
        operation_id="visits_requests_approve",
        request=None,
        responses=VisitorRequestDetailSerializer,
    )
    def post(self, request, uuid):
        req = selectors.get_visitor_request_for_user_or_404(user=request.user, uuid=uuid)
        services.visitor_request_approve(actor=request.user, request=req)
        return Response(_detail(request, uuid))


@extend_schema(tags=TAGS)
class RequestRefuse(APIView):
    """Refuse with the reason the family is told (``visits.manage``)."""

    @extend_schema(
        operation_id="visits_requests_refuse",
        request=ReasonSerializer,
        responses=VisitorRequestDetailSerializer,
    )
    def post(self, request, uuid):
        req = selectors.get_visitor_request_for_user_or_404(user=request.user, uuid=uuid)
        ser = ReasonSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.visitor_request_refuse(
            actor=request.user, request=req, reason=ser.validated_data["reason"]
        )
        return Response(_detail(request, uuid))


@extend_schema(tags=TAGS)
class RequestDocument(APIView):
    """The supporting document (PDF, JPEG or PNG, as an attachment); each read is audited."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="visits_requests_document",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="no document, or not yours to see"),
        },
    )
    def get(self, request, uuid):
        req = selectors.get_visitor_request_for_user_or_404(user=request.user, uuid=uuid)
        return selectors.visitor_request_document_response(fetched_by=request.user, request=req)


@extend_schema(tags=TAGS)
class RestrictionListCreate(APIView):
    """A visitor's restrictions (history, ``in_force`` today); ``POST`` adds one
    (``visits.manage``): ``banned``, ``closed_only``, ``not_with_child`` with ``child``."""

    def visitor(self) -> Visitor:
        return selectors.get_visitor_for_user_or_404(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )

    @extend_schema(
        operation_id="visits_visitor_restrictions_list",
        responses=RestrictionSerializer(many=True),
    )
    def get(self, request, uuid):
        rows = selectors.visitor_restriction_list(fetched_by=request.user, visitor=self.visitor())
        ctx = {"today": timezone.localdate()}
        return Response(RestrictionSerializer(rows, many=True, context=ctx).data)

    @extend_schema(
        operation_id="visits_visitor_restrictions_create",
        request=RestrictionInputSerializer,
        responses={201: RestrictionSerializer},
    )
    def post(self, request, uuid):
        v = self.visitor()
        ser = RestrictionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        child = None
        if d.get("child"):
            child = Visitor.objects.filter(uuid=d["child"], detention_id=v.detention_id).first()
            if child is None:
                raise DomainError(
                    "child_not_on_list",
                    _("The child must be a child on the same visitor list."),
                    field="child",
                )
        r = services.restriction_add(
            actor=request.user,
            visitor=v,
            kind=d["kind"],
            reason=d["reason"],
            starts_on=d["starts_on"],
            ends_on=d.get("ends_on"),
            child=child,
        )
        ctx = {"today": timezone.localdate()}
        return Response(RestrictionSerializer(r, context=ctx).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class RestrictionLift(APIView):
    """Lift a restriction before its end, with the reason (``visits.manage``); 409
    ``already_ended``."""

    @extend_schema(
        operation_id="visits_restrictions_lift",
        request=ReasonSerializer,
        responses=RestrictionSerializer,
    )
    def post(self, request, uuid):
        r = selectors.get_restriction_for_user_or_404(user=request.user, uuid=uuid)
        ser = ReasonSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        r = services.restriction_lift(
            actor=request.user, restriction=r, reason=ser.validated_data["reason"]
        )
        r = VisitorRestriction.objects.select_related("child").get(pk=r.pk)
        return Response(RestrictionSerializer(r, context={"today": timezone.localdate()}).data)


@extend_schema(tags=TAGS)
class VisitorRemove(APIView):
    """Take a visitor off the list, with the reason (``visits.manage``)."""

    @extend_schema(
        operation_id="visits_visitors_remove",
        request=ReasonSerializer,
        responses=VisitorBriefSerializer,
    )
    def post(self, request, uuid):
        v = selectors.get_visitor_for_user_or_404(user=request.user, uuid=uuid)
        ser = ReasonSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        v = services.visitor_remove(
            actor=request.user, visitor=v, reason=ser.validated_data["reason"]
        )
        return Response(VisitorBriefSerializer(v).data)


urlpatterns = [
    path("requests/", RequestList.as_view(), name="api-visits-requests"),
    path("requests/<uuid:uuid>/", RequestDetail.as_view(), name="api-visits-request"),
    path(
        "requests/<uuid:uuid>/approve/",
        RequestApprove.as_view(),
        name="api-visits-request-approve",
    ),
    path("requests/<uuid:uuid>/refuse/", RequestRefuse.as_view(), name="api-visits-request-refuse"),
    path(
        "requests/<uuid:uuid>/document/",
        RequestDocument.as_view(),
        name="api-visits-request-document",
    ),
    path(
        "visitors/<uuid:uuid>/restrictions/",
        RestrictionListCreate.as_view(),
        name="api-visits-visitor-restrictions",
    ),
    path("visitors/<uuid:uuid>/remove/", VisitorRemove.as_view(), name="api-visits-visitor-remove"),
    path(
        "restrictions/<uuid:uuid>/lift/",
        RestrictionLift.as_view(),
        name="api-visits-restriction-lift",
    ),
]
