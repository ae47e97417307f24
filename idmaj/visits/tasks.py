"""Background jobs of the visits domain (django-tasks: database queue, or Redis)."""

from django_tasks import task


@task()
def generate_sessions(days: int | None = None, facility_code: str | None = None) -> int:
    """Make the dated sessions of every institution (or one) up to its booking window (or
    ``days``) ahead; idempotent, so a scheduler may run it daily. Returns how many were made."""
    from .services.sessions import sessions_generate_all

    return sum(sessions_generate_all(days=days, facility_code=facility_code).values())
