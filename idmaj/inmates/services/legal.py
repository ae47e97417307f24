"""Registry services: legal — court hearings and their decisions, the legal status over time,
sentences, royal pardon decrees, conditional release, and the expected release date.

Every write here follows the registry's rules (see the package documentation): permission
first (``inmates.legal`` at the institution that holds the prisoner now; ``inmates.pardon``
for decrees), the open custody period locked (``lock_open_custody``: nothing is recorded for
a person no longer in custody), ``full_clean`` before saving, the audit entry in the same
transaction on the institution's chain.

The expected release date (``Detention.expected_release``, with ``life_sentence``) is derived
data: ``detention_release_compute`` recomputes and stores it, inside the transaction of every
service that changes a sentence, a pardon grant or a conditional release decision. It reads:

* the sentences **in force** of the detention, in the order they were recorded
  (``consecutive_to`` always names an earlier one);
* for each sentence, its credited days and the sum of the royal pardon **reductions**
  granted on it;
* a life sentence in force gives no date (``expected_release=None``, ``life_sentence=True``)
  unless a pardon **commuted** it to a term of N years (``PardonGrant.kind=commutation``;
  the term in years is kept in the grant's ``days`` column), in which case it counts as a
  sentence of N years from its own start;
* a pardon **release** sets the date to the decree's signature date when that is earlier
  (or when there is no date: remand, life);
* the most recent conditional release decision (granted or revoked): when it is *granted*,
  its ``release_on`` replaces the date when earlier.

The calendar arithmetic itself is ``inmates.release.expected_release`` (one documented
function); this module only gathers its input and adds the lines that explain pardons and
conditional release.
"""

from __future__ import annotations

import csv
import io
import re
import uuid as uuid_lib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.core.scoping import access_for

from ..constants import (
    REMAND_SIDE,
    ConditionalReleaseStatus,
    CustodyStatus,
    HearingKind,
    HearingOutcome,
    LegalStatus,
    PardonKind,
    SentenceStatus,
)
from ..models import (
    ConditionalRelease,
    CustodyPeriod,
    Detention,
    Hearing,
    LegalStatusPeriod,
    PardonDecree,
    PardonGrant,
    Sentence,
)
from ..release import SentenceSpec, Step, expected_release
from ._common import aware, lock_open_custody, not_in_future
from ._common import clean_or_raise as _clean
from ._common import require_perm as _require

__all__ = [
    "LEGAL_PERM",
    "PARDON_PERM",
    "legal_status_change",
    "hearing_schedule",
    "hearing_decide",
    "sentence_record",
    "sentence_quash",
    "hearing_correct",
    "sentence_correct",
    "HEARING_CORRECTABLE",
    "SENTENCE_CORRECTABLE",
    "ReleaseInfo",
    "release_info",
    "detention_release_explain",
    "detention_release_compute",
    "pardon_decree_create",
    "PardonLine",
    "PardonLineError",
    "PardonApplicationError",
    "pardon_lines_parse",
    "pardon_decree_apply",
    "conditional_release_decide",
]

LEGAL_PERM = "inmates.legal"
PARDON_PERM = "inmates.pardon"

# Sanity limits: past them, an entry is a typing mistake rather than a decision.
MAX_YEARS = 100  # a term sentence, or the term a life sentence is commuted to
MAX_MONTHS = 1200
MAX_DAYS = 36600
HEARING_MAX_AHEAD = timedelta(days=2 * 366)  # a hearing scheduled more than 2 years ahead
# A sentence may be counted from the arrest, a few days before the committal (police
# custody); a start date earlier than this before the committal is refused as a mistake.
START_BEFORE_COMMITTAL = timedelta(days=30)

# Legal status after a decision, per outcome: what a decision may leave the prisoner as.
# Outcomes not listed accept any status (or none: the status is left as it is).
_STATUS_AFTER = {
    HearingOutcome.REMAND_EXTENDED: {LegalStatus.REMAND},
    HearingOutcome.CONVICTED: {LegalStatus.CONVICTED, LegalStatus.APPEALING},
    HearingOutcome.SENTENCE_UPHELD: {LegalStatus.CONVICTED, LegalStatus.APPEALING},
    HearingOutcome.SENTENCE_CHANGED: {LegalStatus.CONVICTED, LegalStatus.APPEALING},
    HearingOutcome.APPEAL_LODGED: {LegalStatus.APPEALING},
}
# Decisions that pronounce a sentence (a sentence may name the hearing it comes from).
SENTENCING_OUTCOMES = (
    HearingOutcome.CONVICTED,
    HearingOutcome.SENTENCE_UPHELD,
    HearingOutcome.SENTENCE_CHANGED,
)

HEARING_AUDIT_FIELDS = (
    "kind",
    "court",
    "case_number",
    "scheduled_at",
    "outcome",
    "decided_on",
    "legal_status_after",
    "notes",
)
SENTENCE_AUDIT_FIELDS = (
    "court",
    "case_number",
    "pronounced_on",
    "years",
    "months",
    "days",
    "life",
    "start_date",
    "consecutive_to",
    "credited_days",
    "hearing",
    "status",
)
CONDITIONAL_AUDIT_FIELDS = (
    "decided_on",
    "authority",
    "decision_reference",
    "status",
    "release_on",
    "supervision_until",
    "conditions",
)


# -- small helpers ---------------------------------------------------------------------------
def _today() -> date:
    return timezone.localdate()


def _day_start(d: date) -> datetime:
    """Midnight at the start of ``d``, local time (aware)."""
    return timezone.make_aware(datetime.combine(d, time.min))


def _local_date(moment: datetime) -> date:
    return timezone.localdate(moment)


def _fmt(d: date | datetime | None) -> str:
    if d is None:
        return "—"
    if isinstance(d, datetime):
        d = _local_date(d)
    return d.isoformat()


