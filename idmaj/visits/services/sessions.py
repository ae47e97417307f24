"""Visit configuration of an institution: booking rules, rooms, weekly sessions, days without
visits, pauses of online booking, and the dated sessions made from the weekly timetable.

Staff services take ``actor`` (``None``: the system) and require ``visits.configure`` for
the institution; each runs in one transaction with its audit entry on the institution's
chain. ``sessions_generate`` is idempotent: it makes the sessions that do not exist yet, and
is run by ``idmaj visits_generate_sessions`` and the ``generate_sessions`` task.

Switching online booking on or off is also written to the facilities installations register
(type ``online_visit_booking``), through the facilities services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility, Installation, InstallationType, Wing

from ..constants import BookingStatus, CancelReason, RegimeFilter, RoomKind, VisitMode
from ..models import (
    Booking,
    ExcludedDate,
    OnlineBookingPause,
    SessionTemplate,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)
from ._common import clean_or_raise, require_perm

__all__ = [
    "CONFIGURE",
    "ONLINE_BOOKING_INSTALLATION",
    "POLICY_FIELDS",
    "excluded_date_add",
    "excluded_date_remove",
    "online_pause_active",
    "online_pause_end",
    "online_pause_start",
    "policy_for",
    "policy_update",
    "room_create",
    "room_update",
    "session_cancel",
    "session_capacity_update",
    "sessions_generate",
    "sessions_generate_all",
    "template_create",
    "template_end",
    "template_update",
]

CONFIGURE = "visits.configure"
MANAGE = "visits.manage"

# The installations register's type for the online booking service. The facilities reference
# data already has it (``facilities.demo.INSTALLATION_TYPES``, with the six institutions of
# the 2020 report); it is created with these names where the reference data was not loaded.
ONLINE_BOOKING_INSTALLATION = "online_visit_booking"
ONLINE_BOOKING_NAMES = {
    "name_ar": "منظومة زيارة للحجز الإلكتروني",
    "name_fr": "Réservation en ligne des visites « Ziyara »",
    "name_en": "Online visit booking (Ziyara)",
}

POLICY_FIELDS = (
    "online_booking",
    "book_from_days",
    "book_until_days",
    "change_cutoff_hours",
    "weekly_visits_remand",
    "weekly_visits_convicted",
    "max_adults",
    "max_children",
    "adult_age",
    "max_list_size",
    "walk_ins_allowed",
    "rules_ar",
    "rules_fr",
    "allowed_items_ar",
    "allowed_items_fr",
)
ROOM_FIELDS = ("name", "kind", "places", "seats", "in_service")
TEMPLATE_FIELDS = (
    "room",
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
)
MAX_WINDOW_DAYS = 120
MAX_EXCLUDED_DAYS = 366
MAX_GENERATE_DAYS = 180


# -- helpers ---------------------------------------------------------------------------------
def _pk(facility: Facility | int) -> int:
    return facility if isinstance(facility, int) else facility.pk


def _check_fields(fields: dict[str, Any], allowed: Iterable[str]) -> None:
    for name in fields:
        if name not in allowed:
            raise DomainError(
                "unknown_field", _("This field cannot be changed here: %s") % name, field=name
            )


def _apply(obj: models.Model, fields: dict[str, Any]) -> list[str]:
    """Set ``fields`` on ``obj``; the names whose value really changed."""
    changed = []
    for name, value in fields.items():
        field = obj._meta.get_field(name)
        current = getattr(obj, field.attname)
        new = value.pk if isinstance(value, models.Model) else value
        if current != new:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


def _session_repr(session: VisitSession) -> str:
    start = timezone.localtime(session.starts_at)
    return f"{session.room.name} {start:%Y-%m-%d %H:%M}"


# -- booking rules ---------------------------------------------------------------------------
def policy_for(facility: Facility | int) -> VisitPolicy:
    """The institution's booking rules; the default rules are created on first use (online
    booking off)."""
    policy = VisitPolicy.objects.filter(facility_id=_pk(facility)).first()
    if policy is None:
        policy, _created = VisitPolicy.objects.get_or_create(facility_id=_pk(facility))
    return policy


def _check_policy(policy: VisitPolicy) -> None:
    if policy.book_from_days < policy.book_until_days:
        raise DomainError(
            "invalid_window",
            _("Booking must open before it closes: the first number of days must be the larger."),
            field="book_from_days",
        )
    if policy.book_from_days > MAX_WINDOW_DAYS:
        raise DomainError(
            "invalid_window",
            _("Booking cannot open more than %(days)s days ahead.") % {"days": MAX_WINDOW_DAYS},
            field="book_from_days",
        )
    if policy.max_adults < 1:
        raise DomainError(
            "invalid", _("At least one adult must be allowed per visit."), field="max_adults"
        )
    if not 12 <= policy.adult_age <= 21:
        raise DomainError(
            "invalid", _("The adult age must lie between 12 and 21."), field="adult_age"
        )
    if policy.max_list_size < 1:
        raise DomainError(
            "invalid", _("A visitor list must allow at least one person."), field="max_list_size"
        )
    if policy.weekly_visits_remand > 14 or policy.weekly_visits_convicted > 14:
        raise DomainError(
            "invalid",
            _("At most 14 visits a week can be allowed."),
            field="weekly_visits_remand"
            if policy.weekly_visits_remand > 14
            else "weekly_visits_convicted",
        )


def policy_update(
    *, actor, facility: Facility, today: dt.date | None = None, **fields
) -> VisitPolicy:
    """Change the booking rules. Switching ``online_booking`` is written to the
    installations register (installed or removed today)."""
    require_perm(actor, CONFIGURE, facility.pk)
    _check_fields(fields, POLICY_FIELDS)
    today = today or timezone.localdate()
    with transaction.atomic():
        policy_for(facility)
        policy = VisitPolicy.objects.select_for_update().get(facility_id=facility.pk)
        before = audit.snapshot(policy)
        changed = _apply(policy, fields)
        if not changed:
            return policy
        _check_policy(policy)
        clean_or_raise(policy)
        policy.save(update_fields=[*changed, "updated_at"])
        if "online_booking" in changed:
            _register_online_booking(facility, live=policy.online_booking, today=today)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=policy,
            object_repr=f"{facility.code} visit rules",
            facility_id=facility.pk,
            verb="visit_policy_update",
            before={k: before[k] for k in changed},
            after={k: audit.snapshot(policy)[k] for k in changed},
        )
    return policy


def _register_online_booking(facility: Facility, *, live: bool, today: dt.date) -> None:
    """Record the switch in the installations register (facilities services, as the system:
    the visits officer acts here, not the register's keeper)."""
    from idmaj.facilities import services as facilities

    InstallationType.objects.get_or_create(
        code=ONLINE_BOOKING_INSTALLATION, defaults=ONLINE_BOOKING_NAMES
    )
    entries = Installation.objects.filter(
        facility_id=facility.pk, type__code=ONLINE_BOOKING_INSTALLATION
    )
    current = entries.filter(removed_on__isnull=True).order_by("-installed_on").first()
    if live:
        if current is not None:
            return  # the register already says so
        # after the last removal (a switch on and off the same day counts one day)
        last_removed = entries.aggregate(m=models.Max("removed_on"))["m"]
        installed_on = max(today, last_removed) if last_removed else today
        facilities.installation_record(
            actor=None,
            facility=facility,
            type_code=ONLINE_BOOKING_INSTALLATION,
            installed_on=installed_on,
        )
    elif current is not None:
        # the register keeps days: removed the day after at the earliest
        removed_on = max(today, current.installed_on + dt.timedelta(days=1))
        facilities.installation_remove(actor=None, installation=current, removed_on=removed_on)


# -- rooms -----------------------------------------------------------------------------------
def _check_room(room: VisitRoom) -> None:
    if room.places < 1:
        raise DomainError("invalid", _("A room takes at least one visit."), field="places")
    if room.seats < room.places:
        raise DomainError(
            "invalid",
            _("A room seats at least as many visitors as it takes visits."),
            field="seats",
        )


def room_create(
    *,
    actor,
    facility: Facility,
    name: str,
    kind: str = RoomKind.VISIT_ROOM,
    places: int,
    seats: int,
    in_service: bool = True,
) -> VisitRoom:
    require_perm(actor, CONFIGURE, facility.pk)
    room = VisitRoom(
        facility=facility,
        name=name.strip(),
        kind=kind,
        places=places,
        seats=seats,
        in_service=in_service,
    )
    _check_room(room)
    with transaction.atomic():
        clean_or_raise(room)
        room.save()
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=room,
            facility_id=facility.pk,
            verb="visit_room_create",
            after=audit.snapshot(room),
        )
    return room


