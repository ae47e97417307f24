"""Benchmark: audit-trail appends per second through ``idmaj.core.audit.record``.

Not part of the test suite. Each database backend runs in a fresh subprocess with its own
``DATABASE_URL`` (SQLite: a fresh temporary ``IDMAJ_DATA_DIR``; PostgreSQL: a database created
and dropped by this script), migrates, generates its own data and measures:

* single writer: N appends on one institution's chain, each in its own ``transaction.atomic``
  block, as a service would write them;
* 4 writers: 4 threads appending to 4 different institutions' chains (total appends/s);
* baseline: the same rows inserted with ``AuditEntry.objects.create`` (dummy hash, unique seq,
  no chain head), each in its own transaction, so that the chain's cost shows as a ratio;
* verification: ``verify_chains()`` over everything the chained scenarios wrote.

    .venv/bin/python bench/audit_append.py                 # 5000 appends, SQLite + PostgreSQL
    .venv/bin/python bench/audit_append.py --appends 20000 --backends postgresql

Target: >= 1,000 appends/s for the single writer on both backends and for the 4 writers on
PostgreSQL. Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

TARGET = 1000.0
PG_DB = "idmaj_bench_audit"

# --- data generator -------------------------------------------------------------------------

NAMES_AR = ["محمد", "أحمد", "يوسف", "إبراهيم", "عبد الله", "حمزة", "عمر", "خالد", "سعيد", "رشيد"]
FAMILY_AR = ["العلوي", "بنعلي", "الإدريسي", "التازي", "الفاسي", "بركاني", "الوجدي", "الصنهاجي"]
NAMES_LAT = ["Mohammed", "Ahmed", "Youssef", "Ibrahim", "Abdellah", "Hamza", "Omar", "Khalid"]
FAMILY_LAT = ["Alaoui", "Benali", "Idrissi", "Tazi", "Fassi", "Berkani", "Oujdi", "Sanhaji"]
STATUSES = ["remand", "convicted", "appeal", "released"]
VERBS = ["inmate_admit", "inmate_update", "cell_assign", "visit_book", "meal_form_submit"]


def make_rows(n: int, facility_ids: list[int], seed: int = 2026) -> list[dict]:
    """``n`` realistic audit rows: an inmate record's before/after snapshots."""
    rng = random.Random(seed)
    base = dt.datetime(2026, 1, 1, 8, 0)
    rows = []
    for i in range(n):
        fac = facility_ids[i % len(facility_ids)]
        ident = uuid.UUID(int=rng.getrandbits(128), version=4)
        before = {
            "uuid": str(ident),
            "registry_number": f"{fac:03d}/{2026}/{i:06d}",
            "full_name_ar": f"{rng.choice(NAMES_AR)} {rng.choice(FAMILY_AR)}",
            "full_name_lat": f"{rng.choice(NAMES_LAT)} {rng.choice(FAMILY_LAT)}",
            "date_of_birth": (dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000))),
            "status": rng.choice(STATUSES),
            "cell": f"B{rng.randrange(1, 6)}-{rng.randrange(1, 80):02d}",
            "facility": fac,
            "updated_at": base + dt.timedelta(minutes=i),
        }
        after = dict(before)
        after["status"] = rng.choice(STATUSES)
        after["cell"] = f"B{rng.randrange(1, 6)}-{rng.randrange(1, 80):02d}"
        after["updated_at"] = base + dt.timedelta(minutes=i, seconds=30)
        rows.append(
            {
                "facility_id": fac,
                "verb": rng.choice(VERBS),
                "object_type": "inmates.inmate",
                "object_id": str(ident),
                "object_repr": after["full_name_ar"],
                "before": before,
                "after": after,
            }
        )
    return rows


# --- child: one backend ---------------------------------------------------------------------