def _int(value, *, field: str, minimum: int = 0, maximum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise DomainError("invalid", _("Enter a whole number."), field=field) from exc
    if number < minimum or number > maximum:
        raise DomainError(
            "invalid",
            _("Enter a number between %(min)s and %(max)s.") % {"min": minimum, "max": maximum},
            field=field,
        )
    return number


def _not_future_date(d: date, *, field: str) -> date:
    if d > _today():
        raise DomainError("invalid", _("This date cannot be in the future."), field=field)
    return d


def _open_custody_of(detention_id: int) -> CustodyPeriod:
    """The custody period holding the detention's prisoner now; 409 when there is none."""
    custody = (
        CustodyPeriod.objects.filter(detention_id=detention_id, status=CustodyStatus.IN_CUSTODY)
        .select_related("facility")
        .first()
    )
    if custody is None:
        raise ConflictError(
            "not_in_custody", _("This person is no longer in custody: nothing can be recorded.")
        )
    return custody


def _open_status_period(custody: CustodyPeriod) -> LegalStatusPeriod:
    period = (
        LegalStatusPeriod.objects.select_for_update()
        .filter(custody=custody, valid_to__isnull=True)
        .first()
    )
    if period is None:  # admission and transfer always open one: a damaged history
        raise ConflictError(
            "no_open_status",
            _("The legal status history of this custody period has no open period."),
        )
    return period


def _release_snapshot(detention: Detention) -> dict:
    return {
        "expected_release": detention.expected_release,
        "life_sentence": detention.life_sentence,
    }


# -- legal status ----------------------------------------------------------------------------
def _status_change(
    *, actor, custody: CustodyPeriod, status: str, at: datetime, reason: str
) -> LegalStatusPeriod:
    """The change itself, for a custody period already locked and a permission checked."""
    current = _open_status_period(custody)
    if status == custody.legal_status or status == current.status:
        raise DomainError(
            "same_status",
            _("The legal status is already “%(status)s”: nothing to change.")
            % {"status": LegalStatus(status).label},
            field="status",
        )
    if at < current.valid_from:
        raise DomainError(
            "invalid",
            _(
                "The change cannot be dated before the current legal status began "
                "(%(date)s): a later change is already recorded."
            )
            % {"date": _fmt(current.valid_from)},
            field="at",
        )
    before = custody.legal_status
    current.valid_to = at
    current.save(update_fields=["valid_to"])
    new = LegalStatusPeriod(
        custody=custody, facility_id=custody.facility_id, status=status, valid_from=at
    )
    _clean(new, exclude=["custody", "facility"])
    new.save(force_insert=True)
    custody.legal_status = status
    custody.save(update_fields=["legal_status"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=custody,
        facility_id=custody.facility_id,
        verb="legal_status_change",
        before={"legal_status": before},
        after={"legal_status": status, "at": at, "reason": reason},
    )
    return new


def legal_status_change(
    *, actor, custody: CustodyPeriod, status: str, at: datetime, reason: str
) -> LegalStatusPeriod:
    """Change the legal status of a prisoner at ``at``: the open ``LegalStatusPeriod`` is
    closed at ``at`` and a new one opened at the same moment (exactly one stays open, so the
    counts by legal status at any moment are right); ``CustodyPeriod.legal_status`` follows.

    Refused: a status equal to the current one, ``at`` in the future or before the current
    status began, a person no longer in custody (409 ``not_in_custody``).
    """
    _require(actor, LEGAL_PERM, custody.facility_id)
    if status not in LegalStatus.values:
        raise DomainError("invalid", _("Choose a legal status."), field="status")
    if not (reason or "").strip():
        raise DomainError("invalid", _("Give the reason for the change."), field="reason")
    at = not_in_future(at, field="at")
    with transaction.atomic():
        custody = lock_open_custody(custody)
        return _status_change(
            actor=actor, custody=custody, status=status, at=at, reason=reason.strip()
        )


# -- hearings --------------------------------------------------------------------------------
def hearing_schedule(
    *,
    actor,
    custody: CustodyPeriod,
    kind: str,
    court: str,
    case_number: str = "",
    scheduled_at: datetime,
    notes: str = "",
) -> Hearing:
    """Record a court hearing of the prisoner (upcoming, or already held and not yet
    decided). Refused: a date before the day of the committal or more than two years
    ahead, the same hearing twice (same court, same moment)."""
    _require(actor, LEGAL_PERM, custody.facility_id)
    if kind not in HearingKind.values:
        raise DomainError("invalid", _("Choose the kind of hearing."), field="kind")
    scheduled_at = aware(scheduled_at)
    if scheduled_at > timezone.now() + HEARING_MAX_AHEAD:
        raise DomainError(
            "invalid",
            _("A hearing cannot be scheduled more than two years ahead."),
            field="scheduled_at",
        )
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        committed_on = _local_date(detention.started_at)
        if _local_date(scheduled_at) < committed_on:
            raise DomainError(
                "invalid",
                _("The hearing cannot be before the committal (%(date)s).")
                % {"date": _fmt(committed_on)},
                field="scheduled_at",
            )
        court = " ".join((court or "").split())
        if Hearing.objects.filter(
            detention=detention, court=court, scheduled_at=scheduled_at
        ).exists():
            raise ConflictError(
                "duplicate",
                _("This hearing is already recorded (same court, same date and time)."),
                field="scheduled_at",
            )
        hearing = Hearing(
            detention=detention,
            facility_id=custody.facility_id,
            kind=kind,
            court=court,
            case_number=(case_number or "").strip(),
            scheduled_at=scheduled_at,
            notes=(notes or "").strip(),
        )
        _clean(hearing, exclude=["detention", "facility"])
        hearing.save(force_insert=True)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=hearing,
            facility_id=custody.facility_id,
            verb="schedule",
            after={
                **audit.snapshot(hearing, HEARING_AUDIT_FIELDS),
                "custody": str(custody.uuid),
            },
        )
    return hearing


def _decision_moment(hearing: Hearing, decided_on: date, current: LegalStatusPeriod) -> datetime:
    """When a decision takes effect: the hearing itself when decided on its day, else the
    start of the day of the decision; never in the future. On the day the current status
    began, the change comes after it."""
    at = hearing.scheduled_at if _local_date(hearing.scheduled_at) == decided_on else None
    at = at or _day_start(decided_on)
    at = min(at, timezone.now())
    if at < current.valid_from and _local_date(current.valid_from) == decided_on:
        at = current.valid_from
    return at


def hearing_decide(
    *,
    actor,
    hearing: Hearing,
    outcome: str,
    decided_on: date,
    legal_status_after: str = "",
    notes: str = "",
) -> Hearing:
    """Record the decision of a hearing, by the institution that holds the prisoner now.

    ``legal_status_after`` (optional) is the legal status the decision leaves the prisoner
    in; when it differs from the current one the status changes (``legal_status_change``) on
    the day of the decision. Refused: a hearing already decided (409), a decision dated
    before the hearing or in the future, a status that contradicts the outcome (a remand
    continued cannot leave the prisoner convicted), a person no longer in custody.
    """
    custody = _open_custody_of(hearing.detention_id)
    _require(actor, LEGAL_PERM, custody.facility_id)
    if outcome not in HearingOutcome.values or outcome == HearingOutcome.PENDING:
        raise DomainError("invalid", _("Choose the decision."), field="outcome")
    legal_status_after = legal_status_after or ""
    if legal_status_after and legal_status_after not in LegalStatus.values:
        raise DomainError("invalid", _("Choose a legal status."), field="legal_status_after")
    allowed = _STATUS_AFTER.get(HearingOutcome(outcome))
    if legal_status_after and allowed is not None and legal_status_after not in allowed:
        raise DomainError(
            "invalid",
            _("A decision “%(outcome)s” cannot leave the prisoner “%(status)s”.")
            % {
                "outcome": HearingOutcome(outcome).label,
                "status": LegalStatus(legal_status_after).label,
            },
            field="legal_status_after",
        )
    _not_future_date(decided_on, field="decided_on")
    with transaction.atomic():
        custody = lock_open_custody(custody)
        hearing = Hearing.objects.select_for_update().get(pk=hearing.pk)
        if hearing.outcome != HearingOutcome.PENDING:
            raise ConflictError(
                "already_decided",
                _("This hearing was already decided (%(outcome)s, %(date)s).")
                % {"outcome": hearing.get_outcome_display(), "date": _fmt(hearing.decided_on)},
            )
        held_on = _local_date(hearing.scheduled_at)
        if decided_on < held_on:
            raise DomainError(
                "invalid",
                _("The decision cannot come before the hearing (%(date)s).")
                % {"date": _fmt(held_on)},
                field="decided_on",
            )
        before = audit.snapshot(hearing, HEARING_AUDIT_FIELDS)
        hearing.outcome = outcome
        hearing.decided_on = decided_on
        hearing.legal_status_after = legal_status_after
        notes = (notes or "").strip()
        if notes:
            hearing.notes = f"{hearing.notes}\n{notes}".strip()
        _clean(hearing, exclude=["detention", "facility"])
        hearing.save(update_fields=["outcome", "decided_on", "legal_status_after", "notes"])
        if legal_status_after and legal_status_after != custody.legal_status:
            current = _open_status_period(custody)
            _status_change(
                actor=actor,
                custody=custody,
                status=legal_status_after,
                at=_decision_moment(hearing, decided_on, current),
                reason=f"hearing:{hearing.uuid}",
            )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=hearing,
            facility_id=custody.facility_id,
            verb="decide",
            before=before,
            after={
                **audit.snapshot(hearing, HEARING_AUDIT_FIELDS),
                "custody": str(custody.uuid),
            },
        )
    return hearing


# -- sentences -------------------------------------------------------------------------------
def _commuted_ids(detention_id: int) -> set[int]:
    return set(
        PardonGrant.objects.filter(
            detention_id=detention_id, kind=PardonKind.COMMUTATION, sentence__isnull=False
        ).values_list("sentence_id", flat=True)
    )


