"""JSON shapes of the facilities API (thin: no business rule here)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .constants import FacilityKind, FacilityStatus
from .models import Facility, Region
from .selectors import occupancy


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name_ar", "name_fr", "name_en"]


class FacilitySerializer(serializers.ModelSerializer):
    """An institution; ``population``/``occupancy`` come from the registry (null until it
    exists) through the ``population`` dict of the serializer context."""

    region = RegionSerializer(read_only=True)
    status = serializers.ChoiceField(
        source="current_status", choices=FacilityStatus.choices, read_only=True
    )
    beds = serializers.IntegerField(read_only=True, help_text=_("beds in service today"))
    population = serializers.SerializerMethodField()
    occupancy = serializers.SerializerMethodField()

    class Meta:
        model = Facility
        fields = [
            "code",
            "uuid",
            "name_ar",
            "name_fr",
            "kind",
            "region",
            "city",
            "status",
            "beds",
            "population",
            "occupancy",
        ]

    def get_population(self, obj: Facility) -> int | None:
        population = self.context.get("population")
        if population is None:
            return None
        return population.get(obj.pk, 0)

    def get_occupancy(self, obj: Facility) -> float | None:
        return occupancy(self.get_population(obj), getattr(obj, "beds", None))


class FacilityFilterSerializer(serializers.Serializer):
    region = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=FacilityKind.choices, required=False)
    status = serializers.ChoiceField(choices=FacilityStatus.choices, required=False)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)


class CapacityQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, default=timezone.localdate)
    region = serializers.CharField(required=False, allow_blank=True)


class CapacityTotalsSerializer(serializers.Serializer):
    facilities = serializers.IntegerField()
    beds = serializers.IntegerField()
    operational_max = serializers.IntegerField()
    population = serializers.IntegerField(allow_null=True)
    occupancy = serializers.FloatField(allow_null=True)
    overcrowding = serializers.IntegerField(allow_null=True)


class FacilityRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Facility
        fields = ["code", "uuid", "name_ar", "name_fr", "kind"]


class CapacityFacilitySerializer(serializers.Serializer):
    facility = FacilityRefSerializer()
    status = serializers.CharField()
    beds = serializers.IntegerField()
    operational_max = serializers.IntegerField()
    population = serializers.IntegerField(allow_null=True)
    occupancy = serializers.FloatField(allow_null=True)
    overcrowding = serializers.IntegerField(allow_null=True)


class CapacityRegionSerializer(CapacityTotalsSerializer):
    region = RegionSerializer()


class CapacitySerializer(serializers.Serializer):
    on = serializers.DateField()
    facilities = CapacityFacilitySerializer(many=True)
    regions = CapacityRegionSerializer(many=True)
    nation = CapacityTotalsSerializer(
        help_text=_("totals over the institutions the caller may see")
    )


class InstallationCountQuerySerializer(serializers.Serializer):
    type = serializers.CharField()
    on = serializers.DateField(required=False, default=timezone.localdate)


class InstallationCountSerializer(serializers.Serializer):
    type = serializers.CharField()
    on = serializers.DateField()
    count = serializers.IntegerField()
