"""Retention of the family portal's personal data (``docs/visits-privacy.md``).

``visits_purge`` erases the personal data of family accounts left unused for
``settings.VISITS_RETENTION_MONTHS`` months, and the names on visitor lists that are only
history. Bookings stay, without anyone's name, for the statistics (visits per channel, per
month, per institution). Run it nightly (``idmaj visits_purge``, or the task
``visits.retention_tasks.visits_purge_task``).
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from idmaj.core import audit
from idmaj.core.models import AuditEntry
from idmaj.core.notifications import notifications_purge
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CustodyPeriod, Detention

from ..constants import ACTIVE_BOOKING, AccountStatus, RequestStatus, VisitorStatus
from ..models import (
    Booking,
    BookingVisitor,
    FamilyAccount,
    PhoneCode,
    PortalToken,
    Visitor,
    VisitorRequest,
    VisitorRestriction,
)

__all__ = ["visits_purge", "retention_cutoff"]

logger = logging.getLogger(__name__)


def retention_cutoff(now: datetime, months: int) -> datetime:
    """``now`` minus ``months`` calendar months (the day clamped to the month's length)."""
    month_index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(now.day, calendar.monthrange(year, month)[1])
    return now.replace(year=year, month=month, day=day)


def _upcoming_booking(now: datetime, account_ref) -> Q:
    """An active booking still to come that the account made or is named on."""
    active = Booking.objects.filter(status__in=ACTIVE_BOOKING, session__ends_at__gt=now)
    named = BookingVisitor.objects.filter(
        booking__status__in=ACTIVE_BOOKING,
        booking__session__ends_at__gt=now,
        visitor__account=account_ref,
    )
    return Exists(active.filter(account=account_ref)) | Exists(named)


def _dormant_accounts(now: datetime, cutoff: datetime):
    return (
        FamilyAccount.objects.exclude(status=AccountStatus.PURGED)
        .annotate(last_seen=Coalesce("last_activity_at", "created_at"))
        .filter(last_seen__lt=cutoff)
        .exclude(_upcoming_booking(now, OuterRef("pk")))
    )


def _in_custody() -> Exists:
    return Exists(
        CustodyPeriod.objects.filter(
            detention_id=OuterRef("detention_id"), status=CustodyStatus.IN_CUSTODY
        )
    )


def _restriction_in_force(today) -> Exists:
    return Exists(
        VisitorRestriction.objects.filter(visitor_id=OuterRef("pk"), lifted_at__isnull=True).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today)
        )
    )


def _not_erased() -> Q:
    return ~Q(full_name="") | ~Q(cin="") | Q(birth_date__isnull=False)


def _account_visitors(account_id: int):
    """The visitor entries an account stands for: its own, its children, its requests'."""
    return Visitor.objects.filter(
        Q(account_id=account_id)
        | Q(guardian__account_id=account_id)
        | Q(request__account_id=account_id)
    )


def _erasable(visitors, today):
    """Entries whose names may go: not approved on the list of someone still in custody, and
    under no restriction still in force (a ban must still recognise the person)."""
    return (
        visitors.filter(_not_erased())
        .exclude(Q(status=VisitorStatus.APPROVED) & _in_custody())
        .exclude(_restriction_in_force(today))
    )


def _erase_visitors(visitor_ids: list[int], now: datetime) -> None:
    Visitor.objects.filter(pk__in=visitor_ids).update(full_name="", cin="", birth_date=None)
    Visitor.objects.filter(pk__in=visitor_ids, status=VisitorStatus.PENDING).update(
        status=VisitorStatus.REMOVED, removed_at=now
    )
    # The reasons of ended restrictions describe the person: they go with the name.
    VisitorRestriction.objects.filter(visitor_id__in=visitor_ids).update(reason="")


def _clear_requests(requests, now: datetime) -> list[str]:
    """Clear the requests' documents and notes; returns the files to delete after commit."""
    files = [name for name in requests.exclude(document="").values_list("document", flat=True)]
    requests.filter(status=RequestStatus.PENDING).update(
        status=RequestStatus.WITHDRAWN, decided_at=now
    )
    requests.update(document="", document_type="", refusal_reason="")
    return files


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # pragma: no cover - logged, the next run cannot see it any more
            logger.exception("visits purge: could not delete %s", name)


def _purge_account(account_id: int, *, now: datetime, cutoff: datetime) -> dict | None:
    """Purge one account in its own transaction; ``None`` if it is no longer due (it came
    back meanwhile)."""
    today = timezone.localdate(now)
    with transaction.atomic():
        account = (
            _dormant_accounts(now, cutoff).select_for_update(of=("self",)).filter(pk=account_id)
        ).first()
        if account is None:
            return None
        erasable = list(
            _erasable(_account_visitors(account.pk), today).values_list("pk", flat=True)
        )
        _erase_visitors(erasable, now)
        files = _clear_requests(VisitorRequest.objects.filter(account_id=account.pk), now)
        codes, _ = PhoneCode.objects.filter(account_id=account.pk).delete()
        tokens, _ = PortalToken.objects.filter(account_id=account.pk).delete()
        FamilyAccount.objects.filter(pk=account.pk).update(
            cin="",
            first_name="",
            family_name="",
            phone="",
            email="",
            password=make_password(None),
            status=AccountStatus.PURGED,
            purged_at=now,
        )
        uuid = str(account.uuid)
        audit.record(
            actor=None,
            action=AuditEntry.Action.UPDATE,
            object_type="visits.familyaccount",
            object_id=uuid,
            object_repr=uuid,
            facility_id=None,  # the national chain: an account is no institution's
            verb="family_account_purge",
            after={
                "family_account": uuid,
                "status": AccountStatus.PURGED,
                "visitors_erased": len(erasable),
                "documents_deleted": len(files),
            },
        )
        transaction.on_commit(lambda: _delete_files(files))
    return {"visitors": len(erasable), "documents": len(files), "codes": codes, "tokens": tokens}


