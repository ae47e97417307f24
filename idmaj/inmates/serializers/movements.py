"""JSON shapes of the movements API (thin: no business rule here)."""

from __future__ import annotations

from rest_framework import serializers

from ..constants import RELEASE_REASONS, DetentionEnd, MovementKind
from ..models import CustodyIncident, Movement, ReleaseRecord
from ..services.movements import RELEASE_CHECKLIST

# -- input -----------------------------------------------------------------------------------


class TransferInputSerializer(serializers.Serializer):
    to_facility = serializers.CharField(max_length=30, help_text="destination institution code")
    at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300)
    authority_reference = serializers.CharField(
        max_length=100, help_text="reference of the transfer order"
    )
    authority = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="DGAPR if empty"
    )
    escort = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AbsenceStartInputSerializer(serializers.Serializer):
    # A plain string in the schema: an enum named "kind" would collide with the others'.
    kind = serializers.CharField(
        max_length=20, help_text="court, hospital or other_absence (the service checks it)"
    )
    out_at = serializers.DateTimeField()
    expected_back_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    destination = serializers.CharField(max_length=200)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    escort = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    authority_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class AbsenceEndInputSerializer(serializers.Serializer):
    back_at = serializers.DateTimeField()


class ReleaseInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in DetentionEnd if r in RELEASE_REASONS]
    )
    at = serializers.DateTimeField()
    authority = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    decision_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    checklist = serializers.ListField(
        child=serializers.ChoiceField(choices=[item.code for item in RELEASE_CHECKLIST]),
        required=False,
        default=list,
        help_text="codes of the ticked items: " + ", ".join(i.code for i in RELEASE_CHECKLIST),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EscapeInputSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200)
    circumstances = serializers.CharField()
    authority_notified = serializers.CharField(max_length=200)
    authority_notified_at = serializers.DateTimeField()
    family_notified_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DeathInputSerializer(EscapeInputSerializer):
    cause = serializers.CharField(required=False, allow_blank=True, default="")
    investigation_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    autopsy_requested = serializers.BooleanField(required=False, default=False)


class MovementQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(required=False, max_length=30)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    kind = serializers.ChoiceField(choices=MovementKind.choices, required=False)


class OutNowQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(required=False, max_length=30)


class CertificateQuerySerializer(serializers.Serializer):
    lang = serializers.ChoiceField(choices=["ar", "fr"], required=False)


# -- output ----------------------------------------------------------------------------------
class MovementSerializer(serializers.ModelSerializer):
    """A movement. ``custody`` is the custody period of it the caller may open (the one it
    left, or for a transfer seen from the destination the one it opened there), or null."""

    facility = serializers.CharField(source="facility.code", read_only=True)
    to_facility = serializers.CharField(
        source="to_facility.code", read_only=True, allow_null=True, default=None
    )
    kind = serializers.CharField(
        read_only=True, help_text="transfer, court, hospital or other_absence"
    )
    custody = serializers.SerializerMethodField()
    committal_number = serializers.SerializerMethodField()
    person_name_ar = serializers.CharField(source="custody.person.full_name_ar", read_only=True)
    person_name_latin = serializers.CharField(
        source="custody.person.full_name_latin", read_only=True
    )

    class Meta:
        model = Movement
        fields = [
            "uuid",
            "kind",
            "facility",
            "to_facility",
            "out_at",
            "expected_back_at",
            "back_at",
            "destination",
            "reason",
            "escort",
            "authority_reference",
            "custody",
            "committal_number",
            "person_name_ar",
            "person_name_latin",
        ]

    def _file(self, obj):
        return getattr(obj, "file", obj.custody)

    def get_custody(self, obj) -> str | None:
        file = self._file(obj)
        return str(file.uuid) if file is not None else None

    def get_committal_number(self, obj) -> str:
        file = self._file(obj)
        return (file or obj.custody).committal_number


class OutNowSerializer(MovementSerializer):
    overdue = serializers.BooleanField(read_only=True)

    class Meta(MovementSerializer.Meta):
        fields = [*MovementSerializer.Meta.fields, "overdue"]


class ReleaseRecordSerializer(serializers.ModelSerializer):
    custody = serializers.UUIDField(source="custody.uuid", read_only=True)
    facility = serializers.CharField(source="facility.code", read_only=True)
    reason = serializers.CharField(read_only=True)
    certificate_urls = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseRecord
        fields = [
            "uuid",
            "custody",
            "facility",
            "reason",
            "released_at",
            "authority",
            "decision_reference",
            "checklist",
            "certificate_number",
            "note",
            "certificate_urls",
        ]

    def get_certificate_urls(self, obj) -> dict[str, str]:
        base = f"/api/v1/inmates/{obj.custody.uuid}/release-certificate.pdf"
        return {"ar": f"{base}?lang=ar", "fr": f"{base}?lang=fr"}


class IncidentSerializer(serializers.ModelSerializer):
    custody = serializers.UUIDField(source="custody.uuid", read_only=True)
    facility = serializers.CharField(source="facility.code", read_only=True)
    kind = serializers.CharField(read_only=True, help_text="escape or death")

    class Meta:
        model = CustodyIncident
        fields = [
            "uuid",
            "custody",
            "facility",
            "kind",
            "occurred_at",
            "place",
            "circumstances",
            "cause",
            "authority_notified",
            "authority_notified_at",
            "family_notified_at",
            "investigation_reference",
            "autopsy_requested",
        ]
