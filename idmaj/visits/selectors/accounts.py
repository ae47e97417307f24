"""Reads about family accounts (the account's own data only)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ..constants import AccountStatus
from ..models import FamilyAccount, PhoneCode, PortalToken

__all__ = [
    "family_pending",
    "family_unverified_by_phone",
    "phone_code_live",
    "portal_tokens_active",
]


def family_pending(pk: int | None) -> FamilyAccount | None:
    """The account waiting for its phone verification (kept in the browser's session)."""
    if not pk:
        return None
    return FamilyAccount.objects.filter(pk=pk, status=AccountStatus.UNVERIFIED).first()


def portal_tokens_active(*, account: FamilyAccount) -> QuerySet[PortalToken]:
    """The account's API tokens still valid (the devices signed in to the mobile app)."""
    return PortalToken.objects.filter(account=account, expires_at__gt=timezone.now()).order_by(
        "-created_at"
    )


def phone_code_live(*, account: FamilyAccount, purpose: str) -> bool:
    """Whether a code of ``purpose`` sent to the account can still be typed."""
    return PhoneCode.objects.filter(
        account=account,
        purpose=purpose,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        attempts__lt=settings.PORTAL_CODE_ATTEMPTS,
    ).exists()


def family_unverified_by_phone(phone: str) -> FamilyAccount | None:
    """The account waiting for the verification of ``phone`` (E.164), if any."""
    return FamilyAccount.objects.filter(phone=phone, status=AccountStatus.UNVERIFIED).first()