def _history_lists(cutoff: datetime, today):
    """Entries on the lists of detentions that ended (release, escape, death) before the
    cut-off, whatever the family's own activity: these lists are history only."""
    return _erasable(Visitor.objects.filter(detention__ended_at__lt=cutoff), today)


def _history_requests(cutoff: datetime):
    """Requests about those detentions still holding a document or a note."""
    return VisitorRequest.objects.filter(detention__ended_at__lt=cutoff).filter(
        ~Q(document="") | ~Q(refusal_reason="")
    )


def _purge_history(*, now: datetime, cutoff: datetime) -> tuple[int, int]:
    """Erase the history lists, one institution's chain and transaction at a time."""
    today = timezone.localdate(now)
    per_facility: dict[int, set[int]] = defaultdict(set)
    for qs in (_history_lists(cutoff, today), _history_requests(cutoff)):
        for facility_id, detention_id in qs.values_list("facility_id", "detention_id"):
            per_facility[facility_id].add(detention_id)
    erased = documents = 0
    for facility_id in sorted(per_facility):
        detentions = sorted(per_facility[facility_id])
        with transaction.atomic():
            ids = list(
                _history_lists(cutoff, today)
                .filter(facility_id=facility_id, detention_id__in=detentions)
                .select_for_update(of=("self",))
                .values_list("pk", flat=True)
            )
            _erase_visitors(ids, now)
            files = _clear_requests(
                _history_requests(cutoff).filter(
                    facility_id=facility_id, detention_id__in=detentions
                ),
                now,
            )
            audit.record(
                actor=None,
                action=AuditEntry.Action.UPDATE,
                object_type="visits.visitorlist",
                facility_id=facility_id,
                verb="visitor_list_purge",
                after={
                    "detentions": sorted(
                        str(u)
                        for u in Detention.objects.filter(pk__in=detentions).values_list(
                            "uuid", flat=True
                        )
                    ),
                    "visitors_erased": len(ids),
                    "documents_deleted": len(files),
                },
            )
            transaction.on_commit(lambda files=files: _delete_files(files))
            erased += len(ids)
            documents += len(files)
    return erased, documents


def visits_purge(
    *, now: datetime | None = None, months: int | None = None, dry_run: bool = False
) -> dict:
    """Erase what the retention period no longer allows keeping.

    1. Family accounts without activity (``last_activity_at``, else ``created_at``) for
       ``months`` months (default ``settings.VISITS_RETENTION_MONTHS``) and without an active
       booking still to come (made by them or naming them): identity card number, names,
       phone, e-mail erased, password unusable, status ``purged``; their one-time codes and
       API tokens deleted; their requests' documents deleted from storage (after commit) and
       the requests' notes cleared (pending ones withdrawn); their visitor entries (their own,
       their children's) lose name, identity card number and birth date, except an entry
       still approved on the list of a prisoner in custody, or under a restriction in force.
    2. Visitor lists of detentions that ended before the cut-off: names erased the same way.
    3. Messages sent through the notification service (SMS, e-mail) before the cut-off:
       recipient and text erased (``core.notifications.notifications_purge``).

    Bookings are kept (channel, dates, counts of adults and children, institution) with
    their links to the now anonymous rows. The audit trail gets one national-chain entry
    per purged account holding its UUID only, and one entry per institution for the
    history lists. ``dry_run`` counts without changing anything.
    """
    now = now or timezone.now()
    months = settings.VISITS_RETENTION_MONTHS if months is None else int(months)
    if months < 1:
        raise ValueError("the retention period is at least one month")
    cutoff = retention_cutoff(now, months)
    today = timezone.localdate(now)
    result = {
        "dry_run": dry_run,
        "months": months,
        "cutoff": cutoff.isoformat(),
        "accounts": 0,
        "visitors": 0,
        "documents": 0,
        "codes": 0,
        "tokens": 0,
        "history_visitors": 0,
        "history_documents": 0,
        "messages": notifications_purge(before=cutoff, dry_run=True),
    }
    account_ids = list(_dormant_accounts(now, cutoff).order_by("pk").values_list("pk", flat=True))
    if dry_run:
        result["accounts"] = len(account_ids)
        visitors = Visitor.objects.filter(
            Q(account_id__in=account_ids)
            | Q(guardian__account_id__in=account_ids)
            | Q(request__account_id__in=account_ids)
        )
        result["visitors"] = _erasable(visitors, today).count()
        result["documents"] = (
            VisitorRequest.objects.filter(account_id__in=account_ids).exclude(document="").count()
        )
        result["codes"] = PhoneCode.objects.filter(account_id__in=account_ids).count()
        result["tokens"] = PortalToken.objects.filter(account_id__in=account_ids).count()
        history = _history_lists(cutoff, today).exclude(pk__in=visitors.values("pk"))
        result["history_visitors"] = history.count()
        result["history_documents"] = (
            _history_requests(cutoff)
            .exclude(account_id__in=account_ids)
            .exclude(document="")
            .count()
        )
        return result
    for account_id in account_ids:
        done = _purge_account(account_id, now=now, cutoff=cutoff)
        if done is None:
            continue
        result["accounts"] += 1
        for key in ("visitors", "documents", "codes", "tokens"):
            result[key] += done[key]
    result["history_visitors"], result["history_documents"] = _purge_history(now=now, cutoff=cutoff)
    result["messages"] = notifications_purge(before=cutoff)
    return result
