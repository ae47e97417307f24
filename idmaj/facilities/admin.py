"""Django admin for the facilities domain: read-only.

Writes go through the services (audit trail, rules); the admin is for looking only. Reference
data (regional directorates, installation types) comes from ``idmaj seed-demo``."""

from django.contrib import admin

from .models import (
    Building,
    Cell,
    Facility,
    FacilityStatusPeriod,
    InfrastructureProject,
    Installation,
    InstallationType,
    Region,
    Wing,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusInline(admin.TabularInline):
    model = FacilityStatusPeriod
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_fr", "name_ar", "seat"]
    search_fields = ["code", "name_fr", "name_ar"]


@admin.register(Facility)
class FacilityAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_fr", "name_ar", "kind", "region", "city", "current_status"]
    list_filter = ["kind", "current_status", "region"]
    search_fields = ["code", "name_fr", "name_ar", "city"]
    list_select_related = ["region"]
    inlines = [StatusInline]


@admin.register(Building)
class BuildingAdmin(ReadOnlyAdmin):
    list_display = ["name", "facility"]
    list_select_related = ["facility"]
    search_fields = ["facility__code", "name"]


@admin.register(Wing)
class WingAdmin(ReadOnlyAdmin):
    list_display = ["name", "facility", "building", "sex", "age_group", "regime", "special_use"]
    list_filter = ["sex", "age_group", "regime"]
    list_select_related = ["facility", "building"]
    search_fields = ["facility__code", "name"]


@admin.register(Cell)
class CellAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "facility",
        "wing",
        "beds",
        "operational_max",
        "special_use",
        "in_service_from",
        "in_service_until",
    ]
    list_filter = ["special_use"]
    list_select_related = ["facility", "wing"]
    search_fields = ["facility__code", "number"]


@admin.register(InfrastructureProject)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["name_fr", "facility", "kind", "status", "completed_on", "beds_added"]
    list_filter = ["kind", "status"]
    list_select_related = ["facility"]
    search_fields = ["facility__code", "name_fr", "name_ar"]


@admin.register(InstallationType)
class InstallationTypeAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_fr", "name_ar", "name_en"]


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ["type", "facility", "installed_on", "removed_on"]
    list_filter = ["type"]
    list_select_related = ["type", "facility"]
    search_fields = ["facility__code"]
