"""The records API: family and contacts, personal property, notices to the family, the
admission alerts, identity and committal corrections, the photo.

Everything under ``/api/v1/inmates/{uuid}/`` is reached through the custody period, with
the registry's scoping (404 alike for missing and out of scope); the alerts list is scoped
on the institutions where the caller holds ``inmates.alerts``. Thin views over the
records selectors and services.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from .. import selectors, services
from ..models import AdmissionAlert, AdmissionNotice, FamilyMember, PropertyItem
from ..serializers.records import (
    AdmissionAlertSerializer,
    AdmissionNoticeInputSerializer,
    AdmissionNoticeSerializer,
    AlertAcknowledgeSerializer,
    CommittalPatchSerializer,
    FamilyMemberInputSerializer,
    FamilyMemberSerializer,
    PersonDetailSerializer,
    PersonPatchSerializer,
    PhotoUploadSerializer,
    PropertyItemInputSerializer,
    PropertyItemSerializer,
    PropertyReturnSerializer,
)
from ..serializers.registry import CustodyDetailSerializer

TAGS = ["inmates"]


class _OnCustody:
    """The custody period of the URL, fetched once through the scoped helper."""

    def custody(self):
        if not hasattr(self, "_custody"):
            self._custody = selectors.get_custody_for_user_or_404(
                user=self.request.user, uuid=self.kwargs["uuid"]
            )
        return self._custody


# -- family and contacts ---------------------------------------------------------------------
@extend_schema(tags=TAGS)
class FamilyListCreate(_OnCustody, ListAPIView):
    """The family and contacts of the person, while in custody at this institution (409
    ``not_in_custody`` otherwise). Each read is recorded in the audit trail. ``POST`` adds
    one (``inmates.admit`` or ``inmates.edit``)."""

    serializer_class = FamilyMemberSerializer
    queryset = FamilyMember.objects.none()

    def get_queryset(self):
        return selectors.family_member_list(fetched_by=self.request.user, custody=self.custody())

    @extend_schema(request=FamilyMemberInputSerializer, responses={201: FamilyMemberSerializer})
    def post(self, request, uuid):
        ser = FamilyMemberInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        member = services.family_member_add(
            actor=request.user, custody=self.custody(), **ser.validated_data
        )
        return Response(FamilyMemberSerializer(member).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class FamilyMemberDetail(_OnCustody, APIView):
    """Change (``PATCH``, any subset of the fields) or remove (``DELETE``) a family member."""

    def member(self):
        return selectors.get_family_member_for_user_or_404(
            user=self.request.user, custody=self.custody(), uuid=self.kwargs["member_uuid"]
        )

    @extend_schema(request=FamilyMemberInputSerializer, responses={200: FamilyMemberSerializer})
    def patch(self, request, uuid, member_uuid):
        ser = FamilyMemberInputSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        member = services.family_member_update(
            actor=request.user,
            custody=self.custody(),
            member=self.member(),
            changes=dict(ser.validated_data),
        )
        return Response(FamilyMemberSerializer(member).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, uuid, member_uuid):
        services.family_member_remove(
            actor=request.user, custody=self.custody(), member=self.member()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- personal property -----------------------------------------------------------------------
@extend_schema(tags=TAGS)
class PropertyListCreate(_OnCustody, ListAPIView):
    """The personal property of the detention; ``POST`` deposits an item."""

    serializer_class = PropertyItemSerializer
    queryset = PropertyItem.objects.none()

    def get_queryset(self):
        return selectors.property_item_list(fetched_by=self.request.user, custody=self.custody())

    @extend_schema(request=PropertyItemInputSerializer, responses={201: PropertyItemSerializer})
    def post(self, request, uuid):
        ser = PropertyItemInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.property_item_add(
            actor=request.user, custody=self.custody(), **ser.validated_data
        )
        return Response(PropertyItemSerializer(item).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class PropertyReturn(_OnCustody, APIView):
    """An item leaves storage: ``returned`` (to the prisoner), ``handed_over`` (to the
    ``recipient``) or ``disposed``; once (409 ``already_closed``)."""

    @extend_schema(request=PropertyReturnSerializer, responses={200: PropertyItemSerializer})
    def post(self, request, uuid, item_uuid):
        item = selectors.get_property_item_for_user_or_404(
            user=request.user, custody=self.custody(), uuid=item_uuid
        )
        ser = PropertyReturnSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = services.property_item_return(actor=request.user, item=item, **ser.validated_data)
        return Response(PropertyItemSerializer(item).data)


# -- notices to the family -------------------------------------------------------------------
@extend_schema(tags=TAGS)
class NoticeListCreate(_OnCustody, ListAPIView):
    """How the family was told of the admission. ``POST`` records it: ``sms`` (sent to the
    ``family_member``'s mobile phone in their language), ``phone_call``, ``in_person``, or
    ``none`` (``note`` says why not)."""

    serializer_class = AdmissionNoticeSerializer
    queryset = AdmissionNotice.objects.none()

    def get_queryset(self):
        return selectors.admission_notice_list(fetched_by=self.request.user, custody=self.custody())

    @extend_schema(
        request=AdmissionNoticeInputSerializer, responses={201: AdmissionNoticeSerializer}
    )
    def post(self, request, uuid):
        ser = AdmissionNoticeInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        custody = self.custody()
        member = None
        if data.get("family_member"):
            member = FamilyMember.objects.filter(
                person_id=custody.person_id, uuid=data["family_member"]
            ).first()
            if member is None:
                raise DomainError(
                    "invalid", _("No family member with this identifier."), field="family_member"
                )
        notice = services.admission_notice_record(
            actor=request.user,
            custody=custody,
            family_member=member,
            channel=data["channel"],
            note=data.get("note", ""),
        )
        return Response(AdmissionNoticeSerializer(notice).data, status=status.HTTP_201_CREATED)


# -- admission alerts ------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class AlertList(ListAPIView):
    """Admission alerts of the institutions where the caller holds ``inmates.alerts``, open
    first; ``?open=1`` for the open ones only."""

    serializer_class = AdmissionAlertSerializer
    queryset = AdmissionAlert.objects.none()

    def get_queryset(self):
        open_only = self.request.query_params.get("open") in ("1", "true", "yes")
        return selectors.admission_alert_list(fetched_by=self.request.user, open_only=open_only)


@extend_schema(tags=TAGS)
class AlertAcknowledge(APIView):
    """Acknowledge an alert with the action taken (``inmates.alerts``); once (409
    ``already_acknowledged``)."""

    @extend_schema(request=AlertAcknowledgeSerializer, responses={200: AdmissionAlertSerializer})
    def post(self, request, alert_uuid):
        alert = selectors.get_admission_alert_for_user_or_404(user=request.user, uuid=alert_uuid)
        ser = AlertAcknowledgeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        alert = services.admission_alert_acknowledge(
            actor=request.user, alert=alert, action_taken=ser.validated_data["action_taken"]
        )
        alert = selectors.get_admission_alert_for_user_or_404(user=request.user, uuid=alert.uuid)
        return Response(AdmissionAlertSerializer(alert).data)


# -- corrections -----------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class PersonIdentity(_OnCustody, APIView):
    """The identity of the person; ``PATCH`` corrects any subset of it (``inmates.edit``;
    a CIN on file for another person: 409 ``cin_on_file``)."""

    @extend_schema(responses={200: PersonDetailSerializer})
    def get(self, request, uuid):
        return Response(PersonDetailSerializer(self.custody().person).data)

    @extend_schema(request=PersonPatchSerializer, responses={200: PersonDetailSerializer})
    def patch(self, request, uuid):
        ser = PersonPatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        person = services.person_update(
            actor=request.user, custody=self.custody(), changes=dict(ser.validated_data)
        )
        return Response(PersonDetailSerializer(person).data)


@extend_schema(tags=TAGS)
class CommittalCorrection(_OnCustody, APIView):
    """``PATCH`` corrects the committal: committing authority, court, warrant reference,
    case number, escort, offences (``inmates.edit``)."""

    @extend_schema(request=CommittalPatchSerializer, responses={200: CustodyDetailSerializer})
    def patch(self, request, uuid):
        ser = CommittalPatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.custody_update(
            actor=request.user, custody=self.custody(), changes=dict(ser.validated_data)
        )
        custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
        return Response(CustodyDetailSerializer(custody, context={"request": request}).data)


@extend_schema(tags=TAGS)
class Photo(_OnCustody, APIView):
    """The person's photo: ``GET`` the image (404 when none), ``PUT`` a new one as
    multipart ``photo`` (JPEG or PNG by content, 2 MB at most)."""

    parser_classes = [MultiPartParser, FormParser]

    def perform_content_negotiation(self, request, force=False):
        # The image is not rendered by DRF: any Accept header will do.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="no photo, or not yours to see"),
        }
    )
    def get(self, request, uuid):
        photo = self.custody().person.photo
        if not photo:
            raise Http404
        try:
            fh = photo.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        content_type = "image/png" if photo.name.endswith(".png") else "image/jpeg"
        response = FileResponse(fh, content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(request=PhotoUploadSerializer, responses={200: PersonDetailSerializer})
    def put(self, request, uuid):
        ser = PhotoUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        person = services.person_photo_set(
            actor=request.user, custody=self.custody(), upload=ser.validated_data["photo"]
        )
        return Response(PersonDetailSerializer(person).data)


urlpatterns = [
    path("alerts/", AlertList.as_view(), name="api-inmate-alerts"),
    path(
        "alerts/<uuid:alert_uuid>/acknowledge/",
        AlertAcknowledge.as_view(),
        name="api-inmate-alert-acknowledge",
    ),
    path("<uuid:uuid>/family/", FamilyListCreate.as_view(), name="api-inmate-family"),
    path(
        "<uuid:uuid>/family/<uuid:member_uuid>/",
        FamilyMemberDetail.as_view(),
        name="api-inmate-family-member",
    ),
    path("<uuid:uuid>/property/", PropertyListCreate.as_view(), name="api-inmate-property"),
    path(
        "<uuid:uuid>/property/<uuid:item_uuid>/return/",
        PropertyReturn.as_view(),
        name="api-inmate-property-return",
    ),
    path("<uuid:uuid>/notices/", NoticeListCreate.as_view(), name="api-inmate-notices"),
    path("<uuid:uuid>/person/", PersonIdentity.as_view(), name="api-inmate-person"),
    path("<uuid:uuid>/committal/", CommittalCorrection.as_view(), name="api-inmate-committal"),
    path("<uuid:uuid>/photo/", Photo.as_view(), name="api-inmate-photo"),
]
