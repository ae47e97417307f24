"""Booking a visit: capacity and allowance taken under concurrency, cancel, change, staff
bookings on a family's behalf, and the cancellations and flags the system makes.

How a booking holds under a holiday rush (``visit_book``), in ONE transaction and always in
this lock order (session, then allowance, then the booking row, then the audit chain head):

1. one conditional UPDATE on the session's counters
   (``... WHERE booked_visits < capacity_visits AND booked_visitors <= capacity_visitors - n``);
   no row updated: the session is full (or was cancelled meanwhile);
2. the prisoner's week row of ``AllowanceCounter`` created if missing (INSERT ... ON CONFLICT
   DO NOTHING), then one conditional UPDATE ``used = used + 1 WHERE used < <allowance now>``;
   no row updated: the allowance of that week is used up;
3. the booking INSERT; the partial unique constraint ``booking_one_per_session`` refuses a
   second live booking of the same prisoner in the same session (``duplicate``);
4. the visitors (one bulk INSERT), one audit entry on the institution's chain, one SMS.

Check constraints on both counters back the conditional UPDATEs: no race can overbook, on
PostgreSQL (row locks taken by the UPDATE) and on SQLite (IMMEDIATE transactions) alike.
Every refusal is a ``DomainError``/``ConflictError`` with a machine code and a message in the
active language; a refusal rolls the whole transaction back, so nothing changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import formats, timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.inmates.constants import REMAND_SIDE, CustodyStatus
from idmaj.inmates.models import CustodyPeriod, Detention

from .. import ratelimit
from ..constants import (
    BookingChannel,
    BookingStatus,
    CancelReason,
    RegimeFilter,
    RestrictionKind,
    VisitMode,
    VisitorStatus,
)
from ..models import (
    AllowanceCounter,
    Booking,
    BookingVisitor,
    ExcludedDate,
    FamilyAccount,
    OnlineBookingPause,
    Visitor,
    VisitorRestriction,
    VisitPolicy,
    VisitSession,
)
from ._common import clean_or_raise, notify_family, require_perm, touch_account, week_start

__all__ = [
    "CANCELLABLE",
    "STAFF_CHANNELS",
    "allowance_for",
    "booking_cancel",
    "booking_cancel_by_system",
    "booking_change",
    "booking_flag",
    "booking_family_can_change",
    "renewal_date",
    "visit_book",
    "visitor_is_child",
]

MANAGE = "visits.manage"
OVERRIDE = "visits.override"
STAFF_CHANNELS = (BookingChannel.DESK, BookingChannel.PHONE, BookingChannel.WALK_IN)
# A booking in these states may still be cancelled or changed (the visit has not begun).
CANCELLABLE = (BookingStatus.BOOKED, BookingStatus.FLAGGED)


# -- small rules -------------------------------------------------------------------------------
def allowance_for(policy: VisitPolicy, legal_status: str) -> int:
    """Visits per week of a prisoner of ``legal_status`` under ``policy`` (a prisoner whose
    appeal is pending counts as on remand)."""
    if legal_status in REMAND_SIDE:
        return policy.weekly_visits_remand
    return policy.weekly_visits_convicted


def renewal_date(day: date) -> date:
    """The day the weekly allowance of ``day``'s week renews: the next Monday."""
    return week_start(day) + timedelta(days=7)


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def visitor_is_child(visitor: Visitor, policy: VisitPolicy, on: date) -> bool:
    """A child is a visitor under the policy's adult age on the day of the visit (a listed
    child without a date of birth stays a child)."""
    if visitor.birth_date is None:
        return visitor.account_id is None and visitor.guardian_id is not None
    return _age_on(visitor.birth_date, on) < policy.adult_age


def _policy(custody: CustodyPeriod) -> VisitPolicy:
    """The institution's rules (read with the custody); the defaults when none were set."""
    try:
        return custody.facility.visit_policy
    except VisitPolicy.DoesNotExist:
        try:
            from .sessions import policy_for  # SESSIONS: creates the default row
        except ImportError:  # pragma: no cover - while SESSIONS is being written
            return VisitPolicy(facility_id=custody.facility_id)
        return policy_for(custody.facility)


