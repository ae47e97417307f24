"""Sign-in events go to the audit trail (the only signal handlers of the core domain: they
record, they decide nothing)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from . import audit
from .models import AuditEntry


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        audit.record(
            actor=user, action=AuditEntry.Action.LOGIN, obj=user, object_repr=user.username
        )
    if user.preferred_language and request is not None and hasattr(request, "session"):
        request.session["idmaj_language"] = user.preferred_language


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            audit.record(
                actor=user, action=AuditEntry.Action.LOGOUT, obj=user, object_repr=user.username
            )


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))[:150]
    with transaction.atomic():
        audit.record(
            actor=username,
            action=AuditEntry.Action.LOGIN_FAILED,
            object_type="core.user",
            object_repr=username,
        )
