"""Writes of the facilities domain: institutions, their status over time, their structure
(buildings, wings, cells), infrastructure projects and the installations register.

Every function is keyword-only, runs in one ``transaction.atomic`` block, validates with
``full_clean()`` and appends its audit entry in the same transaction, on the institution's
audit chain. ``actor=None`` is the system itself (seeders, imports, scheduled jobs) and skips
the permission check.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.scoping import access_for

from .constants import FacilityStatus
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

FACILITY_UPDATABLE = (
    "name_ar",
    "name_fr",
    "kind",
    "region",
    "city",
    "address",
    "latitude",
    "longitude",
    "source",
)
CELL_UPDATABLE = ("beds", "operational_max", "special_use", "in_service_from", "in_service_until")
PROJECT_UPDATABLE = (
    "kind",
    "name_ar",
    "name_fr",
    "status",
    "started_on",
    "planned_end",
    "completed_on",
    "beds_added",
    "beds_restored",
    "budget_mad",
)


# -- helpers ---------------------------------------------------------------------------------
def _require(actor, perm_code: str, facility_id: int | None) -> None:
    """Refuse when a (non-system) actor lacks ``perm_code`` for that institution.

    ``facility_id=None`` asks for the permission nationally (e.g. creating an institution):
    holding it for some institutions or a region is not enough."""
    if actor is None:
        return
    access = access_for(actor)
    if facility_id is None:
        allowed = access.has_perm(perm_code) and access.perm_facility_ids(perm_code) is None
    else:
        allowed = access.has_perm(perm_code, facility_id)
    if not allowed:
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))


def _clean(obj: models.Model, *, exclude: list[str] | None = None) -> None:
    """``full_clean`` with Django's ValidationError turned into a DomainError (first field)."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            first = errors[0]
            code = "duplicate" if first.code in ("unique", "unique_together") else "invalid"
            message = " ".join(first.messages)
            raise DomainError(
                code, message, field=None if field == NON_FIELD_ERRORS else field
            ) from exc
        raise DomainError("invalid", " ".join(exc.messages)) from exc


