"""What changes around a visit do to bookings and visitor lists.

* ``visits_on_custody_left``: the registry recorded that a prisoner left an institution
  (``inmates.signals.custody_left``, inside the registry's transaction). Future bookings there
  are cancelled; on a transfer the visitor list (and the pending requests) moves to the new
  institution; on a release, an escape or a death the list stays as history and pending
  requests are closed. Each family is told once, in neutral words.
* ``visits_on_restriction_added``: a ban, a "closed visits only" or a "not with this child"
  restriction cancels or flags the future bookings it concerns.
* ``visits_on_visitor_removed``: a visitor taken off a list (or a child refused) no longer
  visits: the future bookings naming them are cancelled when no other adult is left on
  them, flagged for the officer otherwise.
* ``visits_on_excluded_date``: a day without visits cancels that day's sessions and their
  bookings.

These are called by other services inside their transaction (the registry's, ``lists``',
``sessions'``); they open a nested atomic block of their own and write audit entries only on
the chains of the institutions concerned (for a transfer: the two institutions', in id order).

Lock order, the one every booking write takes: the visit sessions (all those concerned, in
id order, before anything else here), then the allowance counters, then the head of the
institution's audit chain. The callers send or call these before writing their own audit
entries (the registry sends ``custody_left`` after its own row writes and before its audit
entries; ``lists`` and ``sessions`` call them before their audit entry), so that the audit
chain heads are first locked here, after the sessions, never before them. The actor of the
calling service (who need not be a visits officer: the movement itself is the authority) is
recorded on the entries.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from idmaj.core import audit
from idmaj.core.errors import ConflictError
from idmaj.core.models import AuditEntry

from ..constants import (
    BookingStatus,
    CancelReason,
    RequestStatus,
    RestrictionKind,
    VisitMode,
    VisitorStatus,
)
from ..models import (
    AllowanceCounter,
    Booking,
    BookingVisitor,
    FamilyAccount,
    Visitor,
    VisitorRequest,
    VisitorRestriction,
    VisitPolicy,
    VisitSession,
)
from ._common import notify_family, week_start

MANAGE = "visits.manage"

__all__: list[str] = [
    "visits_on_custody_left",
    "visits_on_restriction_added",
    "visits_on_visitor_removed",
    "visits_on_excluded_date",
]

# A booking not yet under way: the only ones a change of circumstances cancels or flags.
CHANGEABLE = (BookingStatus.BOOKED, BookingStatus.FLAGGED)
LIST_STATUSES = (VisitorStatus.PENDING, VisitorStatus.APPROVED)


def _cancel(booking: Booking, *, reason: str, actor, notify: bool) -> bool:
    """Cancel through ``bookings`` (places and allowance given back, audit); ``False`` when
    the booking moved on meanwhile (visitors arrived at the gate): it is left as it is."""
    # Imported here: ``bookings`` owns the rule.
    from .bookings import booking_cancel_by_system

    try:
        booking_cancel_by_system(
            booking=booking,
            reason=reason,
            actor=actor,
            notify=notify,
        )
    except ConflictError:
        return False
    return True


def _flag(booking: Booking, *, reason: str, actor) -> bool:
    from .bookings import booking_flag

    try:
        booking_flag(
            booking=booking,
            reason=reason[:300],
            actor=actor,
            notify=True,
        )
    except ConflictError:
        return False
    return True


def _lock_sessions_of(bookings: list[Booking]) -> None:
    """Lock the sessions of all ``bookings`` at once, in id order (as ``bookings`` does), so
    that no session is waited for while an audit chain head or an allowance counter is held
    (cancelling one booking takes both before the next booking's session)."""
    ids = sorted({b.session_id for b in bookings})
    if len(ids) > 1:
        list(
            VisitSession.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _future_bookings(now=None):
    """Bookings still to come and not under way (their session has not started)."""
    now = now or timezone.now()
    return Booking.objects.filter(status__in=CHANGEABLE, session__starts_at__gt=now)


def _prisoner_names(custody) -> dict:
    person = custody.person
    return {"prisoner_ar": person.full_name_ar, "prisoner_latin": person.full_name_latin}


# -- a prisoner leaves an institution ----------------------------------------------------------


def visits_on_custody_left(*, custody, successor, actor) -> dict:
    """Follow the registry when the prisoner of ``custody`` leaves its institution.

    * Every future booking of the detention at that institution (``booked``/``flagged``,
      session not started) is cancelled, reason ``transferred`` (``successor`` given) or
      ``released``: places and allowance are given back (``bookings``).
    * Transfer: the visitor entries awaiting decision or approved, their restrictions still
      in force and the pending requests move to ``successor``'s institution (its officers see
      them, the old institution's no longer do); so do the allowance counters of this week
      and later. Each family on the list is told where the prisoner now is and whether it
      can book there online. A family whose request is still pending is not told (its
      relationship to the prisoner has not been checked yet); its request simply moves.
    * Release, escape, death: the list stays at the institution as history. Pending requests
      are closed (``withdrawn``) and their entries ``removed``. Families are told, in the
      same neutral words whatever the reason, that the prisoner is no longer held there and
      that the institution answers their questions.

    Audit: on a transfer one entry on each of the two institutions' chains, in institution
    id order (the order in which the registry writes its own entries after this returns);
    otherwise one on the institution's chain. Nothing is written when the prisoner had no
    visitor list and no booking. Returns a summary (for tests and logs).
    """
    now = timezone.now()
    old_facility_id = custody.facility_id
    detention_id = custody.detention_id
    transferred = successor is not None
    reason = CancelReason.TRANSFERRED if transferred else CancelReason.RELEASED

    with transaction.atomic():
        bookings = list(
            _future_bookings(now)
            .filter(detention_id=detention_id, facility_id=old_facility_id)
            .select_related("session")
            .order_by("session__starts_at", "pk")
        )
        _lock_sessions_of(bookings)
        # One message per family below, rather than one per booking.
        bookings = [b for b in bookings if _cancel(b, reason=reason, actor=actor, notify=False)]

        entries = Visitor.objects.filter(
            detention_id=detention_id, facility_id=old_facility_id, status__in=LIST_STATUSES
        )
        approved_accounts = set(
            entries.filter(status=VisitorStatus.APPROVED, account__isnull=False).values_list(
                "account_id", flat=True
            )
        )
        pending_requests = list(
            VisitorRequest.objects.filter(
                detention_id=detention_id,
                facility_id=old_facility_id,
                status=RequestStatus.PENDING,
            ).values_list("pk", "uuid", "account_id")
        )
        visitor_rows = list(entries.values_list("pk", "uuid"))
        if not bookings and not visitor_rows and not pending_requests:
            return {"cancelled": [], "visitors": 0, "requests": 0, "notified": 0}

        summary = {
            "cancelled": [b.code for b in bookings],
            "visitors": len(visitor_rows),
            "requests": len(pending_requests),
        }
        if transferred:
            summary["notified"] = _move_list(
                custody=custody,
                successor=successor,
                actor=actor,
                bookings=bookings,
                visitor_rows=visitor_rows,
                pending_requests=pending_requests,
                approved_accounts=approved_accounts,
            )
        else:
            summary["notified"] = _close_list(
                custody=custody,
                actor=actor,
                now=now,
                bookings=bookings,
                visitor_rows=visitor_rows,
                pending_requests=pending_requests,
                approved_accounts=approved_accounts,
            )
    return summary


def _accounts_per_booking(bookings: list[Booking]) -> dict[int, set[int]]:
    """Which family accounts each booking concerns: the one that booked it and the adults
    named on it who have an account (one query)."""
    concerned: dict[int, set[int]] = defaultdict(set)
    for booking in bookings:
        if booking.account_id:
            concerned[booking.pk].add(booking.account_id)
    if bookings:
        rows = BookingVisitor.objects.filter(
            booking_id__in=[b.pk for b in bookings], visitor__account__isnull=False
        ).values_list("booking_id", "visitor__account_id")
        for booking_id, account_id in rows:
            concerned[booking_id].add(account_id)
    return concerned


def _tell_families(
    *,
    template: str,
    custody,
    accounts: set[int],
    bookings: list[Booking],
    context: dict,
    facility_id: int,
) -> int:
    """One message per family account: ``template`` with the family's own cancelled visits."""
    per_booking = _accounts_per_booking(bookings)
    cancelled: dict[int, list] = defaultdict(list)
    for booking in bookings:
        for account_id in per_booking.get(booking.pk, ()):
            cancelled[account_id].append(booking.session.starts_at)
    recipients = accounts | set(cancelled)
    if not recipients:
        return 0
    names = _prisoner_names(custody)
    sent = 0
    for account in FamilyAccount.objects.filter(pk__in=recipients).order_by("pk"):
        notify_family(
            account,
            template=template,
            context={**context, **names, "cancelled": cancelled.get(account.pk, [])},
            facility_id=facility_id,
            idempotency_key=f"visits:{template}:{custody.uuid}:{account.uuid}",
        )
        sent += 1
    return sent


def _move_list(
    *, custody, successor, actor, bookings, visitor_rows, pending_requests, approved_accounts
) -> int:
    old_facility_id = custody.facility_id
    new_facility_id = successor.facility_id
    visitor_ids = [pk for pk, _uuid in visitor_rows]
    today = timezone.localdate()
    Visitor.objects.filter(pk__in=visitor_ids).update(facility_id=new_facility_id)
    VisitorRequest.objects.filter(pk__in=[pk for pk, _u, _a in pending_requests]).update(
        facility_id=new_facility_id
    )
    # Restrictions still in force follow the visitor: the new institution applies (and may
    # lift) them; ended ones stay at the old institution as its history.
    restrictions_moved = (
        VisitorRestriction.objects.filter(visitor_id__in=visitor_ids, lifted_at__isnull=True)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .update(facility_id=new_facility_id)
    )
    # The weekly allowance is the prisoner's: this week's count goes along.
    counters_moved = AllowanceCounter.objects.filter(
        detention_id=custody.detention_id, week_start__gte=week_start(today)
    ).update(facility_id=new_facility_id)

    detention_uuid = str(custody.detention.uuid)
    shared = {
        "detention_uuid": detention_uuid,
        "visitors": [str(u) for _pk, u in visitor_rows],
        "requests": [str(u) for _pk, u, _a in pending_requests],
        "restrictions_moved": restrictions_moved,
        "allowance_counters_moved": counters_moved,
    }
    out_entry = {
        "action": AuditEntry.Action.UPDATE,
        "object_type": "visits.visitorlist",
        "object_id": detention_uuid,
        "object_repr": custody.committal_number,
        "verb": "visitor_list_transfer_out",
        "before": {"facility": custody.facility.code},
        "after": {
            **shared,
            "to_facility": successor.facility.code,
            "custody_uuid": str(custody.uuid),
            "bookings_cancelled": [b.code for b in bookings],
        },
    }
    in_entry = {
        "action": AuditEntry.Action.UPDATE,
        "object_type": "visits.visitorlist",
        "object_id": detention_uuid,
        "object_repr": successor.committal_number,
        "verb": "visitor_list_transfer_in",
        "before": {"facility": custody.facility.code},
        "after": {**shared, "custody_uuid": str(successor.uuid)},
    }
    # The first entries on these chains in the registry's transaction (it writes its own
    # after the signal): lower institution id first, the registry's order.
    for facility_id, entry in sorted(
        [(old_facility_id, out_entry), (new_facility_id, in_entry)], key=lambda e: e[0]
    ):
        audit.record(actor=actor, facility_id=facility_id, **entry)

    online = VisitPolicy.objects.filter(facility_id=new_facility_id, online_booking=True).exists()
    return _tell_families(
        template="change_transferred",
        custody=custody,
        accounts=approved_accounts,
        bookings=bookings,
        context={
            "old_facility": custody.facility,
            "new_facility": successor.facility,
            "online_booking": online,
        },
        facility_id=new_facility_id,
    )


def _close_list(
    *, custody, actor, now, bookings, visitor_rows, pending_requests, approved_accounts
) -> int:
    facility_id = custody.facility_id
    request_ids = [pk for pk, _u, _a in pending_requests]
    VisitorRequest.objects.filter(pk__in=request_ids).update(
        status=RequestStatus.WITHDRAWN,
        decided_at=now,
        decided_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    removed = Visitor.objects.filter(
        pk__in=[pk for pk, _u in visitor_rows], status=VisitorStatus.PENDING
    ).update(status=VisitorStatus.REMOVED, removed_at=now)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="visits.visitorlist",
        object_id=str(custody.detention.uuid),
        object_repr=custody.committal_number,
        facility_id=facility_id,
        verb="visitor_list_closed",
        after={
            "custody_uuid": str(custody.uuid),
            "custody_status": custody.status,
            "bookings_cancelled": [b.code for b in bookings],
            "requests_closed": [str(u) for _pk, u, _a in pending_requests],
            "pending_visitors_removed": removed,
            "approved_visitors_kept": len(visitor_rows) - removed,
        },
    )
    context = {"facility": custody.facility}
    sent = _tell_families(
        template="change_left",
        custody=custody,
        accounts=approved_accounts,
        bookings=bookings,
        context=context,
        facility_id=facility_id,
    )
    # A family still waiting for a decision is told its request is closed, nothing more.
    waiting = {a for _pk, _u, a in pending_requests} - approved_accounts
    for account in FamilyAccount.objects.filter(pk__in=waiting).order_by("pk"):
        notify_family(
            account,
            template="change_request_closed",
            context=context,
            facility_id=facility_id,
            idempotency_key=f"visits:change_request_closed:{custody.uuid}:{account.uuid}",
        )
        sent += 1
    return sent


# -- a restriction on a visitor ----------------------------------------------------------------


def _in_force_on(restriction: VisitorRestriction) -> Q:
    q = Q(session__date__gte=restriction.starts_on)
    if restriction.ends_on:
        q &= Q(session__date__lte=restriction.ends_on)
    return q


def _flag_reason(restriction: VisitorRestriction) -> str:
    """Why the booking is to be reviewed: read by the officer and sent to the family, so
    plain facts only. In the language of the person adding the restriction."""
    name = restriction.visitor.full_name
    if restriction.kind == RestrictionKind.BANNED:
        return gettext("%(name)s is banned from visiting.") % {"name": name}
    if restriction.kind == RestrictionKind.CLOSED_ONLY:
        return gettext("%(name)s may only have closed visits (behind glass).") % {"name": name}
    child = restriction.child.full_name if restriction.child else ""
    return gettext("%(name)s may not visit with %(child)s.") % {"name": name, "child": child}


def visits_on_restriction_added(*, restriction: VisitorRestriction, actor) -> dict:
    """Cancel or flag the future bookings that a new restriction concerns (session date
    within the restriction's dates, booking not under way).

    * ``banned``: a booking on which the visitor is the only adult is cancelled (reason
      ``banned``; the family is told); any other booking naming the visitor is flagged for
      the officer with the reason.
    * ``closed_only``: bookings naming the visitor in a session that is not a closed one are
      flagged.
    * ``not_with_child``: bookings naming both the visitor and the child are flagged.

    A restriction already lifted does nothing. Returns ``{"cancelled": [codes], "flagged":
    [codes]}``.
    """
    result: dict[str, list[str]] = {"cancelled": [], "flagged": []}
    if restriction.lifted_at is not None:
        return result
    with transaction.atomic():
        named = BookingVisitor.objects.filter(booking=OuterRef("pk"), visitor=restriction.visitor)
        bookings = (
            _future_bookings()
            .filter(_in_force_on(restriction), detention_id=restriction.visitor.detention_id)
            .filter(Exists(named))
            .select_related("session")
            .order_by("session__starts_at", "pk")
        )
        if restriction.kind == RestrictionKind.CLOSED_ONLY:
            bookings = bookings.exclude(session__mode=VisitMode.CLOSED)
        elif restriction.kind == RestrictionKind.NOT_WITH_CHILD:
            with_child = BookingVisitor.objects.filter(
                booking=OuterRef("pk"), visitor_id=restriction.child_id
            )
            bookings = bookings.filter(Exists(with_child))
        bookings = list(bookings)
        if not bookings:
            return result
        _lock_sessions_of(bookings)
        reason = _flag_reason(restriction)
        # Whether the visitor counts as an adult on each booking (one query).
        as_adult = dict(
            BookingVisitor.objects.filter(
                booking_id__in=[b.pk for b in bookings], visitor=restriction.visitor
            ).values_list("booking_id", "is_child")
        )
        for booking in bookings:
            only_adult = booking.adults <= 1 and as_adult.get(booking.pk) is False
            if restriction.kind == RestrictionKind.BANNED and only_adult:
                if _cancel(booking, reason=CancelReason.BANNED, actor=actor, notify=True):
                    result["cancelled"].append(booking.code)
            elif _flag(booking, reason=reason, actor=actor):
                result["flagged"].append(booking.code)
    return result


# -- a visitor taken off a list ----------------------------------------------------------------


def _removed_with(visitor: Visitor) -> list[Visitor]:
    """The visitor and, for an adult, the children taken off the list with them (same
    ``removed_at``, as ``lists.visitor_remove`` sets it)."""
    removed = [visitor]
    if visitor.guardian_id is None and visitor.removed_at is not None:
        removed += list(
            Visitor.objects.filter(
                guardian_id=visitor.pk,
                status=VisitorStatus.REMOVED,
                removed_at=visitor.removed_at,
            ).order_by("pk")
        )
    return removed


def visits_on_visitor_removed(*, visitor: Visitor, actor) -> dict:
    """Cancel or flag the future bookings naming a visitor who is no longer on the list
    (``visitor`` already saved as removed or refused; an adult's children removed with them
    count too). Same rule as a ban (``visits_on_restriction_added``):

    * a booking left without an adult (the visitor, or the visitors removed together, were
      its only adults) is cancelled (reason ``staff``: the officer's decision; places and
      allowance given back; the family is told);
    * any other booking naming them is flagged for the officer, with the names.

    Bookings under way or past are left as they are. Returns ``{"cancelled": [codes],
    "flagged": [codes]}``.
    """
    result: dict[str, list[str]] = {"cancelled": [], "flagged": []}
    with transaction.atomic():
        removed = _removed_with(visitor)
        names = {v.pk: v.full_name for v in removed}
        named = BookingVisitor.objects.filter(booking=OuterRef("pk"), visitor_id__in=list(names))
        bookings = list(
            _future_bookings()
            .filter(detention_id=visitor.detention_id)
            .filter(Exists(named))
            .select_related("session")
            .order_by("session__starts_at", "pk")
        )
        if not bookings:
            return result
        _lock_sessions_of(bookings)
        # Who of them is on each booking, and as an adult or a child (one query).
        on_booking: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for booking_id, visitor_id, is_child in (
            BookingVisitor.objects.filter(
                booking_id__in=[b.pk for b in bookings], visitor_id__in=list(names)
            )
            .order_by("pk")
            .values_list("booking_id", "visitor_id", "is_child")
        ):
            on_booking[booking_id].append((visitor_id, is_child))
        for booking in bookings:
            rows = on_booking.get(booking.pk, [])
            adults_removed = sum(1 for _pk, is_child in rows if not is_child)
            if adults_removed and booking.adults <= adults_removed:
                if _cancel(booking, reason=CancelReason.STAFF, actor=actor, notify=True):
                    result["cancelled"].append(booking.code)
                continue
            who = ", ".join(names[pk] for pk, _is_child in rows)
            reason = gettext("%(name)s is no longer on the visitor list.") % {"name": who}
            if _flag(booking, reason=reason, actor=actor):
                result["flagged"].append(booking.code)
    return result


# -- a day without visits ----------------------------------------------------------------------


def visits_on_excluded_date(*, excluded, actor) -> dict:
    """Cancel the sessions of the institution on the excluded days that have not started
    yet (``cancelled_at``, ``cancel_reason`` = the excluded date's reason), then their
    bookings (reason ``excluded_date``; places and allowance given back, families told).

    The sessions are updated first: a booking racing this change waits on the session row
    and then finds it cancelled. Sessions already started or past are left as they are.
    One audit entry per session cancelled, on the institution's chain. Returns
    ``{"sessions": [uuids], "cancelled": [booking codes]}``.
    """
    now = timezone.now()
    with transaction.atomic():
        sessions = list(
            VisitSession.objects.select_for_update()
            .filter(
                facility_id=excluded.facility_id,
                date__gte=excluded.starts_on,
                date__lte=excluded.ends_on,
                cancelled_at__isnull=True,
                starts_at__gt=now,
            )
            .order_by("starts_at", "pk")
        )
        if not sessions:
            return {"sessions": [], "cancelled": []}
        reason = (excluded.reason or "")[:200]
        VisitSession.objects.filter(pk__in=[s.pk for s in sessions]).update(
            cancelled_at=now, cancel_reason=reason
        )
        bookings = list(
            Booking.objects.filter(session_id__in=[s.pk for s in sessions], status__in=CHANGEABLE)
            .select_related("session")
            .order_by("session__starts_at", "pk")
        )
        bookings = [
            b
            for b in bookings
            if _cancel(b, reason=CancelReason.EXCLUDED_DATE, actor=actor, notify=True)
        ]
        for session in sessions:
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=session,
                object_repr=f"{session.date.isoformat()} {session.room_id}",
                facility_id=session.facility_id,
                verb="session_cancel_excluded_date",
                before={"cancelled_at": None, "cancel_reason": ""},
                after={
                    "cancelled_at": now,
                    "cancel_reason": reason,
                    "excluded_date_uuid": str(excluded.uuid),
                    "bookings_cancelled": [b.code for b in bookings if b.session_id == session.pk],
                },
            )
    return {"sessions": [str(s.uuid) for s in sessions], "cancelled": [b.code for b in bookings]}
