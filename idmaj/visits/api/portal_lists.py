"""Family portal API of the visitor lists: ``/api/v1/portal/...``.

* ``prisoners/``: the prisoners the family is approved for (``uuid`` = the family's own
  visitor entry, the identifier of the prisoner in every other portal call);
  ``prisoners/<uuid>/``: one of them;
* ``requests/``: the family's requests; ``POST`` (multipart) asks for a new one;
  ``requests/<uuid>/withdraw/``.

Anything that is not the family's own answers 404.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import portal_auth, selectors, services
from ..serializers.lists import (
    PortalPrisonerSerializer,
    PortalRequestInputSerializer,
    PortalRequestSerializer,
)

TAGS = ["portal"]


class _Portal(APIView):
    authentication_classes = portal_auth.PORTAL_AUTHENTICATION
    permission_classes = [portal_auth.IsFamily]


@extend_schema(tags=TAGS)
class PrisonerList(_Portal):
    """The prisoners the family is approved for and who are in custody now: where held, the
    institution's address, visiting rules and what may be brought (in the language of the
    request), the family's visitors (adult and children)."""

    @extend_schema(
        operation_id="portal_prisoners_list", responses=PortalPrisonerSerializer(many=True)
    )
    def get(self, request):
        rows = selectors.family_prisoners(account=request.user)
        return Response(PortalPrisonerSerializer(rows, many=True).data)


@extend_schema(tags=TAGS)
class PrisonerDetail(_Portal):
    """One prisoner, by the family's own visitor entry ``uuid``."""

    @extend_schema(operation_id="portal_prisoners_retrieve", responses=PortalPrisonerSerializer)
    def get(self, request, uuid):
        entry = selectors.get_family_prisoner_or_404(account=request.user, uuid=uuid)
        return Response(PortalPrisonerSerializer(entry).data)


@extend_schema(tags=TAGS)
class RequestListCreate(_Portal):
    """The family's requests to be put on a visitor list, newest first. ``POST`` (multipart)
    asks for a new one; refusals: 400 ``prisoner_not_found`` (committal number and name do
    not match a prisoner in custody), ``document_type``, ``document_too_big``,
    ``child_is_adult``; 409 ``request_pending``, ``already_on_list``, ``list_full``."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="portal_requests_list", responses=PortalRequestSerializer(many=True)
    )
    def get(self, request):
        rows = selectors.family_requests(account=request.user)[:100]
        return Response(PortalRequestSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="portal_requests_create",
        request={"multipart/form-data": PortalRequestInputSerializer},
        responses={201: PortalRequestSerializer},
    )
    def post(self, request):
        ser = PortalRequestInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        req = services.visitor_request_create(
            account=request.user,
            committal_number=d["committal_number"],
            prisoner_name=d["prisoner_name"],
            relationship=d["relationship"],
            document_kind=d["document_kind"],
            document=d["document"],
            children=d.get("children") or [],
        )
        req = selectors.get_family_request_or_404(account=request.user, uuid=req.uuid)
        return Response(PortalRequestSerializer(req).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class RequestWithdraw(_Portal):
    """Withdraw one of the family's own requests while it awaits a decision (409
    ``already_decided`` otherwise)."""

    @extend_schema(
        operation_id="portal_requests_withdraw", request=None, responses=PortalRequestSerializer
    )
    def post(self, request, uuid):
        req = selectors.get_family_request_or_404(account=request.user, uuid=uuid)
        services.visitor_request_withdraw(account=request.user, request=req)
        req = selectors.get_family_request_or_404(account=request.user, uuid=uuid)
        return Response(PortalRequestSerializer(req).data)


urlpatterns = [
    path("prisoners/", PrisonerList.as_view(), name="api-portal-prisoners"),
    path("prisoners/<uuid:uuid>/", PrisonerDetail.as_view(), name="api-portal-prisoner"),
    path("requests/", RequestListCreate.as_view(), name="api-portal-requests"),
    path(
        "requests/<uuid:uuid>/withdraw/",
        RequestWithdraw.as_view(),
        name="api-portal-request-withdraw",
    ),
]
