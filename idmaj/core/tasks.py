"""Background jobs of the core domain (django-tasks: database queue, or Redis)."""

from django_tasks import task

from .notifications import send_now


@task()
def send_notification(notification_id: int) -> str:
    """Deliver one notification; idempotent, re-enqueued with back-off when it fails."""
    return send_now(notification_id)
