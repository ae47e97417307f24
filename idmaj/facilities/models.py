"""Institutions, their structure (buildings, wings, cells), status over time, infrastructure
projects and the installations register."""

from __future__ import annotations

import uuid

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from idmaj.core.scoping import access_for

from .constants import (
    AgeGroup,
    FacilityKind,
    FacilityStatus,
    ProjectKind,
    ProjectStatus,
    Regime,
    Sex,
    SpecialUse,
)

code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{1,29}$",
    _("Use upper-case Latin letters, digits and underscores, starting with a letter."),
)


class LocalizedNameMixin:
    """``name`` in the active language: Arabic, French, or English where there is one."""

    @property
    def name(self) -> str:
        lang = (get_language() or "ar")[:2]
        if lang == "ar":
            return self.name_ar or self.name_fr
        if lang == "en" and getattr(self, "name_en", ""):
            return self.name_en
        return self.name_fr or self.name_ar


class Region(LocalizedNameMixin, models.Model):
    """A regional directorate of the prison administration (reference data)."""

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name_ar = models.CharField(_("name (Arabic)"), max_length=150)
    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    seat = models.CharField(_("seat"), max_length=100, blank=True)
    admin_regions = models.CharField(
        _("administrative regions covered"), max_length=300, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("regional directorate")
        verbose_name_plural = _("regional directorates")

    def __str__(self) -> str:
        return self.name


class FacilityQuerySet(models.QuerySet):
    def visible_to(self, user) -> FacilityQuerySet:
        """The one scoping rule for institutions."""
        return access_for(user).filter(self, "id")


class Facility(LocalizedNameMixin, models.Model):
    """A prison institution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=FacilityKind.choices)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="facilities",
        verbose_name=_("regional directorate"),
    )
    city = models.CharField(_("city"), max_length=100)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Denormalised from the status history by the services, for fast lists.
    current_status = models.CharField(
        _("status"),
        max_length=30,
        choices=FacilityStatus.choices,
        default=FacilityStatus.PLANNED,
    )
    source = models.URLField(_("public source"), max_length=500, blank=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class FacilityStatusPeriod(models.Model):
    """From ``since`` on, the institution had ``status`` (until the next period)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="status_history")
    status = models.CharField(_("status"), max_length=30, choices=FacilityStatus.choices)
    since = models.DateField(_("since"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["facility_id", "since"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "since"], name="facility_status_since_unique"
            )
        ]
        verbose_name = _("status period")
        verbose_name_plural = _("status history")

    def __str__(self) -> str:
        return f"{self.status} since {self.since}"


class Building(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="buildings")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["facility_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="building_name_unique")
        ]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.name


class Wing(models.Model):
    """A wing: the unit of separation (men/women, adults/juveniles, remand/convicted)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="wings")
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="wings")
    name = models.CharField(_("name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    age_group = models.CharField(_("age group"), max_length=10, choices=AgeGroup.choices)
    regime = models.CharField(_("regime"), max_length=10, choices=Regime.choices)
    special_use = models.CharField(
        _("special use"), max_length=20, choices=SpecialUse.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["facility_id", "building__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="wing_name_unique")
        ]
        verbose_name = _("wing")
        verbose_name_plural = _("wings")

    def __str__(self) -> str:
        return self.name


class Cell(models.Model):
    """A cell: beds (the nominal capacity) and an operational maximum that is never exceeded."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="cells")
    wing = models.ForeignKey(Wing, on_delete=models.CASCADE, related_name="cells")
    number = models.CharField(_("number"), max_length=20)
    beds = models.PositiveIntegerField(_("beds"), validators=[MinValueValidator(0)])
    operational_max = models.PositiveIntegerField(_("operational maximum"))
    special_use = models.CharField(
        _("special use"), max_length=20, choices=SpecialUse.choices, blank=True, default=""
    )
    in_service_from = models.DateField(_("in service from"), null=True, blank=True)
    in_service_until = models.DateField(_("in service until"), null=True, blank=True)

    class Meta:
        ordering = ["facility_id", "wing_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["wing", "number"], name="cell_number_unique"),
            models.CheckConstraint(
                name="cell_max_at_least_beds", condition=Q(operational_max__gte=F("beds"))
            ),
        ]
        indexes = [models.Index(fields=["facility", "in_service_from"], name="cell_facility_idx")]
        verbose_name = _("cell")
        verbose_name_plural = _("cells")

    def __str__(self) -> str:
        return self.number


class InfrastructureProject(LocalizedNameMixin, models.Model):
    """New construction, extension, refurbishment or repair of an institution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="projects")
    kind = models.CharField(_("kind"), max_length=30, choices=ProjectKind.choices)
    name_ar = models.CharField(_("title (Arabic)"), max_length=300)
    name_fr = models.CharField(_("title (French)"), max_length=300)
    status = models.CharField(_("status"), max_length=20, choices=ProjectStatus.choices)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    beds_added = models.PositiveIntegerField(_("beds added"), default=0)
    beds_restored = models.PositiveIntegerField(_("beds restored"), default=0)
    budget_mad = models.DecimalField(
        _("budget (MAD)"), max_digits=14, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["-completed_on", "-started_on"]
        constraints = [
            models.CheckConstraint(
                name="project_completed_has_date",
                condition=~Q(status="completed") | Q(completed_on__isnull=False),
            )
        ]
        verbose_name = _("infrastructure project")
        verbose_name_plural = _("infrastructure projects")

    def __str__(self) -> str:
        return self.name


class InstallationType(LocalizedNameMixin, models.Model):
    """Reference data: biometric system, online visit booking, medical unit, ..."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=150)
    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("installation type")
        verbose_name_plural = _("installation types")

    def __str__(self) -> str:
        return self.name


class Installation(models.Model):
    """A dated fact: this institution has had this installation from ``installed_on``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="installations")
    type = models.ForeignKey(
        InstallationType, on_delete=models.PROTECT, related_name="installations"
    )
    installed_on = models.DateField(_("installed on"))
    removed_on = models.DateField(_("removed on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["facility_id", "type_id", "installed_on"]
        constraints = [
            models.CheckConstraint(
                name="installation_dates_ordered",
                condition=Q(removed_on__isnull=True) | Q(removed_on__gt=F("installed_on")),
            )
        ]
        indexes = [models.Index(fields=["type", "installed_on"], name="installation_type_idx")]
        verbose_name = _("installation")
        verbose_name_plural = _("installations register")

    def __str__(self) -> str:
        return f"{self.type} @ {self.facility_id}"