def room_update(*, actor, room: VisitRoom, **fields) -> VisitRoom:
    """Change a room. Refused when it would become smaller than a weekly session still in
    use there (change or end that session first)."""
    require_perm(actor, CONFIGURE, room.facility_id)
    _check_fields(fields, ROOM_FIELDS)
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    with transaction.atomic():
        room = VisitRoom.objects.select_for_update().get(pk=room.pk)
        before = audit.snapshot(room)
        changed = _apply(room, fields)
        if not changed:
            return room
        _check_room(room)
        clean_or_raise(room)
        today = timezone.localdate()
        too_big = (
            SessionTemplate.objects.filter(room=room)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
            .filter(Q(capacity_visits__gt=room.places) | Q(capacity_visitors__gt=room.seats))
        )
        if too_big.exists():
            raise ConflictError(
                "room_too_small",
                _("A weekly session in this room takes more; change or end it first."),
                field="places",
            )
        room.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=room,
            facility_id=room.facility_id,
            verb="visit_room_update",
            before={k: before[k] for k in changed},
            after={k: audit.snapshot(room)[k] for k in changed},
        )
    return room


# -- weekly sessions -------------------------------------------------------------------------
def _check_template(template: SessionTemplate, wings: list[Wing]) -> None:
    room = template.room
    if room.facility_id != template.facility_id:
        raise DomainError("invalid", _("This room is not one of this institution."), field="room")
    if not room.in_service:
        raise DomainError("room_out_of_service", _("This room is out of service."), field="room")
    if template.weekday is None or not 0 <= template.weekday <= 6:
        raise DomainError("invalid", _("Choose a day of the week."), field="weekday")
    if template.start_time and template.end_time and template.end_time <= template.start_time:
        raise DomainError("invalid", _("The session must end after it starts."), field="end_time")
    if not 1 <= template.capacity_visits <= room.places:
        raise DomainError(
            "over_room_capacity",
            _("Between 1 and %(n)s visits in this room.") % {"n": room.places},
            field="capacity_visits",
        )
    if not template.capacity_visits <= template.capacity_visitors <= room.seats:
        raise DomainError(
            "over_room_capacity",
            _("Between %(low)s and %(high)s visitors in this room.")
            % {"low": template.capacity_visits, "high": room.seats},
            field="capacity_visitors",
        )
    if room.kind == RoomKind.CLOSED_BOOTHS and template.mode != VisitMode.CLOSED:
        raise DomainError(
            "wrong_mode", _("Visits in closed booths are closed visits."), field="mode"
        )
    if template.mode == VisitMode.FAMILY and room.kind != RoomKind.FAMILY_SPACE:
        raise DomainError(
            "wrong_mode",
            _("Private family visits take place in a family visit space."),
            field="mode",
        )
    if template.valid_until and template.valid_until < template.valid_from:
        raise DomainError(
            "invalid", _("The end date cannot come before the start date."), field="valid_until"
        )
    if any(w.facility_id != template.facility_id for w in wings):
        raise DomainError(
            "invalid", _("These wings are not all of this institution."), field="wings"
        )
    overlapping = (
        SessionTemplate.objects.filter(
            room_id=room.pk,
            weekday=template.weekday,
            start_time__lt=template.end_time,
            end_time__gt=template.start_time,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=template.valid_from))
        .exclude(pk=template.pk)
    )
    if template.valid_until:
        overlapping = overlapping.filter(valid_from__lte=template.valid_until)
    if overlapping.exists():
        raise ConflictError(
            "overlap",
            _("Another weekly session uses this room at that time."),
            field="start_time",
        )