def _sentence_values(
    *,
    pronounced_on: date,
    years,
    months,
    days,
    life,
    start_date: date | None,
    consecutive_to: Sentence | None,
    credited_days,
) -> dict:
    """The checks of a sentence's own values (no query): lengths, dates not in the future,
    a start date or a previous sentence, not both. Returns the numbers cleaned."""
    years = _int(years or 0, field="years", maximum=MAX_YEARS)
    months = _int(months or 0, field="months", maximum=MAX_MONTHS)
    days = _int(days or 0, field="days", maximum=MAX_DAYS)
    credited_days = _int(credited_days or 0, field="credited_days", maximum=MAX_DAYS)
    life = bool(life)
    if life and (years or months or days):
        raise DomainError(
            "invalid", _("A life sentence has no length: leave years, months and days at 0.")
        )
    if not life and not (years or months or days):
        raise DomainError(
            "invalid", _("Give the length of the sentence (years, months or days)."), field="years"
        )
    _not_future_date(pronounced_on, field="pronounced_on")
    if consecutive_to is None:
        if start_date is None:
            raise DomainError(
                "invalid",
                _("A sentence that is not consecutive to another needs its start date."),
                field="start_date",
            )
        _not_future_date(start_date, field="start_date")
    elif start_date is not None:
        raise DomainError(
            "invalid",
            _("A consecutive sentence starts when the previous one ends: leave the start empty."),
            field="start_date",
        )
    return {
        "years": years,
        "months": months,
        "days": days,
        "life": life,
        "credited_days": credited_days,
    }


def _sentence_links_check(
    *,
    detention: Detention,
    sentence: Sentence | None,
    pronounced_on: date,
    start_date: date | None,
    consecutive_to: Sentence | None,
    credited_days: int,
    hearing: Hearing | None,
) -> tuple[Sentence | None, Hearing | None]:
    """The checks against the rest of the legal file (inside the transaction, custody
    locked): the previous sentence of a consecutive one, the start date against the
    committal, the credited days, the hearing. ``sentence`` is the one being corrected
    (None when recording): it may keep its own place in a chain, and may not follow itself
    or a sentence that follows it. Returns the previous sentence and the hearing, re-read."""
    committed_on = _local_date(detention.started_at)
    previous = None
    if consecutive_to is not None:
        previous = Sentence.objects.filter(
            pk=consecutive_to.pk, detention=detention, status=SentenceStatus.IN_FORCE
        ).first()
        if previous is None:
            raise DomainError(
                "invalid",
                _("A sentence can only follow a sentence in force of this detention."),
                field="consecutive_to",
            )
        if sentence is not None and _follows(previous, sentence):
            raise DomainError(
                "invalid",
                _(
                    "A sentence cannot follow itself or a sentence that follows it: the chain "
                    "of consecutive sentences would loop."
                ),
                field="consecutive_to",
            )
        if previous.life and previous.pk not in _commuted_ids(detention.pk):
            raise DomainError(
                "invalid",
                _("A sentence cannot follow a life sentence."),
                field="consecutive_to",
            )
        followers = Sentence.objects.filter(consecutive_to=previous, status=SentenceStatus.IN_FORCE)
        if sentence is not None:
            followers = followers.exclude(pk=sentence.pk)
        if followers.exists():
            raise ConflictError(
                "invalid",
                _(
                    "Another sentence already follows that one: make this sentence follow "
                    "the last sentence of the chain."
                ),
                field="consecutive_to",
            )
    else:
        assert start_date is not None
        if start_date < committed_on - START_BEFORE_COMMITTAL:
            raise DomainError(
                "invalid",
                _("The start date is more than 30 days before the committal (%(date)s): check it.")
                % {"date": _fmt(committed_on)},
                field="start_date",
            )
    reference = start_date if start_date is not None else pronounced_on
    available = max(0, (reference - committed_on).days)
    if credited_days > available:
        raise DomainError(
            "invalid",
            _(
                "Credited days (%(days)s) cannot exceed the time spent in this detention "
                "before the sentence starts: %(available)s days since the committal on "
                "%(date)s."
            )
            % {"days": credited_days, "available": available, "date": _fmt(committed_on)},
            field="credited_days",
        )
    if hearing is not None:
        hearing = Hearing.objects.filter(pk=hearing.pk, detention=detention).first()
        if hearing is None:
            raise DomainError("invalid", _("Choose a hearing of this detention."), field="hearing")
        if hearing.outcome not in SENTENCING_OUTCOMES:
            raise DomainError(
                "invalid",
                _("This hearing did not pronounce a sentence (decision: %(outcome)s).")
                % {"outcome": hearing.get_outcome_display()},
                field="hearing",
            )
        if _local_date(hearing.scheduled_at) > pronounced_on:
            raise DomainError(
                "invalid",
                _("The sentence cannot be pronounced before its hearing (%(date)s).")
                % {"date": _fmt(hearing.scheduled_at)},
                field="pronounced_on",
            )
    return previous, hearing


def _follows(candidate: Sentence, sentence: Sentence) -> bool:
    """Whether ``candidate`` is ``sentence`` or comes after it in its chain of consecutive
    sentences (following ``consecutive_to`` back from ``candidate``; chains are short)."""
    seen: set[int] = set()
    current_id: int | None = candidate.pk
    while current_id is not None and current_id not in seen:
        if current_id == sentence.pk:
            return True
        seen.add(current_id)
        current_id = (
            Sentence.objects.filter(pk=current_id)
            .values_list("consecutive_to_id", flat=True)
            .first()
        )
    return False


def sentence_record(
    *,
    actor,
    custody: CustodyPeriod,
    court: str,
    case_number: str = "",
    pronounced_on: date,
    years: int = 0,
    months: int = 0,
    days: int = 0,
    life: bool = False,
    start_date: date | None = None,
    consecutive_to: Sentence | None = None,
    credited_days: int = 0,
    hearing: Hearing | None = None,
) -> Sentence:
    """Record a sentence pronounced against the prisoner, and recompute the expected release.

    Checks (each refusal names its field):

    * a term sentence has a length (years + months + days > 0), a life sentence has none;
      at most 100 years, 1,200 months, 36,600 days (typing mistakes);
    * ``pronounced_on`` and ``start_date`` are not in the future;
    * a concurrent sentence (no ``consecutive_to``) needs its start date, not earlier than
      30 days before the committal (the arrest and police custody may precede it); a
      consecutive one has none (it starts when the previous one ends);
    * ``consecutive_to`` is a sentence in force of the same detention, not a life sentence
      (unless commuted), and not already followed by another sentence;
    * credited days do not exceed the time spent in this detention before the sentence
      starts (its start date; for a consecutive sentence, the day it was pronounced);
    * ``hearing``, when given, is a decided hearing of the same detention that pronounced a
      sentence, held no later than ``pronounced_on``.

    A prisoner on remand becomes convicted (``legal_status_change``, from the day the
    sentence was pronounced, or from the start of their current status when that is later);
    a prisoner whose appeal is recorded (appealing) or already convicted keeps their status.
    """
    _require(actor, LEGAL_PERM, custody.facility_id)
    values = _sentence_values(
        pronounced_on=pronounced_on,
        years=years,
        months=months,
        days=days,
        life=life,
        start_date=start_date,
        consecutive_to=consecutive_to,
        credited_days=credited_days,
    )
    years, months, days = values["years"], values["months"], values["days"]
    credited_days, life = values["credited_days"], values["life"]
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        previous, hearing = _sentence_links_check(
            detention=detention,
            sentence=None,
            pronounced_on=pronounced_on,
            start_date=start_date,
            consecutive_to=consecutive_to,
            credited_days=credited_days,
            hearing=hearing,
        )
        sentence = Sentence(
            detention=detention,
            facility_id=custody.facility_id,
            hearing=hearing,
            court=" ".join((court or "").split()),
            case_number=(case_number or "").strip(),
            pronounced_on=pronounced_on,
            years=years,
            months=months,
            days=days,
            life=life,
            start_date=start_date,
            consecutive_to=previous,
            credited_days=credited_days,
            status=SentenceStatus.IN_FORCE,
        )
        _clean(sentence, exclude=["detention", "facility", "hearing", "consecutive_to"])
        sentence.save(force_insert=True)
        if custody.legal_status == LegalStatus.REMAND:
            current = _open_status_period(custody)
            _status_change(
                actor=actor,
                custody=custody,
                status=LegalStatus.CONVICTED,
                at=max(_day_start(pronounced_on), current.valid_from),
                reason=f"sentence:{sentence.uuid}",
            )
        before = _release_snapshot(detention)
        detention_release_compute(detention)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=sentence,
            facility_id=custody.facility_id,
            verb="record",
            before=before,
            after={
                **audit.snapshot(sentence, SENTENCE_AUDIT_FIELDS),
                "custody": str(custody.uuid),
                **_release_snapshot(detention),
            },
        )
    return sentence


