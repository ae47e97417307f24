"""JSON shapes of the records API (thin: the rules are the services')."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..constants import PersonSex, Relationship
from ..models import AdmissionAlert, AdmissionNotice, FamilyMember, Person, PropertyItem
from ..services import NOTICE_CHANNELS, PERSON_FIELDS, RETURN_STATUSES
from .registry import PersonInputSerializer


class FamilyMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = FamilyMember
        fields = [
            "uuid",
            "relationship",
            "full_name",
            "birth_date",
            "sex",
            "phone",
            "address",
            "carer",
            "is_emergency_contact",
            "is_next_of_kin",
            "language",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class FamilyMemberInputSerializer(serializers.Serializer):
    """A family member as given (``PATCH``: any subset). ``phone`` in any usual form
    (0612345678, +33 6 12 34 56 78), stored in E.164."""

    relationship = serializers.ChoiceField(choices=Relationship.choices)
    full_name = serializers.CharField(max_length=200)
    birth_date = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=PersonSex.choices, required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    carer = serializers.CharField(required=False, allow_blank=True, max_length=200)
    is_emergency_contact = serializers.BooleanField(required=False)
    is_next_of_kin = serializers.BooleanField(required=False)
    language = serializers.ChoiceField(choices=[("ar", "ar"), ("fr", "fr")], required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


@extend_schema_field(OpenApiTypes.STR)
class PlainChoiceField(serializers.ChoiceField):
    """A choice field shown as a plain string in the schema: an enum named after a field
    called ``status`` would collide with the other ``status`` enums of the API."""


class PropertyItemSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(
        source="facility.code", read_only=True, help_text="institution storing it now"
    )
    status = serializers.CharField(
        read_only=True, help_text="kept, returned, handed_over or disposed"
    )

    class Meta:
        model = PropertyItem
        fields = [
            "uuid",
            "description",
            "quantity",
            "stored_location",
            "status",
            "facility",
            "received_at",
            "closed_at",
            "recipient",
        ]
        read_only_fields = fields


class PropertyItemInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    quantity = serializers.IntegerField(min_value=1, default=1)
    stored_location = serializers.CharField(required=False, allow_blank=True, max_length=100)


class PropertyReturnSerializer(serializers.Serializer):
    status = PlainChoiceField(
        choices=[s.value for s in RETURN_STATUSES], help_text="returned, handed_over or disposed"
    )
    recipient = serializers.CharField(required=False, allow_blank=True, max_length=200)
    at = serializers.DateTimeField(required=False, allow_null=True)


class NoticeMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = FamilyMember
        fields = ["uuid", "full_name", "relationship"]


class AdmissionNoticeSerializer(serializers.ModelSerializer):
    family_member = NoticeMemberSerializer(read_only=True, allow_null=True)
    notification_status = serializers.SerializerMethodField(
        help_text="pending, sent or failed for an SMS; null otherwise"
    )
    recorded_by = serializers.CharField(
        source="recorded_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = AdmissionNotice
        fields = [
            "uuid",
            "channel",
            "family_member",
            "notified_at",
            "note",
            "notification_status",
            "recorded_by",
        ]
        read_only_fields = fields

    def get_notification_status(self, obj) -> str | None:
        return obj.notification.status if obj.notification_id else None


class AdmissionNoticeInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=list(NOTICE_CHANNELS))
    family_member = serializers.UUIDField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class AdmissionAlertSerializer(serializers.ModelSerializer):
    custody = serializers.UUIDField(source="custody.uuid", read_only=True)
    committal_number = serializers.CharField(source="custody.committal_number", read_only=True)
    facility = serializers.CharField(source="facility.code", read_only=True)
    person_name_ar = serializers.CharField(source="custody.person.full_name_ar", read_only=True)
    person_name_latin = serializers.CharField(
        source="custody.person.full_name_latin", read_only=True
    )
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = AdmissionAlert
        fields = [
            "uuid",
            "custody",
            "committal_number",
            "facility",
            "person_name_ar",
            "person_name_latin",
            "injuries",
            "complaint",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "action_taken",
        ]
        read_only_fields = fields


class AlertAcknowledgeSerializer(serializers.Serializer):
    action_taken = serializers.CharField()


class PersonDetailSerializer(serializers.ModelSerializer):
    """The full identity of a person, with whether a photo is on file."""

    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["uuid", *PERSON_FIELDS, "has_photo", "updated_at"]
        read_only_fields = fields

    def get_has_photo(self, obj) -> bool:
        return bool(obj.photo)


class PersonPatchSerializer(PersonInputSerializer):
    """Identity corrections: any subset of the identity fields (use with ``partial=True``)."""

    nationality = serializers.CharField(required=False, max_length=2)


class CommittalPatchSerializer(serializers.Serializer):
    """Committal corrections: any subset of these fields."""

    committing_authority = serializers.CharField(required=False, max_length=200)
    court = serializers.CharField(required=False, allow_blank=True, max_length=200)
    warrant_reference = serializers.CharField(required=False, max_length=100)
    case_number = serializers.CharField(required=False, allow_blank=True, max_length=100)
    escort = serializers.CharField(required=False, allow_blank=True, max_length=200)
    offence_codes = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False
    )


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text="JPEG or PNG, 2 MB at most")
