"""Reads of the inmate registry. Whatever depends on who asks takes ``fetched_by`` (or
``user``) and is scoped by ``CustodyPeriod.objects.visible_to`` only."""

from __future__ import annotations

import re
import uuid as uuid_lib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from ..constants import CustodyStatus
from ..models import CustodyPeriod, cin_validator, normalise_cin
from ..names import name_tokens

__all__ = [
    "custody_list",
    "inmate_search",
    "get_custody_for_user_or_404",
    "population_at",
    "moment_of",
]

_COMMITTAL_NUMBER = re.compile(r"^([A-Z][A-Z0-9_]{1,29})-(\d{4})-(\d{1,9})$")


def _base(user) -> QuerySet[CustodyPeriod]:
    return CustodyPeriod.objects.visible_to(user).select_related("person", "facility")


def _committal_number(q: str) -> str | None:
    """``q`` as a committal number, zero-padded ("oujda2-2026-123" → "OUJDA2-2026-000123")."""
    m = _COMMITTAL_NUMBER.match(q.strip().upper())
    if not m:
        return None
    return f"{m.group(1)}-{m.group(2)}-{int(m.group(3)):06d}"


def _cin(q: str) -> str | None:
    cin = normalise_cin(q)
    return cin if cin and cin_validator.regex.match(cin) else None


def _name_filter(tokens: list[str]) -> Q:
    cond = Q()
    for t in tokens:
        cond &= Q(person__name_key_ar__contains=t) | Q(person__name_key_latin__contains=t)
    return cond


def _match(qs: QuerySet[CustodyPeriod], q: str) -> tuple[QuerySet[CustodyPeriod], str | None]:
    """Filter by committal number, CIN or name; the name key when the query is a name."""
    number = _committal_number(q)
    if number:
        return qs.filter(committal_number=number), None
    cin = _cin(q)
    if cin:
        return qs.filter(person__cin=cin), None
    tokens = name_tokens(q)
    if not tokens:
        return qs.none(), None
    return qs.filter(_name_filter(tokens)), " ".join(tokens)


def custody_list(
    *,
    fetched_by,
    facility=None,
    q: str | None = None,
    status: str | None = CustodyStatus.IN_CUSTODY,
) -> QuerySet[CustodyPeriod]:
    """Custody periods the user may see, newest committal first; ``status=None`` for all."""
    qs = _base(fetched_by)
    if facility is not None:
        qs = qs.filter(facility_id=facility.pk)
    if status:
        qs = qs.filter(status=status)
    if q and q.strip():
        qs, _key = _match(qs, q)
    return qs.order_by("-committed_at", "-pk")


def inmate_search(*, fetched_by, q: str, limit: int = 20) -> list[CustodyPeriod]:
    """The one search box: committal number (exact), CIN (exact, any case) or a name in
    either script, forgiving spelling (normalised keys, see ``inmates.names``).

    Name results are ranked: the whole key equal first, then keys starting with it, then
    keys containing every token; within a rank, persons in custody first, then the most
    recent committal. Portable ORM only (``LIKE`` on SQLite and PostgreSQL); a PostgreSQL
    trigram index is a later step.
    """
    if not q or not q.strip():
        return []
    qs, key = _match(_base(fetched_by), q)
    if key is None:
        return list(qs.order_by("-committed_at", "-pk")[:limit])
    exact = Q(person__name_key_ar=key) | Q(person__name_key_latin=key)
    prefix = Q(person__name_key_ar__startswith=key) | Q(person__name_key_latin__startswith=key)
    qs = qs.annotate(
        rank=Case(
            When(exact, then=Value(0)),
            When(prefix, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        current=Case(
            When(status=CustodyStatus.IN_CUSTODY, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
    )
    return list(qs.order_by("rank", "current", "-committed_at", "-pk")[:limit])


def get_custody_for_user_or_404(*, user, uuid) -> CustodyPeriod:
    """One custody period by its UUID: 404 alike for missing, malformed and not yours."""
    try:
        key = uuid if isinstance(uuid, uuid_lib.UUID) else uuid_lib.UUID(str(uuid))
    except ValueError as exc:
        raise Http404 from exc
    obj = _base(user).filter(uuid=key).first()
    if obj is None:
        raise Http404
    return obj


def moment_of(on: date | datetime) -> datetime:
    """A date stands for the end of that day (midnight after it, local time)."""
    if isinstance(on, datetime):
        return on if timezone.is_aware(on) else timezone.make_aware(on)
    return timezone.make_aware(datetime.combine(on + timedelta(days=1), time.min))


def population_at(facility_ids: Iterable[int], on: date | datetime) -> dict[int, int]:
    """How many persons each institution held at a moment (not scoped: counts only).

    ``on`` is an aware datetime, or a date meaning the end of that day: persons committed
    that day count, persons released or transferred out that day do not. Institutions
    without anyone are present with 0. Registered with the facilities capacity pages as
    their population provider (``InmatesConfig.ready``).
    """
    ids = list(facility_ids)
    out = dict.fromkeys(ids, 0)
    if not ids:
        return out
    rows = (
        CustodyPeriod.objects.filter(facility_id__in=ids)
        .in_custody_at(moment_of(on))
        .values("facility_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        out[row["facility_id"]] = row["n"]
    return out