def _template_after(template: SessionTemplate, wings: list[Wing]) -> dict:
    return {**audit.snapshot(template), "wings": sorted(str(w.uuid) for w in wings)}


def template_create(
    *,
    actor,
    facility: Facility,
    room: VisitRoom,
    weekday: int,
    start_time: dt.time,
    end_time: dt.time,
    capacity_visits: int,
    capacity_visitors: int,
    mode: str = VisitMode.OPEN,
    regime: str = RegimeFilter.ALL,
    wings: Iterable[Wing] = (),
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> SessionTemplate:
    """A weekly session. Dated sessions are made from it by ``sessions_generate``."""
    require_perm(actor, CONFIGURE, facility.pk)
    wings = list(wings)
    template = SessionTemplate(
        facility=facility,
        room=room,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        capacity_visits=capacity_visits,
        capacity_visitors=capacity_visitors,
        mode=mode,
        regime=regime,
        valid_from=valid_from or timezone.localdate(),
        valid_until=valid_until,
    )
    with transaction.atomic():
        VisitRoom.objects.select_for_update().filter(pk=room.pk).first()  # one timetable at a time
        _check_template(template, wings)
        clean_or_raise(template)
        template.save()
        template.wings.set(wings)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=template,
            facility_id=facility.pk,
            verb="session_template_create",
            after=_template_after(template, wings),
        )
    return template