def sentence_quash(*, actor, sentence: Sentence, reason: str) -> Sentence:
    """Mark a sentence as quashed or replaced (appeal, cassation, correction of a mistake),
    and recompute the expected release. The legal status is not changed here: record the
    decision that quashed it (``hearing_decide``).

    Refused: a sentence already quashed (409), one that another sentence in force follows
    (quash that one first), one carrying royal pardon grants (the pardon was granted on it).
    """
    custody = _open_custody_of(sentence.detention_id)
    _require(actor, LEGAL_PERM, custody.facility_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("invalid", _("Give the reason (decision, reference)."), field="reason")
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        sentence = Sentence.objects.select_for_update().get(pk=sentence.pk)
        if sentence.status != SentenceStatus.IN_FORCE:
            raise ConflictError("already_quashed", _("This sentence is already quashed."))
        if Sentence.objects.filter(
            consecutive_to=sentence, status=SentenceStatus.IN_FORCE
        ).exists():
            raise ConflictError(
                "followed",
                _("A sentence in force follows this one: quash that sentence first."),
            )
        decrees = list(
            PardonGrant.objects.filter(sentence=sentence).values_list(
                "decree__reference", flat=True
            )
        )
        if decrees:
            raise ConflictError(
                "pardoned",
                _(
                    "Royal pardon was granted on this sentence (decree %(decrees)s): it cannot "
                    "be quashed here. Ask the central administration."
                )
                % {"decrees": ", ".join(decrees)},
            )
        _sentence_change(
            actor=actor,
            sentence=sentence,
            custody=custody,
            detention=detention,
            verb="quash",
            values={"status": SentenceStatus.QUASHED},
            reason=reason,
        )
    return sentence


def _sentence_change(
    *,
    actor,
    sentence,
    custody,
    detention,
    verb: str,
    values: dict,
    reason: str,
    clean_exclude: list[str] | None = None,
) -> None:
    """Write ``values`` on ``sentence`` (``full_clean`` first when ``clean_exclude`` is
    given), keep the detention's expected release, and audit the fields and the release date
    before and after with the reason (inside the caller's transaction)."""
    fields = list(values)
    before = {**audit.snapshot(sentence, fields), **_release_snapshot(detention)}
    for name, value in values.items():
        setattr(sentence, name, value)
    if clean_exclude is not None:
        _clean(sentence, exclude=clean_exclude)
    sentence.save(update_fields=fields)
    detention_release_compute(detention)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=sentence,
        facility_id=custody.facility_id,
        verb=verb,
        before=before,
        after={
            **audit.snapshot(sentence, fields),
            "reason": reason,
            "custody": str(custody.uuid),
            **_release_snapshot(detention),
        },
    )


# -- corrections -----------------------------------------------------------------------------
# What a registry officer may correct in a hearing or a sentence recorded by mistake. The
# legal status a decision left the prisoner in is not corrected here: its change is in the
# legal status history (``legal_status_change`` records a new one).
HEARING_CORRECTABLE = (
    "kind",
    "court",
    "case_number",
    "scheduled_at",
    "outcome",
    "decided_on",
    "notes",
)
SENTENCE_CORRECTABLE = (
    "court",
    "case_number",
    "pronounced_on",
    "years",
    "months",
    "days",
    "life",
    "start_date",
    "consecutive_to",
    "credited_days",
    "hearing",
)


def _correction_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(
            "invalid", _("Give the reason for the correction (what was wrong)."), field="reason"
        )
    return reason


def _unknown_fields(fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"not correctable here: {', '.join(unknown)}")


def _comparable(value):
    return value.pk if hasattr(value, "pk") and hasattr(value, "_meta") else value


def _unchanged() -> DomainError:
    return DomainError("unchanged", _("Nothing to correct: the values are those already recorded."))


def hearing_correct(*, actor, hearing: Hearing, reason: str, **fields) -> Hearing:
    """Correct a hearing recorded by mistake (``fields``: any of ``HEARING_CORRECTABLE``),
    by the institution that holds the prisoner now; ``reason`` is required and kept in the
    audit entry with the values before and after (verb ``correct``).

    The rules of ``hearing_schedule`` and ``hearing_decide`` apply to the corrected values.
    Also refused: nothing changed (``unchanged``); a decision given to a hearing not decided
    yet (record the decision); a decided hearing put back to pending; a decision that no
    longer pronounces a sentence while a sentence names the hearing; a hearing moved after
    the day a sentence naming it was pronounced; a new decision date when the decision set
    the legal status (correct the status history with ``legal_status_change``).
    """
    _unknown_fields(fields, HEARING_CORRECTABLE)
    custody = _open_custody_of(hearing.detention_id)
    _require(actor, LEGAL_PERM, custody.facility_id)
    reason = _correction_reason(reason)
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        hearing = Hearing.objects.select_for_update().get(pk=hearing.pk)
        new = {name: getattr(hearing, name) for name in HEARING_CORRECTABLE}
        new.update(fields)
        new["court"] = " ".join((new["court"] or "").split())
        new["case_number"] = (new["case_number"] or "").strip()
        new["notes"] = (new["notes"] or "").strip()
        if new["kind"] not in HearingKind.values:
            raise DomainError("invalid", _("Choose the kind of hearing."), field="kind")
        if new["scheduled_at"] is None:
            raise DomainError("invalid", _("Give the date and time."), field="scheduled_at")
        new["scheduled_at"] = aware(new["scheduled_at"])
        held_on = _local_date(new["scheduled_at"])
        if new["scheduled_at"] != hearing.scheduled_at:
            if new["scheduled_at"] > timezone.now() + HEARING_MAX_AHEAD:
                raise DomainError(
                    "invalid",
                    _("A hearing cannot be scheduled more than two years ahead."),
                    field="scheduled_at",
                )
            committed_on = _local_date(detention.started_at)
            if held_on < committed_on:
                raise DomainError(
                    "invalid",
                    _("The hearing cannot be before the committal (%(date)s).")
                    % {"date": _fmt(committed_on)},
                    field="scheduled_at",
                )
            if Sentence.objects.filter(hearing=hearing, pronounced_on__lt=held_on).exists():
                raise DomainError(
                    "invalid",
                    _(
                        "A sentence pronounced before this date names this hearing: the "
                        "hearing cannot come after it."
                    ),
                    field="scheduled_at",
                )
        if (
            Hearing.objects.filter(
                detention=detention, court=new["court"], scheduled_at=new["scheduled_at"]
            )
            .exclude(pk=hearing.pk)
            .exists()
        ):
            raise ConflictError(
                "duplicate",
                _("This hearing is already recorded (same court, same date and time)."),
                field="scheduled_at",
            )
        if hearing.outcome == HearingOutcome.PENDING:
            if new["outcome"] != HearingOutcome.PENDING or new["decided_on"] is not None:
                raise DomainError(
                    "invalid",
                    _("This hearing is not decided yet: record its decision instead."),
                    field="outcome",
                )
        else:
            if new["outcome"] not in HearingOutcome.values or (
                new["outcome"] == HearingOutcome.PENDING
            ):
                raise DomainError("invalid", _("Choose the decision."), field="outcome")
            allowed = _STATUS_AFTER.get(HearingOutcome(new["outcome"]))
            status_after = hearing.legal_status_after
            if status_after and allowed is not None and status_after not in allowed:
                raise DomainError(
                    "invalid",
                    _("A decision “%(outcome)s” cannot leave the prisoner “%(status)s”.")
                    % {
                        "outcome": HearingOutcome(new["outcome"]).label,
                        "status": LegalStatus(status_after).label,
                    },
                    field="outcome",
                )
            if (
                new["outcome"] not in SENTENCING_OUTCOMES
                and Sentence.objects.filter(hearing=hearing).exists()
            ):
                raise DomainError(
                    "invalid",
                    _(
                        "A sentence names this hearing: its decision must be one that "
                        "pronounces a sentence."
                    ),
                    field="outcome",
                )
            if new["decided_on"] is None:
                raise DomainError(
                    "invalid", _("Give the date of the decision."), field="decided_on"
                )
            _not_future_date(new["decided_on"], field="decided_on")
            if new["decided_on"] < held_on:
                raise DomainError(
                    "invalid",
                    _("The decision cannot come before the hearing (%(date)s).")
                    % {"date": _fmt(held_on)},
                    field="decided_on",
                )
            if new["decided_on"] != hearing.decided_on and status_after:
                raise DomainError(
                    "invalid",
                    _(
                        "This decision set the legal status on its date: its date cannot be "
                        "corrected here. Record a change of legal status instead."
                    ),
                    field="decided_on",
                )
        changed = [n for n in HEARING_CORRECTABLE if new[n] != getattr(hearing, n)]
        if not changed:
            raise _unchanged()
        before = audit.snapshot(hearing, changed)
        for name in changed:
            setattr(hearing, name, new[name])
        _clean(hearing, exclude=["detention", "facility"])
        hearing.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=hearing,
            facility_id=custody.facility_id,
            verb="correct",
            before=before,
            after={
                **audit.snapshot(hearing, changed),
                "reason": reason,
                "custody": str(custody.uuid),
            },
        )
    return hearing


