"""The ceiling of ``bench/visits_rush.py``: idmaj's WSGI application plus one bare endpoint.

``POST /bench/ceiling/book`` with the body ``{"session": <id>}`` does only what no booking can
do without: one conditional UPDATE of the session's counter, in its own transaction, through
Django's database connection (the same settings, the same persistent connections as the real
requests), and answers ``201`` when a place was taken or ``409`` when the session was full.
No authentication, no middleware, no audit entry, no notification: the rate it reaches on the
same server settings is what the real ``POST /api/v1/portal/bookings/`` is compared with.

Every other path goes to idmaj's own application, unchanged. Served by ``visits_rush.py`` with
gunicorn and exactly the worker settings of ``idmaj serve`` (``idmaj.cli._gunicorn_cmd``)::

    gunicorn --pythonpath bench visits_ceiling_wsgi:application ...
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idmaj.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402

idmaj_application = get_wsgi_application()

PATH = "/bench/ceiling/book"
_SQL = (
    "UPDATE visits_visitsession SET booked_visits = booked_visits + 1 "
    "WHERE id = %s AND booked_visits < capacity_visits"
)


def _answer(start_response, status: str, payload: dict) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def book(environ, start_response) -> list[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        session_id = int(json.loads(environ["wsgi.input"].read(length))["session"])
    except (ValueError, KeyError, TypeError):
        return _answer(start_response, "400 Bad Request", {"code": "invalid"})
    # As Django's handler does around each request (request_started / request_finished):
    # persistent connections are reused up to CONN_MAX_AGE and closed when broken.
    close_old_connections()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_SQL, [session_id])
            taken = cursor.rowcount == 1
    finally:
        close_old_connections()
    if taken:
        return _answer(start_response, "201 Created", {"session": session_id})
    return _answer(start_response, "409 Conflict", {"code": "session_full"})


def application(environ, start_response):
    if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST":
        return book(environ, start_response)
    return idmaj_application(environ, start_response)