def template_update(*, actor, template: SessionTemplate, **fields) -> SessionTemplate:
    """Change a weekly session. Dated sessions already made keep their times and capacity
    (change those one by one); the next ones follow the new values."""
    require_perm(actor, CONFIGURE, template.facility_id)
    _check_fields(fields, TEMPLATE_FIELDS)
    new_wings = fields.pop("wings", None)
    with transaction.atomic():
        template = (
            SessionTemplate.objects.select_for_update().select_related("room").get(pk=template.pk)
        )
        old_wings = list(template.wings.all())
        before = _template_after(template, old_wings)
        changed = _apply(template, fields)
        wings = old_wings if new_wings is None else list(new_wings)
        wings_changed = {w.pk for w in wings} != {w.pk for w in old_wings}
        if not changed and not wings_changed:
            return template
        if "room" in changed:
            VisitRoom.objects.select_for_update().filter(pk=template.room_id).first()
        _check_template(template, wings)
        clean_or_raise(template)
        if changed:
            template.save(update_fields=changed)
        if wings_changed:
            template.wings.set(wings)
        after = _template_after(template, wings)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=template,
            facility_id=template.facility_id,
            verb="session_template_update",
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return template


def template_end(
    *, actor, template: SessionTemplate, valid_until: dt.date | None = None
) -> SessionTemplate:
    """End a weekly session after ``valid_until`` (default: today). Dated sessions made from
    it after that day and never booked are removed; those with bookings stay (cancel them on
    the sessions page). ``template.kept_sessions`` says how many stayed."""
    require_perm(actor, CONFIGURE, template.facility_id)
    valid_until = valid_until or timezone.localdate()
    with transaction.atomic():
        template = SessionTemplate.objects.select_for_update().get(pk=template.pk)
        if template.valid_until is not None and template.valid_until <= valid_until:
            raise ConflictError(
                "already_ended", _("This weekly session already ends by then."), field="valid_until"
            )
        if valid_until < template.valid_from - dt.timedelta(days=1):
            raise DomainError(
                "invalid",
                _("The end date cannot come before the start date."),
                field="valid_until",
            )
        before = template.valid_until
        template.valid_until = valid_until
        template.save(update_fields=["valid_until"])
        later = VisitSession.objects.filter(template=template, date__gt=valid_until)
        booked = Booking.objects.filter(session_id=models.OuterRef("pk"))
        removable = later.filter(~models.Exists(booked))
        removed = removable.count()
        if removed:
            VisitSession.objects.filter(
                pk__in=list(removable.values_list("pk", flat=True))
            ).delete()
        template.kept_sessions = later.filter(cancelled_at__isnull=True).count()
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=template,
            facility_id=template.facility_id,
            verb="session_template_end",
            before={"valid_until": before},
            after={
                "valid_until": valid_until,
                "sessions_removed": removed,
                "sessions_kept": template.kept_sessions,
            },
        )
    return template


