"""Registry services: housing (cell allocation under the separation rules and the
operational maximum, moves inside an institution).

The separation rules (``housing_breaches``, one place for the service, the choices offered
on the allocation form and the list of misplaced prisoners):

* men and women never share a wing (``Wing.sex``);
* a juvenile (under 18 on the date) is never in an adult wing, an adult never in a juvenile
  wing (``Wing.age_group``); a person whose date of birth is not recorded counts as an adult;
* remand and convicted prisoners apart: the remand side (``constants.REMAND_SIDE``: on
  remand, appealing) only in remand wings, the convicted only in convicted wings; in a
  ``mixed`` wing a cell never holds both sides at once;
* mother-and-child cells (cell or wing) only for women;
* the cell belongs to the custody period's institution and is in service on the date.

A medical, isolation or disciplinary cell (or wing) takes a person only with a reason.

Beds may be exceeded (overcrowding is real and shows on the housing pages); the operational
maximum may not. The place is taken with a conditional ``UPDATE`` of the cell's
``CellOccupancy`` counter (``occupants < operational_max``): of two officers allocating the
last place at the same moment, one gets it and the other is refused (``cell_full``), on
PostgreSQL (the row lock of the ``UPDATE``, re-checked after the wait) as on SQLite (one
writer at a time).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Subquery
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.facilities.constants import AgeGroup, Regime, Sex, SpecialUse
from idmaj.facilities.models import Cell, Facility, Wing

from ..constants import REMAND_SIDE, LegalStatus, PersonSex
from ..models import CellAssignment, CellOccupancy, CustodyPeriod
from ._common import clean_or_raise as _clean
from ._common import lock_open_custody, not_in_future
from ._common import require_perm as _require

__all__ = [
    "HOUSE",
    "ADULT_AGE",
    "SIDE_REMAND",
    "SIDE_CONVICTED",
    "REASON_REQUIRED_USES",
    "HOUSING_RULES",
    "Breach",
    "age_on",
    "adult_cutoff",
    "is_juvenile_on",
    "side_of",
    "effective_special_use",
    "cell_in_service_on",
    "cell_label",
    "housing_breaches",
    "cell_allocate",
    "cell_vacate",
    "cell_occupancy_rebuild",
]

HOUSE = "inmates.house"
ADULT_AGE = 18

# The two sides of the remand/convicted separation.
SIDE_REMAND = "remand"
SIDE_CONVICTED = "convicted"

# Special uses that take a person only with a reason (the officer says why).
REASON_REQUIRED_USES = (SpecialUse.MEDICAL, SpecialUse.ISOLATION, SpecialUse.DISCIPLINARY)

# The rule each refusal code belongs to (labels for the pages and the misplaced list).
HOUSING_RULES = {
    "sex_separation": _("Men and women apart"),
    "juvenile_in_adult_wing": _("Juveniles and adults apart"),
    "adult_in_juvenile_wing": _("Juveniles and adults apart"),
    "remand_in_convicted_wing": _("Remand and convicted apart"),
    "convicted_in_remand_wing": _("Remand and convicted apart"),
    "mixed_cell_other_side": _("Remand and convicted apart"),
    "mother_child_women_only": _("Mother-and-child cells for women only"),
    "cell_out_of_service": _("Cell in service"),
    "wrong_facility": _("Cell of the institution"),
}


@dataclass(frozen=True)
class Breach:
    """A separation rule that a placement breaks: ``code`` (the error code of the refusal)
    and the translated ``message`` naming the wing and the person's attribute."""

    code: str
    message: Promise | str

    @property
    def rule(self):
        return HOUSING_RULES.get(self.code, self.code)


# -- the rules, as pure functions --------------------------------------------------------------
def age_on(birth_date: date | None, on: date) -> int | None:
    """Age in whole years on ``on``; a person born on 29 February has a birthday on
    1 March in the years without one."""
    if birth_date is None:
        return None
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def adult_cutoff(on: date) -> date:
    """The latest date of birth of an adult on ``on``: persons born after it are under 18
    (the same answer as ``age_on``, as a date that a database filter can use)."""
    try:
        return on.replace(year=on.year - ADULT_AGE)
    except ValueError:  # 29 February, 18 years earlier there was none
        return on.replace(year=on.year - ADULT_AGE, day=28)


def is_juvenile_on(birth_date: date | None, on: date) -> bool:
    """Under 18 on ``on``. A person whose date of birth is not recorded counts as an adult."""
    return birth_date is not None and birth_date > adult_cutoff(on)


def side_of(legal_status: str) -> str:
    """``SIDE_REMAND`` for the remand side (on remand, appealing), ``SIDE_CONVICTED`` otherwise."""
    return SIDE_REMAND if legal_status in REMAND_SIDE else SIDE_CONVICTED


