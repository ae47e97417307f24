"""Reads of the inmate registry. Whatever depends on who asks takes ``fetched_by`` (or
``user``) and is scoped by ``CustodyPeriod.objects.visible_to`` only.

The search box (``inmate_search``) stays fast over a national registry (a million persons,
``bench/registry_search.py``) on PostgreSQL and gives the same results on SQLite, where the
same portable queries run as scans:

* a query holding a digit is an identifier, each an exact, indexed look-up: committal
  number, CIN, then the legacy system's reference of an imported record;
* a name is normalised into tokens (``inmates.names``), each matched against the key of its
  own script. Results are ranked in tiers — the whole key equal (the tokens in any order),
  the key starting with the query, every token starting a word, every token anywhere —
  then persons in custody first, then the latest committal;
* the tiers answered by the b-tree index of the keys (the first two), then those answered
  by the trigram indexes (the last two) are fetched together, at most ``CANDIDATE_CAP``
  persons: when there are no more, their periods are ranked in one query on
  ``person_id``. A tier of more persons (a common name: "Mohamed", "Alaoui") is not
  ranked as a whole: a national user's search walks the custody periods in ranking order
  (in custody first, latest committal first) on a committal-date index and stops at
  ``limit``; an institution's officer walks the ``WALK_BUDGET`` latest periods in custody
  of their institutions, and only when these do not hold ``limit`` results are the
  persons' periods there ranked as a whole. The scope is a condition of every query;
* on PostgreSQL only, a query whose tokens find nothing at all is retried with the closest
  spellings on file for the tokens that match no key (``pg_trgm`` similarity): a typo
  ("Alauoi", "Benkiren") still finds the person, ranked like any other result.
"""

from __future__ import annotations

import re
import uuid as uuid_lib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby, permutations

from django.db import OperationalError, connection, transaction
from django.db.models import Case, Count, IntegerField, Lookup, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from idmaj.core.scoping import access_for

from ..constants import CustodyStatus
from ..models import CustodyPeriod, Person, cin_validator, normalise_cin
from ..names import fold_digits, is_arabic, name_tokens

__all__ = [
    "custody_list",
    "inmate_search",
    "get_custody_for_user_or_404",
    "population_at",
    "moment_of",
]

_COMMITTAL_NUMBER = re.compile(r"^([A-Z][A-Z0-9_]{1,29})-(\d{4})-(\d{1,9})$")

#: Above this many matching persons a tier walks the custody periods in ranking order
#: instead of ranking the periods of every matching person (see the module docstring).
CANDIDATE_CAP = 2000
#: Fuzzy matching (PostgreSQL): tokens this long at least; how much of the token a key
#: must hold to be looked at (``pg_trgm`` word similarity, 0..1: the index answers it);
#: how close a word of such a key must then be (similarity: a letter dropped or two
#: swapped in a short name is about 0.35); how many close words are tried per token.
FUZZY_MIN_LENGTH = 4
FUZZY_CANDIDATE_THRESHOLD = 0.35
FUZZY_THRESHOLD = 0.34
FUZZY_ALTERNATIVES = 4
FUZZY_TIMEOUT_MS = 200
#: Persons sampled for close words (bounds the cost of a typo in a common name).
FUZZY_SAMPLE = 1000
#: A user who sees some institutions only: how many of their latest periods in custody a
#: walk reads before the persons' periods are ranked as a whole instead.
WALK_BUDGET = 2000

_COLUMNS = {"ar": "name_key_ar", "latin": "name_key_latin"}


def _base(user) -> QuerySet[CustodyPeriod]:
    return CustodyPeriod.objects.visible_to(user).select_related("person", "facility")


def _committal_number(q: str) -> str | None:
    """``q`` as a committal number, zero-padded ("oujda2-2026-123" → "OUJDA2-2026-000123")."""
    m = _COMMITTAL_NUMBER.match(fold_digits(q).strip().upper())
    if not m:
        return None
    return f"{m.group(1)}-{m.group(2)}-{int(m.group(3)):06d}"


def _cin(q: str) -> str | None:
    cin = normalise_cin(fold_digits(q))
    return cin if cin and cin_validator.regex.match(cin) else None


def _legacy_reference(q: str) -> str | None:
    """``q`` as typed, when it may be a legacy system's reference (it holds a digit)."""
    text = fold_digits(q).strip()
    if not text or len(text) > 60 or not any(c.isdigit() for c in text):
        return None
    return text


def _column(token: str) -> str:
    return _COLUMNS["ar" if is_arabic(token) else "latin"]