def _custody_now(detention_id: int, session: VisitSession) -> CustodyPeriod | None:
    """Where the prisoner is held now, with the institution's rules and, in the same query,
    whether online booking is paused now, the session's day is excluded, the session is for
    some wings only and whether the prisoner's wing is one of them."""
    now = timezone.now()
    pauses = OnlineBookingPause.objects.filter(
        facility_id=session.facility_id, starts_at__lte=now
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    excluded = ExcludedDate.objects.filter(
        facility_id=session.facility_id, starts_on__lte=session.date, ends_on__gte=session.date
    )
    wings = VisitSession.wings.through.objects.filter(visitsession_id=session.pk)
    return (
        CustodyPeriod.objects.select_related("facility__visit_policy", "cell")
        .filter(detention_id=detention_id, status=CustodyStatus.IN_CUSTODY)
        .annotate(
            online_paused=Exists(pauses),
            day_excluded=Exists(excluded),
            for_some_wings=Exists(wings),
            wing_fits=Exists(wings.filter(wing_id=OuterRef("cell__wing_id"))),
        )
        .first()
    )


def _pause_active(facility_id: int, at: datetime) -> OnlineBookingPause | None:
    return (
        OnlineBookingPause.objects.filter(facility_id=facility_id, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("-starts_at")
        .first()
    )


def _pause_message(pause: OnlineBookingPause) -> str:
    if translation.get_language() == "fr" and pause.message_fr:
        return pause.message_fr
    return pause.message_ar or pause.message_fr


def _cutoff(session: VisitSession, policy: VisitPolicy) -> datetime:
    return session.starts_at - timedelta(hours=policy.change_cutoff_hours)


def booking_family_can_change(booking: Booking, policy: VisitPolicy | None = None) -> bool:
    """Whether the family may still cancel or change ``booking`` (before the cut-off)."""
    if booking.status not in CANCELLABLE:
        return False
    if policy is None:
        policy = VisitPolicy.objects.filter(facility_id=booking.facility_id).first()
        policy = policy or VisitPolicy(facility_id=booking.facility_id)
    return timezone.now() < _cutoff(booking.session, policy)


def _day(d: date) -> str:
    return formats.date_format(d, "j F Y")


def _show(value) -> str:
    if isinstance(value, date):
        return _day(value)
    if hasattr(value, "name_ar"):  # an institution: its name in the active language
        return value.name
    return str(value)


def _fmt(message, **params):
    """``message % params``, rendered when shown (in the language active then): dates and
    institution names follow the language too."""
    return lazy(lambda: str(message) % {k: _show(v) for k, v in params.items()}, str)()


# -- checks before any write -------------------------------------------------------------------
def _check_custody(detention: Detention, session: VisitSession) -> CustodyPeriod:
    custody = _custody_now(detention.pk, session)
    if custody is None:
        raise ConflictError(
            "not_in_custody",
            _("The prisoner is no longer in custody (released or left the prison system)."),
        )
    if custody.facility_id != session.facility_id:
        raise ConflictError(
            "not_in_custody",
            _fmt(
                _("The prisoner is now held at %(facility)s: book a session of that institution."),
                facility=custody.facility,
            ),
        )
    return custody


def _check_session(
    session: VisitSession, custody, *, family: bool, channel: str, policy: VisitPolicy
):
    if session.cancelled_at is not None:
        raise ConflictError("session_cancelled", _("This session was cancelled."), field="session")
    if custody.day_excluded:
        raise ConflictError(
            "excluded_date",
            _fmt(_("There are no visits at this institution on %(day)s."), day=session.date),
            field="session",
        )
    now = timezone.now()
    today = timezone.localdate()
    if family:
        ahead = (session.date - today).days
        if ahead < policy.book_until_days or ahead > policy.book_from_days:
            raise DomainError(
                "outside_window",
                _fmt(
                    _(
                        "Sessions can be booked from %(first)s to %(last)s days ahead; "
                        "this one is on %(day)s."
                    ),
                    first=policy.book_until_days,
                    last=policy.book_from_days,
                    day=session.date,
                ),
                field="session",
            )
    else:
        # Staff may book in the window's last days (desk, phone) and a walk-in until the
        # session ends, never in the past nor before the window opens.
        ends = session.ends_at if channel == BookingChannel.WALK_IN else session.starts_at
        if ends <= now or (session.date - today).days > policy.book_from_days:
            raise DomainError(
                "outside_window",
                _("This session cannot be booked any more (or not yet)."),
                field="session",
            )


def _check_regime(session: VisitSession, custody: CustodyPeriod) -> None:
    remand = custody.legal_status in REMAND_SIDE
    if (session.regime == RegimeFilter.REMAND and not remand) or (
        session.regime == RegimeFilter.CONVICTED and remand
    ):
        raise DomainError(
            "wrong_regime",
            _fmt(_("This session is for %(regime)s."), regime=RegimeFilter(session.regime).label),
            field="session",
        )
    if custody.for_some_wings and not custody.wing_fits:
        raise DomainError(
            "wrong_regime",
            _("This session is for other wings of the institution than the prisoner's."),
            field="session",
        )


def _check_visitors(
    visitors: list[Visitor],
    *,
    detention: Detention,
    session: VisitSession,
    policy: VisitPolicy,
    account: FamilyAccount | None,
    family: bool,
) -> tuple[list[Visitor], set[int], int, int]:
    """The visitors (no duplicates), the ids of the children, and the counts."""
    unique: dict[int, Visitor] = {}
    for v in visitors:
        unique.setdefault(v.pk, v)
    visitors = list(unique.values())
    if not visitors:
        raise DomainError("not_on_list", _("Choose at least one visitor."), field="visitors")
    for v in visitors:
        if v.detention_id != detention.pk or v.status != VisitorStatus.APPROVED:
            raise DomainError(
                "not_on_list",
                _fmt(
                    _("%(name)s is not on the prisoner's approved visitor list."), name=v.full_name
                ),
                field="visitors",
            )
    if family:
        own = [v for v in visitors if v.account_id == account.pk]
        if not own:
            raise DomainError(
                "not_on_list",
                _("You must be among the visitors of a visit you book."),
                field="visitors",
            )
        own_id = own[0].pk
        for v in visitors:
            if v.pk != own_id and v.guardian_id != own_id:
                raise DomainError(
                    "not_on_list",
                    _fmt(
                        _(
                            "%(name)s is not on your side of the visitor list: they book themselves."
                        ),
                        name=v.full_name,
                    ),
                    field="visitors",
                )
    children = {v.pk for v in visitors if visitor_is_child(v, policy, session.date)}
    ids = set(unique)
    adults = len(visitors) - len(children)
    if adults == 0:
        raise DomainError("no_adult", _("Children visit with an adult."), field="visitors")
    for v in visitors:
        if v.pk in children and v.guardian_id and v.guardian_id not in ids:
            raise DomainError(
                "not_on_list",
                _fmt(
                    _("%(name)s comes only with the adult they are listed with."), name=v.full_name
                ),
                field="visitors",
            )
    if adults > policy.max_adults:
        raise DomainError(
            "too_many_adults",
            _fmt(_("At most %(n)s adults per visit."), n=policy.max_adults),
            field="visitors",
        )
    if len(children) > policy.max_children:
        raise DomainError(
            "too_many_children",
            _fmt(_("At most %(n)s children per visit."), n=policy.max_children),
            field="visitors",
        )
    return visitors, children, adults, len(children)


def _check_restrictions(visitors: list[Visitor], session: VisitSession) -> None:
    """Restrictions in force on the day of the visit (ended or lifted ones do not count)."""
    ids = {v.pk for v in visitors}
    names = {v.pk: v.full_name for v in visitors}
    rows = (
        VisitorRestriction.objects.filter(
            visitor_id__in=ids, starts_on__lte=session.date, lifted_at__isnull=True
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=session.date))
        .values_list("kind", "visitor_id", "child_id", "ends_on")
    )
    for kind, visitor_id, child_id, ends_on in rows:
        name = names[visitor_id]
        if kind == RestrictionKind.BANNED:
            if ends_on:
                msg = _fmt(_("%(name)s may not visit until %(day)s."), name=name, day=ends_on)
            else:
                msg = _fmt(_("%(name)s may not visit."), name=name)
            raise ConflictError("banned", msg, field="visitors")
        if kind == RestrictionKind.CLOSED_ONLY and session.mode != VisitMode.CLOSED:
            raise ConflictError(
                "closed_only",
                _fmt(
                    _(
                        "%(name)s may only take part in closed visits (behind glass): choose a closed session."
                    ),
                    name=name,
                ),
                field="session",
            )
        if kind == RestrictionKind.NOT_WITH_CHILD and child_id in ids:
            raise ConflictError(
                "not_with_child",
                _fmt(
                    _("%(name)s may not visit together with %(child)s."),
                    name=name,
                    child=names[child_id],
                ),
                field="visitors",
            )


# Not validated again by ``full_clean``: random unique fields, and the foreign keys whose rows
# were just read (each would cost a query on the path of a holiday rush).
_NOT_CLEANED = [
    "uuid",
    "code",
    "facility",
    "session",
    "detention",
    "custody",
    "account",
    "booked_by",
    "replaced_by",
]


# -- the writes --------------------------------------------------------------------------------
def _take_place(session: VisitSession, visitors: int, *, over_capacity: bool) -> bool:
    """Take one visit and ``visitors`` seats of the session; ``True`` when it was beyond
    its capacity (staff override). ``ConflictError`` when full or cancelled."""
    taken = VisitSession.objects.filter(
        pk=session.pk,
        cancelled_at__isnull=True,
        booked_visits__lt=F("capacity_visits"),
        booked_visitors__lte=F("capacity_visitors") - visitors,
    ).update(booked_visits=F("booked_visits") + 1, booked_visitors=F("booked_visitors") + visitors)
    if taken:
        return False
    if over_capacity:
        extra = VisitSession.objects.filter(pk=session.pk, cancelled_at__isnull=True).update(
            extra_visits=F("extra_visits") + 1, extra_visitors=F("extra_visitors") + visitors
        )
        if extra:
            return True
    if VisitSession.objects.filter(pk=session.pk, cancelled_at__isnull=False).exists():
        raise ConflictError("session_cancelled", _("This session was cancelled."), field="session")
    raise ConflictError(
        "session_full", _("This session is full: choose another one."), field="session"
    )


def _take_allowance(detention_id: int, facility_id: int, day: date, allowance: int) -> date:
    week = week_start(day)
    AllowanceCounter.objects.bulk_create(
        [AllowanceCounter(detention_id=detention_id, facility_id=facility_id, week_start=week)],
        ignore_conflicts=True,
    )
    taken = AllowanceCounter.objects.filter(
        detention_id=detention_id, week_start=week, used__lt=allowance
    ).update(used=F("used") + 1, allowance=allowance)
    if not taken:
        raise ConflictError(
            "allowance_used",
            _fmt(
                _(
                    "The prisoner's visits for the week of %(day)s are used up; "
                    "the allowance renews on %(renews)s."
                ),
                day=day,
                renews=renewal_date(day),
            ),
            field="session",
        )
    return week


def _give_back(booking: Booking) -> None:
    """Free the place the booking took (``booked_*`` or ``extra_*``) and its allowance."""
    n = booking.adults + booking.children
    if booking.over_capacity:
        VisitSession.objects.filter(pk=booking.session_id, extra_visits__gte=1).update(
            extra_visits=F("extra_visits") - 1, extra_visitors=F("extra_visitors") - n
        )
    else:
        VisitSession.objects.filter(pk=booking.session_id, booked_visits__gte=1).update(
            booked_visits=F("booked_visits") - 1, booked_visitors=F("booked_visitors") - n
        )
    AllowanceCounter.objects.filter(
        detention_id=booking.detention_id, week_start=booking.week_start, used__gte=1
    ).update(used=F("used") - 1)


def _notice_context(booking: Booking, session: VisitSession) -> dict:
    return {"booking": booking, "code": booking.code, "session": session}


def _book(
    *,
    session: VisitSession,
    detention: Detention,
    visitors: list[Visitor],
    account: FamilyAccount | None,
    actor,
    channel: str,
    over_capacity_reason: str,
    family: bool,
) -> tuple[Booking, CustodyPeriod, list[Visitor]]:
    """Every check, then the writes (inside the caller's transaction); no notification."""
    custody = _check_custody(detention, session)
    policy = _policy(custody)
    if family:
        if not policy.online_booking:
            raise ConflictError(
                "online_paused",
                _fmt(
                    _("Online booking is not open at %(facility)s yet: book at the institution."),
                    facility=custody.facility,
                ),
            )
        pause = (
            _pause_active(session.facility_id, timezone.now()) if custody.online_paused else None
        )
        if pause is not None:
            raise ConflictError("online_paused", _pause_message(pause))
    _check_session(session, custody, family=family, channel=channel, policy=policy)
    _check_regime(session, custody)
    visitors, children, adults, n_children = _check_visitors(
        visitors,
        detention=detention,
        session=session,
        policy=policy,
        account=account,
        family=family,
    )
    _check_restrictions(visitors, session)

    over = _take_place(session, adults + n_children, over_capacity=bool(over_capacity_reason))
    week = _take_allowance(
        detention.pk, session.facility_id, session.date, allowance_for(policy, custody.legal_status)
    )
    booking = Booking(
        facility_id=session.facility_id,
        session=session,
        detention=detention,
        custody=custody,
        account=account,
        channel=channel,
        status=BookingStatus.BOOKED,
        week_start=week,
        adults=adults,
        children=n_children,
        over_capacity=over,
        over_capacity_reason=over_capacity_reason if over else "",
        booked_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    # Unique fields (uuid, code) are random; the one-per-session rule is the database's.
    clean_or_raise(booking, exclude=_NOT_CLEANED, validate_constraints=False)
    try:
        booking.save(force_insert=True)
    except IntegrityError as exc:
        # The whole transaction rolls back with this error (nothing was taken).
        raise ConflictError(
            "duplicate",
            _("The prisoner already has a booking in this session."),
            field="session",
        ) from exc
    rows = [
        BookingVisitor(
            booking=booking, visitor=v, facility_id=session.facility_id, is_child=v.pk in children
        )
        for v in visitors
    ]
    BookingVisitor.objects.bulk_create(rows)
    # What the caller shows next, without reading it again.
    booking.visitor_rows = rows
    booking.facility = custody.facility
    booking.custody = custody
    return booking, custody, visitors


def _audit_book(booking: Booking, *, actor, account, verb: str, extra: dict | None = None):
    after = {
        "code": booking.code,
        "session": str(booking.session.uuid),
        "detention": booking.detention_id,
        "channel": booking.channel,
        "adults": booking.adults,
        "children": booking.children,
    }
    if booking.over_capacity:
        after["over_capacity_reason"] = booking.over_capacity_reason
    if account is not None:
        after["family_account"] = str(account.uuid)
    after.update(extra or {})
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=booking,
        facility_id=booking.facility_id,
        verb=verb,
        after=after,
    )


def _channel_for(*, account, actor, channel: str) -> tuple[bool, str]:
    """Whether this is a family's own booking, and its channel (checked)."""
    family = actor is None and account is not None
    if family:
        return True, BookingChannel.ONLINE
    if channel not in STAFF_CHANNELS:
        if actor is None:  # the system itself (demo data)
            return False, channel if channel in BookingChannel.values else BookingChannel.DESK
        raise DomainError(
            "invalid",
            _("Choose how the booking was made: at the desk, by telephone or walk-in."),
            field="channel",
        )
    return False, channel


def visit_book(
    *,
    session: VisitSession,
    detention: Detention,
    visitors: list[Visitor],
    account: FamilyAccount | None = None,
    actor=None,
    channel: str = BookingChannel.ONLINE,
    over_capacity_reason: str = "",
    ip: str = "",
) -> Booking:
    """Book ``session`` for the prisoner of ``detention`` with ``visitors``.

    A family books with ``account`` (online); staff with ``actor`` (``visits.manage`` at the
    institution; channel desk, phone or walk-in; with ``visits.override`` and a reason they may
    go beyond the session's capacity). The family account, if any, gets the SMS.
    """
    family, channel = _channel_for(account=account, actor=actor, channel=channel)
    over_capacity_reason = (over_capacity_reason or "").strip()
    if family:
        ratelimit.hit("book:account", str(account.pk))
        ratelimit.hit("book:ip", ip)
        over_capacity_reason = ""
        touch_account(account)
    else:
        require_perm(actor, MANAGE, session.facility_id)
        if over_capacity_reason:
            require_perm(actor, OVERRIDE, session.facility_id)
    with transaction.atomic():
        booking, custody, visitors = _book(
            session=session,
            detention=detention,
            visitors=visitors,
            account=account,
            actor=actor,
            channel=channel,
            over_capacity_reason=over_capacity_reason,
            family=family,
        )
        _audit_book(booking, actor=actor, account=account if family else None, verb="visit_book")
        if account is not None:
            notify_family(
                account,
                template="booking_confirmed",
                context={
                    **_notice_context(booking, session),
                    "facility": custody.facility,
                },
                facility_id=booking.facility_id,
                email_too=False,
            )
    return booking


def _lock_sessions(*session_ids: int) -> None:
    """Lock sessions in id order (the order every booking write takes them in)."""
    ids = sorted(set(session_ids))
    list(VisitSession.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))