def effective_special_use(cell: Cell, wing: Wing) -> str:
    """The special use of a cell, or of its wing when the cell has none."""
    return cell.special_use or wing.special_use or ""


def cell_in_service_on(cell: Cell, on: date) -> bool:
    """In service on ``on``: from ``in_service_from`` (included) until ``in_service_until``
    (excluded), as the facilities capacity counts beds."""
    if cell.in_service_from is not None and cell.in_service_from > on:
        return False
    return cell.in_service_until is None or cell.in_service_until > on


def cell_label(cell: Cell, wing: Wing | None = None) -> str:
    wing = wing or cell.wing
    return f"{wing.name} / {cell.number}"


def _shown(d: date) -> str:
    return formats.date_format(d, "SHORT_DATE_FORMAT")


def _sex_label(sex: str):
    return PersonSex(sex).label if sex in PersonSex.values else sex


def _side_label(side: str):
    return _("prisoners on remand") if side == SIDE_REMAND else _("convicted prisoners")


def housing_breaches(
    *,
    sex: str,
    birth_date: date | None,
    legal_status: str,
    cell: Cell,
    wing: Wing,
    on: date,
    facility_id: int | None = None,
    other_sides: Collection[str] = (),
) -> list[Breach]:
    """The separation rules that placing this person in ``cell`` on ``on`` breaks (empty
    when the placement is allowed). ``other_sides`` are the sides (``SIDE_REMAND``,
    ``SIDE_CONVICTED``) of the other persons in the cell, for the rule of mixed wings;
    ``facility_id``, when given, is the person's institution."""
    out: list[Breach] = []
    names = {"wing": wing.name, "cell": cell.number}
    if facility_id is not None and cell.facility_id != facility_id:
        out.append(
            Breach(
                "wrong_facility",
                _("Cell %(cell)s of wing %(wing)s is not in this person's institution.") % names,
            )
        )
    if not cell_in_service_on(cell, on):
        out.append(
            Breach(
                "cell_out_of_service",
                _("Cell %(cell)s of wing %(wing)s is not in service on %(date)s.")
                % {**names, "date": _shown(on)},
            )
        )
    if sex != wing.sex:
        out.append(
            Breach(
                "sex_separation",
                _(
                    "Men and women never share a wing: wing %(wing)s is for %(wing_sex)s "
                    "and this person is %(sex)s."
                )
                % {**names, "wing_sex": Sex(wing.sex).label, "sex": _sex_label(sex)},
            )
        )
    juvenile = is_juvenile_on(birth_date, on)
    if juvenile and wing.age_group == AgeGroup.ADULT:
        out.append(
            Breach(
                "juvenile_in_adult_wing",
                _(
                    "A juvenile is never housed with adults: wing %(wing)s is an adult wing "
                    "and this person is %(age)s years old on %(date)s."
                )
                % {**names, "age": age_on(birth_date, on), "date": _shown(on)},
            )
        )
    if not juvenile and wing.age_group == AgeGroup.JUVENILE:
        if birth_date is None:
            message = (
                _(
                    "An adult is never housed with juveniles: wing %(wing)s is a juvenile "
                    "wing and this person's date of birth is not recorded (counted as an "
                    "adult)."
                )
                % names
            )
        else:
            message = _(
                "An adult is never housed with juveniles: wing %(wing)s is a juvenile wing "
                "and this person is %(age)s years old on %(date)s."
            ) % {**names, "age": age_on(birth_date, on), "date": _shown(on)}
        out.append(Breach("adult_in_juvenile_wing", message))
    side = side_of(legal_status)
    status = LegalStatus(legal_status).label if legal_status in LegalStatus.values else ""
    if wing.regime == Regime.CONVICTED and side == SIDE_REMAND:
        out.append(
            Breach(
                "remand_in_convicted_wing",
                _(
                    "Remand and convicted prisoners are kept apart: wing %(wing)s is for "
                    "convicted prisoners and this person is %(status)s."
                )
                % {**names, "status": status},
            )
        )
    elif wing.regime == Regime.REMAND and side == SIDE_CONVICTED:
        out.append(
            Breach(
                "convicted_in_remand_wing",
                _(
                    "Remand and convicted prisoners are kept apart: wing %(wing)s is for "
                    "prisoners on remand and this person is %(status)s."
                )
                % {**names, "status": status},
            )
        )
    elif wing.regime == Regime.MIXED:
        others = [s for s in other_sides if s != side]
        if others:
            out.append(
                Breach(
                    "mixed_cell_other_side",
                    _(
                        "Remand and convicted prisoners are kept apart: in wing %(wing)s, "
                        "cell %(cell)s holds %(side)s and this person is %(status)s."
                    )
                    % {**names, "side": _side_label(others[0]), "status": status},
                )
            )
    if effective_special_use(cell, wing) == SpecialUse.MOTHER_CHILD and sex != PersonSex.FEMALE:
        out.append(
            Breach(
                "mother_child_women_only",
                _(
                    "Mother-and-child cells are for women only: cell %(cell)s of wing "
                    "%(wing)s, and this person is %(sex)s."
                )
                % {**names, "sex": _sex_label(sex)},
            )
        )
    return out


