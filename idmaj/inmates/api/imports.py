"""Registry API: import of a legacy registry (CSV or XLSX), dry run or import."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from idmaj.facilities.selectors import get_facility_for_user_or_404

from .. import services
from ..constants import ImportStatus
from ..models import ImportBatch
from ..selectors import imports as selectors
from ..serializers.imports import (
    ImportBatchDetailSerializer,
    ImportBatchListSerializer,
    ImportUploadSerializer,
)

TAGS = ["inmates"]


@extend_schema(tags=TAGS)
class ImportBatchListCreate(ListAPIView):
    """The import batches the caller may see (newest first); ``POST`` a file (multipart:
    ``file``, ``facility``, ``apply``) to check it (dry run) or import it."""

    serializer_class = ImportBatchListSerializer
    queryset = ImportBatch.objects.none()  # for the schema; get_queryset answers
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return selectors.import_batch_list(fetched_by=self.request.user).defer("errors")

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            200: OpenApiResponse(ImportBatchDetailSerializer, description="dry run: valid"),
            201: OpenApiResponse(ImportBatchDetailSerializer, description="imported"),
            400: OpenApiResponse(
                ImportBatchDetailSerializer,
                description="errors found: nothing imported (or a refused upload: code, detail)",
            ),
        },
    )
    def post(self, request):
        ser = ImportUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        upload = data["file"]
        services.registry_import_check_upload(
            filename=upload.name, size=upload.size, head=upload.read(64 * 1024)
        )
        facility = None
        if data.get("facility"):
            facility = get_facility_for_user_or_404(user=request.user, code=data["facility"])
        run = services.registry_import_apply if data["apply"] else services.registry_import_validate
        batch = run(
            actor=request.user,
            file=upload,
            filename=upload.name,
            facility=facility,
            max_rows=services.IMPORT_MAX_ROWS_ONLINE,
        )
        code = {
            ImportStatus.FAILED: status.HTTP_400_BAD_REQUEST,
            ImportStatus.APPLIED: status.HTTP_201_CREATED,
        }.get(batch.status, status.HTTP_200_OK)
        return Response(ImportBatchDetailSerializer(batch).data, status=code)


@extend_schema(tags=TAGS)
class ImportBatchDetail(RetrieveAPIView):
    """One import batch with its errors and warnings; 404 alike for missing and out of the
    caller's scope."""

    serializer_class = ImportBatchDetailSerializer
    queryset = ImportBatch.objects.none()
    lookup_field = "uuid"

    def get_object(self):
        return selectors.get_import_batch_for_user_or_404(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )


urlpatterns = [
    path("imports/", ImportBatchListCreate.as_view(), name="api-inmate-import-list"),
    path("imports/<uuid:uuid>/", ImportBatchDetail.as_view(), name="api-inmate-import-detail"),
]
