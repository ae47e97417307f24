"""JSON shapes of the housing and population API (thin: no business rule here)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..constants import LegalStatus, PersonSex


# -- input -----------------------------------------------------------------------------------
@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field):
    """A date (``2026-03-01``: the end of that day) or a date and time (ISO 8601; without
    an offset, the local time of Morocco)."""

    default_error_messages = {
        "invalid": _("Give a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)."),
    }

    def to_internal_value(self, data) -> date | datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text) if "T" in text or " " in text else parse_date(text)
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if isinstance(moment, datetime) and timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment

    def to_representation(self, value):
        return value.isoformat()


class AllocateSerializer(serializers.Serializer):
    cell = serializers.UUIDField(help_text="UUID of the cell (see the housing endpoint)")
    at = serializers.DateTimeField(required=False, allow_null=True, help_text="default: now")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class PopulationQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(required=False, allow_blank=True, max_length=30)
    region = serializers.CharField(required=False, allow_blank=True, max_length=30)
    at = MomentField(required=False)

    def validate(self, attrs):
        if attrs.get("facility") and attrs.get("region"):
            raise serializers.ValidationError(
                _("Give an institution or a regional directorate, not both.")
            )
        return attrs


class CountSheetQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(max_length=30)
    at = MomentField(required=False)


class HousingQuerySerializer(serializers.Serializer):
    wing = serializers.UUIDField(required=False)


# -- output: a prisoner's stays --------------------------------------------------------------------
class WingRefSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()


class CellRefSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    number = serializers.CharField()
    wing = WingRefSerializer()


class StaySerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    cell = CellRefSerializer()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class CustodyHousingSerializer(serializers.Serializer):
    custody = serializers.UUIDField(source="custody.uuid")
    committal_number = serializers.CharField(source="custody.committal_number")
    current = StaySerializer(allow_null=True)
    history = StaySerializer(many=True, source="stays")


# -- output: the institution's cells ---------------------------------------------------------------
class CellOccupancySerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="cell.uuid")
    number = serializers.CharField(source="cell.number")
    special_use = serializers.CharField()
    beds = serializers.IntegerField(source="cell.beds")
    operational_max = serializers.IntegerField(source="cell.operational_max")
    occupants = serializers.IntegerField()
    free = serializers.IntegerField()
    overcrowding = serializers.IntegerField(help_text="persons above the beds")
    in_service = serializers.BooleanField()


class _Totals(serializers.Serializer):
    beds = serializers.IntegerField()
    operational_max = serializers.IntegerField()
    occupants = serializers.IntegerField()
    free = serializers.IntegerField()
    overcrowding = serializers.IntegerField()
    overcrowded_cells = serializers.IntegerField()


class WingOccupancySerializer(_Totals):
    uuid = serializers.UUIDField(source="wing.uuid")
    name = serializers.CharField(source="wing.name")
    sex = serializers.CharField(source="wing.sex")
    age_group = serializers.CharField(source="wing.age_group")
    regime = serializers.CharField(source="wing.regime")
    special_use = serializers.CharField(source="wing.special_use")
    cells = CellOccupancySerializer(many=True)


class BreachSerializer(serializers.Serializer):
    code = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class MisplacedSerializer(serializers.Serializer):
    custody = serializers.UUIDField(source="custody.uuid")
    committal_number = serializers.CharField(source="custody.committal_number")
    cell = serializers.UUIDField(source="stay.cell.uuid")
    breaches = BreachSerializer(many=True)


class FacilityHousingSerializer(serializers.Serializer):
    facility = serializers.CharField(source="facility.code")
    on = serializers.DateField()
    totals = _Totals()
    unhoused = serializers.IntegerField(help_text="persons in custody without a cell")
    misplaced = MisplacedSerializer(many=True)
    wings = WingOccupancySerializer(many=True)


# -- output: population --------------------------------------------------------------------------
class CountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    legal_status = serializers.DictField(
        child=serializers.IntegerField(), help_text=f"{', '.join(LegalStatus.values)}, unknown"
    )
    sex = serializers.DictField(
        child=serializers.IntegerField(), help_text=", ".join(PersonSex.values)
    )
    age_group = serializers.DictField(
        child=serializers.IntegerField(), help_text="juvenile (under 18), adult"
    )
    present = serializers.IntegerField()
    absent = serializers.IntegerField(help_text="out on a temporary absence")


class PopulationRowSerializer(serializers.Serializer):
    counts = CountsSerializer()
    beds = serializers.IntegerField(allow_null=True)
    operational_max = serializers.IntegerField(allow_null=True)
    occupancy = serializers.FloatField(allow_null=True, help_text="population / beds")
    overcrowding = serializers.IntegerField(allow_null=True, help_text="persons above the beds")


class FacilityPopulationSerializer(PopulationRowSerializer):
    code = serializers.CharField(source="facility.code")
    name = serializers.CharField(source="facility.name")
    region = serializers.CharField(source="facility.region.code")


class RegionPopulationSerializer(PopulationRowSerializer):
    code = serializers.CharField(source="region.code")
    name = serializers.CharField(source="region.name")
    facilities = serializers.IntegerField()


class NationPopulationSerializer(PopulationRowSerializer):
    facilities = serializers.IntegerField()


class PopulationSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    on = serializers.DateField()
    scope = serializers.CharField(source="scope.kind", help_text="facility, region or nation")
    facilities = FacilityPopulationSerializer(many=True)
    regions = RegionPopulationSerializer(many=True)
    nation = NationPopulationSerializer(help_text="total of the institutions in the answer")


# -- output: the count sheet ----------------------------------------------------------------------
class SheetPersonSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    committal_number = serializers.CharField()
    name_ar = serializers.CharField(source="person.full_name_ar")
    name_latin = serializers.CharField(source="person.full_name_latin")


class SheetCellSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="cell.uuid")
    number = serializers.CharField(source="cell.number")
    persons = SheetPersonSerializer(many=True, help_text="should be in the cell")
    absent = SheetPersonSerializer(many=True, help_text="housed here, out now")


class SheetWingSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="wing.uuid")
    name = serializers.CharField(source="wing.name")
    expected = serializers.IntegerField()
    cells = SheetCellSerializer(many=True)


class SheetAbsenceSerializer(serializers.Serializer):
    custody = SheetPersonSerializer()
    cell = serializers.UUIDField(source="cell.uuid", allow_null=True, default=None)
    kind = serializers.CharField(source="movement.kind")
    destination = serializers.CharField(source="movement.destination")
    out_at = serializers.DateTimeField(source="movement.out_at")
    expected_back_at = serializers.DateTimeField(
        source="movement.expected_back_at", allow_null=True
    )


class SheetUnhousedSerializer(serializers.Serializer):
    custody = SheetPersonSerializer()
    absent = serializers.SerializerMethodField()

    def get_absent(self, obj) -> bool:
        return obj["movement"] is not None


class SheetTotalsSerializer(serializers.Serializer):
    roll = serializers.IntegerField(help_text="in custody at the moment")
    present = serializers.IntegerField(help_text="roll minus temporarily absent")
    in_cells = serializers.IntegerField(help_text="to count in the cells")
    absent = serializers.IntegerField()
    unhoused = serializers.IntegerField(help_text="present without a cell")


class CountSheetSerializer(serializers.Serializer):
    facility = serializers.CharField(source="facility.code")
    at = serializers.DateTimeField()
    totals = SheetTotalsSerializer()
    wings = SheetWingSerializer(many=True)
    absent = SheetAbsenceSerializer(many=True)
    unhoused = SheetUnhousedSerializer(many=True)