# -- services --------------------------------------------------------------------------------
def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _other_sides(cell_id: int, custody_id: int) -> set[str]:
    statuses = (
        CellAssignment.objects.filter(cell_id=cell_id, ended_at__isnull=True)
        .exclude(custody_id=custody_id)
        .values_list("custody__legal_status", flat=True)
        .distinct()
    )
    return {side_of(s) for s in statuses}


def _take_place(cell: Cell, wing: Wing, *, previous_cell_id: int | None) -> None:
    """Take one place in ``cell`` (``ConflictError("cell_full")`` at its operational
    maximum). The counter rows of both cells of a move are locked first, lower cell id
    first, so that two opposite moves never wait for each other."""
    CellOccupancy.objects.bulk_create(
        [CellOccupancy(cell_id=cell.pk, facility_id=cell.facility_id, occupants=0)],
        ignore_conflicts=True,
    )
    ids = sorted({cell.pk, previous_cell_id or cell.pk})
    list(
        CellOccupancy.objects.select_for_update()
        .filter(cell_id__in=ids)
        .order_by("cell_id")
        .values_list("cell_id", flat=True)
    )
    maximum = Cell.objects.filter(pk=cell.pk).values("operational_max")[:1]
    taken = CellOccupancy.objects.filter(cell_id=cell.pk, occupants__lt=Subquery(maximum)).update(
        occupants=F("occupants") + 1
    )
    if not taken:
        raise ConflictError(
            "cell_full",
            _(
                "Cell %(cell)s of wing %(wing)s is full: it holds its operational maximum "
                "of %(max)s persons."
            )
            % {"cell": cell.number, "wing": wing.name, "max": cell.operational_max},
        )