def _cancel(
    booking: Booking, *, reason: str, actor, note: str = "", family: bool = False
) -> Booking:
    """Cancel a live booking (inside the caller's transaction; sessions locked first).
    ``family``: the family cancelled it (the audit names their account); otherwise staff
    (``actor``) or, with no actor, the system."""
    now = timezone.now()
    done = Booking.objects.filter(pk=booking.pk, status__in=CANCELLABLE).update(
        status=BookingStatus.CANCELLED, cancelled_at=now, cancel_reason=reason
    )
    if not done:
        raise ConflictError(
            "not_cancellable",
            _("This booking can no longer be cancelled or changed."),
        )
    before = booking.status
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.cancel_reason = reason
    _give_back(booking)
    after = {"status": booking.status, "cancel_reason": reason}
    if note:
        after["note"] = note
    if family and booking.account_id:
        after["family_account"] = str(booking.account.uuid)
    elif actor is None:
        after["by"] = "system"
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=booking,
        facility_id=booking.facility_id,
        verb="booking_cancel",
        before={"status": before},
        after=after,
    )
    return booking


def _require_family_owner(booking: Booking, account: FamilyAccount) -> None:
    if booking.account_id != account.pk:
        # Not theirs: as if it did not exist.
        raise DomainError("not_found", _("Not found."), status=404)


