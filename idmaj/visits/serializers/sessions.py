"""JSON shapes of the visit configuration API (thin: the rules are the services')."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..constants import RegimeFilter, RoomKind, VisitMode
from ..models import (
    ExcludedDate,
    OnlineBookingPause,
    SessionTemplate,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)
from ..services.sessions import POLICY_FIELDS

# Named choice fields (one OpenAPI enum each, shared with the other visits serializers).
_MODE = serializers.ChoiceField(choices=VisitMode.choices)
_REGIME = serializers.ChoiceField(choices=RegimeFilter.choices)


# -- rules -----------------------------------------------------------------------------------
class PolicySerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True)

    class Meta:
        model = VisitPolicy
        fields = ["facility", *POLICY_FIELDS, "updated_at"]
        read_only_fields = ["facility", "updated_at"]


class PolicyPatchSerializer(serializers.Serializer):
    """Any of the rules; only those given change."""

    online_booking = serializers.BooleanField(required=False)
    book_from_days = serializers.IntegerField(required=False, min_value=0, max_value=366)
    book_until_days = serializers.IntegerField(required=False, min_value=0, max_value=366)
    change_cutoff_hours = serializers.IntegerField(required=False, min_value=0, max_value=720)
    weekly_visits_remand = serializers.IntegerField(required=False, min_value=0, max_value=50)
    weekly_visits_convicted = serializers.IntegerField(required=False, min_value=0, max_value=50)
    max_adults = serializers.IntegerField(required=False, min_value=0, max_value=20)
    max_children = serializers.IntegerField(required=False, min_value=0, max_value=20)
    adult_age = serializers.IntegerField(required=False, min_value=0, max_value=30)
    max_list_size = serializers.IntegerField(required=False, min_value=0, max_value=100)
    walk_ins_allowed = serializers.BooleanField(required=False)
    rules_ar = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    rules_fr = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    allowed_items_ar = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    allowed_items_fr = serializers.CharField(required=False, allow_blank=True, max_length=5000)


# -- rooms -----------------------------------------------------------------------------------
class RoomSerializer(serializers.ModelSerializer):
    room_kind = serializers.ChoiceField(source="kind", choices=RoomKind.choices)

    class Meta:
        model = VisitRoom
        fields = ["uuid", "name", "room_kind", "places", "seats", "in_service"]
        read_only_fields = ["uuid"]


class RoomInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    room_kind = serializers.ChoiceField(
        source="kind", choices=RoomKind.choices, default=RoomKind.VISIT_ROOM
    )
    places = serializers.IntegerField(min_value=0, max_value=500)
    seats = serializers.IntegerField(min_value=0, max_value=2000)
    in_service = serializers.BooleanField(default=True)


class RoomPatchSerializer(RoomInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False
            f.default = serializers.empty


# -- weekly sessions -------------------------------------------------------------------------
class VisitWingSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()


class TemplateSerializer(serializers.ModelSerializer):
    room = serializers.UUIDField(source="room.uuid", read_only=True)
    room_name = serializers.CharField(source="room.name", read_only=True)
    mode = _MODE
    regime = _REGIME
    wings = VisitWingSerializer(many=True, read_only=True)

    class Meta:
        model = SessionTemplate
        fields = [
            "uuid",
            "room",
            "room_name",
            "weekday",
            "start_time",
            "end_time",
            "capacity_visits",
            "capacity_visitors",
            "mode",
            "regime",
            "wings",
            "valid_from",
            "valid_until",
        ]


class TemplateInputSerializer(serializers.Serializer):
    room = serializers.UUIDField(help_text="UUID of a room of the institution")
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()
    capacity_visits = serializers.IntegerField(min_value=0, max_value=500)
    capacity_visitors = serializers.IntegerField(min_value=0, max_value=2000)
    mode = serializers.ChoiceField(choices=VisitMode.choices, default=VisitMode.OPEN)
    regime = serializers.ChoiceField(choices=RegimeFilter.choices, default=RegimeFilter.ALL)
    wings = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="UUIDs; empty: every wing"
    )
    valid_from = serializers.DateField(required=False, help_text="default: today")
    valid_until = serializers.DateField(required=False, allow_null=True)


class TemplatePatchSerializer(TemplateInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False
            f.default = serializers.empty


class TemplateEndSerializer(serializers.Serializer):
    valid_until = serializers.DateField(required=False, help_text="last day; default: today")


class TemplateEndedSerializer(TemplateSerializer):
    kept_sessions = serializers.IntegerField(
        read_only=True, help_text="dated sessions after the end kept because they have bookings"
    )

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "kept_sessions"]


# -- days without visits and pauses ----------------------------------------------------------
class ExcludedDateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExcludedDate
        fields = ["uuid", "starts_on", "ends_on", "reason"]
        read_only_fields = ["uuid"]
        extra_kwargs = {"ends_on": {"required": False}}


class ExcludedRemovedSerializer(serializers.Serializer):
    sessions_reopened = serializers.IntegerField()


class PauseSerializer(serializers.ModelSerializer):
    class Meta:
        model = OnlineBookingPause
        fields = ["uuid", "starts_at", "ends_at", "message_ar", "message_fr"]
        read_only_fields = ["uuid"]
        extra_kwargs = {
            "starts_at": {"required": False, "help_text": "default: now"},
            "ends_at": {"required": False, "allow_null": True},
            "message_fr": {"required": False},
        }


class PauseEndedSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    ended = serializers.BooleanField(help_text="false: the pause had not begun and was withdrawn")
    ends_at = serializers.DateTimeField(allow_null=True)


# -- dated sessions --------------------------------------------------------------------------
class SessionSerializer(serializers.ModelSerializer):
    room = serializers.UUIDField(source="room.uuid", read_only=True)
    room_name = serializers.CharField(source="room.name", read_only=True)
    from_weekly = serializers.SerializerMethodField()
    mode = _MODE
    regime = _REGIME
    wings = VisitWingSerializer(many=True, read_only=True)

    class Meta:
        model = VisitSession
        fields = [
            "uuid",
            "date",
            "starts_at",
            "ends_at",
            "room",
            "room_name",
            "from_weekly",
            "mode",
            "regime",
            "wings",
            "capacity_visits",
            "capacity_visitors",
            "booked_visits",
            "booked_visitors",
            "extra_visits",
            "extra_visitors",
            "cancelled_at",
            "cancel_reason",
        ]

    def get_from_weekly(self, obj) -> bool:
        """Whether the session was made from a weekly session."""
        return obj.template_id is not None


class SessionQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="default: today")
    date_to = serializers.DateField(
        required=False, help_text="default: two weeks after date_from; at most two months"
    )

    def validate(self, attrs):
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_to"] < attrs["date_from"]
        ):
            raise serializers.ValidationError(_("The end date cannot come before the start date."))
        return attrs


class SessionCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class SessionCapacitySerializer(serializers.Serializer):
    capacity_visits = serializers.IntegerField(min_value=0, max_value=500)
    capacity_visitors = serializers.IntegerField(min_value=0, max_value=2000)


class GenerateSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=180, help_text="default: the booking window"
    )


class GeneratedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    until = serializers.DateField()
