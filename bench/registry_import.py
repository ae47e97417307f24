"""Benchmark: bulk import of a legacy registry file (``registry_import_validate`` / ``_apply``).

Not part of the test suite. Each backend runs in a fresh subprocess (SQLite: a temporary
``IDMAJ_DATA_DIR``; PostgreSQL: a database created and dropped by this script), migrates,
creates two institutions and four offences, writes a synthetic CSV of N committals (a third
without CIN, 60 % already released, two offences on every other row, names in both scripts)
and measures, with the system as actor:

* the dry run (``registry_import_validate``);
* the import (``registry_import_apply``: it checks the file again, then writes every row);
* the same import again (idempotent: every row is skipped, nothing is written).

    .venv/bin/python bench/registry_import.py                 # 20,000 rows, SQLite + PostgreSQL
    .venv/bin/python bench/registry_import.py --rows 50000 --backends sqlite

Target: the import of 20,000 rows well under a minute (30 s). Exit status 0 when met. The
"cpu s" column is this process's CPU time (not the database server's): on a shared machine it
shows the cost without the waiting.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 30.0
PG_DB = "idmaj_bench_import"

FIRST_AR = ["محمد", "أحمد", "يوسف", "كريم", "عمر", "خالد", "سعيد", "رشيد", "فاطمة", "خديجة"]
FIRST_LA = ["Mohamed", "Ahmed", "Youssef", "Karim", "Omar", "Khalid", "Said", "Rachid"]
FIRST_LA += ["Fatima", "Khadija"]
FAMILY_AR = ["العلوي", "بناني", "الإدريسي", "التازي", "الفاسي", "المرابط", "الزياني", "بنجلون"]
FAMILY_LA = ["Alaoui", "Bennani", "Idrissi", "Tazi", "Fassi", "Mrabet", "Ziani", "Benjelloun"]
# Distinct family names without digits (the name keys fold digits and double letters).
SYL_LA = ["ba", "ke", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu"]
SYL_LA += ["na", "pe", "ri", "so", "tu", "va", "we", "xi", "yo", "zu"]
SYL_AR = ["با", "كي", "دو", "فا", "قو", "ها", "جي", "لو", "مو", "نا"]
SYL_AR += ["بي", "ري", "سو", "تا", "وي", "زو", "شا", "طي", "غو", "صا"]
STATUSES = ["remand", "convicted", "appealing", "prévenu", "condamné", "محكوم عليه"]
HEADER = [
    "legacy_reference",
    "facility",
    "first_name_ar",
    "family_name_ar",
    "father_name_ar",
    "first_name_latin",
    "family_name_latin",
    "birth_date",
    "birth_place",
    "sex",
    "cin",
    "committed_at",
    "committing_authority",
    "court",
    "warrant_reference",
    "case_number",
    "legal_status",
    "offence_codes",
    "released_at",
]


def _suffix(i: int, syllables: list[str]) -> str:
    out = ""
    while True:
        out += syllables[i % 20]
        i //= 20
        if not i:
            return out


def write_file(path: Path, rows: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    now = dt.datetime.now()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(rows):
            k = i % 10
            start = dt.datetime(2015, 1, 1) + dt.timedelta(minutes=rng.randint(0, 9 * 365 * 1440))
            end = start + dt.timedelta(days=rng.randint(1, 700))
            released = end.strftime("%d/%m/%Y %H:%M") if rng.random() < 0.6 and end < now else ""
            w.writerow(
                [
                    f"L{i:07d}",
                    "OUJDA2",
                    FIRST_AR[k],
                    f"{FAMILY_AR[i % 8]} {_suffix(i, SYL_AR)}",
                    "علي",
                    FIRST_LA[k],
                    f"{FAMILY_LA[i % 8]} {_suffix(i, SYL_LA)}",
                    f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "Oujda",
                    "F" if k >= 8 else "M",
                    f"AB{i:06d}" if i % 3 else "",
                    start.strftime("%Y-%m-%d %H:%M"),
                    "Procureur du Roi, TPI Oujda",
                    "TPI Oujda",
                    f"MD-{i}",
                    f"{i}/2020",
                    STATUSES[i % len(STATUSES)],
                    "VOL|ESCR" if i % 2 else "STUP",
                    released,
                ]
            )


# --- child: one backend ------------------------------------------------------------------------


def _child(rows: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idmaj.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    from idmaj.facilities.models import Facility, Region
    from idmaj.inmates.models import Offence
    from idmaj.inmates.services import registry_import_apply, registry_import_validate

    region = Region.objects.create(code="ORIENTAL", name_ar="الشرق", name_fr="Oriental")
    for code in ("OUJDA2", "SALE2"):
        Facility.objects.create(
            code=code,
            name_ar=code,
            name_fr=code,
            kind="local_prison",
            region=region,
            city="Oujda",
        )
    for code in ("VOL", "ESCR", "STUP", "HOM"):
        Offence.objects.create(code=code, name_ar=code, name_fr=code)
    path = Path(os.environ["IDMAJ_DATA_DIR"]) / "registry.csv"
    write_file(path, rows)
    content = path.read_bytes()
    out: dict = {"vendor": connection.vendor, "rows": rows, "bytes": len(content), "runs": {}}
    for label, fn in (
        ("dry run", registry_import_validate),
        ("import", registry_import_apply),
        ("same file again", registry_import_apply),
    ):
        t0, c0 = time.perf_counter(), time.process_time()
        batch = fn(actor=None, file=content, filename=path.name)
        out["runs"][label] = {
            "seconds": time.perf_counter() - t0,
            "cpu": time.process_time() - c0,
            "status": batch.status,
            "created": batch.rows_created,
            "skipped": batch.rows_skipped,
            "issues": len(batch.errors),
        }
    return out


# --- parent: orchestrate ---------------------------------------------------------------------


def _run_child(name: str, env: dict, rows: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--rows", str(rows)]
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
        return _run_child("sqlite", env, args.rows)


def run_postgresql(args) -> dict:
    base = args.pg_url.rstrip("/")
    _pg_admin(base, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _pg_admin(base, f"CREATE DATABASE {PG_DB}")
    try:
        with tempfile.TemporaryDirectory(prefix="idmaj-bench-") as tmp:
            env = dict(os.environ, IDMAJ_DATA_DIR=tmp, DATABASE_URL=f"{base}/{PG_DB}")
            return _run_child("postgresql", env, args.rows)
    finally:
        _pg_admin(base, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("IDMAJ_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without database name (the script creates its own)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.rows)))
        return 0
    ok = True
    line = (
        f"{'backend':<11} {'run':<16} {'rows':>7} {'seconds':>8} {'cpu s':>6} {'rows/s':>8}  result"
    )
    print(line)
    print("-" * len(line))
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"running {name} ({args.rows} rows) ...", file=sys.stderr, flush=True)
        res = {"sqlite": run_sqlite, "postgresql": run_postgresql}[name](args)
        for label, run in res["runs"].items():
            rate = res["rows"] / run["seconds"]
            result = f"{run['status']}: {run['created']} created, {run['skipped']} skipped"
            if run["issues"]:
                result += f", {run['issues']} issues"
            print(
                f"{res['vendor']:<11} {label:<16} {res['rows']:>7} "
                f"{run['seconds']:>8.1f} {run['cpu']:>6.1f} {rate:>8,.0f}  {result}"
            )
        imported = res["runs"]["import"]
        if imported["seconds"] > TARGET_SECONDS * res["rows"] / 20000 or imported["issues"]:
            ok = False
    print("RESULT:", "PASS" if ok else "FAIL", f"(target: 20,000 rows in < {TARGET_SECONDS:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