def _require_before_cutoff(booking: Booking) -> None:
    policy = VisitPolicy.objects.filter(facility_id=booking.facility_id).first()
    policy = policy or VisitPolicy(facility_id=booking.facility_id)
    if timezone.now() >= _cutoff(booking.session, policy):
        raise ConflictError(
            "too_late",
            _fmt(
                _(
                    "Bookings can be cancelled or changed until %(hours)s hours before the visit; "
                    "ask the institution."
                ),
                hours=policy.change_cutoff_hours,
            ),
        )


def _cancel_notice(booking: Booking, *, template: str, reason_text, extra: dict | None = None):
    if booking.account_id is None:
        return
    session = booking.session
    notify_family(
        booking.account,
        template=template,
        context={
            "booking": booking,
            "code": booking.code,
            "session": session,
            "facility": booking.facility,
            "reason": reason_text,
            **(extra or {}),
        },
        facility_id=booking.facility_id,
        email_too=False,
    )


def _reload(booking: Booking) -> Booking:
    return Booking.objects.select_related("session__room", "facility", "account", "detention").get(
        pk=booking.pk
    )


def booking_cancel(
    *, booking: Booking, account: FamilyAccount | None = None, actor=None, reason: str = ""
) -> Booking:
    """Cancel a booking: the family until the cut-off, staff (``visits.manage``) at any time
    before the visit begins. The place and the allowance are given back; the family is told."""
    family = actor is None and account is not None
    if family:
        _require_family_owner(booking, account)
    else:
        require_perm(actor, MANAGE, booking.facility_id)
        if actor is not None and not (reason or "").strip():
            raise DomainError("invalid", _("Give the reason for cancelling."), field="reason")
    with transaction.atomic():
        _lock_sessions(booking.session_id)
        booking = _reload(booking)
        if family:
            if booking.status not in CANCELLABLE:
                raise ConflictError(
                    "not_cancellable", _("This booking can no longer be cancelled or changed.")
                )
            _require_before_cutoff(booking)
            code, note = CancelReason.FAMILY, ""
        elif reason in CancelReason.values:
            code, note = reason, ""
        else:
            code, note = CancelReason.STAFF, reason.strip()
        _cancel(booking, reason=code, actor=actor, note=note, family=family)
        _cancel_notice(
            booking, template="booking_cancelled", reason_text=note or CancelReason(code).label
        )
    return booking


