"""The audit trail: append-only, hash-chained, written in the caller's transaction.

Each entry belongs to a chain (its institution's id, or 0 for national records). An entry's
``hash`` is the SHA-256 of its canonical content, which includes ``prev_hash``, the hash of
the entry before it in the same chain. Changing, deleting or inserting an entry breaks the
chain at that point; ``verify_chains`` finds the first break (``idmaj audit verify``).

Appending locks the head row of one chain only, so that two institutions never wait for each
other. Call ``record`` inside the service's ``transaction.atomic`` block: the entry commits
or rolls back with the change it describes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEntry

NATIONAL_CHAIN = 0
GENESIS = "0" * 64
_HEAD = AuditChainHead._meta.db_table
# The entry is inserted with one plain statement: the ORM's per-instance work was most of an
# append's cost (see bench/audit_append.py).
_INSERT_FIELDS = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
_INSERT_SQL = "INSERT INTO {} ({}) VALUES ({}) RETURNING id".format(
    AuditEntry._meta.db_table,
    ", ".join(f.column for f in _INSERT_FIELDS),
    ", ".join(["%s"] * len(_INSERT_FIELDS)),
)


# PostgreSQL: two statements per append instead of three (see ``_append_postgresql``).
_PG_TAKE_SEQ = (
    f"UPDATE {_HEAD} SET last_seq = last_seq + 1 WHERE chain = %s RETURNING last_seq, last_hash"
)
_PG_INSERT_AND_MOVE = (
    f"WITH e AS ({_INSERT_SQL}), h AS (UPDATE {_HEAD} SET last_hash = %s WHERE chain = %s RETURNING 1) "
    "SELECT id FROM e"
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The values of a model's concrete fields, ready for ``before``/``after``."""
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if fields is not None and f.name not in fields and f.attname not in fields:
            continue
        out[f.name] = _jsonable(getattr(obj, f.attname))
    return out


def _canonical(entry: AuditEntry) -> bytes:
    payload = {
        "chain": entry.chain,
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor_id,
        "actor_username": entry.actor_username,
        "action": entry.action,
        "verb": entry.verb,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "facility_id": entry.facility_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    facility_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    verb: str = "",
) -> AuditEntry:
    """Append one entry to the trail, in the current transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "uuid", None) or obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if facility_id is None:
            facility_id = getattr(obj, "facility_id", None)
    chain = facility_id or NATIONAL_CHAIN
    user = actor if getattr(actor, "is_authenticated", False) else None
    # No savepoint: the entry lives and dies with the caller's transaction (or its own one
    # when called outside any). Plain SQL on the head row keeps the locked section short:
    # lock the head of this institution's chain, insert the entry, move the head.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            entry = _append_postgresql(cursor, chain)
        else:
            entry = _append_portable(cursor, chain)
        _fill(entry, user, actor, action, verb, object_type, object_id, object_repr, facility_id)
        entry.before = _jsonable(before) if before is not None else None
        entry.after = _jsonable(after) if after is not None else None
        entry.hash = compute_hash(entry)
        values = _insert_values(entry)
        if connection.vendor == "postgresql":
            # One round trip: insert the entry and move the head (already locked above).
            cursor.execute(_PG_INSERT_AND_MOVE, [*values, entry.hash, chain])
        else:
            cursor.execute(_INSERT_SQL, values)
        entry.pk = cursor.fetchone()[0]
        entry._state.adding = False
        if connection.vendor != "postgresql":
            cursor.execute(
                f"UPDATE {_HEAD} SET last_seq = %s, last_hash = %s WHERE chain = %s",
                [entry.seq, entry.hash, chain],
            )
    return entry


def _append_portable(cursor, chain: int) -> AuditEntry:
    """Lock the head of ``chain`` (``SELECT ... FOR UPDATE`` where supported; SQLite's
    IMMEDIATE transactions already hold the write lock) and prepare the next entry."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(f"SELECT last_seq, last_hash FROM {_HEAD} WHERE chain = %s{lock}", [chain])
    row = cursor.fetchone()
    if row is None:
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain)], ignore_conflicts=True)
        cursor.execute(f"SELECT last_seq, last_hash FROM {_HEAD} WHERE chain = %s{lock}", [chain])
        row = cursor.fetchone()
    last_seq, last_hash = row
    return AuditEntry(chain=chain, seq=last_seq + 1, prev_hash=last_hash)