# -- days without visits ---------------------------------------------------------------------
def excluded_date_add(
    *,
    actor,
    facility: Facility,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    reason: str,
) -> ExcludedDate:
    """Days without visits (holiday, lockdown, works). The dated sessions of those days are
    cancelled, and their bookings cancelled with the families told (``services.changes``)."""
    require_perm(actor, CONFIGURE, facility.pk)
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise DomainError(
            "invalid", _("The end date cannot come before the start date."), field="ends_on"
        )
    if (ends_on - starts_on).days >= MAX_EXCLUDED_DAYS:
        raise DomainError("invalid", _("At most one year at a time."), field="ends_on")
    excluded = ExcludedDate(
        facility=facility, starts_on=starts_on, ends_on=ends_on, reason=(reason or "").strip()
    )
    with transaction.atomic():
        clean_or_raise(excluded)
        excluded.save()
        # the sessions still to come and their bookings (places given back, families told)
        from .changes import visits_on_excluded_date

        result = visits_on_excluded_date(excluded=excluded, actor=actor) or {}
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=excluded,
            object_repr=f"{starts_on}..{ends_on} {excluded.reason}"[:200],
            facility_id=facility.pk,
            verb="excluded_date_add",
            after={
                **audit.snapshot(excluded),
                "sessions_cancelled": len(result.get("sessions", [])),
                "bookings_cancelled": len(result.get("cancelled", [])),
            },
        )
    return excluded


def excluded_date_remove(*, actor, excluded: ExcludedDate) -> int:
    """Visits take place again on those days: the sessions the days had cancelled, still to
    come and with no booking left, are open again (the cancelled bookings stay cancelled).
    Returns how many sessions were reopened."""
    require_perm(actor, CONFIGURE, excluded.facility_id)
    with transaction.atomic():
        excluded = ExcludedDate.objects.select_for_update().filter(pk=excluded.pk).first()
        if excluded is None:
            raise ConflictError("gone", _("This day without visits was already removed."))
        before = audit.snapshot(excluded)
        uuid = excluded.uuid
        excluded.delete()
        other = ExcludedDate.objects.filter(
            facility_id=excluded.facility_id,
            starts_on__lte=models.OuterRef("date"),
            ends_on__gte=models.OuterRef("date"),
        )
        reopen = list(
            VisitSession.objects.filter(
                facility_id=excluded.facility_id,
                date__gte=max(excluded.starts_on, timezone.localdate()),
                date__lte=excluded.ends_on,
                cancelled_at__gte=excluded.created_at,
                cancel_reason=excluded.reason[:200],
                booked_visits=0,
                extra_visits=0,
            )
            .exclude(models.Exists(other))
            .order_by("starts_at")
            .values_list("pk", "room_id", "starts_at")
        )
        live = set(
            VisitSession.objects.filter(
                room_id__in={r for _p, r, _s in reopen},
                starts_at__in={s for _p, _r, s in reopen},
                cancelled_at__isnull=True,
            ).values_list("room_id", "starts_at")
        )
        ids = [pk for pk, room, start in reopen if (room, start) not in live]
        if ids:
            VisitSession.objects.filter(pk__in=ids).update(cancelled_at=None, cancel_reason="")
        audit.record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            object_type=ExcludedDate._meta.label_lower,
            object_id=str(uuid),
            object_repr=f"{before['starts_on']}..{before['ends_on']} {before['reason']}"[:200],
            facility_id=excluded.facility_id,
            verb="excluded_date_remove",
            before=before,
            after={"sessions_reopened": len(ids)},
        )
    return len(ids)


