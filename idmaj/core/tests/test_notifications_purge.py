import datetime as dt

import pytest
from django.utils import timezone

from idmaj.core.constants import NotificationStatus
from idmaj.core.models import Notification
from idmaj.core.notifications import notifications_purge


def _message(days_ago: int, status: str) -> Notification:
    n = Notification.objects.create(
        channel="sms",
        recipient="+212661000001",
        template="test_message",
        body="Votre code : 123456",
        status=status,
    )
    Notification.objects.filter(pk=n.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return n


@pytest.mark.django_db
def test_old_sent_messages_lose_recipient_and_text_pending_and_recent_stay():
    old_sent = _message(800, NotificationStatus.SENT)
    old_failed = _message(800, NotificationStatus.FAILED)
    old_pending = _message(800, NotificationStatus.PENDING)
    recent = _message(10, NotificationStatus.SENT)
    before = timezone.now() - dt.timedelta(days=730)

    assert notifications_purge(before=before, dry_run=True) == 2
    assert Notification.objects.get(pk=old_sent.pk).recipient == "+212661000001"

    assert notifications_purge(before=before) == 2
    for n in (old_sent, old_failed):
        n.refresh_from_db()
        assert (n.recipient, n.body) == ("", "")
        assert n.template == "test_message"  # the statistics keep what was sent, not to whom
    for n in (old_pending, recent):
        n.refresh_from_db()
        assert n.recipient == "+212661000001" and n.body
    assert notifications_purge(before=before) == 0