def booking_cancel_by_system(
    *, booking: Booking, reason: str, actor=None, notify: bool = True
) -> Booking:
    """Cancel a booking because circumstances changed (transfer, release, ban, day without
    visits, session cancelled): no cut-off; place and allowance given back.

    Called by other services (the registry's movements, restrictions, days without visits)
    that have checked their own actor's permission: ``actor`` is only recorded (``None``: the
    system)."""
    reason = CancelReason(reason)
    with transaction.atomic():
        _lock_sessions(booking.session_id)
        booking = _reload(booking)
        _cancel(booking, reason=reason, actor=actor)
        if notify:
            _cancel_notice(booking, template="booking_cancelled", reason_text=reason.label)
    return booking


def booking_flag(*, booking: Booking, reason: str, actor=None, notify: bool = True) -> Booking:
    """Mark a booking for the officer's review (it keeps its place), with the reason.
    Called by other services after their own permission check: ``actor`` is only recorded."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise DomainError("invalid", _("Give the reason."), field="reason")
    with transaction.atomic():
        done = Booking.objects.filter(pk=booking.pk, status__in=CANCELLABLE).update(
            status=BookingStatus.FLAGGED, flag_reason=reason
        )
        if not done:
            raise ConflictError("not_cancellable", _("This booking can no longer be changed."))
        booking = _reload(booking)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=booking,
            facility_id=booking.facility_id,
            verb="booking_flag",
            after={"status": booking.status, "flag_reason": reason},
        )
        if notify:
            _cancel_notice(booking, template="booking_flagged", reason_text=reason)
    return booking


def booking_change(
    *,
    booking: Booking,
    session: VisitSession,
    visitors: list[Visitor],
    account: FamilyAccount | None = None,
    actor=None,
    ip: str = "",
) -> Booking:
    """Replace a booking by one in ``session`` with ``visitors``, in one transaction: the old
    one is cancelled (``changed``, ``replaced_by`` the new one) only if the new one is made;
    any refusal leaves the old booking as it was."""
    family = actor is None and account is not None
    if family:
        _require_family_owner(booking, account)
        ratelimit.hit("book:account", str(account.pk))
        ratelimit.hit("book:ip", ip)
        channel = BookingChannel.ONLINE
    else:
        require_perm(actor, MANAGE, booking.facility_id)
        require_perm(actor, MANAGE, session.facility_id)
        channel = booking.channel if booking.channel in STAFF_CHANNELS else BookingChannel.DESK
    with transaction.atomic():
        _lock_sessions(booking.session_id, session.pk)
        old = _reload(booking)
        if old.status not in CANCELLABLE:
            raise ConflictError(
                "not_cancellable", _("This booking can no longer be cancelled or changed.")
            )
        if family:
            _require_before_cutoff(old)
        _cancel(old, reason=CancelReason.CHANGED, actor=actor, family=family)
        new, custody, visitors = _book(
            session=session,
            detention=old.detention,
            visitors=visitors,
            account=old.account if not family else account,
            actor=actor,
            channel=channel,
            over_capacity_reason="",
            family=family,
        )
        Booking.objects.filter(pk=old.pk).update(replaced_by=new)
        old.replaced_by = new
        _audit_book(
            new,
            actor=actor,
            account=account if family else None,
            verb="booking_change",
            extra={"replaces": old.code},
        )
        if new.account_id:
            new.account = old.account if old.account_id == new.account_id else new.account
            notify_family(
                new.account,
                template="booking_changed",
                context={
                    **_notice_context(new, session),
                    "old": old,
                    "facility": custody.facility,
                },
                facility_id=new.facility_id,
                email_too=False,
            )
    return new