# -- pauses of online booking ----------------------------------------------------------------
def online_pause_active(facility: Facility | int, at: dt.datetime | None = None):
    """The pause of online booking in force at ``at`` (default: now), or ``None``."""
    at = at or timezone.now()
    return (
        OnlineBookingPause.objects.filter(facility_id=_pk(facility), starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("-starts_at")
        .first()
    )


def online_pause_start(
    *,
    actor,
    facility: Facility,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    message_ar: str,
    message_fr: str = "",
) -> OnlineBookingPause:
    """Switch online booking off from ``starts_at`` (default: now) until ``ends_at`` (open:
    until ended), with a message to families. Bookings already made stay."""
    require_perm(actor, CONFIGURE, facility.pk)
    now = timezone.now()
    starts_at = starts_at or now
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("invalid", _("The pause must end after it starts."), field="ends_at")
    if ends_at is not None and ends_at <= now:
        raise DomainError("invalid", _("This pause would already be over."), field="ends_at")
    pause = OnlineBookingPause(
        facility=facility,
        starts_at=starts_at,
        ends_at=ends_at,
        message_ar=(message_ar or "").strip(),
        message_fr=(message_fr or "").strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    with transaction.atomic():
        Facility.objects.select_for_update().filter(pk=facility.pk).first()
        overlapping = OnlineBookingPause.objects.filter(facility_id=facility.pk).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=starts_at)
        )
        if ends_at is not None:
            overlapping = overlapping.filter(starts_at__lt=ends_at)
        if overlapping.exists():
            raise ConflictError(
                "overlap",
                _("Online booking is already paused for part of this period."),
                field="starts_at",
            )
        clean_or_raise(pause)
        pause.save()
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=pause,
            object_repr=f"online booking paused from {starts_at:%Y-%m-%d %H:%M}",
            facility_id=facility.pk,
            verb="online_pause_start",
            after=audit.snapshot(pause, ["starts_at", "ends_at", "message_ar", "message_fr"]),
        )
    return pause


