"""The inmate registry JSON API: thin views over the registry's selectors and services."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from idmaj.core.errors import DomainError
from idmaj.facilities.selectors import get_facility_for_user_or_404

from .. import selectors, services
from ..models import CustodyPeriod, Person
from ..serializers.registry import (
    AdmissionSerializer,
    CandidateSerializer,
    CustodyDetailSerializer,
    CustodyListSerializer,
    DuplicateResponseSerializer,
    SearchQuerySerializer,
)

TAGS = ["inmates"]


def admission_arguments(*, user, data: dict) -> dict:
    """The keyword arguments of ``inmate_admit`` from validated input (lookups only): the
    institution (404 out of scope), and the person on file or the new person's data."""
    facility = get_facility_for_user_or_404(user=user, code=data["facility"])
    kwargs: dict = {
        "facility": facility,
        "committal": services.CommittalData(**data["committal"]),
        "confirm_new_person": data.get("confirm_new_person", False),
    }
    if data.get("existing_person"):
        person = Person.objects.filter(uuid=data["existing_person"]).first()
        if person is None:
            raise DomainError(
                "invalid", _("No person on file with this identifier."), field="existing_person"
            )
        kwargs["existing_person"] = person
    elif data.get("person"):
        kwargs["person_data"] = services.PersonData(**data["person"])
    return kwargs


def duplicate_body(err: services.PossibleDuplicateError) -> dict:
    return {
        "code": err.code,
        "detail": str(err.message),
        "candidates": CandidateSerializer(err.candidates, many=True).data,
    }


@extend_schema(tags=TAGS)
class InmateListCreate(ListAPIView):
    """Search the registry (``q``: committal number, CIN or a name in either script, ranked),
    or without ``q`` list the persons in custody; ``POST`` admits a person."""

    serializer_class = CustodyListSerializer
    queryset = CustodyPeriod.objects.none()  # for the schema; get_queryset answers

    def get_queryset(self):
        query = SearchQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = (query.validated_data.get("q") or "").strip()
        if q:
            return selectors.inmate_search(fetched_by=self.request.user, q=q)
        return selectors.custody_list(fetched_by=self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="committal number, CIN or name"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AdmissionSerializer,
        responses={
            201: CustodyDetailSerializer,
            409: OpenApiResponse(
                DuplicateResponseSerializer,
                description="possible_duplicate or cin_on_file: confirm or link a candidate",
            ),
        },
    )
    def post(self, request):
        ser = AdmissionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        kwargs = admission_arguments(user=request.user, data=ser.validated_data)
        try:
            custody = services.inmate_admit(actor=request.user, **kwargs)
        except services.PossibleDuplicateError as err:
            return Response(duplicate_body(err), status=status.HTTP_409_CONFLICT)
        custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=custody.uuid)
        return Response(
            CustodyDetailSerializer(custody, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=TAGS)
class InmateDetail(RetrieveAPIView):
    """One custody period by UUID; 404 alike for missing and out of the caller's scope."""

    serializer_class = CustodyDetailSerializer
    queryset = CustodyPeriod.objects.none()
    lookup_field = "uuid"

    def get_object(self):
        return selectors.get_custody_for_user_or_404(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )
