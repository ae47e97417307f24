"""Reads of the registry imports: the institutions where a user may import, and the history
of import batches, scoped by the ``inmates.import`` permission.

A batch is visible to its author, and to the users who may import into its institution
(a batch of several institutions has none: its author and national users see it).
"""

from __future__ import annotations

import uuid as uuid_lib

from django.db.models import Q, QuerySet
from django.http import Http404

from idmaj.core.scoping import access_for
from idmaj.facilities.models import Facility

from ..models import ImportBatch

__all__ = [
    "import_facilities",
    "can_import",
    "import_batch_list",
    "get_import_batch_for_user_or_404",
]

IMPORT_PERM = "inmates.import"


def import_facilities(*, user) -> QuerySet[Facility]:
    """Institutions into which ``user`` may import, by code."""
    ids = access_for(user).perm_facility_ids(IMPORT_PERM)
    qs = Facility.objects.order_by("code")
    return qs if ids is None else qs.filter(pk__in=ids)


def can_import(user) -> bool:
    return access_for(user).perm_facility_ids(IMPORT_PERM) != frozenset()


def import_batch_list(*, fetched_by) -> QuerySet[ImportBatch]:
    """The import batches ``fetched_by`` may see, newest first (``errors`` deferred: it may
    be large; the detail reads it)."""
    ids = access_for(fetched_by).perm_facility_ids(IMPORT_PERM)
    qs = ImportBatch.objects.select_related("facility", "created_by")
    if ids is not None:
        if not ids:
            return qs.none()
        qs = qs.filter(Q(facility_id__in=ids) | Q(created_by=fetched_by))
    return qs.order_by("-created_at", "-pk")


def get_import_batch_for_user_or_404(*, user, uuid) -> ImportBatch:
    """One batch by UUID: 404 alike for missing, malformed and not yours."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    batch = import_batch_list(fetched_by=user).filter(uuid=key).first()
    if batch is None:
        raise Http404
    return batch
