"""JSON shapes of the gate and figures API (thin: no business rule here).

Statuses and channels are plain strings in the schema (their values are listed in the help
text): enums named "status" or "channel" would collide with those of other endpoints.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..constants import BookingChannel, BookingStatus

__all__ = [
    "GateCodeInputSerializer",
    "GateIdentityInputSerializer",
    "GateMomentInputSerializer",
    "GateWalkInInputSerializer",
    "GateBookingSerializer",
    "FiguresQuerySerializer",
    "FiguresSerializer",
]


# -- input -----------------------------------------------------------------------------------
class GateCodeInputSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=40,
        help_text="booking code as typed or read from the QR code (spaces, dashes and the "
        "letters O, I, L for 0, 1, 1 are accepted)",
    )


class GateIdentityInputSerializer(serializers.Serializer):
    cin = serializers.CharField(max_length=20, help_text="number of the identity card shown")


class GateMomentInputSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="now if empty"
    )


class GateWalkInInputSerializer(serializers.Serializer):
    session = serializers.UUIDField(help_text="one of today's sessions of the institution")
    custody = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="custody period of the prisoner"
    )
    committal_number = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="or the prisoner's committal number at the session's institution",
    )
    visitors = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, help_text="UUIDs of visitors on the list"
    )
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="why without booking (audited); with visits.override, also the reason to "
        "exceed a full session's capacity",
    )

    def validate(self, attrs):
        if not attrs.get("custody") and not attrs.get("committal_number"):
            raise serializers.ValidationError(
                _("Give the prisoner's custody period or committal number.")
            )
        return attrs


# -- output ----------------------------------------------------------------------------------
class GateSessionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    date = serializers.DateField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.CharField(source="room.name")
    mode = serializers.CharField(help_text="open, closed or family")


class GatePrisonerSerializer(serializers.Serializer):
    name_ar = serializers.CharField(source="person.full_name_ar")
    name_latin = serializers.CharField(source="person.full_name_latin")
    committal_number = serializers.CharField()


class GateVisitorSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="visitor.uuid")
    full_name = serializers.CharField(source="visitor.full_name")
    cin = serializers.CharField(source="visitor.cin")
    is_child = serializers.BooleanField()
    age = serializers.IntegerField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)


class GateBookingSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    facility = serializers.CharField(source="facility.code", help_text="institution code")
    status = serializers.CharField(help_text=", ".join(BookingStatus.values))
    channel = serializers.CharField(help_text=", ".join(BookingChannel.values))
    flag_reason = serializers.CharField()
    adults = serializers.IntegerField()
    children = serializers.IntegerField()
    session = GateSessionSerializer()
    prisoner = GatePrisonerSerializer(source="custody")
    visitors = serializers.SerializerMethodField()
    arrived_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(GateVisitorSerializer(many=True))
    def get_visitors(self, obj) -> list[dict]:
        rows = [*getattr(obj, "adult_visitors", []), *getattr(obj, "child_visitors", [])]
        return GateVisitorSerializer(rows, many=True).data


class FiguresQuerySerializer(serializers.Serializer):
    month_from = serializers.RegexField(
        r"^\d{4}-\d{2}$", required=False, help_text="YYYY-MM (this month if empty)"
    )
    month_to = serializers.RegexField(
        r"^\d{4}-\d{2}$", required=False, help_text="YYYY-MM (the 'from' month if empty)"
    )
    region = serializers.CharField(required=False, help_text="regional directorate code")
    facility = serializers.CharField(required=False, help_text="institution code")


class FigureValuesSerializer(serializers.Serializer):
    online = serializers.IntegerField()
    desk = serializers.IntegerField()
    phone = serializers.IntegerField()
    walk_in = serializers.IntegerField()
    booked = serializers.IntegerField(help_text="not cancelled, all channels")
    cancelled = serializers.IntegerField()
    completed = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    due = serializers.IntegerField(help_text="bookings (not cancelled) of sessions begun")
    no_show_rate = serializers.FloatField(allow_null=True, help_text="no_shows / due")
    online_share = serializers.FloatField(allow_null=True, help_text="online / booked")
    sessions = serializers.IntegerField()
    capacity = serializers.IntegerField(help_text="places (visits) of the sessions")
    taken = serializers.IntegerField(help_text="places taken, over capacity included")
    occupancy = serializers.FloatField(allow_null=True, help_text="taken / capacity")


class FigureRowSerializer(FigureValuesSerializer):
    month = serializers.CharField(help_text="YYYY-MM")
    facility = serializers.CharField(help_text="institution code")
    region = serializers.CharField(help_text="regional directorate code")


class FigureFacilityTotalSerializer(FigureValuesSerializer):
    facility = serializers.CharField(help_text="institution code")
    region = serializers.CharField(help_text="regional directorate code")


class FigureRegionTotalSerializer(FigureValuesSerializer):
    region = serializers.CharField(help_text="regional directorate code")
    facilities = serializers.IntegerField(help_text="institutions with figures")


class FigureMonthTotalSerializer(FigureValuesSerializer):
    month = serializers.CharField(help_text="YYYY-MM")


class OnlineLiveSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    region = serializers.CharField(source="region.code")


class FiguresSerializer(serializers.Serializer):
    month_from = serializers.CharField(help_text="YYYY-MM")
    month_to = serializers.CharField(help_text="YYYY-MM")
    rows = FigureRowSerializer(many=True)
    facilities = FigureFacilityTotalSerializer(many=True)
    regions = FigureRegionTotalSerializer(many=True)
    months = FigureMonthTotalSerializer(many=True)
    total = FigureValuesSerializer()
    online_live_count = serializers.IntegerField()
    online_live = OnlineLiveSerializer(many=True)