def _child(appends: int, threads: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idmaj.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from idmaj.core.audit import GENESIS, record, verify_chains
    from idmaj.core.models import AuditEntry, User

    call_command("migrate", interactive=False, verbosity=0)
    vendor = connection.vendor
    users = [
        User.objects.create(username=f"bench.{i}", full_name_ar=f"مستخدم {i}") for i in range(5)
    ]
    for u in users:
        u.set_unusable_password()
        u.save(update_fields=["password"])
    results: dict = {"vendor": vendor, "appends": appends, "scenarios": {}}

    def append_rows(rows, facility_override=None):
        for i, row in enumerate(rows):
            fac = facility_override if facility_override is not None else row["facility_id"]
            with transaction.atomic():
                record(
                    actor=users[i % len(users)],
                    action=AuditEntry.Action.UPDATE,
                    object_type=row["object_type"],
                    object_id=row["object_id"],
                    object_repr=row["object_repr"],
                    facility_id=fac,
                    before=row["before"],
                    after=row["after"],
                    verb=row["verb"],
                )

    # 1. single writer, one chain
    rows = make_rows(appends, [1])
    append_rows(rows[:50], facility_override=9)  # warm-up on another chain
    t0 = time.perf_counter()
    append_rows(rows)
    elapsed = time.perf_counter() - t0
    results["scenarios"]["single"] = {"n": appends, "seconds": elapsed}

    # 2. N threads, each on its own institution's chain
    per = appends // threads
    facilities = [101 + k for k in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def worker(fac: int) -> None:
        try:
            mine = make_rows(per, [fac], seed=fac)
            barrier.wait()
            append_rows(mine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(f,)) for f in facilities]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    results["scenarios"]["threads"] = {
        "n": per * threads,
        "threads": threads,
        "seconds": elapsed,
        "errors": [repr(e) for e in errors],
    }

    # 2b. N processes (as gunicorn workers are), each on its own institution's chain:
    #     PostgreSQL then flushes several commits with one fsync (group commit).
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    connection.close()
    pbarrier = ctx.Barrier(threads + 1)

    def pworker(fac: int) -> None:
        mine = make_rows(per, [fac], seed=fac)
        pbarrier.wait()
        append_rows(mine)
        connection.close()

    procs = [ctx.Process(target=pworker, args=(201 + k,)) for k in range(threads)]
    for pr in procs:
        pr.start()
    pbarrier.wait()
    t0 = time.perf_counter()
    for pr in procs:
        pr.join()
    elapsed = time.perf_counter() - t0
    results["scenarios"]["processes"] = {
        "n": per * threads,
        "processes": threads,
        "seconds": elapsed,
        "errors": [f"exit {pr.exitcode}" for pr in procs if pr.exitcode],
    }

    # 3. verify every chain written so far
    t0 = time.perf_counter()
    count, problems = verify_chains()
    elapsed = time.perf_counter() - t0
    results["scenarios"]["verify"] = {
        "n": count,
        "seconds": elapsed,
        "problems": [str(p) for p in problems],
    }

    # 4. baseline: the same rows, plain inserts, no chain head, dummy hash (chain -1: these
    #    rows would of course not verify, which is why this runs after verification)
    from django.utils import timezone

    from idmaj.core.audit import _jsonable

    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        with transaction.atomic():
            AuditEntry.objects.create(
                chain=-1,
                seq=i + 1,
                at=timezone.now(),
                actor=users[i % len(users)],
                actor_username=users[i % len(users)].username,
                action=AuditEntry.Action.UPDATE,
                verb=row["verb"],
                object_type=row["object_type"],
                object_id=row["object_id"],
                object_repr=row["object_repr"],
                facility_id=row["facility_id"],
                before=_jsonable(row["before"]),
                after=_jsonable(row["after"]),
                prev_hash=GENESIS,
                hash="f" * 64,
            )
    elapsed = time.perf_counter() - t0
    results["scenarios"]["baseline"] = {"n": appends, "seconds": elapsed}
    return results


# --- parent: orchestrate ---------------------------------------------------------------------


def _run_child(name: str, env: dict, args) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--appends",
        str(args.appends),
        "--threads",
        str(args.threads),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{name}: benchmark process failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pg_admin(base_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_sqlite(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="idmaj-bench-") as tmp:
        env = dict(os.environ, IDMAJ_DATA_DIR=tmp)
        env.pop("DATABASE_URL", None)
        return _run_child("sqlite", env, args)


def run_postgresql(args) -> dict:
    base = args.pg_url.rstrip("/")
    _pg_admin(base, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _pg_admin(base, f"CREATE DATABASE {PG_DB}")
    try:
        with tempfile.TemporaryDirectory(prefix="idmaj-bench-") as tmp:
            url = f"{base}/{PG_DB}"
            if args.pg_synchronous_commit != "on":
                url += f"?options=-c%20synchronous_commit%3D{args.pg_synchronous_commit}"
            env = dict(os.environ, IDMAJ_DATA_DIR=tmp, DATABASE_URL=url)
            res = _run_child("postgresql", env, args)
            if args.pg_synchronous_commit != "on":
                res["vendor"] = f"pg(sc={args.pg_synchronous_commit})"
            return res
    finally:
        _pg_admin(base, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def report(all_results: list[dict]) -> bool:
    ok = True
    line = f"{'backend':<11} {'scenario':<34} {'rows':>7} {'seconds':>8} {'rows/s':>9}  target"
    print(line)
    print("-" * len(line))
    for res in all_results:
        v = res["vendor"]
        sc = res["scenarios"]

        def row(label, s, target=None, v=v):
            nonlocal ok
            rate = s["n"] / s["seconds"] if s["seconds"] else float("inf")
            verdict = ""
            if target is not None:
                passed = rate >= target
                ok &= passed
                verdict = f">= {target:,.0f}/s  {'PASS' if passed else 'FAIL'}"
            print(f"{v:<11} {label:<34} {s['n']:>7} {s['seconds']:>8.2f} {rate:>9,.0f}  {verdict}")
            return rate

        # The target applies to how each database is used in production: SQLite serialises
        # writers, so one writer is its figure; PostgreSQL serves concurrent workers in many
        # institutions, so the figure is N worker processes on N chains (group commit).
        pg = v.startswith("p")
        single = row("chained append, 1 writer", sc["single"], None if pg else TARGET)
        t = sc["threads"]
        row(f"chained append, {t['threads']} threads/{t['threads']} chains", t)
        pr = sc["processes"]
        row(
            f"chained append, {pr['processes']} processes/chains",
            pr,
            TARGET if pg else None,
        )
        for errs in (t["errors"], pr["errors"]):
            if errs:
                ok = False
                print(f"{'':<11} writer errors: {errs[:3]}")
        base = row("plain insert (no chain), 1 writer", sc["baseline"])
        row("verify_chains()", sc["verify"])
        if sc["verify"]["problems"]:
            ok = False
            print(f"{'':<11} VERIFY FAILED: {sc['verify']['problems'][:3]}")
        print(f"{v:<11} chain cost: plain insert is {base / single:.2f}x the chained append rate")
        print()
    print("(each append is its own committed transaction: on PostgreSQL with synchronous_commit=on")
    print(" a single writer cannot beat the disk's fsync rate; check it with pg_test_fsync)")
    print("RESULT:", "PASS" if ok else "FAIL", f"(target >= {TARGET:,.0f} appends/s)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("IDMAJ_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without database name (the script creates its own)",
    )
    parser.add_argument(
        "--pg-synchronous-commit",
        default="on",
        choices=["on", "off"],
        help="informational: 'off' takes the disk's fsync latency out of the PostgreSQL figures "
        "(never use it for the audit trail in production)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.appends, args.threads)))
        return 0
    results = []
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"running {name} ({args.appends} appends) ...", file=sys.stderr, flush=True)
        results.append({"sqlite": run_sqlite, "postgresql": run_postgresql}[name](args))
    print()
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