def _ordered(qs: QuerySet[CustodyPeriod]) -> QuerySet[CustodyPeriod]:
    """In custody first (``released_at`` is empty exactly while in custody), then the
    latest committal."""
    return qs.annotate(
        current=Case(
            When(released_at__isnull=True, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("current", "-committed_at", "-pk")


def _prefixed(cond: Q, prefix: str) -> Q:
    """The same condition on a relation: ``Q(name_key_ar=x)`` → ``Q(person__name_key_ar=x)``."""
    children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        for child in cond.children
    ]
    return Q(*children, _connector=cond.connector, _negated=cond.negated)


# -- name conditions ---------------------------------------------------------------------------
class WordStart(Lookup):
    """``name_key_latin__word_start="muh"``: a word of the key starts with the value
    (``' ' || key LIKE '% muh%'``). Written on an expression, not on the column, so that
    PostgreSQL checks it on the rows the trigram index found for ``__contains`` instead of
    reading the huge posting lists of the trigrams that start a word ("  m", " mu")."""

    lookup_name = "word_start"
    prepare_rhs = False

    def as_sql(self, compiler, conn):
        lhs, params = self.process_lhs(compiler, conn)
        pattern = f"% {conn.ops.prep_for_like_query(self.rhs)}%"
        return f"(' ' || {lhs}) LIKE %s ESCAPE '\\'", [*params, pattern]


for _name in _COLUMNS.values():
    Person._meta.get_field(_name).register_lookup(WordStart)


class AnyOf(Lookup):
    """``person__any_of=[ids]``: like ``__in``, sent to PostgreSQL as one array
    (``= ANY(%s)``): a list of two thousand persons costs one parameter, not two thousand
    to compose and plan."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, conn):
        lhs, params = self.process_lhs(compiler, conn)
        values = list(self.rhs)
        if conn.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        if not values:
            return "1 = 0", params
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


CustodyPeriod._meta.get_field("person").register_lookup(AnyOf)


@dataclass(frozen=True)
class _Match:
    """One condition on the key of one script, in SQL (``q``) and in Python (``test``), the
    two meaning exactly the same: ``in`` (the key is one of ``values``), ``prefix`` (the
    key starts with the value), ``word`` (a word of the key starts with it), ``contains``."""

    mode: str
    column: str
    values: tuple[str, ...]

    def q(self, *, walk: bool = False) -> Q:
        """The condition; ``walk``: for testing persons one by one during a walk, in the
        plain ``LIKE`` form whose selectivity PostgreSQL estimates well (a walk is chosen
        for a large tier: an estimate far too low would send the planner to the index)."""
        col, value = self.column, self.values[0]
        if self.mode == "in":
            return Q(**{f"{col}__in": list(self.values)})
        if self.mode == "prefix":
            return Q(**{f"{col}__startswith": value})
        if self.mode == "word" and (walk or len(value) < 3):
            return Q(**{f"{col}__startswith": value}) | Q(**{f"{col}__contains": f" {value}"})
        if self.mode == "word":  # the index finds the value, the filter its place
            return Q(**{f"{col}__contains": value, f"{col}__{WordStart.lookup_name}": value})
        return Q(**{f"{col}__contains": value})

    def test(self, keys: dict[str, str]) -> bool:
        key, value = keys[self.column], self.values[0]
        if self.mode == "in":
            return key in self.values
        if self.mode == "prefix":
            return key.startswith(value)
        if self.mode == "word":
            return key.startswith(value) or f" {value}" in key
        return value in key


@dataclass(frozen=True)
class _Tier:
    """A rank of the results: persons whose keys meet every clause (a clause is met by any
    of its matches). ``index`` tells which index answers it (``btree`` on the whole key,
    ``trigram`` for words inside it): consecutive tiers of one kind are fetched together."""

    clauses: tuple[tuple[_Match, ...], ...]
    index: str

    def q(self, *, walk: bool = False) -> Q:
        out = Q()
        for clause in self.clauses:
            alternatives = Q()
            for match in clause:
                alternatives |= match.q(walk=walk)
            out &= alternatives
        return out

    def test(self, keys: dict[str, str]) -> bool:
        return all(any(m.test(keys) for m in clause) for clause in self.clauses)


def _anywhere(token: str) -> _Match:
    """The token anywhere in a key; a token shorter than a trigram starts a word (so that
    the trigram index still answers, and "ab" does not match every "...ab...")."""
    return _Match("contains" if len(token) >= 3 else "word", _column(token), (token,))


def _name_tiers(tokens: list[str]) -> list[_Tier]:
    """The ranking tiers of a name query, best first: the whole key equal (the tokens in
    any order), the key starting with the query, every token starting a word, every token
    anywhere. A query mixing both scripts has the last two only."""
    tiers = []
    if len({is_arabic(t) for t in tokens}) == 1:
        col = _column(tokens[0])
        key = " ".join(tokens)
        keys = sorted({" ".join(p) for p in permutations(tokens)}) if len(tokens) <= 3 else [key]
        tiers.append(_Tier(((_Match("in", col, tuple(keys)),),), "btree"))
        tiers.append(_Tier(((_Match("prefix", col, (key,)),),), "btree"))
    tiers.append(_Tier(tuple((_Match("word", _column(t), (t,)),) for t in tokens), "trigram"))
    tiers.append(_Tier(tuple((_anywhere(t),) for t in tokens), "trigram"))
    return tiers


def _any(tiers: Iterable[_Tier], *, walk: bool = False) -> Q:
    out = Q()
    for t in tiers:
        out |= t.q(walk=walk)
    return out


# -- ranking -----------------------------------------------------------------------------------
@contextmanager
def _serial_plans():
    """On PostgreSQL, plan without parallel workers and without JIT compilation: a walk
    stops after a few rows, and the workers of a parallel scan read ahead for nothing. The
    settings are local to the transaction (restored on the way out when it is an outer
    one's)."""
    if connection.vendor != "postgresql":
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_parallel_workers_per_gather'), current_setting('jit'), "
            "set_config('max_parallel_workers_per_gather', '0', true), "
            "set_config('jit', 'off', true)"
        )
        workers, jit = cursor.fetchone()[:2]
        try:
            yield
        finally:
            if nested:
                cursor.execute(
                    "SELECT set_config('max_parallel_workers_per_gather', %s, true), "
                    "set_config('jit', %s, true)",
                    [workers, jit],
                )


def _ids(qs: QuerySet[CustodyPeriod], need: int) -> list[int]:
    return list(qs.values_list("pk", flat=True)[:need])


def _walk(qs: QuerySet[CustodyPeriod], cond: Q, need: int) -> list[int]:
    """The periods of many persons in ranking order, stopping at ``need``: in custody
    first, then the others, each walking a committal-date index from the latest (for a
    national user: the trigram indexes are not read at all)."""
    cond = _prefixed(cond, "person__")
    order = ("-committed_at", "-pk")
    found = _ids(qs.filter(cond, released_at__isnull=True).order_by(*order), need)
    if len(found) < need:
        closed = qs.filter(cond, released_at__isnull=False).order_by(*order)
        found += _ids(closed, need - len(found))
    return found


def _scoped_many(qs: QuerySet[CustodyPeriod], cond: Q, need: int) -> list[int]:
    """The periods of many persons for a user who sees some institutions only: a walk of
    the ``WALK_BUDGET`` latest periods in custody there answers a common name; otherwise
    the persons' periods in scope are ranked as a whole, in a query without an index order
    to follow (the planner then weighs the persons found by the name indexes against the
    institutions' periods, instead of hoping to meet ``limit`` results early in a walk)."""
    open_qs = qs.filter(released_at__isnull=True)
    latest = list(
        open_qs.order_by("-committed_at").values_list("committed_at", flat=True)[
            WALK_BUDGET - 1 : WALK_BUDGET
        ]
    )
    window = open_qs.filter(committed_at__gte=latest[0]) if latest else open_qs
    walked = _ids(window.filter(_prefixed(cond, "person__")).order_by("-committed_at", "-pk"), need)
    if len(walked) >= need:
        return walked
    persons = Person.objects.filter(cond).values("pk")
    if latest:
        rest = qs.filter(person_id__in=persons)
    else:  # every period in custody was walked: only the others remain
        rest = qs.filter(person_id__in=persons, released_at__isnull=False)
        need -= len(walked)
    found = _ids(_ordered(rest), need)
    return found if latest else walked + found


def _keys(person: tuple[int, str, str]) -> dict[str, str]:
    return {"name_key_ar": person[1], "name_key_latin": person[2]}


def _rank_persons(qs, tiers: list[_Tier], persons, need: int) -> list[int]:
    """The periods of a few persons (``(pk, key_ar, key_latin)``), ranked by their tier
    (found here in Python, from the keys), then in custody first, then latest first."""
    by_rank: dict[int, list[int]] = {}
    for person in persons:
        keys = _keys(person)
        rank = next((i for i, t in enumerate(tiers) if t.test(keys)), len(tiers))
        pk = person[0]
        by_rank.setdefault(rank, []).append(pk)
    rank = Case(
        *[When(person__any_of=ids, then=Value(r)) for r, ids in sorted(by_rank.items())],
        default=Value(len(tiers)),
        output_field=IntegerField(),
    )
    found = _ordered(qs.filter(person__any_of=[p[0] for p in persons]).annotate(rank=rank))
    return _ids(found.order_by("rank", "current", "-committed_at", "-pk"), need)


def _ranked(
    qs: QuerySet[CustodyPeriod], tiers: list[_Tier], limit: int, *, national: bool
) -> list[CustodyPeriod]:
    """Up to ``limit`` custody periods of ``qs`` whose person is in one of ``tiers``,
    ranked by the first tier met, then in custody first, then the latest committal.

    Consecutive tiers answered by one index are fetched together: when they hold at most
    ``CANDIDATE_CAP`` persons, their periods are ranked in one query. Otherwise each tier on
    its own: a tier of few persons likewise, a tier of many persons (a common name) by a walk
    of the periods in ranking order that stops at ``limit`` (``_walk``)."""
    chosen: list[int] = []
    done: list[_Tier] = []
    groups = [list(g) for _k, g in groupby(tiers, key=lambda t: t.index)]
    for group in groups:
        need = limit - len(chosen)
        if need <= 0:
            break
        cond = _any(group) & ~_any(done) if done else _any(group)
        persons = list(
            Person.objects.filter(cond).values_list("pk", "name_key_ar", "name_key_latin")[
                : CANDIDATE_CAP + 1
            ]
        )
        if len(persons) <= CANDIDATE_CAP:
            if persons:
                chosen += _rank_persons(qs, group, persons, need)
            done += group
            continue
        for i, tier in enumerate(group):
            need = limit - len(chosen)
            if need <= 0:
                break
            cond = tier.q() & ~_any(done) if done else tier.q()
            walk_cond = tier.q(walk=True) & ~_any(done, walk=True) if done else tier.q(walk=True)
            done.append(tier)
            if i == 0 and all(tier.test(_keys(p)) for p in persons):
                many = True  # every person of the sample is in this tier: it is large
            else:
                ids = list(
                    Person.objects.filter(cond).values_list("pk", flat=True)[: CANDIDATE_CAP + 1]
                )
                if not ids:
                    continue
                many = len(ids) > CANDIDATE_CAP
                if not many:
                    chosen += _ids(_ordered(qs.filter(person__any_of=ids)), need)
            if many:
                with _serial_plans():
                    chosen += (_walk if national else _scoped_many)(qs, walk_cond, need)
    rows = qs.in_bulk(chosen)
    return [rows[pk] for pk in chosen if pk in rows]


# -- fuzzy (PostgreSQL) ------------------------------------------------------------------------
_EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM inmates_person WHERE {col} LIKE %s)"
_CLOSE_WORDS_SQL = """
    SELECT w, similarity(w, %(t)s) AS s
    FROM (
        SELECT DISTINCT unnest(string_to_array(k, ' ')) AS w
        FROM (
            SELECT {col} AS k FROM inmates_person WHERE %(t)s <%% {col} {also} LIMIT {sample}
        ) AS candidates
    ) AS words
    WHERE similarity(w, %(t)s) >= %(threshold)s
    ORDER BY s DESC, w
    LIMIT {alternatives}
"""


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _known(cursor, token: str) -> bool:
    """Whether some key holds ``token``: first at the start of a key (the b-tree index
    answers a common first name at once), then anywhere (the trigram index)."""
    col, escaped = _column(token), _like_escape(token)
    for pattern in (f"{escaped}%", f"%{escaped}%"):
        cursor.execute(_EXISTS_SQL.format(col=col), [pattern])
        if cursor.fetchone()[0]:
            return True
    return False


def _close_words(tokens: list[str]) -> dict[str, list[str]]:
    """For each token that matches no key at all, the closest words in the keys of its
    script (best first), with PostgreSQL's ``pg_trgm``, among the persons whose keys hold
    the query's other tokens. Best effort: the look-up has ``FUZZY_TIMEOUT_MS`` (a typo
    in a word made of very common trigrams may find nothing in that time); the settings
    are local to its transaction."""
    out: dict[str, list[str]] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true), "
                "set_config('statement_timeout', %s, true)",
                [str(FUZZY_CANDIDATE_THRESHOLD), str(FUZZY_TIMEOUT_MS)],
            )
            unique = list(dict.fromkeys(tokens))
            known = {t for t in unique if len(t) < FUZZY_MIN_LENGTH or _known(cursor, t)}
            for token in unique:
                if token in known:
                    continue
                col = _column(token)
                params = {"t": token, "threshold": FUZZY_THRESHOLD}
                also = ""
                for i, other in enumerate(t for t in known if _column(t) == col):
                    params[f"o{i}"] = f"%{_like_escape(other)}%"
                    also += f" AND {col} LIKE %(o{i})s"
                sql = _CLOSE_WORDS_SQL.format(
                    col=col, also=also, sample=FUZZY_SAMPLE, alternatives=FUZZY_ALTERNATIVES
                )
                cursor.execute(sql, params)
                words = [w for w, _s in cursor.fetchall() if w != token]
                if words:
                    out[token] = words
    except OperationalError:  # statement timeout: no suggestion
        return {}
    return out