def _apply(obj: models.Model, fields: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    """Set allowed fields on ``obj``; the names that really changed."""
    for name in fields:
        if name not in allowed:
            raise DomainError(
                "unknown_field", _("This field cannot be changed here: %s") % name, field=name
            )
    changed = []
    for name, value in fields.items():
        attname = obj._meta.get_field(name).attname
        current = getattr(obj, attname)
        new = value.pk if isinstance(value, models.Model) else value
        if isinstance(current, Decimal) and new is not None and not isinstance(new, Decimal):
            new = Decimal(str(new))
        if current != new:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _update(actor, obj: models.Model, fields: dict[str, Any], allowed: tuple[str, ...], check=None):
    """The one update sequence: set the allowed fields, check, clean, save what changed and
    audit it, in one transaction; a refusal leaves ``obj`` as it was."""
    with transaction.atomic():
        before = audit.snapshot(obj)
        changed = _apply(obj, fields, allowed)
        if not changed:
            return obj
        try:
            if check is not None:
                check(obj)
            _clean(obj)
        except DomainError:
            obj.refresh_from_db()
            raise
        obj.save(update_fields=changed)
        audit.record(
            actor=actor,
            action="update",
            obj=obj,
            facility_id=getattr(obj, "facility_id", None) or obj.pk,
            before=before,
            after=audit.snapshot(obj),
        )
    return obj


def _region(region: Region | str) -> Region:
    if isinstance(region, Region):
        return region
    found = Region.objects.filter(code=region).first()
    if found is None:
        raise DomainError("invalid", _("Unknown regional directorate."), field="region")
    return found


def _status_on(facility: Facility, on: date) -> str | None:
    period = (
        FacilityStatusPeriod.objects.filter(facility=facility, since__lte=on)
        .order_by("-since")
        .first()
    )
    return period.status if period else None


def _refresh_current_status(facility: Facility, today: date | None = None) -> None:
    """``current_status`` is the status of the latest period that has begun (planned if none)."""
    status = _status_on(facility, today or timezone.localdate()) or FacilityStatus.PLANNED
    if facility.current_status != status:
        facility.current_status = status
        facility.save(update_fields=["current_status"])


def _check_cell_numbers(
    beds: int | None, operational_max: int | None, start: date | None, end: date | None
) -> None:
    if beds is not None and operational_max is not None and operational_max < beds:
        raise DomainError(
            "invalid",
            _("The operational maximum cannot be lower than the number of beds."),
            field="operational_max",
        )
    if start and end and end <= start:
        raise DomainError(
            "invalid",
            _("The end of service must come after its start."),
            field="in_service_until",
        )


# -- institutions ----------------------------------------------------------------------------
def facility_create(
    *,
    actor,
    code: str,
    name_ar: str,
    name_fr: str,
    kind: str,
    region: Region | str,
    city: str,
    address: str = "",
    status: str = FacilityStatus.OPERATING,
    since: date,
    source: str = "",
) -> Facility:
    """A new institution, with the first period of its status history."""
    _require(actor, "facilities.edit", None)
    with transaction.atomic():
        facility = Facility(
            code=code,
            name_ar=name_ar,
            name_fr=name_fr,
            kind=kind,
            region=_region(region),
            city=city,
            address=address,
            source=source,
            current_status=status,
        )
        _clean(facility)
        facility.save()
        period = FacilityStatusPeriod(facility=facility, status=status, since=since)
        _clean(period)
        period.save()
        _refresh_current_status(facility)
        audit.record(
            actor=actor,
            action="create",
            obj=facility,
            facility_id=facility.pk,
            after=audit.snapshot(facility),
        )
        audit.record(
            actor=actor,
            action="create",
            obj=period,
            facility_id=facility.pk,
            after=audit.snapshot(period),
        )
    return facility


def facility_update(*, actor, facility: Facility, **fields) -> Facility:
    """Change an institution's descriptive fields (not its status: ``facility_status_set``)."""
    _require(actor, "facilities.edit", facility.pk)
    if "region" in fields:
        fields["region"] = _region(fields["region"])
    return _update(actor, facility, fields, FACILITY_UPDATABLE)


def facility_status_set(
    *, actor, facility: Facility, status: str, since: date, note: str = ""
) -> FacilityStatusPeriod:
    """Record that from ``since`` on the institution has ``status``."""
    _require(actor, "facilities.edit", facility.pk)
    with transaction.atomic():
        locked = Facility.objects.select_for_update().get(pk=facility.pk)
        if FacilityStatusPeriod.objects.filter(facility=locked, since=since).exists():
            raise ConflictError(
                "duplicate_since",
                _("A status is already recorded from this date."),
                field="since",
            )
        period = FacilityStatusPeriod(facility=locked, status=status, since=since, note=note)
        _clean(period)
        period.save()
        _refresh_current_status(locked)
        facility.current_status = locked.current_status
        audit.record(
            actor=actor,
            action="create",
            obj=period,
            facility_id=locked.pk,
            after=audit.snapshot(period),
        )
    return period


def facility_statuses_refresh(*, today: date | None = None) -> int:
    """Bring every ``current_status`` in line with its history (for a daily job when status
    periods are recorded in advance). Returns how many institutions changed."""
    changed = 0
    with transaction.atomic():
        for facility in Facility.objects.select_for_update():
            before = facility.current_status
            _refresh_current_status(facility, today)
            changed += int(before != facility.current_status)
    return changed


# -- structure -------------------------------------------------------------------------------
def building_create(*, actor, facility: Facility, name: str) -> Building:
    _require(actor, "facilities.edit", facility.pk)
    with transaction.atomic():
        building = Building(facility=facility, name=name)
        _clean(building)
        building.save()
        audit.record(
            actor=actor,
            action="create",
            obj=building,
            facility_id=facility.pk,
            after=audit.snapshot(building),
        )
    return building


def wing_create(
    *,
    actor,
    facility: Facility,
    building: Building,
    name: str,
    sex: str,
    age_group: str,
    regime: str,
    special_use: str = "",
) -> Wing:
    _require(actor, "facilities.edit", facility.pk)
    if building.facility_id != facility.pk:
        raise DomainError(
            "invalid", _("This building belongs to another institution."), field="building"
        )
    with transaction.atomic():
        wing = Wing(
            facility=facility,
            building=building,
            name=name,
            sex=sex,
            age_group=age_group,
            regime=regime,
            special_use=special_use,
        )
        _clean(wing)
        wing.save()
        audit.record(
            actor=actor,
            action="create",
            obj=wing,
            facility_id=facility.pk,
            after=audit.snapshot(wing),
        )
    return wing


def cell_create(
    *,
    actor,
    wing: Wing,
    number: str,
    beds: int,
    operational_max: int,
    special_use: str = "",
    in_service_from: date | None = None,
    in_service_until: date | None = None,
) -> Cell:
    _require(actor, "facilities.edit", wing.facility_id)
    _check_cell_numbers(beds, operational_max, in_service_from, in_service_until)
    with transaction.atomic():
        cell = Cell(
            facility_id=wing.facility_id,
            wing=wing,
            number=number,
            beds=beds,
            operational_max=operational_max,
            special_use=special_use,
            in_service_from=in_service_from,
            in_service_until=in_service_until,
        )
        _clean(cell)
        cell.save()
        audit.record(
            actor=actor,
            action="create",
            obj=cell,
            facility_id=cell.facility_id,
            after=audit.snapshot(cell),
        )
    return cell


def cell_update(*, actor, cell: Cell, **fields) -> Cell:
    _require(actor, "facilities.edit", cell.facility_id)
    merged = {
        name: fields.get(name, getattr(cell, name))
        for name in ("beds", "operational_max", "in_service_from", "in_service_until")
    }
    # validate before touching the object, so that a refusal leaves it as it was
    for name in fields:
        if name not in CELL_UPDATABLE:
            raise DomainError(
                "unknown_field", _("This field cannot be changed here: %s") % name, field=name
            )
    _check_cell_numbers(
        merged["beds"],
        merged["operational_max"],
        merged["in_service_from"],
        merged["in_service_until"],
    )
    return _update(actor, cell, fields, CELL_UPDATABLE)


def _check_project(project: InfrastructureProject) -> None:
    if project.status == "completed" and project.completed_on is None:
        raise DomainError(
            "invalid", _("A completed project needs its completion date."), field="completed_on"
        )
    if project.started_on and project.completed_on and project.completed_on < project.started_on:
        raise DomainError(
            "invalid", _("A project cannot be completed before it starts."), field="completed_on"
        )
    if project.started_on and project.planned_end and project.planned_end < project.started_on:
        raise DomainError(
            "invalid", _("The planned end cannot come before the start."), field="planned_end"
        )


def project_record(
    *,
    actor,
    facility: Facility,
    kind: str,
    name_ar: str,
    name_fr: str,
    status: str,
    started_on: date | None = None,
    planned_end: date | None = None,
    completed_on: date | None = None,
    beds_added: int = 0,
    beds_restored: int = 0,
    budget_mad: Decimal | None = None,
) -> InfrastructureProject:
    _require(actor, "facilities.manage_projects", facility.pk)
    project = InfrastructureProject(
        facility=facility,
        kind=kind,
        name_ar=name_ar,
        name_fr=name_fr,
        status=status,
        started_on=started_on,
        planned_end=planned_end,
        completed_on=completed_on,
        beds_added=beds_added,
        beds_restored=beds_restored,
        budget_mad=budget_mad,
    )
    _check_project(project)
    with transaction.atomic():
        _clean(project)
        project.save()
        audit.record(
            actor=actor,
            action="create",
            obj=project,
            facility_id=facility.pk,
            after=audit.snapshot(project),
        )
    return project


def project_update(*, actor, project: InfrastructureProject, **fields) -> InfrastructureProject:
    _require(actor, "facilities.manage_projects", project.facility_id)
    return _update(actor, project, fields, PROJECT_UPDATABLE, check=_check_project)


# -- installations register ------------------------------------------------------------------
def installation_record(
    *, actor, facility: Facility, type_code: str, installed_on: date, note: str = ""
) -> Installation:
    """Record that the institution has this installation from ``installed_on`` on.

    Refused when an installation of that type is already active at the institution on that
    date, or starts later (the new one, open-ended, would overlap it)."""
    _require(actor, "facilities.manage_installations", facility.pk)
    itype = InstallationType.objects.filter(code=type_code).first()
    if itype is None:
        raise DomainError("invalid", _("Unknown installation type."), field="type_code")
    with transaction.atomic():
        # serialise the register of one institution
        Facility.objects.select_for_update().filter(pk=facility.pk).first()
        overlapping = Installation.objects.filter(facility=facility, type=itype).filter(
            models.Q(removed_on__isnull=True) | models.Q(removed_on__gt=installed_on)
        )
        if overlapping.exists():
            raise ConflictError(
                "already_installed",
                _("This institution already has this installation at that date."),
                field="installed_on",
            )
        installation = Installation(
            facility=facility, type=itype, installed_on=installed_on, note=note
        )
        _clean(installation)
        installation.save()
        audit.record(
            actor=actor,
            action="create",
            obj=installation,
            facility_id=facility.pk,
            after=audit.snapshot(installation),
        )
    return installation


def installation_remove(*, actor, installation: Installation, removed_on: date) -> Installation:
    """Record that the installation is out of use from ``removed_on`` on."""
    _require(actor, "facilities.manage_installations", installation.facility_id)
    if installation.removed_on is not None:
        raise ConflictError(
            "already_removed", _("This installation is already removed."), field="removed_on"
        )
    if removed_on <= installation.installed_on:
        raise DomainError(
            "invalid",
            _("The removal date must come after the installation date."),
            field="removed_on",
        )
    with transaction.atomic():
        before = audit.snapshot(installation)
        installation.removed_on = removed_on
        try:
            _clean(installation)
        except DomainError:
            installation.removed_on = None
            raise
        installation.save(update_fields=["removed_on"])
        audit.record(
            actor=actor,
            action="update",
            obj=installation,
            facility_id=installation.facility_id,
            before=before,
            after=audit.snapshot(installation),
        )
    return installation
