"""One notification service for SMS and e-mail, used by every domain.

``notify(...)`` renders the message in the recipient's language, stores it and enqueues
``tasks.send_notification``: with the database queue in the caller's transaction (the job
commits with the message), with another queue once the caller's transaction commits. The job is idempotent
(a sent notification is never sent again) and retried with back-off on failure.

Backends (settings ``NOTIFY_SMS_BACKEND`` / ``NOTIFY_EMAIL_BACKEND``):

* ``file``: one JSON line per message in ``IDMAJ_DATA_DIR/outbox/{sms,email}.jsonl``;
* ``http``: POST ``{"to", "from", "text"}`` to ``IDMAJ_SMS_GATEWAY_URL`` (SMS only);
* ``smtp``: Django's e-mail with the ``IDMAJ_SMTP_*`` settings (e-mail only).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .constants import Channel, NotificationStatus
from .models import Notification

logger = logging.getLogger(__name__)
_outbox_lock = threading.Lock()


def notify(
    *,
    channel: str,
    recipient: str,
    template: str,
    context: dict[str, Any] | None = None,
    language: str = "ar",
    facility_id: int | None = None,
    idempotency_key: str | None = None,
) -> Notification:
    """Render and queue one message; sent after the current transaction commits.

    ``template`` names ``notifications/<template>.txt`` (first line of an e-mail template is
    its subject). With an ``idempotency_key``, asking twice queues one message.
    """
    if idempotency_key:
        existing = Notification.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    context = context or {}
    with translation.override(language):
        text = render_to_string(f"notifications/{template}.txt", context).strip()
    subject = ""
    if channel == Channel.EMAIL and "\n" in text:
        subject, text = text.split("\n", 1)
        text = text.strip()
    notification = Notification.objects.create(
        channel=channel,
        recipient=recipient,
        language=language,
        template=template,
        subject=subject[:200],
        body=text,
        facility_id=facility_id,
        idempotency_key=idempotency_key,
    )
    if _queue_is_the_database():
        # The job's row commits (or rolls back) with the message and the caller's change: no
        # second transaction, no second disk flush; the worker sees it once committed.
        enqueue_send(notification.pk)
    else:
        transaction.on_commit(lambda: enqueue_send(notification.pk))
    return notification


def _queue_is_the_database() -> bool:
    from django_tasks_db import DatabaseBackend

    from .tasks import send_notification

    return isinstance(send_notification.get_backend(), DatabaseBackend)


def enqueue_send(notification_id: int, run_after=None) -> None:
    """Queue the sending job; ``run_after`` defers a retry where the backend can defer.

    A backend that cannot defer (the immediate backend of the tests and the embedded demo)
    would retry at once and spend every attempt within a second: there the notification stays
    pending and the retry is left to the next ``enqueue_send`` of it.
    """
    from .tasks import send_notification

    task = send_notification
    if run_after is not None:
        if not task.get_backend().supports_defer:
            logger.warning(
                "notification %s: backend cannot defer, retry not queued", notification_id
            )
            return
        task = task.using(run_after=run_after)
    task.enqueue(notification_id)


class DeliveryError(Exception):
    pass


def _write_outbox(kind: str, record: dict[str, Any]) -> None:
    outbox = settings.NOTIFY_OUTBOX_DIR
    outbox.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False)
    with _outbox_lock, open(outbox / f"{kind}.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def deliver(notification: Notification) -> None:
    """Hand one message to its backend; raises ``DeliveryError`` when it fails."""
    record = {
        "id": str(notification.uuid),
        "to": notification.recipient,
        "language": notification.language,
        "template": notification.template,
        "subject": notification.subject,
        "text": notification.body,
        "at": timezone.now().isoformat(),
    }
    if notification.channel == Channel.SMS:
        backend = settings.NOTIFY_SMS_BACKEND
        if backend == "file":
            _write_outbox("sms", record)
        elif backend == "http":
            if not settings.SMS_GATEWAY_URL:
                raise DeliveryError("IDMAJ_SMS_GATEWAY_URL is not set")
            body = json.dumps(
                {
                    "to": notification.recipient,
                    "from": settings.SMS_SENDER,
                    "text": notification.body,
                    "reference": str(notification.uuid),
                }
            ).encode()
            req = urllib.request.Request(
                settings.SMS_GATEWAY_URL,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN or ''}",
                },
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                    if resp.status >= 300:
                        raise DeliveryError(f"gateway answered {resp.status}")
            except OSError as exc:
                raise DeliveryError(str(exc)) from exc
        else:
            raise DeliveryError(f"unknown SMS backend {backend!r}")
    else:
        backend = settings.NOTIFY_EMAIL_BACKEND
        if backend == "file":
            _write_outbox("email", record)
        elif backend == "smtp":
            try:
                EmailMessage(
                    subject=notification.subject,
                    body=notification.body,
                    to=[notification.recipient],
                    connection=get_connection("django.core.mail.backends.smtp.EmailBackend"),
                ).send()
            except OSError as exc:
                raise DeliveryError(str(exc)) from exc
        else:
            raise DeliveryError(f"unknown e-mail backend {backend!r}")


def send_now(notification_id: int) -> str:
    """Send one notification unless already sent. Returns its status afterwards."""
    with transaction.atomic():
        n = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if n is None or n.status == NotificationStatus.SENT:
            return n.status if n else "missing"
        n.attempts += 1
        try:
            deliver(n)
        except DeliveryError as exc:
            n.last_error = str(exc)[:2000]
            if n.attempts >= settings.TASK_MAX_ATTEMPTS:
                n.status = NotificationStatus.FAILED
            n.save(update_fields=["attempts", "last_error", "status"])
            if n.status != NotificationStatus.FAILED:
                delay = timezone.timedelta(seconds=30 * 2 ** (n.attempts - 1))
                transaction.on_commit(lambda: enqueue_send(n.pk, timezone.now() + delay))
            return n.status
        n.status = NotificationStatus.SENT
        n.sent_at = timezone.now()
        n.last_error = ""
        n.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return n.status


def notifications_purge(*, before, dry_run: bool = False) -> int:
    """Erase the recipient and the text of messages created before ``before`` and no longer
    waiting to be sent (sent or failed): what was sent to whom is personal data, kept no longer
    than the retention period of the domain that asks. Returns how many were (or would be)
    erased; the rows stay (channel, template, dates, status) for the statistics."""
    done = Notification.objects.filter(
        created_at__lt=before,
        status__in=[NotificationStatus.SENT, NotificationStatus.FAILED],
    ).exclude(recipient="")
    if dry_run:
        return done.count()
    return done.update(recipient="", subject="", body="", last_error="")