def _fuzzy_tiers(tokens: list[str], close: dict[str, list[str]]) -> list[_Tier]:
    """One tier per close word of the first unmatched token (closest first); the other
    unmatched tokens may take any of their close words."""
    first = next(t for t in tokens if t in close)

    def clause(token: str, choice: str) -> tuple[_Match, ...]:
        if token == first:
            return (_anywhere(choice),)
        if token in close:
            return tuple(_anywhere(w) for w in close[token])
        return (_anywhere(token),)

    return [_Tier(tuple(clause(t, word) for t in tokens), "trigram") for word in close[first]]


# -- public ------------------------------------------------------------------------------------
def _identifier_match(qs: QuerySet[CustodyPeriod], q: str) -> QuerySet[CustodyPeriod] | None:
    """``q`` as a committal number or a CIN: the filtered queryset, or None."""
    number = _committal_number(q)
    if number:
        return qs.filter(committal_number=number)
    cin = _cin(q)
    if cin:
        return qs.filter(person__cin=cin)
    return None


def _name_match(qs: QuerySet[CustodyPeriod], q: str) -> QuerySet[CustodyPeriod]:
    tokens = name_tokens(q)
    if not tokens:
        return qs.none()
    return qs.filter(_prefixed(_name_tiers(tokens)[-1].q(), "person__"))


