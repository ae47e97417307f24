"""Notifications: rendered in the recipient's language, sent after commit, retried, idempotent."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from idmaj.core import notifications
from idmaj.core.constants import Channel, NotificationStatus
from idmaj.core.models import Notification
from idmaj.core.notifications import DeliveryError, notify, send_now

pytestmark = pytest.mark.django_db

WHEN = dt.date(2026, 1, 15)


def _outbox(settings, kind="sms") -> list[dict]:
    path = settings.NOTIFY_OUTBOX_DIR / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _notify(**kw):
    args = dict(
        channel=Channel.SMS,
        recipient="+212600000001",
        template="account_locked",
        context={"when": WHEN},
    )
    args.update(kw)
    return notify(**args)


def test_rendered_in_the_recipient_language(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ar = _notify(language="ar")
        fr = _notify(language="fr", recipient="+212600000002")
    assert "janvier" in fr.body and "2026" in fr.body  # French month name
    assert "يناير" in ar.body or "جانفي" in ar.body  # Arabic month name
    assert ar.language == "ar" and fr.language == "fr"
    assert ar.body != fr.body


def test_sent_after_commit_to_the_outbox(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        n = _notify(language="fr")
    assert _outbox(settings) == []  # nothing before the commit
    for cb in callbacks:
        cb()
    lines = _outbox(settings)
    assert len(lines) == 1
    assert lines[0]["to"] == "+212600000001" and lines[0]["text"] == n.body
    assert lines[0]["id"] == str(n.uuid) and lines[0]["language"] == "fr"
    n.refresh_from_db()
    assert n.status == NotificationStatus.SENT and n.attempts == 1 and n.sent_at


def test_not_sent_when_the_transaction_rolls_back(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _notify()
            raise RuntimeError("the service failed")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert _outbox(settings) == []


def test_idempotency_key_dedups(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = _notify(idempotency_key="visit:42:reminder")
        b = _notify(idempotency_key="visit:42:reminder")
    assert a.pk == b.pk
    assert Notification.objects.count() == 1
    assert len(_outbox(settings)) == 1


def test_send_now_is_idempotent(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        n = _notify()
    assert send_now(n.pk) == NotificationStatus.SENT
    assert send_now(n.pk) == NotificationStatus.SENT
    assert len(_outbox(settings)) == 1
    n.refresh_from_db()
    assert n.attempts == 1
    assert send_now(987654) == "missing"


def test_failing_backend_retries_later_then_fails(settings, monkeypatch):
    def broken(_n):
        raise DeliveryError("gateway down")

    queued = []
    monkeypatch.setattr(notifications, "deliver", broken)
    monkeypatch.setattr(
        notifications, "enqueue_send", lambda pk, run_after=None: queued.append((pk, run_after))
    )
    settings.TASK_MAX_ATTEMPTS = 3
    n = Notification.objects.create(
        channel=Channel.SMS, recipient="+212600000001", template="x", body="hello"
    )
    previous = timezone.now()
    for attempt in (1, 2):
        status = _send_and_commit(n.pk)
        assert status == NotificationStatus.PENDING
        n.refresh_from_db()
        assert n.attempts == attempt and n.last_error == "gateway down"
        assert len(queued) == attempt
        assert queued[-1][0] == n.pk and queued[-1][1] > previous
        previous = queued[-1][1]
    assert _send_and_commit(n.pk) == NotificationStatus.FAILED
    n.refresh_from_db()
    assert n.status == NotificationStatus.FAILED and n.attempts == 3
    assert len(queued) == 2  # no retry after the last attempt
    assert _outbox(settings) == []


_capture = None


@pytest.fixture(autouse=True)
def _keep_capture(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield


def _send_and_commit(pk):
    with _capture(execute=True):
        return send_now(pk)


def test_backend_without_defer_leaves_the_retry_pending(settings, monkeypatch):
    """The immediate backend cannot defer: no storm of instant retries, the row stays pending."""
    monkeypatch.setattr(
        notifications, "deliver", lambda n: (_ for _ in ()).throw(DeliveryError("x"))
    )
    with _capture(execute=True):
        n = _notify()
    n.refresh_from_db()
    assert n.status == NotificationStatus.PENDING and n.attempts == 1


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_http_backend_to_a_closed_port_fails_and_stays_pending(settings):
    settings.NOTIFY_SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{_closed_port()}/sms"
    with _capture(execute=True):
        n = _notify()
    n.refresh_from_db()
    assert n.status == NotificationStatus.PENDING
    assert n.attempts == 1 and n.last_error


def test_http_backend_posts_json_to_the_gateway(settings):
    received = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.append(
                (self.path, self.headers["Authorization"], json.loads(self.rfile.read(length)))
            )
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.NOTIFY_SMS_BACKEND = "http"
        settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_address[1]}/sms"
        settings.SMS_GATEWAY_TOKEN = "s3cret"
        with _capture(execute=True):
            n = _notify(language="fr")
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 1
    path, auth, body = received[0]
    assert path == "/sms" and auth == "Bearer s3cret"
    assert body == {
        "to": "+212600000001",
        "from": settings.SMS_SENDER,
        "text": n.body,
        "reference": str(n.uuid),
    }
    n.refresh_from_db()
    assert n.status == NotificationStatus.SENT


def test_email_subject_is_the_first_line(settings, tmp_path):
    (tmp_path / "notifications").mkdir()
    (tmp_path / "notifications" / "hello.txt").write_text("Subject line\nBody {{ name }}\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    with _capture(execute=True):
        n = notify(
            channel=Channel.EMAIL,
            recipient="a@example.org",
            template="hello",
            context={"name": "Amina"},
        )
    assert n.subject == "Subject line" and n.body == "Body Amina"
    assert _outbox(settings, "email")[0]["subject"] == "Subject line"


@pytest.mark.django_db(transaction=True)
def test_database_queue_and_worker(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    with transaction.atomic():
        n = _notify()
        # written with the message, in the same transaction (test_notifications_queue.py)
        assert DBTaskResult.objects.count() == 1
    assert DBTaskResult.objects.count() == 1
    assert _outbox(settings) == []
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    lines = _outbox(settings)
    assert len(lines) == 1 and lines[0]["id"] == str(n.uuid)
    n.refresh_from_db()
    assert n.status == NotificationStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_database_queue_retry_is_deferred(settings, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    monkeypatch.setattr(
        notifications, "deliver", lambda n: (_ for _ in ()).throw(DeliveryError("x"))
    )
    with transaction.atomic():
        n = _notify()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    n.refresh_from_db()
    assert n.status == NotificationStatus.PENDING and n.attempts == 1
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after is not None and retry.run_after > timezone.now()