def online_pause_end(*, actor, pause: OnlineBookingPause) -> OnlineBookingPause | None:
    """End a pause now; a pause not yet begun is withdrawn (``None`` is returned)."""
    require_perm(actor, CONFIGURE, pause.facility_id)
    now = timezone.now()
    with transaction.atomic():
        pause = OnlineBookingPause.objects.select_for_update().filter(pk=pause.pk).first()
        if pause is None or (pause.ends_at is not None and pause.ends_at <= now):
            raise ConflictError("already_ended", _("This pause is already over."))
        before = audit.snapshot(pause, ["starts_at", "ends_at"])
        if pause.starts_at >= now:
            uuid = pause.uuid
            pause.delete()
            audit.record(
                actor=actor,
                action=AuditEntry.Action.DELETE,
                object_type=OnlineBookingPause._meta.label_lower,
                object_id=str(uuid),
                object_repr="online booking pause withdrawn",
                facility_id=pause.facility_id,
                verb="online_pause_end",
                before=before,
            )
            return None
        pause.ends_at = now
        pause.save(update_fields=["ends_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=pause,
            object_repr="online booking pause ended",
            facility_id=pause.facility_id,
            verb="online_pause_end",
            before=before,
            after=audit.snapshot(pause, ["starts_at", "ends_at"]),
        )
    return pause


# -- dated sessions --------------------------------------------------------------------------
def sessions_generate(
    *, facility: Facility | int, until: dt.date, today: dt.date | None = None, actor=None
) -> int:
    """Make the dated sessions from today to ``until`` from the weekly sessions valid on each
    date, except days without visits, rooms out of service and sessions that exist already
    (also cancelled ones: a cancelled session is not made again). Idempotent; returns the
    number made. Generation of one institution is serialised on its rules row. ``actor``:
    the officer who asked (``visits.configure``), ``None`` for the scheduled job."""
    facility_id = _pk(facility)
    require_perm(actor, CONFIGURE, facility_id)
    today = today or timezone.localdate()
    until = min(until, today + dt.timedelta(days=MAX_GENERATE_DAYS))
    if until < today:
        return 0
    with transaction.atomic():
        policy_for(facility_id)
        VisitPolicy.objects.select_for_update().filter(facility_id=facility_id).first()
        templates = list(
            SessionTemplate.objects.filter(facility_id=facility_id, room__in_service=True)
            .filter(valid_from__lte=until)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
            .select_related("room")
            .prefetch_related("wings")
        )
        if not templates:
            return 0
        excluded = list(
            ExcludedDate.objects.filter(
                facility_id=facility_id, starts_on__lte=until, ends_on__gte=today
            ).values_list("starts_on", "ends_on")
        )
        existing = set(
            VisitSession.objects.filter(
                facility_id=facility_id, date__gte=today, date__lte=until
            ).values_list("room_id", "starts_at")
        )
        by_weekday: dict[int, list[SessionTemplate]] = {}
        for t in templates:
            by_weekday.setdefault(t.weekday, []).append(t)
        new: list[tuple[VisitSession, list[int]]] = []
        day = today
        while day <= until:
            if not any(a <= day <= b for a, b in excluded):
                for t in by_weekday.get(day.weekday(), ()):
                    if t.valid_from > day or (t.valid_until and t.valid_until < day):
                        continue
                    starts_at = _local(day, t.start_time)
                    if (t.room_id, starts_at) in existing:
                        continue
                    existing.add((t.room_id, starts_at))
                    session = VisitSession(
                        facility_id=facility_id,
                        room_id=t.room_id,
                        template=t,
                        date=day,
                        starts_at=starts_at,
                        ends_at=_local(day, t.end_time),
                        mode=t.mode,
                        regime=t.regime,
                        capacity_visits=t.capacity_visits,
                        capacity_visitors=t.capacity_visitors,
                    )
                    new.append((session, [w.pk for w in t.wings.all()]))
            day += dt.timedelta(days=1)
        if not new:
            return 0
        VisitSession.objects.bulk_create([s for s, _w in new], batch_size=500)
        Through = VisitSession.wings.through
        links = [Through(visitsession_id=s.pk, wing_id=w) for s, wings in new for w in wings]
        if links:
            Through.objects.bulk_create(links, batch_size=1000)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            object_type=VisitSession._meta.label_lower,
            object_repr=f"sessions made until {until}",
            facility_id=facility_id,
            verb="sessions_generate",
            after={"created": len(new), "from": today, "until": until},
        )
    return len(new)


def sessions_generate_all(
    *, days: int | None = None, facility_code: str | None = None, today: dt.date | None = None
) -> dict[str, int]:
    """``sessions_generate`` for every institution with visit rules (or one, by code), up
    to ``days`` ahead (default: each institution's booking window). ``{code: made}``."""
    today = today or timezone.localdate()
    policies = VisitPolicy.objects.select_related("facility").order_by("facility__code")
    if facility_code:
        policies = policies.filter(facility__code=facility_code)
    out: dict[str, int] = {}
    for policy in policies:
        ahead = policy.book_from_days if days is None else days
        out[policy.facility.code] = sessions_generate(
            facility=policy.facility, until=today + dt.timedelta(days=ahead), today=today
        )
    return out


