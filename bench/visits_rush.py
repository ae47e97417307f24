"""Benchmark: a holiday rush of family bookings on PostgreSQL, through the real HTTP stack.

Not part of the test suite. The script:

1. builds (or reuses) a database ``idmaj_bench_visits`` on the server of ``--pg-url``
   (default ``postgres://postgres@127.0.0.1:5432``, or ``IDMAJ_BENCH_PG_URL``), migrated with
   ``idmaj migrate``, holding its own generated data: the institutions of
   ``facilities/data/ma-prisons.csv`` in their 10 regional directorates (the operating ones
   take visits), a visiting policy per institution (online booking on, 3 visits a week
   whatever the legal status: the benchmark measures places, not allowances), two visit
   rooms, ``--sessions`` (2,000) dated sessions of 8 to 12 visits over days 3 to 20 from
   today; ``--families`` (40,000) prisoners in custody (person, detention, custody period
   in a cell, legal status period), weighted by the institutions' beds, each with one
   family account (active, one Argon2 hash computed once for all), its approved adult
   visitor, children for 30% of them, and a portal API token made directly (so that the
   clients skip the sign-in). Rows go in with ``COPY``; about a minute on 2 cores. The
   database is kept and reused while it holds the same data (``--rebuild`` regenerates;
   sessions are moved to today's window when reused on a later day);
2. **ceiling**: serves ``bench/visits_ceiling_wsgi.py`` (idmaj's WSGI application plus one
   bare endpoint doing only the conditional ``UPDATE`` of a session's counter) with gunicorn
   and exactly the command line of ``idmaj serve`` (``idmaj.cli._gunicorn_cmd``, same
   workers and threads), and drives it with ``--clients`` (200) concurrent clients for
   ``--duration`` (30 s) seconds or until every session is full;
3. **real**: resets the counters, starts ``idmaj serve`` (production profile, debug off, its
   task worker for the notifications: the embedded database queue by default, RQ with
   ``--redis``) and drives it with the same clients: each takes the next family, asks
   ``GET /api/v1/portal/prisoners/<uuid>/sessions/`` once, then books with
   ``POST /api/v1/portal/bookings/``, preferring (70%) the "popular" sessions of the first
   four days of the window, trying another session after ``session_full`` (3 tries),
   booking a second visit 30% of the time, tapping twice 2% of the time (``duplicate``);
4. prints bookings committed per second, p50/p95/p99 of the booking POST, refusals by code,
   errors, the ratio real/ceiling, and checks the database afterwards: sessions holding
   more active bookings than their capacity (must be 0), counters equal to the rows they
   count (sessions and allowances), every 201 a booking row.

    .venv/bin/python bench/visits_rush.py                    # 200 clients, 30 s per phase
    .venv/bin/python bench/visits_rush.py --rebuild --families 20000
    .venv/bin/python bench/visits_rush.py --profile 40      # + queries and cProfile of 40 bookings

Targets: real commits/s at least 40% of the ceiling's, p99 of the booking POST under 250 ms,
no overbooked session, consistent counters. Exit status 0 when all are met.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import os
import platform
import pstats
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DB = "idmaj_bench_visits"
GENERATOR_VERSION = 1
META_KEY = "visits_rush"
TZ = ZoneInfo("Africa/Casablanca")
FIRST_DAY, LAST_DAY = 3, 20  # the sessions' dates: today + 3 .. today + 20
POPULAR_DAYS = 4  # the first four days of the window: the holiday everybody wants
POPULAR_SHARE = 0.7
SECOND_BOOKING = 0.3
DOUBLE_TAP = 0.02
TRIES = 3
TARGET_RATIO = 0.40
TARGET_P99_MS = 250.0
PASSWORD = "Ziyara-bench-2026!"
SLOTS = [(dt.time(9), dt.time(11)), (dt.time(14), dt.time(16)), (dt.time(11), dt.time(13))]
BOOK_PATH = "/api/v1/portal/bookings/"
CEILING_PATH = "/bench/ceiling/book"


def log(msg: str) -> None:
    print(msg, flush=True)


# --- database plumbing -------------------------------------------------------------------------


def _admin(base_url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def server_env(args, data_dir: Path) -> dict[str, str]:
    """The environment of ``idmaj serve`` here: production profile (debug off, persistent
    database connections, secure cookies), rate limits off (every client is 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMAJ_")}
    env.update(
        DATABASE_URL=f"{args.pg_url}/{PG_DB}",
        IDMAJ_DATA_DIR=str(data_dir),
        IDMAJ_PROFILE="production",
        IDMAJ_SECRET_KEY=args.secret_key,
        IDMAJ_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        IDMAJ_PORTAL_RATE_LIMITS="off",
        IDMAJ_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="idmaj.settings",
        PYTHONUNBUFFERED="1",
    )
    if args.redis:
        env["IDMAJ_REDIS_URL"] = args.redis
    return env


def _wanted(args) -> dict:
    return {
        "version": GENERATOR_VERSION,
        "families": args.families,
        "sessions": args.sessions,
        "seed": args.seed,
    }


def _stored_meta(args) -> dict | None:
    """The generator's marker in an existing database (``None``: none there)."""
    import psycopg

    if not _admin(args.pg_url, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'"):
        return None
    with psycopg.connect(f"{args.pg_url}/{PG_DB}", autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('bench_meta')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT value FROM bench_meta WHERE key = %s", [META_KEY]).fetchone()
    return json.loads(row[0]) if row else None


def setup_database(args, env: dict[str, str]) -> None:
    """Create (or keep) the database, migrate it with ``idmaj migrate``, set Django up."""
    meta = _stored_meta(args)
    stale = meta is not None and any(meta.get(k) != v for k, v in _wanted(args).items())
    if args.rebuild or stale:
        if stale:
            log(f"  {PG_DB} holds other data ({meta}): rebuilding it")
        _admin(args.pg_url, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    if not _admin(args.pg_url, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'"):
        _admin(
            args.pg_url,
            f"CREATE DATABASE {PG_DB} TEMPLATE template0 ENCODING 'UTF8' "
            "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'",
        )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "idmaj.cli", "migrate", "--no-input", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    log(f"  idmaj migrate: {time.perf_counter() - t0:.1f} s")
    os.environ.update(env)
    import django

    django.setup()


def _meta_get(cursor) -> dict | None:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
    cursor.execute("SELECT value FROM bench_meta WHERE key = %s", [META_KEY])
    row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def _meta_set(cursor, meta: dict) -> None:
    cursor.execute(
        "INSERT INTO bench_meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [META_KEY, json.dumps(meta)],
    )


def _table(label: str) -> str:
    from django.apps import apps

    return apps.get_model(label)._meta.db_table


def copy_model(model, rows) -> int:
    """``COPY`` dicts of field values into ``model``'s table; fields left out take their
    Python default (``uuid4``, ``auto_now``, ...), as ``Model.save`` would."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    n = 0
    raw = connection.connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for values in rows:
            out = []
            for f in fields:
                if f.attname in values:
                    out.append(values[f.attname])
                elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    out.append(now)
                elif f.has_default():
                    out.append(f.get_default())
                elif f.null:
                    out.append(None)
                else:
                    out.append("")
            copy.write_row(out)
            n += 1
    return n


def _reset_sequences(models) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )


# --- data generator ----------------------------------------------------------------------------


def token_key(seed: int, account_id: int) -> str:
    """The portal token of a family, derived from the seed: a reused database needs no list
    of secrets kept beside it (the table holds only their hashes, as in service)."""
    return hashlib.sha256(f"idmaj-bench-visits:{seed}:{account_id}".encode()).hexdigest()


def _split(total: int, weights: list[int]) -> list[int]:
    s = sum(weights)
    parts = [total * w // s for w in weights]
    order = sorted(
        range(len(weights)), key=lambda i: total * weights[i] / s - parts[i], reverse=True
    )
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def generate(args) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from idmaj.facilities import demo as facility_demo
    from idmaj.facilities.constants import AgeGroup, FacilityStatus, Regime, Sex
    from idmaj.facilities.models import Cell
    from idmaj.inmates import demo_names
    from idmaj.inmates.constants import CustodyStatus, LegalStatus
    from idmaj.inmates.models import CustodyPeriod, Detention, LegalStatusPeriod, Person
    from idmaj.inmates.names import search_key
    from idmaj.visits.constants import (
        AccountStatus,
        DocumentKind,
        RegimeFilter,
        RequestStatus,
        RoomKind,
        VisitMode,
        VisitorStatus,
    )
    from idmaj.visits.models import (
        FamilyAccount,
        PortalToken,
        Visitor,
        VisitorRequest,
        VisitPolicy,
        VisitRoom,
        VisitSession,
    )
    from idmaj.visits.portal_auth import token_hash

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()

    # Institutions, regional directorates, buildings, wings and cells: the facilities seed.
    with transaction.atomic():
        regions = facility_demo.seed_regions()
        rows = facility_demo.load_rows(2020)
        facilities = []
        for row in rows:
            facility = facility_demo.seed_facility(row, regions)[0]
            facility_demo.seed_structure(facility, row, 2020)
            facilities.append((facility, row))
    operating = [(f, r) for f, r in facilities if r.status_now == FacilityStatus.OPERATING]
    log(
        f"  {len(facilities)} institutions in {len(regions)} regional directorates, "
        f"{len(operating)} operating ({time.perf_counter() - t0:.0f} s)"
    )

    # Cells where prisoners of each legal status are housed (adult men; women's wings too).
    housing: dict[int, dict[str, list[int]]] = {}
    for cell_id, fac_id, regime, sex, age in Cell.objects.filter(special_use="").values_list(
        "id", "facility_id", "wing__regime", "wing__sex", "wing__age_group"
    ):
        if age != AgeGroup.ADULT:
            continue
        side = housing.setdefault(fac_id, {"remand": [], "convicted": [], "any": []})
        side["any"].append(cell_id)
        if sex == Sex.MALE and regime in (Regime.REMAND, Regime.MIXED):
            side["remand"].append(cell_id)
        if sex == Sex.MALE and regime in (Regime.CONVICTED, Regime.MIXED):
            side["convicted"].append(cell_id)

    families = args.families
    per_facility = _split(families, [r.beds for _f, r in operating])
    sessions_per = _split(args.sessions, [1] * len(operating))
    pw_hash = make_password(PASSWORD)  # one Argon2 hash for every account
    keys: dict[str, str] = {}

    def key(text: str) -> str:
        if text not in keys:
            keys[text] = search_key(text)[:220]
        return keys[text]

    statuses = [LegalStatus.CONVICTED] * 6 + [LegalStatus.REMAND] * 3 + [LegalStatus.APPEALING]
    persons, detentions, custodies, legal, accounts, requests, visitors, tokens = (
        [] for _ in range(8)
    )
    policies, rooms, sessions = [], [], []
    pid = visitor_id = room_id = session_id = 0
    for (facility, _row), n_prisoners, n_sessions in zip(
        operating, per_facility, sessions_per, strict=True
    ):
        policies.append(
            {
                "facility_id": facility.pk,
                "online_booking": True,
                "book_from_days": 28,
                "book_until_days": 2,
                "change_cutoff_hours": 24,
                "weekly_visits_remand": 3,
                "weekly_visits_convicted": 3,
                "max_adults": 3,
                "max_children": 3,
                "adult_age": 18,
                "max_list_size": 10,
                "walk_ins_allowed": True,
                "rules_ar": "يرجى الحضور قبل موعد الزيارة بثلاثين دقيقة مع بطاقة التعريف الوطنية.",
                "rules_fr": "Présentez-vous 30 minutes avant la visite avec votre CIN.",
                "allowed_items_ar": "",
                "allowed_items_fr": "",
            }
        )
        fac_rooms = []
        for name, kind in (("Parloir A", RoomKind.VISIT_ROOM), ("Parloir B", RoomKind.VISIT_ROOM)):
            room_id += 1
            rooms.append(
                {
                    "id": room_id,
                    "facility_id": facility.pk,
                    "name": name,
                    "kind": kind,
                    "places": 12,
                    "seats": 36,
                    "in_service": True,
                }
            )
            fac_rooms.append(room_id)
        days = LAST_DAY - FIRST_DAY + 1
        for i in range(n_sessions):
            day = today + dt.timedelta(days=FIRST_DAY + i % days)
            slot = i // days
            room = fac_rooms[slot % 2]
            start, end = SLOTS[(slot // 2) % len(SLOTS)]
            capacity = rng.randint(8, 12)
            session_id += 1
            sessions.append(
                {
                    "id": session_id,
                    "facility_id": facility.pk,
                    "room_id": room,
                    "template_id": None,
                    "date": day,
                    "starts_at": dt.datetime.combine(day, start, tzinfo=TZ),
                    "ends_at": dt.datetime.combine(day, end, tzinfo=TZ),
                    "mode": VisitMode.OPEN,
                    "regime": RegimeFilter.ALL,
                    "capacity_visits": capacity,
                    "capacity_visitors": capacity * 3,
                    "booked_visits": 0,
                    "booked_visitors": 0,
                    "extra_visits": 0,
                    "extra_visitors": 0,
                    "cancelled_at": None,
                    "cancel_reason": "",
                }
            )
        cells = housing.get(facility.pk, {"remand": [], "convicted": [], "any": []})
        for n in range(1, n_prisoners + 1):
            pid += 1
            sex = "F" if rng.random() < 0.04 and cells["any"] else "M"
            first_ar, first_lat = rng.choice(
                demo_names.MALE_FIRST_NAMES if sex == "M" else demo_names.FEMALE_FIRST_NAMES
            )
            family_ar, family_lat = rng.choice(demo_names.FAMILY_NAMES)
            father_ar, father_lat = rng.choice(demo_names.MALE_FIRST_NAMES)
            committed = now - dt.timedelta(days=rng.uniform(2, 1500))
            status = rng.choice(statuses)
            side = "remand" if status != LegalStatus.CONVICTED else "convicted"
            pool = (cells[side] if sex == "M" else []) or cells["any"]
            persons.append(
                {
                    "id": pid,
                    "first_name_ar": first_ar,
                    "family_name_ar": family_ar,
                    "father_name_ar": father_ar,
                    "first_name_latin": first_lat,
                    "family_name_latin": family_lat,
                    "father_name_latin": father_lat,
                    "name_key_ar": key(f"{first_ar} {family_ar}"),
                    "name_key_latin": key(f"{first_lat} {family_lat}"),
                    "birth_date": dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(365 * 45)),
                    "sex": sex,
                    "nationality": "MA",
                    "cin": f"BV{pid:07d}",
                    "languages": "ar",
                }
            )
            detentions.append({"id": pid, "person_id": pid, "started_at": committed})
            custodies.append(
                {
                    "id": pid,
                    "person_id": pid,
                    "detention_id": pid,
                    "facility_id": facility.pk,
                    "committal_number": f"{facility.code}-{committed.year}-B{n:06d}",
                    "committed_at": committed,
                    "committing_authority": "Procureur du Roi",
                    "warrant_reference": f"MD-{pid}",
                    "legal_status": status,
                    "status": CustodyStatus.IN_CUSTODY,
                    "released_at": None,
                    "cell_id": rng.choice(pool) if pool else None,
                }
            )
            legal.append(
                {
                    "id": pid,
                    "custody_id": pid,
                    "facility_id": facility.pk,
                    "status": status,
                    "valid_from": committed,
                    "valid_to": None,
                }
            )
            # The family: one account (a parent, a spouse), approved on the list; children.
            first_f, _lat = rng.choice(demo_names.FEMALE_FIRST_NAMES)
            accounts.append(
                {
                    "id": pid,
                    "cin": f"FV{pid:07d}",
                    "first_name": first_f,
                    "family_name": family_ar,
                    "phone": f"+2126{pid:08d}",
                    "email": "",
                    "language": "ar" if rng.random() < 0.8 else "fr",
                    "password": pw_hash,
                    "status": AccountStatus.ACTIVE,
                    "phone_verified_at": now,
                    "last_activity_at": now - dt.timedelta(days=rng.uniform(1, 60)),
                    "purged_at": None,
                }
            )
            relationship = rng.choice(["mother", "spouse", "father", "sibling"])
            requests.append(
                {
                    "id": pid,
                    "account_id": pid,
                    "detention_id": pid,
                    "facility_id": facility.pk,
                    "relationship": relationship,
                    "document_kind": DocumentKind.FAMILY_RECORD,
                    "document": "",
                    "status": RequestStatus.APPROVED,
                    "decided_at": now,
                }
            )
            visitor_id += 1
            adult_id = visitor_id
            visitors.append(
                {
                    "id": adult_id,
                    "detention_id": pid,
                    "facility_id": facility.pk,
                    "request_id": pid,
                    "account_id": pid,
                    "guardian_id": None,
                    "full_name": f"{first_f} {family_ar}",
                    "cin": f"FV{pid:07d}",
                    "birth_date": today - dt.timedelta(days=rng.randrange(365 * 25, 365 * 70)),
                    "relationship": relationship,
                    "status": VisitorStatus.APPROVED,
                    "approved_at": now,
                }
            )
            if rng.random() < 0.3:
                for _ in range(rng.choice((1, 1, 2))):
                    visitor_id += 1
                    child_ar, _lat = rng.choice(demo_names.MALE_FIRST_NAMES)
                    visitors.append(
                        {
                            "id": visitor_id,
                            "detention_id": pid,
                            "facility_id": facility.pk,
                            "request_id": pid,
                            "account_id": None,
                            "guardian_id": adult_id,
                            "full_name": f"{child_ar} {family_ar}",
                            "cin": "",
                            "birth_date": today
                            - dt.timedelta(days=rng.randrange(365 * 3, 365 * 15)),
                            "relationship": "child",
                            "status": VisitorStatus.APPROVED,
                            "approved_at": now,
                        }
                    )
            tokens.append(
                {
                    "id": pid,
                    "account_id": pid,
                    "key_hash": token_hash(token_key(args.seed, pid)),
                    "expires_at": now + dt.timedelta(days=30),
                    "last_used_at": None,
                }
            )
    log(f"  {pid:,} prisoners and families drawn ({time.perf_counter() - t0:.0f} s)")
    loads = [
        (Person, persons),
        (Detention, detentions),
        (CustodyPeriod, custodies),
        (LegalStatusPeriod, legal),
        (FamilyAccount, accounts),
        (VisitorRequest, requests),
        (Visitor, visitors),
        (PortalToken, tokens),
        (VisitPolicy, policies),
        (VisitRoom, rooms),
        (VisitSession, sessions),
    ]
    with transaction.atomic():
        for model, rows_ in loads:
            copy_model(model, rows_)
    _reset_sequences([m for m, _r in loads if m is not VisitPolicy])
    from django.db import connection

    with connection.cursor() as cursor:
        for model, _rows in loads:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    elapsed = time.perf_counter() - t0
    log(
        f"  copied {sum(len(r) for _m, r in loads):,} rows: {pid:,} prisoners, {len(accounts):,} "
        f"families, {len(visitors):,} visitors, {len(sessions):,} sessions, "
        f"{sum(s['capacity_visits'] for s in sessions):,} places ({elapsed:.0f} s)"
    )
    return {
        **_wanted(args),
        "window_from": today.isoformat(),
        "seconds": round(elapsed),
    }


def ensure_data(args) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        meta = _meta_get(cursor)
    if meta is not None:
        log(f"  reusing the data (built in {meta['seconds']} s; --rebuild regenerates)")
    else:
        if _has_rows():
            raise SystemExit(f"{PG_DB} holds data without the generator's marker: --rebuild")
        log(f"  generating {args.families:,} families ...")
        meta = generate(args)
        with connection.cursor() as cursor:
            _meta_set(cursor, meta)
    # Sessions follow today's window; tokens stay valid.
    today = timezone.localdate()
    shift = (today - dt.date.fromisoformat(meta["window_from"])).days
    with transaction.atomic(), connection.cursor() as cursor:
        if shift:
            # Two steps: the partial unique index on (room, starts_at) is checked row by row.
            for days in (shift + 3650, -3650):
                cursor.execute(
                    "UPDATE visits_visitsession SET date = date + %s, "
                    "starts_at = starts_at + make_interval(days => %s), "
                    "ends_at = ends_at + make_interval(days => %s)",
                    [days, days, days],
                )
            meta["window_from"] = today.isoformat()
            _meta_set(cursor, meta)
            log(f"  sessions moved {shift} days forward to today's window")
        cursor.execute("UPDATE visits_portaltoken SET expires_at = now() + interval '30 days'")
    return meta


def _has_rows() -> bool:
    from idmaj.visits.models import VisitSession

    return VisitSession.objects.exists()


def reset_state() -> None:
    """Back to no booking: every place free, no notification queued."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE visits_bookingvisitor, visits_booking, visits_allowancecounter")
        cursor.execute(f"DELETE FROM {_table('core.Notification')}")
        cursor.execute(f"DELETE FROM {_table('django_tasks_database.DBTaskResult')}")
        cursor.execute(
            "UPDATE visits_visitsession SET booked_visits = 0, booked_visitors = 0, "
            "extra_visits = 0, extra_visitors = 0 WHERE booked_visits + booked_visitors "
            "+ extra_visits + extra_visitors > 0"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE visits_visitsession")


# --- what the clients know -------------------------------------------------------------------


@dataclass
class Family:
    token: str
    prisoner: str  # the family's own Visitor uuid: how the portal names the prisoner
    adult: str
    children: list[str]
    facility_id: int


@dataclass
class World:
    families: list[Family]
    sessions_by_facility: dict[int, list[tuple[int, bool]]]  # (id, popular)
    popular_uuids: set[str]
    capacity: int


def load_world(args) -> World:
    from django.utils import timezone

    from idmaj.visits.models import Visitor, VisitSession

    children: dict[int, list[str]] = collections.defaultdict(list)
    adults = []
    for vid, uid, account_id, guardian_id, fac in Visitor.objects.values_list(
        "id", "uuid", "account_id", "guardian_id", "facility_id"
    ).order_by("id"):
        if guardian_id:
            children[guardian_id].append(str(uid))
        elif account_id:
            adults.append((vid, str(uid), account_id, fac))
    families = [
        Family(token_key(args.seed, acc), uid, uid, children.get(vid, []), fac)
        for vid, uid, acc, fac in adults
    ]
    random.Random(args.seed).shuffle(families)
    popular_until = timezone.localdate() + dt.timedelta(days=FIRST_DAY + POPULAR_DAYS - 1)
    by_fac: dict[int, list[tuple[int, bool]]] = collections.defaultdict(list)
    popular_uuids: set[str] = set()
    capacity = 0
    for sid, uid, fac, day, cap in VisitSession.objects.filter(cancelled_at=None).values_list(
        "id", "uuid", "facility_id", "date", "capacity_visits"
    ):
        popular = day <= popular_until
        by_fac[fac].append((sid, popular))
        if popular:
            popular_uuids.add(str(uid))
        capacity += cap
    return World(families, dict(by_fac), popular_uuids, capacity)


# --- a small HTTP/1.1 client (asyncio: 200 connections cost one process, little CPU) ----------


class HttpConn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, *, token: str | None = None, body=None
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            # as the reverse proxy of production says: the client came over HTTPS
            "X-Forwarded-Proto: https",
            "Accept: application/json",
            "Accept-Language: ar",
        ]
        if token:
            head.append(f"Authorization: Portal {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        for _attempt in range(2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.connects += 1
            try:
                self.writer.write(raw)
                await self.writer.drain()
                status, headers, payload = await self._response()
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if fresh:
                    raise
                continue  # a kept-alive connection the server had closed: once more
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, payload
        raise ConnectionError("no answer")

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            payload = b"".join(parts)
        else:
            payload = await self.reader.read()
            headers["connection"] = "close"
        return status, headers, payload


# --- where the CPU goes (Linux /proc) ----------------------------------------------------------

CPU_KINDS = ("server", "task worker", "PostgreSQL", "client", "others")


def cpu_snapshot() -> dict:
    """CPU seconds used so far by each process of the server (gunicorn), the task worker,
    the PostgreSQL backends of this database and this process (the clients), and by the
    whole machine."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    procs: dict[int, tuple[str, float]] = {}
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        if pid == me:
            kind = "client"
        elif "gunicorn" in cmd:
            kind = "server"
        elif "db_worker" in cmd or "rqworker" in cmd:
            kind = "task worker"
        elif cmd.startswith("postgres:") and PG_DB in cmd:
            kind = "PostgreSQL"
        else:
            continue
        procs[pid] = (kind, (int(stat[11]) + int(stat[12])) / tick)
    return {
        "busy": (sum(fields) - fields[3] - fields[4]) / tick,  # all but idle and iowait
        "all": sum(fields) / tick,
        "procs": procs,
    }


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per kind between two snapshots (a process that ended between them is
    not counted: PostgreSQL backends and gunicorn workers live through a phase)."""
    delta = dict.fromkeys(CPU_KINDS, 0.0)
    for pid, (kind, used) in after["procs"].items():
        earlier = before["procs"].get(pid)
        delta[kind] += used - (earlier[1] if earlier and earlier[0] == kind else 0.0)
    delta["machine busy"] = after["busy"] - before["busy"]
    delta["machine all"] = after["all"] - before["all"]
    ours = sum(delta[k] for k in CPU_KINDS if k != "others")
    delta["others"] = max(0.0, delta["machine busy"] - ours)
    return delta


# --- one phase -----------------------------------------------------------------------------


@dataclass
class Stats:
    name: str
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    refusals: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)
    committed: int = 0
    families: int = 0
    nothing_free: int = 0
    elapsed: float = 0.0
    stopped_full: bool = False
    connects: int = 0
    samples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.committed / self.elapsed if self.elapsed else 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def _choose(rng: random.Random, items: list, popular) -> object:
    hot = [x for x in items if popular(x)]
    if hot and rng.random() < POPULAR_SHARE:
        return rng.choice(hot)
    return rng.choice(items)


def _code_of(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return "unreadable"
    if isinstance(data, dict):
        return str(data.get("code") or "no_code")
    return "no_code"


async def run_phase(args, world: World, *, ceiling: bool, host: str, port: int, pg_dsn: str):
    import psycopg

    stats = Stats("ceiling" if ceiling else "real")
    rng = random.Random(args.seed + (1 if ceiling else 2))
    order = itertools.cycle(world.families)
    open_lists = {fac: list(items) for fac, items in world.sessions_by_facility.items()}
    stop = asyncio.Event()

    async def think() -> bool:
        """The client's pause before a request (cut short at the end); False: stop."""
        if args.think_ms:
            try:
                await asyncio.wait_for(stop.wait(), rng.expovariate(1000.0 / args.think_ms))
            except TimeoutError:
                pass
        return not stop.is_set()

    async def post(conn: HttpConn, path: str, token, body) -> tuple[int, bytes]:
        if not await think():
            return -1, b""
        t = time.perf_counter()
        try:
            status, payload = await conn.request("POST", path, token=token, body=body)
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            stats.errors[f"connection: {type(exc).__name__}"] += 1
            return 0, b""
        stats.post_ms.append((time.perf_counter() - t) * 1000)
        stats.statuses[status] += 1
        if status == 201:
            stats.committed += 1
        elif status in (400, 403, 404, 409, 429):
            stats.refusals[f"{status} {_code_of(payload)}"] += 1
        else:
            stats.errors[f"HTTP {status}"] += 1
            if len(stats.samples) < 3:
                stats.samples.append(payload[:300].decode(errors="replace"))
        return status, payload

    async def real_family(conn: HttpConn, fam: Family) -> None:
        if not await think():
            return
        t = time.perf_counter()
        try:
            status, payload = await conn.request(
                "GET", f"/api/v1/portal/prisoners/{fam.prisoner}/sessions/", token=fam.token
            )
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            stats.errors[f"connection: {type(exc).__name__}"] += 1
            return
        stats.get_ms.append((time.perf_counter() - t) * 1000)
        if status != 200:
            stats.errors[f"GET sessions: HTTP {status}"] += 1
            if len(stats.samples) < 3:
                stats.samples.append(payload[:300].decode(errors="replace"))
            return
        data = json.loads(payload)
        listed = data.get("results", []) if isinstance(data, dict) else data
        avail = [s["uuid"] for s in listed if s.get("free_visits", 1) > 0]
        if not avail:
            stats.nothing_free += 1
            return
        booked = tries = 0
        while avail and tries < TRIES and not stop.is_set():
            chosen = _choose(rng, avail, world.popular_uuids.__contains__)
            visitors = [fam.adult] + (fam.children if rng.random() < 0.5 else [])
            body = {"prisoner": fam.prisoner, "session": chosen, "visitors": visitors}
            status, payload = await post(conn, BOOK_PATH, fam.token, body)
            if status == 201:
                booked += 1
                avail.remove(chosen)
                if rng.random() < DOUBLE_TAP:
                    await post(conn, BOOK_PATH, fam.token, body)
                if booked >= 2 or rng.random() >= SECOND_BOOKING:
                    return
                continue
            if status == 409 and _code_of(payload) == "session_full":
                avail.remove(chosen)
                tries += 1
                continue
            return

    async def ceiling_family(conn: HttpConn, fam: Family) -> None:
        avail = open_lists.get(fam.facility_id, [])
        booked = tries = 0
        while avail and tries < TRIES and not stop.is_set():
            chosen = _choose(rng, avail, lambda s: s[1])
            status, _payload = await post(conn, CEILING_PATH, None, {"session": chosen[0]})
            if status == 201:
                booked += 1
                if booked >= 2 or rng.random() >= SECOND_BOOKING:
                    return
                continue
            if status == 409:
                # what the next GET would have told: this session is full
                if chosen in avail:
                    avail.remove(chosen)
                tries += 1
                continue
            return
        if not avail:
            stats.nothing_free += 1

    async def client() -> None:
        conn = HttpConn(host, port)
        try:
            while not stop.is_set():
                fam = next(order)
                stats.families += 1
                if ceiling:
                    await ceiling_family(conn, fam)
                    if not any(open_lists.values()):
                        stats.stopped_full = True  # every session answered 409
                        stop.set()
                else:
                    await real_family(conn, fam)
                await asyncio.sleep(0)  # a family with nothing to book made no request
        finally:
            stats.connects += conn.connects
            conn.close()

    async def monitor(started: float) -> None:
        def free_places() -> int:
            with psycopg.connect(pg_dsn, autocommit=True) as c:
                return c.execute(
                    "SELECT coalesce(sum(capacity_visits - booked_visits), 0) "
                    "FROM visits_visitsession WHERE cancelled_at IS NULL"
                ).fetchone()[0]

        while not stop.is_set():
            await asyncio.sleep(0.5)
            if time.perf_counter() - started >= args.duration:
                stop.set()
            elif await asyncio.to_thread(free_places) == 0:
                stats.stopped_full = True
                stop.set()

    snap = cpu_snapshot()
    started = time.perf_counter()
    tasks = [asyncio.create_task(client()) for _ in range(args.clients)]
    mon = asyncio.create_task(monitor(started))
    await asyncio.gather(*tasks)
    stats.elapsed = time.perf_counter() - started
    stats.cpu = cpu_delta(snap, cpu_snapshot())
    stop.set()
    await mon
    return stats


async def warm_up(args, world: World, *, ceiling: bool, host: str, port: int) -> None:
    """Every worker answers a few requests first (URL resolvers, translations, database
    connection), reading only: no place is taken."""
    conns = [HttpConn(host, port) for _ in range(min(args.clients, 50))]

    async def one(conn: HttpConn, fam: Family) -> None:
        for _ in range(4):
            if ceiling:
                await conn.request("POST", CEILING_PATH, body={"session": 0})
            else:
                await conn.request(
                    "GET", f"/api/v1/portal/prisoners/{fam.prisoner}/sessions/", token=fam.token
                )

    await asyncio.gather(
        *(one(c, world.families[-1 - i]) for i, c in enumerate(conns)), return_exceptions=True
    )
    for c in conns:
        c.close()


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    import http.client

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode}); see its log")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/v1/portal/bookings/", headers={"X-Forwarded-Proto": "https"})
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not answer in time")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def gunicorn_settings(args) -> tuple[int, int]:
    """The workers and threads ``idmaj serve`` runs with (``cmd_serve``): ``--workers`` or
    2 x cores + 1, ``--threads`` or 1 (sync workers)."""
    workers = args.workers or (2 * (os.cpu_count() or 1) + 1)
    return workers, args.threads or 1


def ceiling_cmd(args, port: int) -> list[str]:
    from idmaj.cli import _gunicorn_cmd

    workers, threads = gunicorn_settings(args)
    cmd = _gunicorn_cmd("127.0.0.1", port, workers, threads)
    i = cmd.index("idmaj.wsgi:application")
    cmd[i : i + 1] = ["--pythonpath", str(ROOT / "bench"), "visits_ceiling_wsgi:application"]
    return cmd


def serve_cmd(args, port: int) -> list[str]:
    workers, threads = gunicorn_settings(args)
    cmd = [sys.executable, "-m", "idmaj.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    if args.threads:
        cmd += ["--threads", str(threads)]
    return cmd


def run_server_phase(args, world, env, data_dir: Path, *, ceiling: bool) -> Stats:
    port = free_port()
    cmd = ceiling_cmd(args, port) if ceiling else serve_cmd(args, port)
    logfile = data_dir / f"server-{'ceiling' if ceiling else 'real'}.log"
    with open(logfile, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(port, proc)
            asyncio.run(warm_up(args, world, ceiling=ceiling, host="127.0.0.1", port=port))
            stats = asyncio.run(
                run_phase(
                    args,
                    world,
                    ceiling=ceiling,
                    host="127.0.0.1",
                    port=port,
                    pg_dsn=f"{args.pg_url}/{PG_DB}",
                )
            )
        finally:
            stop_server(proc)
    return stats


# --- checks after the rush ---------------------------------------------------------------------


def db_checks(stats: Stats) -> dict:
    from django.db import connection

    from idmaj.visits.constants import ACTIVE_BOOKING, COUNTED_BOOKING

    active = [str(s) for s in ACTIVE_BOOKING]
    counted = [str(s) for s in COUNTED_BOOKING]
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH b AS (
                SELECT session_id, count(*) AS n, sum(adults + children) AS people
                FROM visits_booking WHERE status = ANY(%s) AND NOT over_capacity GROUP BY session_id
            )
            SELECT
                count(*) FILTER (WHERE coalesce(b.n, 0) > s.capacity_visits),
                count(*) FILTER (WHERE coalesce(b.people, 0) > s.capacity_visitors),
                count(*) FILTER (WHERE coalesce(b.n, 0) <> s.booked_visits
                                    OR coalesce(b.people, 0) <> s.booked_visitors),
                count(*) FILTER (WHERE s.booked_visits = s.capacity_visits),
                count(*), coalesce(sum(b.n), 0)
            FROM visits_visitsession s LEFT JOIN b ON b.session_id = s.id
            """,
            [active],
        )
        (
            out["overbooked"],
            out["over_visitors"],
            out["counter_mismatch"],
            out["full_sessions"],
            out["sessions"],
            out["active_bookings"],
        ) = cursor.fetchone()
        cursor.execute(
            """
            WITH b AS (
                SELECT detention_id, week_start, count(*) AS n FROM visits_booking
                WHERE status = ANY(%s) GROUP BY detention_id, week_start
            )
            SELECT
                count(*) FILTER (WHERE coalesce(a.used, 0) <> coalesce(b.n, 0)),
                count(*) FILTER (WHERE a.used > a.allowance)
            FROM visits_allowancecounter a
            FULL JOIN b ON a.detention_id = b.detention_id AND a.week_start = b.week_start
            """,
            [counted],
        )
        out["allowance_mismatch"], out["allowance_exceeded"] = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM visits_booking bk
            WHERE bk.adults + bk.children <>
                  (SELECT count(*) FROM visits_bookingvisitor v WHERE v.booking_id = bk.id)
            """
        )
        out["visitor_rows_mismatch"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM visits_booking WHERE channel = 'online'")
        out["online_rows"] = cursor.fetchone()[0]
        cursor.execute(f"SELECT status, count(*) FROM {_table('core.Notification')} GROUP BY 1")
        out["notifications"] = dict(cursor.fetchall())
        cursor.execute(
            f"SELECT count(*) FROM {_table('core.AuditEntry')} WHERE object_type = 'visits.booking'"
        )
        out["audit_booking_entries"] = cursor.fetchone()[0]
    out["http_201"] = stats.committed
    return out


# --- profile of the booking path (in this process, Django's test client) ----------------------


def profile_bookings(args, world: World, n: int) -> None:
    """``n`` families ask their sessions and book one, one at a time, in this process
    (Django's test client, the same settings as the server): queries, time in SQL, CPU per
    request; then as many again under cProfile."""
    from django.db import connection
    from django.db.models import F
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from idmaj.visits.models import VisitSession

    rng = random.Random(args.seed + 3)
    client = Client(enforce_csrf_checks=False)
    free = {
        str(u)
        for u in VisitSession.objects.filter(
            booked_visits__lt=F("capacity_visits"), cancelled_at=None
        ).values_list("uuid", flat=True)
    }
    norm = re.compile(r"\b\d+\b|'[^']*'")
    # families from the end of the shuffled list: the rush started from its beginning
    families = world.families[::-1][: 2 * n]
    timed = {"GET": [], "POST": []}  # (queries, sql ms, wall ms, cpu ms)
    statements: collections.Counter = collections.Counter()
    statement_ms: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    one_post: list[tuple[float, str]] = []
    prof = {"GET": cProfile.Profile(), "POST": cProfile.Profile()}

    def call(kind: str, profiled: bool, fn):
        t, c = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as ctx:
            if profiled:
                prof[kind].enable()
            r = fn()
            if profiled:
                prof[kind].disable()
        wall, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        statuses[f"{kind} {r.status_code}"] += 1
        queries = [(float(q["time"]) * 1000, q["sql"]) for q in ctx.captured_queries]
        if not profiled:
            timed[kind].append((len(queries), sum(ms for ms, _q in queries), wall, cpu))
            if kind == "POST":
                for ms, sql in queries:
                    key = norm.sub("?", sql)[:150]
                    statements[key] += 1
                    statement_ms[key] += ms
                if r.status_code == 201 and not one_post:
                    one_post.extend(queries)
        return r

    # the floor of any request through the same middleware and DRF: an anonymous 401
    logging.getLogger("django.request").setLevel(logging.ERROR)
    floor = []
    for _ in range(max(20, n // 2)):
        t = time.perf_counter()
        client.get(BOOK_PATH, secure=True)
        floor.append((time.perf_counter() - t) * 1000)

    for i, fam in enumerate(families):
        profiled = i >= n
        headers = {"HTTP_AUTHORIZATION": f"Portal {fam.token}", "HTTP_ACCEPT_LANGUAGE": "ar"}
        r = call(
            "GET",
            profiled,
            lambda fam=fam, headers=headers: client.get(
                f"/api/v1/portal/prisoners/{fam.prisoner}/sessions/", secure=True, **headers
            ),
        )
        if r.status_code != 200:
            continue
        data = r.json()
        listed = data.get("results", []) if isinstance(data, dict) else data
        avail = [s["uuid"] for s in listed if s["uuid"] in free] or [s["uuid"] for s in listed]
        if not avail:
            statuses["nothing free"] += 1
            continue
        body = json.dumps(
            {
                "prisoner": fam.prisoner,
                "session": rng.choice(avail),
                "visitors": [fam.adult, *fam.children],
            }
        )
        call(
            "POST",
            profiled,
            lambda body=body, headers=headers: client.post(
                BOOK_PATH, data=body, content_type="application/json", secure=True, **headers
            ),
        )

    log(
        f"\nProfile of the booking path: {n} families one at a time in this process (Django's "
        f"test client, production settings), then {n} more under cProfile: {dict(statuses)}"
    )
    log(
        f"  floor: an anonymous request answered 401 by the portal API: "
        f"{statistics.median(floor):.1f} ms (median)"
    )
    for kind, rows in timed.items():
        if not rows:
            continue
        log(
            f"  {kind}: {statistics.median(q for q, *_ in rows):.0f} queries, "
            f"{statistics.median(r[1] for r in rows):.1f} ms in SQL, "
            f"{statistics.median(r[2] for r in rows):.1f} ms wall, "
            f"{statistics.median(r[3] for r in rows):.1f} ms CPU of this process (medians)"
        )
    if one_post:
        log(f"  the {len(one_post)} statements of one booking, in order (ms):")
        for ms, sql in one_post:
            log(f"    {ms:5.1f}  {norm.sub('?', sql)[:140]}")
    log("  statements of the bookings, by total time (times per booking, total ms):")
    bookings = max(1, len(timed["POST"]))
    for key, total in statement_ms.most_common(12):
        log(f"    {statements[key] / bookings:4.1f}x {total:7.1f}  {key[:120]}")
    for kind in ("POST", "GET"):
        for order, count in (("tottime", 25), ("cumulative", 45)):
            out = io.StringIO()
            stats = pstats.Stats(prof[kind], stream=out)
            stats.sort_stats(order).print_stats(count)
            log(f"  cProfile of {kind} ({n} requests), by {order}:")
            started = False
            for line in out.getvalue().splitlines():
                started = started or "ncalls" in line
                if started and line.strip():
                    log(
                        "    "
                        + line.replace(str(ROOT) + "/", "").replace(
                            str(Path(sys.prefix)) + "/lib/python3.11/site-packages/", ""
                        )
                    )


# --- report ------------------------------------------------------------------------------------


def _fmt_ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"p50 {pct(values, 50):.0f} / p95 {pct(values, 95):.0f} / p99 {pct(values, 99):.0f} / "
        f"max {max(values):.0f} ms"
    )


def print_phase(s: Stats) -> None:
    posts = len(s.post_ms)
    requests = posts + len(s.get_ms)
    log(
        f"  {s.elapsed:.1f} s{' (every session full)' if s.stopped_full else ''}, "
        f"{s.families:,} families served, {requests:,} requests ({requests / s.elapsed:.0f}/s), "
        f"{s.connects:,} TCP connections"
    )
    log(f"  bookings committed: {s.committed:,} = {s.rate:.1f}/s")
    log(f"  booking POST ({posts:,}): {_fmt_ms(s.post_ms)}")
    if s.get_ms:
        log(f"  sessions GET ({len(s.get_ms):,}): {_fmt_ms(s.get_ms)}")
    refusals = ", ".join(f"{k} {v:,}" for k, v in s.refusals.most_common()) or "none"
    log(f"  refusals: {refusals}; families finding nothing free: {s.nothing_free:,}")
    errors = ", ".join(f"{k} {v:,}" for k, v in s.errors.most_common()) or "none"
    log(f"  errors: {errors}")
    for sample in s.samples:
        log(f"    e.g. {sample!r}")
    cpu = s.cpu
    cores = cpu["machine all"] / s.elapsed if s.elapsed else 1
    per = "per committed booking, ms: " if s.committed else "seconds: "
    scale = 1000 / s.committed if s.committed else 1
    log(
        f"  CPU {per}"
        + ", ".join(f"{k} {cpu[k] * scale:.1f}" for k in CPU_KINDS)
        + f"; machine busy {cpu['machine busy'] / cpu['machine all']:.0%} of {cores:.0f} cores, "
        f"other processes {cpu['others'] / cpu['machine all']:.0%}"
    )


def machine_facts(args) -> None:
    workers, threads = gunicorn_settings(args)
    load = os.getloadavg()
    pg = _admin(args.pg_url, "SELECT version()")[0][0].split(" on ")[0]
    settings = dict(
        _admin(
            args.pg_url,
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'max_connections', 'fsync')",
        )
    )
    log(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}, Python {platform.python_version()}, {pg} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(settings.items()))})"
    )
    queue = f"RQ on {args.redis}" if args.redis else "the database task queue (db_worker)"
    log(
        f"settings: gunicorn {workers} workers x {threads} thread(s) "
        f"({'gthread' if threads > 1 else 'sync'}, as `idmaj serve`), {args.clients} clients "
        f"({f'pausing {args.think_ms:.0f} ms on average' if args.think_ms else 'no pause'} "
        "before each request), "
        f"{args.duration:.0f} s per phase; IDMAJ_PROFILE=production (debug off, persistent "
        f"connections); IDMAJ_PORTAL_RATE_LIMITS=off (every client comes from 127.0.0.1); "
        f"notifications: 'file' backend through {queue}, the worker running during the rush"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=40_000, help="prisoners, one family each")
    parser.add_argument("--sessions", type=int, default=2_000, help="sessions in the window")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=None, help="default: as idmaj serve")
    parser.add_argument("--threads", type=int, default=None, help="default: as idmaj serve")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of a client before each request (exponential; default none)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--keep", action="store_true", help="keep the rush's bookings and logs")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--no-ceiling", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N bookings")
    parser.add_argument("--redis", default=None, help="IDMAJ_REDIS_URL: RQ instead of the DB queue")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("IDMAJ_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    args.pg_url = args.pg_url.rstrip("/")
    args.secret_key = secrets.token_urlsafe(50)

    data_dir = Path(tempfile.mkdtemp(prefix="idmaj-bench-visits-"))
    env = server_env(args, data_dir)
    ok = True
    try:
        machine_facts(args)
        log(f"database {PG_DB}:")
        setup_database(args, env)
        ensure_data(args)
        if args.generate_only:
            return 0
        reset_state()
        world = load_world(args)
        log(
            f"  {len(world.families):,} families, "
            f"{sum(len(v) for v in world.sessions_by_facility.values()):,} sessions in "
            f"{len(world.sessions_by_facility)} institutions, {world.capacity:,} places; "
            f"popular: {len(world.popular_uuids):,} sessions of the first {POPULAR_DAYS} days"
        )
        ceiling = real = None
        integrity = False
        if not args.no_ceiling:
            log(
                f"\nCeiling: {CEILING_PATH} (bench/visits_ceiling_wsgi.py, one conditional "
                "UPDATE per request), gunicorn as idmaj serve:"
            )
            log("  " + " ".join(ceiling_cmd(args, 0)[2:]).replace(" --bind 127.0.0.1:0", ""))
            ceiling = run_server_phase(args, world, env, data_dir, ceiling=True)
            print_phase(ceiling)
            reset_state()
        if not args.no_real:
            log(f"\nReal: POST {BOOK_PATH} through `idmaj serve`:")
            log("  " + " ".join(serve_cmd(args, 0)[2:]).replace(" --port 0", ""))
            real = run_server_phase(args, world, env, data_dir, ceiling=False)
            print_phase(real)
            checks = db_checks(real)
            log(
                f"  database afterwards: {checks['active_bookings']:,} active bookings "
                f"({checks['online_rows']:,} online rows for {checks['http_201']:,} answers 201), "
                f"{checks['full_sessions']:,} of {checks['sessions']:,} sessions full; "
                f"audit entries on bookings {checks['audit_booking_entries']:,}; "
                f"notifications {checks['notifications']}"
            )
            log(
                f"  overbooked sessions: {checks['overbooked']} (visitors over capacity: "
                f"{checks['over_visitors']}); session counters unlike their rows: "
                f"{checks['counter_mismatch']}; allowance counters unlike their rows: "
                f"{checks['allowance_mismatch']} (over the allowance: "
                f"{checks['allowance_exceeded']}); bookings with a wrong number of visitor "
                f"rows: {checks['visitor_rows_mismatch']}"
            )
            integrity = (
                checks["overbooked"] == 0
                and checks["over_visitors"] == 0
                and checks["counter_mismatch"] == 0
                and checks["allowance_mismatch"] == 0
                and checks["allowance_exceeded"] == 0
                and checks["visitor_rows_mismatch"] == 0
                and checks["online_rows"] == checks["http_201"]
            )
        if args.profile:
            profile_bookings(args, world, args.profile)
        log("\nResult:")
        if real is not None:
            p99 = pct(real.post_ms, 99)
            fails = sum(real.errors.values())
            verdicts = []
            if ceiling is not None:
                ratio = real.rate / ceiling.rate if ceiling.rate else float("nan")
                verdicts.append(
                    (
                        ratio >= TARGET_RATIO,
                        f"real {real.rate:.1f}/s vs ceiling {ceiling.rate:.1f}/s = "
                        f"{ratio:.0%} (target >= {TARGET_RATIO:.0%})",
                    )
                )
            verdicts.append(
                (
                    p99 < TARGET_P99_MS,
                    f"p99 of the booking POST {p99:.0f} ms (target < {TARGET_P99_MS:.0f} ms)",
                )
            )
            verdicts.append((integrity, "no overbooking, counters equal to their rows"))
            verdicts.append((fails == 0, f"no errors ({fails})"))
            for good, text in verdicts:
                log(f"  {'PASS' if good else 'FAIL'}  {text}")
                ok = ok and good
            mean_latency = args.clients / ((len(real.post_ms) + len(real.get_ms)) / real.elapsed)
            mean_latency -= args.think_ms / 1000
            log(
                f"  (Little's law: {args.clients} clients at this rate wait on average clients / "
                f"requests per second - pause = {mean_latency * 1000:.0f} ms per request: "
                "under a closed load the latency is mostly the queue in front of the workers)"
            )
    finally:
        if not args.keep:
            try:
                from django.conf import settings as dj_settings

                if dj_settings.configured and not args.drop:
                    reset_state()
            except Exception as exc:  # noqa: BLE001
                log(f"(could not reset the bookings: {exc})")
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            log(f"kept: the rush's bookings in {PG_DB}, logs and outbox in {data_dir}")
        if args.drop:
            from django.db import connections

            connections.close_all()
            _admin(args.pg_url, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            log(f"dropped {PG_DB}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
