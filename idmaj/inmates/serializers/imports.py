"""JSON shapes of the registry import API (thin: no business rule here)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ImportBatch
from ..services import registry_import_issues


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the legacy registry, CSV (UTF-8) or XLSX")
    facility = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=30,
        help_text="institution code of the rows whose facility column is empty",
    )
    apply = serializers.BooleanField(
        required=False, default=False, help_text="import (true) or only check (false, dry run)"
    )


class ImportIssueSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="row in the file; header = 1")
    column = serializers.CharField(help_text="the column as named in the file")
    field = serializers.CharField(help_text="the column's English name")
    code = serializers.CharField()
    message = serializers.CharField(help_text="in the language of the request")


class ImportBatchListSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True, allow_null=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    # A plain string in the schema: an enum named "status" would collide with others.
    status = serializers.CharField(read_only=True, help_text="validated, failed or applied")

    class Meta:
        model = ImportBatch
        fields = [
            "uuid",
            "facility",
            "filename",
            "sha256",
            "status",
            "rows_total",
            "rows_created",
            "rows_skipped",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ImportBatchDetailSerializer(ImportBatchListSerializer):
    errors = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta(ImportBatchListSerializer.Meta):
        fields = [*ImportBatchListSerializer.Meta.fields, "errors", "warnings"]
        read_only_fields = fields

    def _issues(self, batch: ImportBatch) -> tuple[list, list]:
        cache = getattr(self, "_issue_cache", None)
        if cache is None or cache[0] is not batch:
            cache = (batch, registry_import_issues(batch))
            self._issue_cache = cache
        return cache[1]

    @staticmethod
    def _shape(issues: list[dict]) -> list[dict]:
        return ImportIssueSerializer(issues, many=True).data

    @extend_schema_field(ImportIssueSerializer(many=True))
    def get_errors(self, batch: ImportBatch) -> list[dict]:
        return self._shape(self._issues(batch)[0])

    @extend_schema_field(ImportIssueSerializer(many=True))
    def get_warnings(self, batch: ImportBatch) -> list[dict]:
        return self._shape(self._issues(batch)[1])
