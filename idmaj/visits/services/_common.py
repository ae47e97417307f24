"""Helpers shared by the visits services (not part of the public service API)."""

from __future__ import annotations

from datetime import date, timedelta

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.constants import Channel
from idmaj.core.errors import PermissionDenied
from idmaj.core.notifications import notify
from idmaj.core.scoping import access_for
from idmaj.inmates.constants import CustodyStatus
from idmaj.inmates.models import CustodyPeriod

# Re-exported for the visits services: one way to turn full_clean errors into DomainError.
from idmaj.inmates.services._common import clean_or_raise  # noqa: E402,F401

from ..models import FamilyAccount


def require_perm(actor, perm_code: str, facility_id: int) -> None:
    """``PermissionDenied`` unless the staff ``actor`` holds ``perm_code`` for the institution;
    ``actor=None`` is the system itself (scheduled jobs, demo data)."""
    if actor is None:
        return
    if not access_for(actor).has_perm(perm_code, facility_id):
        raise PermissionDenied("forbidden", _("You are not allowed to do this here."))


def week_start(day: date) -> date:
    """The Monday of ``day``'s week: allowances run Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def current_custody(detention_id: int) -> CustodyPeriod | None:
    """Where the prisoner of this detention is held now (``None``: no longer in custody)."""
    return (
        CustodyPeriod.objects.select_related("facility")
        .filter(detention_id=detention_id, status=CustodyStatus.IN_CUSTODY)
        .first()
    )


def touch_account(account: FamilyAccount) -> None:
    """Note the family's activity (the retention period runs from the last one)."""
    now = timezone.now()
    if account.last_activity_at is None or now - account.last_activity_at > timedelta(hours=1):
        FamilyAccount.objects.filter(pk=account.pk).update(last_activity_at=now)
        account.last_activity_at = now


def _has_template(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def notify_family(
    account: FamilyAccount,
    *,
    template: str,
    context: dict | None = None,
    facility_id: int | None = None,
    idempotency_key: str | None = None,
    email_too: bool = True,
) -> None:
    """Tell a family something: by SMS, and by e-mail too when they gave one, in their language.

    ``template`` names ``notifications/<template>.txt`` (the SMS) and
    ``notifications/<template>_email.txt`` (the e-mail, first line its subject; without that
    template no e-mail is sent). Sent once the caller's transaction commits.
    """
    if account.status == "purged":
        return
    context = {"account": account, **(context or {})}
    notify(
        channel=Channel.SMS,
        recipient=account.phone,
        template=template,
        context=context,
        language=account.language,
        facility_id=facility_id,
        idempotency_key=f"{idempotency_key}:sms" if idempotency_key else None,
    )
    if email_too and account.email and _has_template(f"notifications/{template}_email.txt"):
        notify(
            channel=Channel.EMAIL,
            recipient=account.email,
            template=f"{template}_email",
            context=context,
            language=account.language,
            facility_id=facility_id,
            idempotency_key=f"{idempotency_key}:email" if idempotency_key else None,
        )


__all__: list[str] = []
