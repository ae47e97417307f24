"""JSON shapes of the booking APIs (family portal and staff): thin, no business rule here.

Choice fields are plain strings in the schema (``mode``, ``status``, ``channel``): named
enums would collide with those of other areas."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# -- output ------------------------------------------------------------------------------------


class BookableSessionSerializer(serializers.Serializer):
    """A session with its free places (what a family may book)."""

    uuid = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    mode = serializers.CharField(help_text="open, closed (behind glass) or family")
    room = serializers.CharField(source="room.name")
    free_visits = serializers.SerializerMethodField()
    free_visitors = serializers.SerializerMethodField()

    def get_free_visits(self, obj) -> int:
        return max(0, obj.capacity_visits - obj.booked_visits)

    def get_free_visitors(self, obj) -> int:
        return max(0, obj.capacity_visitors - obj.booked_visitors)


class BookingSessionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    date = serializers.DateField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    mode = serializers.CharField()
    room = serializers.CharField(source="room.name")


class BookingFacilitySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()


class BookingVisitorSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="visitor.uuid")
    full_name = serializers.CharField(source="visitor.full_name")
    is_child = serializers.BooleanField()


def _visitor_rows(booking) -> list:
    rows = getattr(booking, "visitor_rows", None)
    if rows is None:
        rows = list(booking.visitors.all())
    return rows


class BookingSerializer(serializers.Serializer):
    """A booking as the family sees it."""

    uuid = serializers.UUIDField()
    code = serializers.CharField(help_text="the booking code shown at the gate (and its QR)")
    status = serializers.CharField(
        help_text="booked, flagged, arrived, in_progress, completed, no_show or cancelled"
    )
    channel = serializers.CharField(help_text="online, desk, phone or walk_in")
    session = BookingSessionSerializer()
    facility = BookingFacilitySerializer()
    committal_number = serializers.CharField(source="custody.committal_number")
    adults = serializers.IntegerField()
    children = serializers.IntegerField()
    visitors = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField(allow_blank=True)
    replaced_by = serializers.UUIDField(source="replaced_by.uuid", allow_null=True, default=None)

    @extend_schema_field(BookingVisitorSerializer(many=True))
    def get_visitors(self, obj):
        return BookingVisitorSerializer(_visitor_rows(obj), many=True).data


class StaffBookingSerializer(BookingSerializer):
    """A booking as staff see it: with the prisoner, over-capacity and review flags."""

    prisoner = serializers.CharField(source="custody.person")
    over_capacity = serializers.BooleanField()
    over_capacity_reason = serializers.CharField(allow_blank=True)
    flag_reason = serializers.CharField(allow_blank=True)
    arrived_at = serializers.DateTimeField(allow_null=True)


# -- input -------------------------------------------------------------------------------------


class PortalBookingInputSerializer(serializers.Serializer):
    prisoner = serializers.UUIDField(help_text="the family's own visitor entry (see prisoners/)")
    session = serializers.UUIDField()
    visitors = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=20, help_text="visitor UUIDs"
    )


class PortalBookingChangeSerializer(serializers.Serializer):
    session = serializers.UUIDField()
    visitors = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=20)


class BookingCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class StaffBookingQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(max_length=30, help_text="institution code")
    date = serializers.DateField()


class StaffBookingInputSerializer(serializers.Serializer):
    committal_number = serializers.CharField(max_length=50)
    session = serializers.UUIDField()
    visitors = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=20)
    channel = serializers.CharField(max_length=10, help_text="desk, phone or walk_in")
    over_capacity_reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="beyond the session's capacity (visits.override): the reason",
    )
