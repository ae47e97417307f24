"""The ``idmaj`` command.

idmaj demo [--host 127.0.0.1] [--port 8000]   migrate, seed if empty, worker + server
idmaj serve [--host] [--port] [--workers N]   production server (gunicorn)
idmaj seed-demo [--scale demo|national]       demo or national data (idempotent)
idmaj audit verify                            check the audit trail's hash chains
idmaj <any Django management command>         e.g. migrate, createsuperuser, check --deploy
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idmaj.settings")
    import django

    django.setup()


def _manage(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["idmaj", *argv])


def _parse_server_args(argv: list[str], default_port: int = 8000):
    import argparse

    parser = argparse.ArgumentParser(prog="idmaj")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-worker", action="store_true", help="do not start the task worker")
    return parser.parse_args(argv)


def _gunicorn_cmd(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "idmaj.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--access-logfile",
        "-",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
    ]


def _run_children(commands: list[list[str]]) -> int:
    """Run the server (first command) and helpers; stop them all together."""
    procs = [subprocess.Popen(cmd) for cmd in commands]

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        code = procs[0].wait()
    finally:
        stop()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return code


def _worker_cmd() -> list[str]:
    from django.conf import settings

    if getattr(settings, "REDIS_URL", None):
        return [sys.executable, "-m", "idmaj.cli", "rqworker", "default", "--with-scheduler"]
    return [sys.executable, "-m", "idmaj.cli", "db_worker", "--interval", "1", "--no-reload"]


def cmd_demo(argv: list[str]) -> int:
    from django.conf import settings
    from django.core.management import call_command

    args = _parse_server_args(argv)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("sync_roles", verbosity=0)
    call_command("seed_demo", scale="demo", if_empty=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    from idmaj.core.demo import demo_accounts_text

    url = f"http://{args.host}:{args.port}"
    print(f"\nidmaj demo: {url}\n")
    print(demo_accounts_text(settings.DEMO_PASSWORD))
    print("\nStop with Ctrl+C.\n", flush=True)
    commands = [_gunicorn_cmd(args.host, args.port, args.workers or 2, args.threads or 4)]
    if not args.no_worker:
        commands.append(_worker_cmd())
    return _run_children(commands)


def cmd_serve(argv: list[str]) -> int:
    from django.core.management import call_command

    args = _parse_server_args(argv)
    call_command("collectstatic", interactive=False, verbosity=0)
    workers = args.workers or (2 * (os.cpu_count() or 1) + 1)
    commands = [_gunicorn_cmd(args.host, args.port, workers, args.threads or 1)]
    if not args.no_worker:
        commands.append(_worker_cmd())
    return _run_children(commands)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        if not argv:
            return 0
    _setup()
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "demo":
        return cmd_demo(rest)
    if command == "serve":
        return cmd_serve(rest)
    if command == "seed-demo":
        command = "seed_demo"
    _manage([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
