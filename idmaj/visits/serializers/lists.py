"""JSON shapes of the visitor lists API, staff and family portal (thin: the rules are the
services')."""

from __future__ import annotations

import json
from datetime import date

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from idmaj.inmates.constants import Relationship

from ..constants import DocumentKind, RestrictionKind
from ..models import Visitor, VisitorRequest, VisitorRestriction
from ..selectors.lists import person_name


@extend_schema_field(OpenApiTypes.STR)
class PlainChoiceField(serializers.ChoiceField):
    """A choice shown as a plain string in the schema (``status`` / ``kind`` enums of other
    areas would collide)."""


class FacilityBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()


# -- staff -------------------------------------------------------------------------------------
class VisitorBriefSerializer(serializers.ModelSerializer):
    is_child = serializers.SerializerMethodField()
    status = PlainChoiceField(choices=[], read_only=True)
    relationship = PlainChoiceField(choices=Relationship.choices, read_only=True)

    class Meta:
        model = Visitor
        fields = ["uuid", "full_name", "birth_date", "relationship", "status", "is_child"]
        read_only_fields = fields

    def get_is_child(self, obj) -> bool:
        return obj.guardian_id is not None


class VisitorRequestSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True)
    committal_number = serializers.CharField(read_only=True, allow_null=True)
    prisoner = serializers.SerializerMethodField()
    family_member = serializers.CharField(source="account.full_name", read_only=True)
    family_cin = serializers.CharField(source="account.cin", read_only=True)
    family_phone = serializers.CharField(source="account.phone", read_only=True)
    status = PlainChoiceField(choices=[], read_only=True)
    relationship = PlainChoiceField(choices=Relationship.choices, read_only=True)
    document_kind = PlainChoiceField(choices=DocumentKind.choices, read_only=True)
    has_document = serializers.SerializerMethodField()

    class Meta:
        model = VisitorRequest
        fields = [
            "uuid",
            "facility",
            "committal_number",
            "prisoner",
            "family_member",
            "family_cin",
            "family_phone",
            "relationship",
            "document_kind",
            "document_type",
            "has_document",
            "status",
            "refusal_reason",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_prisoner(self, obj) -> str:
        return person_name(obj.detention.person)

    def get_has_document(self, obj) -> bool:
        return bool(obj.document)


class VisitorRequestDetailSerializer(VisitorRequestSerializer):
    visitors = VisitorBriefSerializer(many=True, read_only=True)

    class Meta(VisitorRequestSerializer.Meta):
        fields = [*VisitorRequestSerializer.Meta.fields, "visitors"]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class RestrictionSerializer(serializers.ModelSerializer):
    kind = PlainChoiceField(choices=RestrictionKind.choices, read_only=True)
    child = serializers.UUIDField(source="child.uuid", read_only=True, allow_null=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = VisitorRestriction
        fields = [
            "uuid",
            "kind",
            "child",
            "reason",
            "starts_on",
            "ends_on",
            "lifted_at",
            "in_force",
            "created_at",
        ]
        read_only_fields = fields

    def get_in_force(self, obj) -> bool:
        today = self.context.get("today") or date.today()
        return (
            obj.lifted_at is None
            and obj.starts_on <= today
            and (obj.ends_on is None or obj.ends_on >= today)
        )


class RestrictionInputSerializer(serializers.Serializer):
    kind = PlainChoiceField(choices=RestrictionKind.choices)
    reason = serializers.CharField(max_length=1000)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    child = serializers.UUIDField(
        required=False, allow_null=True, help_text="a child on the same list (not_with_child)"
    )


# -- family portal -----------------------------------------------------------------------------
class PortalVisitorSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    full_name = serializers.CharField()
    is_child = serializers.SerializerMethodField()

    def get_is_child(self, obj) -> bool:
        return obj.guardian_id is not None


class PortalPrisonerSerializer(serializers.Serializer):
    """One prisoner the family is approved for; ``uuid`` is the family's own visitor entry."""

    uuid = serializers.UUIDField()
    name = serializers.CharField()
    committal_number = serializers.CharField(source="custody.committal_number")
    facility = serializers.SerializerMethodField()
    visitors = PortalVisitorSerializer(many=True)
    rules = serializers.CharField()
    allowed_items = serializers.CharField()
    food_parcels_accepted = serializers.SerializerMethodField()

    @extend_schema_field(FacilityBriefSerializer)
    def get_facility(self, obj) -> dict:
        f = obj.facility
        return {"code": f.code, "name": f.name, "address": f.address}

    def get_food_parcels_accepted(self, obj) -> bool:
        return False


class PortalRequestSerializer(serializers.ModelSerializer):
    prisoner = serializers.SerializerMethodField()
    committal_number = serializers.CharField(read_only=True, allow_null=True)
    facility = serializers.SerializerMethodField()
    status = PlainChoiceField(choices=[], read_only=True)
    relationship = PlainChoiceField(choices=Relationship.choices, read_only=True)
    document_kind = PlainChoiceField(choices=DocumentKind.choices, read_only=True)

    class Meta:
        model = VisitorRequest
        fields = [
            "uuid",
            "prisoner",
            "committal_number",
            "facility",
            "relationship",
            "document_kind",
            "status",
            "refusal_reason",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_prisoner(self, obj) -> str:
        return person_name(obj.detention.person)

    @extend_schema_field(FacilityBriefSerializer)
    def get_facility(self, obj) -> dict:
        f = obj.facility
        return {"code": f.code, "name": f.name, "address": f.address}


class PortalRequestInputSerializer(serializers.Serializer):
    """Multipart. ``children``: a JSON list ``[{"full_name": "...", "birth_date":
    "YYYY-MM-DD", "relationship": "child"}]`` (``relationship`` optional)."""

    committal_number = serializers.CharField(max_length=50)
    prisoner_name = serializers.CharField(max_length=200)
    relationship = PlainChoiceField(choices=Relationship.choices)
    document_kind = PlainChoiceField(choices=DocumentKind.choices)
    document = serializers.FileField()
    children = serializers.CharField(
        required=False, allow_blank=True, help_text="JSON list of {full_name, birth_date}"
    )

    def validate_children(self, value: str):
        if not value or not value.strip():
            return []
        try:
            rows = json.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(_("Give the children as a JSON list.")) from exc
        if not isinstance(rows, list) or len(rows) > 8:
            raise serializers.ValidationError(_("Give the children as a JSON list."))
        out = []
        for row in rows:
            child = _ChildInput(data=row if isinstance(row, dict) else {})
            child.is_valid(raise_exception=True)
            d = child.validated_data
            out.append((d["full_name"], d["birth_date"], d.get("relationship") or "child"))
        return out


class _ChildInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    birth_date = serializers.DateField()
    relationship = serializers.ChoiceField(choices=Relationship.choices, required=False)