def sentence_correct(*, actor, sentence: Sentence, reason: str, **fields) -> Sentence:
    """Correct a sentence recorded by mistake (``fields``: any of ``SENTENCE_CORRECTABLE``),
    by the institution that holds the prisoner now, and recompute the expected release
    (``detention_release_compute``); ``reason`` is required and kept in the audit entry with
    the values and the expected release before and after (verb ``correct``).

    The rules of ``sentence_record`` apply to the corrected values. Also refused: nothing
    changed (``unchanged``); a quashed sentence (409 ``quashed``); a chain of consecutive
    sentences that would loop (a sentence following itself or one that follows it); a
    sentence made life imprisonment while another sentence in force follows it; the nature
    (life or term) of a life sentence commuted by royal pardon.
    """
    _unknown_fields(fields, SENTENCE_CORRECTABLE)
    custody = _open_custody_of(sentence.detention_id)
    _require(actor, LEGAL_PERM, custody.facility_id)
    reason = _correction_reason(reason)
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        sentence = (
            Sentence.objects.select_for_update(of=("self",))
            .select_related("consecutive_to", "hearing")
            .get(pk=sentence.pk)
        )
        if sentence.status != SentenceStatus.IN_FORCE:
            raise ConflictError(
                "quashed", _("This sentence is quashed: it can no longer be corrected.")
            )
        current = {name: getattr(sentence, name) for name in SENTENCE_CORRECTABLE}
        new = {**current, **fields}
        new["court"] = " ".join((new["court"] or "").split())
        new["case_number"] = (new["case_number"] or "").strip()
        if new["pronounced_on"] is None:
            raise DomainError(
                "invalid", _("Give the date it was pronounced."), field="pronounced_on"
            )
        new.update(
            _sentence_values(
                pronounced_on=new["pronounced_on"],
                years=new["years"],
                months=new["months"],
                days=new["days"],
                life=new["life"],
                start_date=new["start_date"],
                consecutive_to=new["consecutive_to"],
                credited_days=new["credited_days"],
            )
        )
        new["consecutive_to"], new["hearing"] = _sentence_links_check(
            detention=detention,
            sentence=sentence,
            pronounced_on=new["pronounced_on"],
            start_date=new["start_date"],
            consecutive_to=new["consecutive_to"],
            credited_days=new["credited_days"],
            hearing=new["hearing"],
        )
        commuted = sentence.pk in _commuted_ids(detention.pk)
        if new["life"] != sentence.life and commuted:
            raise DomainError(
                "invalid",
                _(
                    "A royal pardon commuted this life sentence: whether it is a life "
                    "sentence cannot be corrected here. Ask the central administration."
                ),
                field="life",
            )
        if (
            new["life"]
            and not commuted
            and Sentence.objects.filter(
                consecutive_to=sentence, status=SentenceStatus.IN_FORCE
            ).exists()
        ):
            raise DomainError(
                "invalid",
                _("A sentence in force follows this one: it cannot be a life sentence."),
                field="life",
            )
        changed = [
            n for n in SENTENCE_CORRECTABLE if _comparable(new[n]) != _comparable(current[n])
        ]
        if not changed:
            raise _unchanged()
        _sentence_change(
            actor=actor,
            sentence=sentence,
            custody=custody,
            detention=detention,
            verb="correct",
            values={name: new[name] for name in changed},
            reason=reason,
            clean_exclude=["detention", "facility", "hearing", "consecutive_to"],
        )
    return sentence


# -- expected release ------------------------------------------------------------------------
@dataclass
class ReleaseInfo:
    """The expected release of a detention and how it was reached.

    ``basis``: ``none`` (no sentence: remand), ``life`` (a life sentence in force, no date),
    ``sentence`` (end of the sentences), ``pardon`` (a royal pardon release) or
    ``conditional_release``. ``steps`` is the explanation line by line (texts translated in
    the language active when it was computed); ``ends`` maps a sentence's pk to the day it
    ends (its release day; absent for a life sentence).
    """

    expected_release: date | None
    life: bool
    basis: str
    steps: list[Step] = field(default_factory=list)
    ends: dict[int, date] = field(default_factory=dict)
    commuted: dict[int, PardonGrant] = field(default_factory=dict)
    pardon_days: dict[int, int] = field(default_factory=dict)


def _effective_conditional(
    decisions: Iterable[ConditionalRelease],
) -> ConditionalRelease | None:
    """The conditional release decision that stands: the latest granted or revoked one
    (a refusal leaves the previous decision as it was)."""
    relevant = [
        c
        for c in decisions
        if c.status in (ConditionalReleaseStatus.GRANTED, ConditionalReleaseStatus.REVOKED)
    ]
    if not relevant:
        return None
    return max(relevant, key=lambda c: (c.decided_on, c.pk or 2**62))


