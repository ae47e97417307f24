"""Reads of the core domain that depend on who asks."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import AuditEntry
from .scoping import access_for


def audit_entry_list(
    *,
    fetched_by,
    actor: str = "",
    facility_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """The audit trail as the user may read it: auditors see the institutions they cover."""
    access = access_for(fetched_by)
    ids = access.perm_facility_ids("audit.view")
    if ids is not None and not ids:
        raise Http404
    qs = AuditEntry.objects.all()
    if ids is not None:
        qs = qs.filter(facility_id__in=ids)
    if actor:
        qs = qs.filter(Q(actor_username__iexact=actor))
    if facility_id:
        qs = qs.filter(facility_id=facility_id)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs.order_by("-at", "-id")


def record_history(*, fetched_by, object_type: str, object_id: str) -> list[dict]:
    """Who changed which field when, for one record (read from the audit trail).

    The caller has already fetched the record through its domain's scoped helper, so the
    history is that record's and needs no further scoping.
    """
    from .audit import changed_fields

    entries = AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id))
    out = []
    for e in entries.exclude(action=AuditEntry.Action.READ).order_by("at", "id"):
        out.append({"entry": e, "changes": changed_fields(e.before, e.after)})
    return out