def _append_postgresql(cursor, chain: int) -> AuditEntry:
    """Take the next sequence number of ``chain`` and lock its head in one statement: the
    UPDATE holds the row lock until the caller's transaction ends, and returns the previous
    entry's hash (not yet moved)."""
    cursor.execute(_PG_TAKE_SEQ, [chain])
    row = cursor.fetchone()
    if row is None:
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain)], ignore_conflicts=True)
        cursor.execute(_PG_TAKE_SEQ, [chain])
        row = cursor.fetchone()
    seq, last_hash = row
    return AuditEntry(chain=chain, seq=seq, prev_hash=last_hash)


def _fill(entry, user, actor, action, verb, object_type, object_id, object_repr, facility_id):
    entry.at = timezone.now()
    entry.actor = user
    entry.actor_username = (user.get_username() if user else str(actor or ""))[:150]
    entry.action = action
    entry.verb = verb[:80]
    entry.object_type = object_type[:80]
    entry.object_id = str(object_id)[:64]
    entry.object_repr = object_repr[:200]
    entry.facility_id = facility_id


def _insert_values(entry: AuditEntry) -> list:
    ops = connection.ops
    return [
        ops.adapt_json_value(getattr(entry, f.attname), None)
        if f.attname in ("before", "after") and getattr(entry, f.attname) is not None
        else ops.adapt_datetimefield_value(entry.at)
        if f.attname == "at"
        else getattr(entry, f.attname)
        for f in _INSERT_FIELDS
    ]


def record_read(
    *, actor, obj: models.Model, facility_id: int | None = None, verb: str = ""
) -> AuditEntry:
    """Record that ``actor`` read a sensitive record (medical, biometric, family data)."""
    return record(
        actor=actor, action=AuditEntry.Action.READ, obj=obj, facility_id=facility_id, verb=verb
    )


def changed_fields(before: dict | None, after: dict | None) -> list[tuple[str, Any, Any]]:
    """Field by field differences between two snapshots, for record history pages."""
    before = before or {}
    after = after or {}
    keys = [k for k in after if before.get(k) != after.get(k)]
    keys += [k for k in before if k not in after]
    return [(k, before.get(k), after.get(k)) for k in keys]


@dataclass
class ChainProblem:
    chain: int
    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        ident = f"id {self.entry_id}" if self.entry_id is not None else "missing"
        return f"chain {self.chain}, entry {self.seq} ({ident}): {self.reason}"


def _iter_chain(chain: int, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = list(AuditEntry.objects.filter(chain=chain, seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(chain: int) -> ChainProblem | None:
    """Walk one chain from its start; the first broken entry, or None when intact."""
    prev_hash = GENESIS
    expected_seq = 1
    for entry in _iter_chain(chain):
        if entry.seq != expected_seq:
            return ChainProblem(
                chain, expected_seq, None, f"entry missing (next present is {entry.seq}): deleted"
            )
        if entry.prev_hash != prev_hash:
            return ChainProblem(
                chain,
                entry.seq,
                entry.pk,
                "previous-hash link broken: an entry was deleted or inserted before it",
            )
        if compute_hash(entry) != entry.hash:
            return ChainProblem(
                chain, entry.seq, entry.pk, "content does not match its hash: changed"
            )
        prev_hash = entry.hash
        expected_seq += 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        return ChainProblem(
            chain,
            expected_seq - 1 if head.last_seq < expected_seq else expected_seq,
            None,
            f"chain ends at {expected_seq - 1} but its head says {head.last_seq}: "
            "entries deleted at the end or inserted",
        )
    return None


def verify_chains() -> tuple[int, list[ChainProblem]]:
    """Verify every chain; returns (entries checked, problems, first per chain)."""
    chains = set(AuditChainHead.objects.values_list("chain", flat=True))
    chains |= set(AuditEntry.objects.values_list("chain", flat=True).distinct())
    problems = []
    for chain in sorted(chains):
        problem = verify_chain(chain)
        if problem:
            problems.append(problem)
    return AuditEntry.objects.count(), problems
