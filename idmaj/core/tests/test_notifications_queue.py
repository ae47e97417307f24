"""With the database as the task queue, the sending job is written in the caller's transaction:
it commits with the message (one transaction, one disk flush) and vanishes with a rollback."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from idmaj.core.models import Notification
from idmaj.core.notifications import notify


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def _notify():
    return notify(channel="sms", recipient="+212661000001", template="test_message")


@pytest.mark.django_db(transaction=True)
def test_job_commits_with_the_message(database_queue):
    with transaction.atomic():
        n = _notify()
        # already there inside the transaction: no second transaction after the commit
        assert DBTaskResult.objects.filter(args_kwargs__args=[n.pk]).count() == 1
    assert Notification.objects.filter(pk=n.pk).exists()
    assert DBTaskResult.objects.filter(args_kwargs__args=[n.pk]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_job_rolls_back_with_the_message(database_queue):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        _notify()
        raise Boom
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()