def release_info(
    *,
    sentences: Iterable[Sentence],
    grants: Iterable[PardonGrant],
    conditional_releases: Iterable[ConditionalRelease],
) -> ReleaseInfo:
    """The expected release from the records given (pure: no query, no write).

    ``sentences`` are the sentences in force, ``grants`` the pardon grants of the detention
    (with their decree loaded), ``conditional_releases`` its conditional release decisions.
    """
    in_force = sorted(sentences, key=lambda s: s.pk)
    grants = list(grants)
    reductions: dict[int, int] = defaultdict(int)
    commuted: dict[int, PardonGrant] = {}
    releases: list[PardonGrant] = []
    for g in grants:
        if g.kind == PardonKind.REDUCTION and g.sentence_id:
            reductions[g.sentence_id] += g.days
        elif g.kind == PardonKind.COMMUTATION and g.sentence_id:
            commuted[g.sentence_id] = g
        elif g.kind == PardonKind.RELEASE:
            releases.append(g)
    steps: list[Step] = []
    ends: dict[int, date] = {}
    life_open = [s for s in in_force if s.life and s.pk not in commuted]
    release: date | None = None
    basis = "none"
    if life_open:
        basis = "life"
        for s in life_open:
            n = in_force.index(s) + 1
            steps.append(
                Step(
                    s.start_date or s.pronounced_on,
                    gettext("Sentence %(n)d is life imprisonment: no release date.") % {"n": n},
                    n - 1,
                )
            )
    elif in_force:
        index = {s.pk: i for i, s in enumerate(in_force)}
        specs = []
        for i, s in enumerate(in_force):
            years, months, days = s.years, s.months, s.days
            if s.life:
                g = commuted[s.pk]
                years, months, days = g.days, 0, 0
                steps.append(
                    Step(
                        g.decree.signed_on,
                        gettext(
                            "Sentence %(n)d: life imprisonment commuted to %(years)s years by "
                            "royal pardon decree %(reference)s."
                        )
                        % {"n": i + 1, "years": g.days, "reference": g.decree.reference},
                        i,
                    )
                )
            previous = index.get(s.consecutive_to_id) if s.consecutive_to_id else None
            start = s.start_date
            if s.consecutive_to_id and previous is None:  # defensive: chain cut by a quash
                start = start or s.pronounced_on
            specs.append(
                SentenceSpec(
                    start=None if previous is not None else start,
                    years=years,
                    months=months,
                    days=days,
                    credited_days=s.credited_days,
                    pardon_days=reductions.get(s.pk, 0),
                    consecutive_to=previous,
                )
            )
        computation = expected_release(specs)
        steps.extend(computation.steps)
        ends = {in_force[r.index].pk: r.end for r in computation.sentences}
        release = computation.release_date
        basis = "sentence"
    changed = False
    if releases:
        first = min(releases, key=lambda g: (g.decree.signed_on, g.pk or 0))
        signed_on = first.decree.signed_on
        if release is None or signed_on < release:
            release, basis, changed = signed_on, "pardon", True
            text = gettext(
                "Royal pardon decree %(reference)s of %(date)s: release ordered on that date."
            )
        else:
            text = gettext(
                "Royal pardon decree %(reference)s of %(date)s: release (the sentences end "
                "earlier)."
            )
        steps.append(
            Step(signed_on, text % {"reference": first.decree.reference, "date": _fmt(signed_on)})
        )
    decision = _effective_conditional(conditional_releases)
    if decision is not None and decision.status == ConditionalReleaseStatus.REVOKED:
        steps.append(
            Step(
                decision.decided_on,
                gettext(
                    "Conditional release revoked (decision %(reference)s): the sentences "
                    "are served to their end."
                )
                % {"reference": decision.decision_reference},
            )
        )
    elif decision is not None and decision.release_on is not None and not life_open:
        if release is None or decision.release_on < release:
            release, basis, changed = decision.release_on, "conditional_release", True
            text = gettext(
                "Conditional release granted (decision %(reference)s of %(date)s): release "
                "on this date, before the end of the sentences."
            )
        else:
            text = gettext(
                "Conditional release granted (decision %(reference)s of %(date)s) for a date "
                "that is not earlier than the end of the sentences: no change."
            )
        steps.append(
            Step(
                decision.release_on,
                text
                % {"reference": decision.decision_reference, "date": _fmt(decision.decided_on)},
            )
        )
    if changed and release is not None:
        steps.append(Step(release, gettext("Expected release date.")))
    return ReleaseInfo(
        expected_release=release,
        life=bool(life_open),
        basis=basis,
        steps=steps,
        ends=ends,
        commuted=commuted,
        pardon_days=dict(reductions),
    )


def detention_release_explain(detention: Detention) -> ReleaseInfo:
    """The expected release of ``detention`` from its records as they are now (three
    queries, no write); texts in the active language."""
    return release_info(
        sentences=Sentence.objects.filter(detention=detention, status=SentenceStatus.IN_FORCE),
        grants=PardonGrant.objects.filter(detention=detention).select_related("decree"),
        conditional_releases=ConditionalRelease.objects.filter(detention=detention),
    )


def detention_release_compute(detention: Detention) -> ReleaseInfo:
    """Recompute and store ``detention.expected_release`` and ``detention.life_sentence``.

    Called inside the transaction of every service that changes a sentence, a pardon grant
    or a conditional release decision (the custody period is locked by then). Returns the
    explanation (``ReleaseInfo``)."""
    info = detention_release_explain(detention)
    _store_release(detention, info)
    return info


def _store_release(detention: Detention, info: ReleaseInfo) -> bool:
    changed = []
    if detention.expected_release != info.expected_release:
        detention.expected_release = info.expected_release
        changed.append("expected_release")
    if detention.life_sentence != info.life:
        detention.life_sentence = info.life
        changed.append("life_sentence")
    if changed:
        detention.save(update_fields=changed)
    return bool(changed)


# -- royal pardon ----------------------------------------------------------------------------
def pardon_decree_create(
    *, actor, reference: str, occasion: str, signed_on: date, note: str = ""
) -> PardonDecree:
    """Record a royal pardon decree, once (the reference is unique nationally).

    A decree is a national record (national audit chain). Whoever holds ``inmates.pardon``
    (the central administration nationally, a registry officer for their institution) may
    record it, then apply it to the prisoners in their scope (``pardon_decree_apply``).
    """
    if actor is not None and not access_for(actor).has_perm(PARDON_PERM):
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))
    reference = " ".join((reference or "").split())
    _not_future_date(signed_on, field="signed_on")
    decree = PardonDecree(
        reference=reference,
        occasion=" ".join((occasion or "").split()),
        signed_on=signed_on,
        note=(note or "").strip(),
    )
    _clean(decree, validate_constraints=False)
    try:
        with transaction.atomic():
            if PardonDecree.objects.filter(reference__iexact=reference).exists():
                raise ConflictError(
                    "duplicate",
                    _("A decree with this reference is already recorded: apply that one."),
                    field="reference",
                )
            decree.save(force_insert=True)
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=decree,
                facility_id=None,
                verb="record",
                after=audit.snapshot(decree, ["reference", "occasion", "signed_on", "note"]),
            )
    except IntegrityError as exc:  # lost a race with another officer recording it
        raise ConflictError(
            "duplicate",
            _("A decree with this reference is already recorded: apply that one."),
            field="reference",
        ) from exc
    return decree


@dataclass
class PardonLine:
    """One beneficiary of a decree as entered: a committal number (or a custody period's
    UUID), the kind (``reduction``, ``release``, ``commutation``) and the number (days of
    reduction; years of the term for a commutation; nothing for a release). ``problem`` is
    set by the parser for a line it could not split."""

    line: int
    identifier: str
    kind: str
    days: int | str | None = None
    problem: str = ""


@dataclass
class PardonLineError:
    line: int
    identifier: str
    message: str


class PardonApplicationError(DomainError):
    """A decree application refused, with every bad line (``errors``): nothing applied."""

    def __init__(self, code: str, message, *, errors: list[PardonLineError]):
        super().__init__(code, message)
        self.errors = errors


_KIND_WORDS = {
    "reduction": PardonKind.REDUCTION,
    "release": PardonKind.RELEASE,
    "commutation": PardonKind.COMMUTATION,
    # French and Arabic words an officer may type
    "réduction": PardonKind.REDUCTION,
    "reduction de peine": PardonKind.REDUCTION,
    "libération": PardonKind.RELEASE,
    "liberation": PardonKind.RELEASE,
    "commutation de peine": PardonKind.COMMUTATION,
    "تخفيض": PardonKind.REDUCTION,
    "إفراج": PardonKind.RELEASE,
    "الإفراج": PardonKind.RELEASE,
    "تحويل": PardonKind.COMMUTATION,
}