def session_cancel(*, actor, session: VisitSession, reason: str) -> VisitSession:
    """Cancel a dated session: its bookings are cancelled (reason ``session_cancelled``)
    and the families told."""
    require_perm(actor, CONFIGURE, session.facility_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give the reason."), field="reason")
    with transaction.atomic():
        session = VisitSession.objects.select_for_update().select_related("room").get(pk=session.pk)
        if session.cancelled_at is not None:
            raise ConflictError("already_cancelled", _("This session is already cancelled."))
        if session.ends_at <= timezone.now():
            raise ConflictError("session_past", _("This session is over."))
        under_way = Booking.objects.filter(
            session=session, status__in=[BookingStatus.ARRIVED, BookingStatus.IN_PROGRESS]
        )
        if under_way.exists():
            raise ConflictError(
                "visits_under_way",
                _("Visitors of this session have already arrived: it cannot be cancelled."),
            )
        from .bookings import booking_cancel_by_system

        bookings = list(
            Booking.objects.filter(
                session=session, status__in=[BookingStatus.BOOKED, BookingStatus.FLAGGED]
            )
            .select_related("session")
            .order_by("pk")
        )
        # the booking's own entry names the officer when they may manage bookings there
        acting = (
            actor
            if actor is not None and access_for(actor).has_perm(MANAGE, session.facility_id)
            else None
        )
        for booking in bookings:
            booking_cancel_by_system(
                booking=booking, reason=CancelReason.SESSION_CANCELLED, actor=acting
            )
        session.cancelled_at = timezone.now()
        session.cancel_reason = reason[:200]
        session.save(update_fields=["cancelled_at", "cancel_reason"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=session,
            object_repr=_session_repr(session),
            facility_id=session.facility_id,
            verb="session_cancel",
            after={"reason": session.cancel_reason, "bookings_cancelled": len(bookings)},
        )
    return session


def session_capacity_update(
    *, actor, session: VisitSession, capacity_visits: int, capacity_visitors: int
) -> VisitSession:
    """Change one dated session's capacity, never below the places already booked nor
    above the room's size. One conditional UPDATE: a booking racing it cannot be lost."""
    require_perm(actor, CONFIGURE, session.facility_id)
    session = VisitSession.objects.select_related("room").get(pk=session.pk)
    room = session.room
    if session.cancelled_at is not None:
        raise ConflictError("session_cancelled", _("This session is cancelled."))
    if not 1 <= capacity_visits <= room.places:
        raise DomainError(
            "over_room_capacity",
            _("Between 1 and %(n)s visits in this room.") % {"n": room.places},
            field="capacity_visits",
        )
    if not capacity_visits <= capacity_visitors <= room.seats:
        raise DomainError(
            "over_room_capacity",
            _("Between %(low)s and %(high)s visitors in this room.")
            % {"low": capacity_visits, "high": room.seats},
            field="capacity_visitors",
        )
    with transaction.atomic():
        before = {
            "capacity_visits": session.capacity_visits,
            "capacity_visitors": session.capacity_visitors,
        }
        done = VisitSession.objects.filter(
            pk=session.pk,
            cancelled_at__isnull=True,
            booked_visits__lte=capacity_visits,
            booked_visitors__lte=capacity_visitors,
        ).update(capacity_visits=capacity_visits, capacity_visitors=capacity_visitors)
        session.refresh_from_db()
        if not done and session.cancelled_at is not None:
            raise ConflictError("session_cancelled", _("This session is cancelled."))
        if not done:
            field = (
                "capacity_visits"
                if session.booked_visits > capacity_visits
                else "capacity_visitors"
            )
            raise ConflictError(
                "below_booked",
                _(
                    "Already booked: %(visits)s visits, %(visitors)s visitors; the capacity "
                    "cannot be lower."
                )
                % {"visits": session.booked_visits, "visitors": session.booked_visitors},
                field=field,
            )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=session,
            object_repr=_session_repr(session),
            facility_id=session.facility_id,
            verb="session_capacity_update",
            before=before,
            after={
                "capacity_visits": capacity_visits,
                "capacity_visitors": capacity_visitors,
            },
        )
    return session
