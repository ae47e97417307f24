"""Registry API: movements (transfer, temporary absences, release and its certificate,
escape, death in custody) and the lists of movements and of persons out now. Thin views
over ``selectors.movements`` and ``services.movements``."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Facility
from idmaj.facilities.selectors import get_facility_for_user_or_404

from .. import selectors, services
from ..models import Movement
from ..serializers.movements import (
    AbsenceEndInputSerializer,
    AbsenceStartInputSerializer,
    CertificateQuerySerializer,
    DeathInputSerializer,
    EscapeInputSerializer,
    IncidentSerializer,
    MovementQuerySerializer,
    MovementSerializer,
    OutNowQuerySerializer,
    OutNowSerializer,
    ReleaseInputSerializer,
    ReleaseRecordSerializer,
    TransferInputSerializer,
)

TAGS = ["inmates"]


def _custody(request, uuid):
    return selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)


def _input(serializer_class, data) -> dict:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


@extend_schema(tags=TAGS)
class TransferView(APIView):
    """Transfer the prisoner to another institution (``inmates.move`` here). The answer is
    the transfer movement; the new custody period belongs to the destination."""

    @extend_schema(request=TransferInputSerializer, responses={201: MovementSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        data = _input(TransferInputSerializer, request.data)
        code = data.pop("to_facility").strip().upper()
        # Any institution may be the destination, also one the caller does not see.
        destination = Facility.objects.filter(code=code).first()
        if destination is None:
            raise DomainError("invalid", _("Unknown institution."), field="to_facility")
        services.inmate_transfer(
            actor=request.user, custody=custody, to_facility=destination, **data
        )
        movement = (
            Movement.objects.select_related("facility", "to_facility", "custody__person")
            .filter(custody=custody, kind="transfer")
            .get()
        )
        return Response(MovementSerializer(movement).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class AbsenceListStart(APIView):
    """The temporary absences of a custody period; ``POST`` records a departure."""

    @extend_schema(responses={200: MovementSerializer(many=True)})
    def get(self, request, uuid):
        custody = _custody(request, uuid)
        rows = selectors.custody_absence_list(custody=custody).select_related("custody__person")
        return Response(MovementSerializer(rows, many=True).data)

    @extend_schema(request=AbsenceStartInputSerializer, responses={201: MovementSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        data = _input(AbsenceStartInputSerializer, request.data)
        movement = services.temporary_absence_start(actor=request.user, custody=custody, **data)
        return Response(MovementSerializer(movement).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class AbsenceReturn(APIView):
    """Record the return from a temporary absence (movement UUID)."""

    @extend_schema(request=AbsenceEndInputSerializer, responses={200: MovementSerializer})
    def post(self, request, uuid):
        movement = selectors.get_absence_for_user_or_404(user=request.user, uuid=uuid)
        data = _input(AbsenceEndInputSerializer, request.data)
        done = services.temporary_absence_end(actor=request.user, movement=movement, **data)
        done.custody = movement.custody
        return Response(MovementSerializer(done).data)


@extend_schema(tags=TAGS)
class ReleaseView(APIView):
    """Release the prisoner (``inmates.release`` here), with the checklist; the answer
    carries the certificate number and the certificate URLs."""

    @extend_schema(request=ReleaseInputSerializer, responses={201: ReleaseRecordSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        data = _input(ReleaseInputSerializer, request.data)
        record = services.inmate_release(actor=request.user, custody=custody, **data)
        return Response(ReleaseRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


@extend_schema(tags=TAGS)
class ReleaseCertificate(APIView):
    """The release certificate as a PDF, in Arabic (default) or French."""

    renderer_classes = [PDFRenderer, JSONRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("lang", str, enum=["ar", "fr"])],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request, uuid):
        custody = _custody(request, uuid)
        query = _input(CertificateQuerySerializer, request.query_params)
        data, filename = selectors.release_certificate_pdf(
            custody=custody, language=selectors.certificate_language(query.get("lang"))
        )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


@extend_schema(tags=TAGS)
class EscapeView(APIView):
    """Record an escape (``inmates.incident`` here)."""

    @extend_schema(request=EscapeInputSerializer, responses={201: IncidentSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        data = _input(EscapeInputSerializer, request.data)
        incident = services.inmate_escape_record(actor=request.user, custody=custody, **data)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class DeathView(APIView):
    """Record a death in custody (``inmates.incident`` here)."""

    @extend_schema(request=DeathInputSerializer, responses={201: IncidentSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        data = _input(DeathInputSerializer, request.data)
        incident = services.inmate_death_record(actor=request.user, custody=custody, **data)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


def _facility_param(request, code: str | None):
    return get_facility_for_user_or_404(user=request.user, code=code) if code else None


@extend_schema(tags=TAGS)
class MovementList(ListAPIView):
    """Movements the caller sees (either end), newest first; ``facility`` keeps one
    institution's, both directions; ``since``/``until`` are days of departure."""

    serializer_class = MovementSerializer
    queryset = Movement.objects.none()

    def get_queryset(self):
        query = _input(MovementQuerySerializer, self.request.query_params)
        query["facility"] = _facility_param(self.request, query.get("facility"))
        return selectors.movement_list(fetched_by=self.request.user, **query)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        return selectors.movements_with_files(page, fetched_by=self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", str, description="institution code"),
            OpenApiParameter("since", OpenApiTypes.DATE),
            OpenApiParameter("until", OpenApiTypes.DATE),
            OpenApiParameter("kind", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class OutNow(ListAPIView):
    """Persons out on a temporary absence now, with ``overdue`` returns flagged."""

    serializer_class = OutNowSerializer
    queryset = Movement.objects.none()
    pagination_class = None

    def get_queryset(self):
        query = _input(OutNowQuerySerializer, self.request.query_params)
        return selectors.absences_out_now(
            fetched_by=self.request.user,
            facility=_facility_param(self.request, query.get("facility")),
        )

    @extend_schema(parameters=[OpenApiParameter("facility", str, description="institution code")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("movements/", MovementList.as_view(), name="api-movement-list"),
    path("out-now/", OutNow.as_view(), name="api-out-now"),
    path("absences/<uuid:uuid>/return/", AbsenceReturn.as_view(), name="api-absence-return"),
    path("<uuid:uuid>/transfer/", TransferView.as_view(), name="api-inmate-transfer"),
    path("<uuid:uuid>/absences/", AbsenceListStart.as_view(), name="api-inmate-absences"),
    path("<uuid:uuid>/release/", ReleaseView.as_view(), name="api-inmate-release"),
    path(
        "<uuid:uuid>/release-certificate.pdf",
        ReleaseCertificate.as_view(),
        name="api-inmate-release-certificate",
    ),
    path("<uuid:uuid>/escape/", EscapeView.as_view(), name="api-inmate-escape"),
    path("<uuid:uuid>/death/", DeathView.as_view(), name="api-inmate-death"),
]
