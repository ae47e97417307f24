"""Background job of the visits retention rules (django-tasks), to be run nightly.

Enqueue ``visits_purge_task`` from the scheduler of the deployment (cron running
``idmaj visits_purge``, or a scheduled job of the worker); it is idempotent.
"""

from django_tasks import task

from .services.retention import visits_purge


@task()
def visits_purge_task(months: int | None = None, dry_run: bool = False) -> dict:
    """Purge the personal data past the retention period (``services.retention``)."""
    return visits_purge(months=months, dry_run=dry_run)