def pardon_lines_parse(text: str) -> list[PardonLine]:
    """Beneficiary lines from text or a CSV file: ``committal_number;kind;days`` per line
    (``;``, ``,`` or a tab between fields). Blank lines and lines starting with ``#`` are
    skipped, and so is a first line without any digit (a header). Line numbers are those of
    the text, so that errors point at the line the officer sees."""
    out: list[PardonLine] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    raw_lines = text.splitlines()
    for number, raw in enumerate(raw_lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if number == 1 and not re.search(r"\d", stripped):
            continue
        delimiter = ";" if ";" in stripped else "\t" if "\t" in stripped else ","
        fields = [f.strip() for f in next(csv.reader(io.StringIO(stripped), delimiter=delimiter))]
        while fields and fields[-1] == "":
            fields.pop()
        problem = ""
        if len(fields) < 2:
            problem = gettext(
                "Expected “committal number;kind;days” (the kind is reduction, release or "
                "commutation)."
            )
        elif len(fields) > 3:
            problem = gettext("Too many fields: expected “committal number;kind;days”.")
        kind_word = fields[1].lower() if len(fields) > 1 else ""
        out.append(
            PardonLine(
                line=number,
                identifier=fields[0] if fields else "",
                kind=_KIND_WORDS.get(kind_word, kind_word),
                days=fields[2] if len(fields) > 2 else None,
                problem=problem,
            )
        )
    return out


_COMMITTAL = re.compile(r"^([A-Z][A-Z0-9_]{1,29})-(\d{4})-(\d{1,9})$")


def _normalise_identifier(value: str) -> tuple[str, uuid_lib.UUID | None]:
    """A committal number (upper case, zero-padded: "oujda2-2026-12" → "OUJDA2-2026-000012")
    or a UUID."""
    value = (value or "").strip()
    try:
        return "", uuid_lib.UUID(value)
    except ValueError:
        pass
    number = value.upper()
    m = _COMMITTAL.match(number)
    if m:
        number = f"{m.group(1)}-{m.group(2)}-{int(m.group(3)):06d}"
    return number, None


def _line_number(line: PardonLine, *, kind: str) -> tuple[int | None, str]:
    """The number of the line checked for its kind: (value, error message or "")."""
    raw = line.days
    if raw in (None, ""):
        value = None
    else:
        try:
            value = int(str(raw).strip())
        except ValueError:
            return None, gettext("“%(value)s” is not a whole number.") % {"value": raw}
        if value < 0:
            return None, gettext("The number cannot be negative.")
    if kind == PardonKind.REDUCTION:
        if not value:
            return None, gettext("A reduction needs its number of days.")
        if value > MAX_DAYS:
            return None, gettext("A reduction of more than %(max)s days is a mistake.") % {
                "max": MAX_DAYS
            }
    elif kind == PardonKind.COMMUTATION:
        if not value:
            return None, gettext("A commutation needs the term in years.")
        if value > MAX_YEARS:
            return None, gettext("A term of more than %(max)s years is a mistake.") % {
                "max": MAX_YEARS
            }
    elif value:
        return None, gettext("A release takes no number: leave it empty.")
    return value or 0, ""


def pardon_decree_apply(
    *, actor, decree: PardonDecree, beneficiaries: list[PardonLine]
) -> list[PardonGrant]:
    """Apply a decree to the prisoners it names, all or nothing.

    Each line names a prisoner in custody by committal number (or custody period UUID):

    * ``reduction`` (N days): taken off the sentence that ends last (the one that decides
      the release); refused for a prisoner without a sentence in force or serving a life
      sentence (a commutation is the pardon of a life sentence);
    * ``release``: the expected release becomes the decree's date (the prisoner appears in
      the releases due; the release itself is ``inmate_release`` with reason pardon);
    * ``commutation`` (N years): the life sentence in force becomes a term of N years from
      its own start.

    Every bad line is reported at once (``PardonApplicationError``, 400 ``invalid_lines``,
    with line number and reason) and then nothing is applied: unknown committal number (a
    prisoner outside the actor's institutions is answered the same way), not in custody,
    committed after the decree was signed, named twice, already granted by this decree,
    or a kind that does not fit the sentences. Each grant recomputes the expected release.
    """
    access = access_for(actor) if actor is not None else None
    if access is not None and not access.has_perm(PARDON_PERM):
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))
    lines = list(beneficiaries)
    if not lines:
        raise DomainError(
            "invalid", _("Give at least one beneficiary line."), field="beneficiaries"
        )
    numbers: set[str] = set()
    uuids: set[uuid_lib.UUID] = set()
    keys: dict[int, tuple[str, uuid_lib.UUID | None]] = {}
    for i, line in enumerate(lines):
        keys[i] = _normalise_identifier(line.identifier)
        number, key = keys[i]
        if key is not None:
            uuids.add(key)
        elif number:
            numbers.add(number)
    now = timezone.now()
    with transaction.atomic():
        scope = CustodyPeriod.objects.all()
        if access is not None:
            scope = CustodyPeriod.objects.visible_to(actor)
            allowed = access.perm_facility_ids(PARDON_PERM)
            if allowed is not None:
                scope = scope.filter(facility_id__in=allowed)
        candidates = list(
            scope.filter(Q(committal_number__in=numbers) | Q(uuid__in=uuids)).values_list(
                "pk", flat=True
            )
        )
        # Locked in one order, so that two applications at once never deadlock.
        locked = {
            c.pk: c
            for c in CustodyPeriod.objects.select_for_update()
            .filter(pk__in=candidates)
            .select_related("detention", "facility")
            .order_by("pk")
        }
        by_number: dict[str, list[CustodyPeriod]] = defaultdict(list)
        by_uuid: dict[uuid_lib.UUID, CustodyPeriod] = {}
        for c in locked.values():
            by_number[c.committal_number].append(c)
            by_uuid[c.uuid] = c
        detention_ids = {c.detention_id for c in locked.values()}
        sentences: dict[int, list[Sentence]] = defaultdict(list)
        for s in Sentence.objects.filter(
            detention_id__in=detention_ids, status=SentenceStatus.IN_FORCE
        ).order_by("pk"):
            sentences[s.detention_id].append(s)
        grants: dict[int, list[PardonGrant]] = defaultdict(list)
        for g in PardonGrant.objects.filter(detention_id__in=detention_ids).select_related(
            "decree"
        ):
            grants[g.detention_id].append(g)
        decisions: dict[int, list[ConditionalRelease]] = defaultdict(list)
        for d in ConditionalRelease.objects.filter(detention_id__in=detention_ids):
            decisions[d.detention_id].append(d)

        errors: list[PardonLineError] = []
        planned: list[tuple[CustodyPeriod, PardonGrant]] = []
        seen: dict[int, int] = {}

        def refuse(line: PardonLine, message: str) -> None:
            errors.append(PardonLineError(line.line, line.identifier, message))

        for i, line in enumerate(lines):
            if line.problem:
                refuse(line, line.problem)
                continue
            if line.kind not in PardonKind.values:
                refuse(
                    line,
                    gettext("Unknown kind “%(kind)s”: use reduction, release or commutation.")
                    % {"kind": line.kind},
                )
                continue
            value, problem = _line_number(line, kind=line.kind)
            if problem:
                refuse(line, problem)
                continue
            number, key = keys[i]
            found = [by_uuid[key]] if key in by_uuid else [] if key else by_number.get(number, [])
            if not found:
                refuse(line, gettext("Unknown committal number."))
                continue
            if len(found) > 1:
                refuse(
                    line,
                    gettext("This committal number is ambiguous: give the custody identifier."),
                )
                continue
            custody = found[0]
            if custody.status != CustodyStatus.IN_CUSTODY:
                refuse(
                    line,
                    gettext("Not in custody under this committal number (%(status)s).")
                    % {"status": custody.get_status_display()},
                )
                continue
            if custody.detention_id in seen:
                refuse(
                    line,
                    gettext("This prisoner is already named on line %(line)s.")
                    % {"line": seen[custody.detention_id]},
                )
                continue
            seen[custody.detention_id] = line.line
            if any(g.decree_id == decree.pk for g in grants[custody.detention_id]):
                refuse(line, gettext("This decree was already applied to this prisoner."))
                continue
            if _local_date(custody.detention.started_at) > decree.signed_on:
                refuse(
                    line,
                    gettext("Committed after the decree was signed (%(date)s).")
                    % {"date": _fmt(decree.signed_on)},
                )
                continue
            in_force = sentences[custody.detention_id]
            existing = grants[custody.detention_id]
            commuted = {g.sentence_id for g in existing if g.kind == PardonKind.COMMUTATION}
            life_open = [s for s in in_force if s.life and s.pk not in commuted]
            target: Sentence | None = None
            if line.kind == PardonKind.REDUCTION:
                if not in_force:
                    refuse(line, gettext("No sentence in force: a reduction needs a sentence."))
                    continue
                if life_open:
                    refuse(
                        line,
                        gettext("A reduction cannot apply to a life sentence (a commutation can)."),
                    )
                    continue
                info = release_info(
                    sentences=in_force,
                    grants=existing,
                    conditional_releases=[],
                )
                latest = max(info.ends.values())
                target = max((s for s in in_force if info.ends.get(s.pk) == latest), key=_pk)
                if target.pronounced_on > decree.signed_on:
                    refuse(
                        line,
                        gettext("The sentence was pronounced after the decree (%(date)s).")
                        % {"date": _fmt(target.pronounced_on)},
                    )
                    continue
            elif line.kind == PardonKind.COMMUTATION:
                if not life_open:
                    refuse(line, gettext("No life sentence in force to commute."))
                    continue
                if len(life_open) > 1:
                    refuse(
                        line,
                        gettext("Several life sentences are in force: a commutation names one."),
                    )
                    continue
                target = life_open[0]
            grant = PardonGrant(
                decree=decree,
                detention=custody.detention,
                sentence=target,
                facility_id=custody.facility_id,
                kind=line.kind,
                days=value or 0,
                applied_at=now,
            )
            planned.append((custody, grant))
        if errors:
            raise PardonApplicationError(
                "invalid_lines",
                _("Lines refused: %(count)s. Nothing was applied: correct them and apply again.")
                % {"count": len(errors)},
                errors=errors,
            )
        out: list[PardonGrant] = []
        for custody, grant in planned:
            detention = custody.detention
            _clean(
                grant,
                exclude=["decree", "detention", "sentence", "facility"],
                validate_constraints=False,
            )
            before = _release_snapshot(detention)
            try:
                with transaction.atomic():
                    grant.save(force_insert=True)
            except IntegrityError as exc:
                raise ConflictError(
                    "already_applied",
                    _("This decree was applied to %(number)s at the same moment elsewhere.")
                    % {"number": custody.committal_number},
                ) from exc
            grant.decree = decree
            grants[detention.pk].append(grant)
            info = release_info(
                sentences=sentences[detention.pk],
                grants=grants[detention.pk],
                conditional_releases=decisions[detention.pk],
            )
            _store_release(detention, info)
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=grant,
                facility_id=custody.facility_id,
                verb="pardon",
                before=before,
                after={
                    "decree": decree.reference,
                    "kind": grant.kind,
                    "days": grant.days,
                    "sentence": str(grant.sentence.uuid) if grant.sentence else None,
                    "custody": str(custody.uuid),
                    "committal_number": custody.committal_number,
                    **_release_snapshot(detention),
                },
            )
            out.append(grant)
    return out