def cell_allocate(
    *,
    actor,
    custody: CustodyPeriod,
    cell: Cell,
    at: datetime | None = None,
    reason: str = "",
) -> CellAssignment:
    """Put the prisoner of ``custody`` in ``cell`` at ``at`` (now by default): the first
    allocation, or a move inside the institution (the current stay ends at the same moment
    and the new one starts; the history is kept). Returns the new ``CellAssignment``.

    Refused, nothing changes: without ``inmates.house`` for the institution
    (``PermissionDenied``); a separation rule broken (``housing_breaches``: the error code
    is the rule's, the message names the wing and the person's attribute); a medical,
    isolation or disciplinary cell without a reason (``reason_required``); the same cell
    (``same_cell``); ``at`` in the future, before the committal or before the current stay
    began; the cell at its operational maximum (409 ``cell_full``); the person no longer in
    custody (409 ``not_in_custody``) or housed differently since ``custody`` was read
    (409 ``housing_changed``: of two officers housing the same prisoner at once, the second
    is refused). On success ``custody.cell`` is updated on the object passed in too.
    """
    _require(actor, HOUSE, custody.facility_id)
    at = timezone.now() if at is None else not_in_future(at, field="at")
    reason = " ".join((reason or "").split())
    if len(reason) > 300:
        raise DomainError("invalid", _("The reason is too long (300 characters at most)."))
    seen_cell_id = custody.cell_id
    with transaction.atomic():
        locked = lock_open_custody(custody)
        cell = Cell.objects.select_related("wing").get(pk=cell.pk)
        wing = cell.wing
        if locked.cell_id != seen_cell_id:
            raise ConflictError(
                "housing_changed",
                _(
                    "This person's cell changed meanwhile (now: %(cell)s): look at the record "
                    "again before moving them."
                )
                % {"cell": _current_label(locked)},
            )
        current = (
            CellAssignment.objects.filter(custody=locked, ended_at__isnull=True)
            .select_related("cell__wing")
            .first()
        )
        if current is not None and current.cell_id == cell.pk:
            raise DomainError(
                "same_cell",
                _("This person is already in cell %(cell)s of wing %(wing)s.")
                % {"cell": cell.number, "wing": wing.name},
                field="cell",
            )
        if at < locked.committed_at:
            raise DomainError(
                "invalid",
                _("The allocation cannot be dated before the committal (%(when)s).")
                % {"when": _when(locked.committed_at)},
                field="at",
            )
        last = CellAssignment.objects.filter(custody=locked).aggregate(
            s=Max("started_at"), e=Max("ended_at")
        )
        latest = max((m for m in (last["s"], last["e"]) if m is not None), default=None)
        if latest is not None and at < latest:
            raise DomainError(
                "invalid",
                _("The move cannot be dated before the current stay began (%(when)s).")
                % {"when": _when(latest)},
                field="at",
            )
        on = timezone.localdate(at)
        person = locked.person
        breaches = housing_breaches(
            sex=person.sex,
            birth_date=person.birth_date,
            legal_status=locked.legal_status,
            cell=cell,
            wing=wing,
            on=on,
            facility_id=locked.facility_id,
        )
        if breaches:
            raise DomainError(breaches[0].code, breaches[0].message, field="cell")
        use = effective_special_use(cell, wing)
        if use in REASON_REQUIRED_USES and not reason:
            raise DomainError(
                "reason_required",
                _(
                    "Cell %(cell)s of wing %(wing)s is a %(use)s cell: give the reason for "
                    "placing this person there."
                )
                % {"cell": cell.number, "wing": wing.name, "use": SpecialUse(use).label},
                field="reason",
            )
        _take_place(cell, wing, previous_cell_id=current.cell_id if current else None)
        if wing.regime == Regime.MIXED:
            # Under the lock of the cell's counter: a concurrent allocation to this cell
            # has committed (and is seen here) or waits for this one.
            breaches = housing_breaches(
                sex=person.sex,
                birth_date=person.birth_date,
                legal_status=locked.legal_status,
                cell=cell,
                wing=wing,
                on=on,
                other_sides=_other_sides(cell.pk, locked.pk),
            )
            if breaches:
                raise DomainError(breaches[0].code, breaches[0].message, field="cell")
        before = {"cell": cell_label(current.cell) if current else None}
        if current is not None:
            cell_vacate(custody=locked, at=at)
        assignment = CellAssignment(
            custody=locked,
            facility_id=locked.facility_id,
            cell=cell,
            started_at=at,
            reason=reason,
        )
        _clean(assignment, validate_constraints=False)
        try:
            with transaction.atomic():
                assignment.save(force_insert=True)
        except IntegrityError as exc:  # the one-open-stay constraint: a lost race
            raise ConflictError(
                "housing_changed",
                _("This person's cell changed meanwhile: look at the record again."),
            ) from exc
        locked.cell = cell
        locked.save(update_fields=["cell"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            facility_id=locked.facility_id,
            verb="cell_move" if current is not None else "cell_allocate",
            before=before,
            after={
                "cell": cell_label(cell, wing),
                "cell_uuid": str(cell.uuid),
                "at": at,
                "reason": reason,
                "assignment": str(assignment.uuid),
            },
        )
    custody.cell = cell
    return assignment


def _current_label(custody: CustodyPeriod) -> str:
    if custody.cell_id is None:
        return "—"
    cell = Cell.objects.select_related("wing").get(pk=custody.cell_id)
    return cell_label(cell)


def cell_vacate(*, custody: CustodyPeriod, at: datetime) -> CellAssignment | None:
    """End the person's current cell assignment at ``at`` and free the place.

    Not a service of its own: called inside the transaction of the services that end a
    custody period here (transfer, release, escape, death) or move the person, which have
    already checked permissions and locked the custody period. Returns the assignment it
    ended, or None when the person had no cell. Clears ``custody.cell`` (saved here).
    """
    assignment = CellAssignment.objects.filter(custody=custody, ended_at__isnull=True).first()
    if assignment is None:
        return None
    assignment.ended_at = max(at, assignment.started_at)
    assignment.save(update_fields=["ended_at"])
    CellOccupancy.objects.filter(cell_id=assignment.cell_id, occupants__gt=0).update(
        occupants=F("occupants") - 1
    )
    if custody.cell_id is not None:
        custody.cell = None
        custody.save(update_fields=["cell"])
    return assignment


def cell_occupancy_rebuild(*, facility: Facility) -> int:
    """Set every occupancy counter of ``facility`` to the number of open cell assignments
    (after a bulk load that wrote assignments directly, e.g. demo data). Counters are
    derived data: no audit entry. Returns how many counters changed."""
    with transaction.atomic():
        counts = dict(
            CellAssignment.objects.filter(facility=facility, ended_at__isnull=True)
            .values("cell_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("cell_id", "n")
        )
        CellOccupancy.objects.bulk_create(
            [CellOccupancy(cell_id=c, facility=facility, occupants=0) for c in counts],
            ignore_conflicts=True,
        )
        changed = 0
        rows = CellOccupancy.objects.select_for_update().filter(facility=facility)
        stale = []
        for row in rows:
            wanted = counts.get(row.cell_id, 0)
            if row.occupants != wanted:
                row.occupants = wanted
                stale.append(row)
        changed = len(stale)
        CellOccupancy.objects.bulk_update(stale, ["occupants"])
    return changed