def custody_list(
    *,
    fetched_by,
    facility=None,
    q: str | None = None,
    status: str | None = CustodyStatus.IN_CUSTODY,
) -> QuerySet[CustodyPeriod]:
    """Custody periods the user may see, newest committal first; ``status=None`` for all.

    ``q`` filters (without ranking) by committal number, CIN, legacy reference or a name
    (every token anywhere in the key of its script); see ``inmate_search`` for the ranked
    search box."""
    qs = _base(fetched_by)
    if facility is not None:
        qs = qs.filter(facility_id=facility.pk)
    if status:
        qs = qs.filter(status=status)
    if q and q.strip():
        matched = _identifier_match(qs, q)
        if matched is None and (legacy := _legacy_reference(q)):
            matched = qs.filter(legacy_reference=legacy).exclude(legacy_reference="")
        qs = matched if matched is not None else _name_match(qs, q)
    return qs.order_by("-committed_at", "-pk")


def inmate_search(*, fetched_by, q: str, limit: int = 20) -> list[CustodyPeriod]:
    """The one search box: committal number, CIN or legacy reference (exact, any case,
    Arabic-Indic digits allowed) or a name in either script, forgiving spelling
    (``inmates.names``) and, on PostgreSQL, typos.

    Identifiers first: the periods they name, in custody first, latest committal first.
    Names are ranked: the whole key equal (tokens in any order), the key starting with the
    query, every token starting a word, every token anywhere, then (PostgreSQL, only when
    nothing else matched) close spellings; within a rank, persons in custody first, then the
    most recent committal. Scoped by ``CustodyPeriod.objects.visible_to``.
    """
    if not q or not q.strip() or limit < 1:
        return []
    qs = _base(fetched_by)
    matched = _identifier_match(qs, q)
    if matched is not None:
        found = list(_ordered(matched)[:limit])
        if found:
            return found
    legacy = _legacy_reference(q)
    if legacy:  # a digit: an identifier, never a name
        return list(
            _ordered(qs.filter(legacy_reference=legacy).exclude(legacy_reference=""))[:limit]
        )
    tokens = name_tokens(q)
    if not tokens:
        return []
    access = access_for(fetched_by)
    national = access.facility_ids() is None and access.perm_facility_ids("inmates.view") is None
    found = _ranked(qs, _name_tiers(tokens), limit, national=national)
    if found or connection.vendor != "postgresql":
        return found
    close = _close_words(tokens)
    if not close:
        return []
    return _ranked(qs, _fuzzy_tiers(tokens, close), limit, national=national)


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