def _pk(obj) -> int:
    return obj.pk


# -- conditional release ---------------------------------------------------------------------
def conditional_release_decide(
    *,
    actor,
    custody: CustodyPeriod,
    decided_on: date,
    authority: str,
    decision_reference: str,
    status: str,
    release_on: date | None = None,
    supervision_until: date | None = None,
    conditions: str = "",
) -> ConditionalRelease:
    """Record a conditional release decision (granted, refused, or revoked before the
    release), and recompute the expected release: a granted one sets it to ``release_on``
    when that is earlier; the latest granted or revoked decision stands.

    Refused: a grant for a prisoner who is not definitively convicted (on remand or
    appealing), without a sentence in force, or serving a life sentence not commuted; a
    grant without ``release_on``, or with ``release_on`` before the decision or
    ``supervision_until`` before ``release_on``; a refusal or revocation with dates; a
    revocation with no granted decision standing; the same decision reference twice.
    """
    _require(actor, LEGAL_PERM, custody.facility_id)
    if status not in ConditionalReleaseStatus.values:
        raise DomainError("invalid", _("Choose the decision."), field="status")
    _not_future_date(decided_on, field="decided_on")
    if status == ConditionalReleaseStatus.GRANTED:
        if release_on is None:
            raise DomainError(
                "invalid", _("A granted conditional release needs its date."), field="release_on"
            )
        if release_on < decided_on:
            raise DomainError(
                "invalid",
                _("The release cannot come before the decision."),
                field="release_on",
            )
        if supervision_until is not None and supervision_until < release_on:
            raise DomainError(
                "invalid",
                _("The supervision cannot end before the release."),
                field="supervision_until",
            )
    elif release_on is not None or supervision_until is not None:
        raise DomainError(
            "invalid",
            _("Only a granted conditional release has a release date and a supervision."),
            field="release_on" if release_on is not None else "supervision_until",
        )
    with transaction.atomic():
        custody = lock_open_custody(custody)
        detention = custody.detention
        committed_on = _local_date(detention.started_at)
        if decided_on < committed_on:
            raise DomainError(
                "invalid",
                _("The decision cannot be before the committal (%(date)s).")
                % {"date": _fmt(committed_on)},
                field="decided_on",
            )
        reference = " ".join((decision_reference or "").split())
        if ConditionalRelease.objects.filter(
            detention=detention, decision_reference__iexact=reference
        ).exists():
            raise ConflictError(
                "duplicate",
                _("A decision with this reference is already recorded."),
                field="decision_reference",
            )
        if status == ConditionalReleaseStatus.GRANTED:
            if custody.legal_status in REMAND_SIDE:
                raise DomainError(
                    "not_convicted",
                    _(
                        "Conditional release needs a final conviction: this prisoner is "
                        "“%(status)s”."
                    )
                    % {"status": custody.get_legal_status_display()},
                    field="status",
                )
            in_force = list(
                Sentence.objects.filter(detention=detention, status=SentenceStatus.IN_FORCE)
            )
            if not in_force:
                raise DomainError(
                    "no_sentence", _("No sentence in force: nothing to release from.")
                )
            commuted = _commuted_ids(detention.pk)
            if any(s.life and s.pk not in commuted for s in in_force):
                raise DomainError(
                    "life_sentence",
                    _(
                        "A life sentence must first be commuted to a term (royal pardon) "
                        "before a conditional release."
                    ),
                    field="status",
                )
        if status == ConditionalReleaseStatus.REVOKED:
            standing = _effective_conditional(
                ConditionalRelease.objects.filter(detention=detention)
            )
            if standing is None or standing.status != ConditionalReleaseStatus.GRANTED:
                raise ConflictError(
                    "nothing_to_revoke",
                    _("There is no granted conditional release to revoke."),
                    field="status",
                )
        decision = ConditionalRelease(
            detention=detention,
            facility_id=custody.facility_id,
            decided_on=decided_on,
            authority=" ".join((authority or "").split()),
            decision_reference=reference,
            status=status,
            release_on=release_on,
            supervision_until=supervision_until,
            conditions=(conditions or "").strip(),
        )
        _clean(decision, exclude=["detention", "facility"])
        decision.save(force_insert=True)
        before = _release_snapshot(detention)
        detention_release_compute(detention)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=decision,
            facility_id=custody.facility_id,
            verb=f"conditional_release_{status}",
            before=before,
            after={
                **audit.snapshot(decision, CONDITIONAL_AUDIT_FIELDS),
                "custody": str(custody.uuid),
                **_release_snapshot(detention),
            },
        )
    return decision
