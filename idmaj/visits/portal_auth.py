"""Who is signed in on the family portal: ``request.family``.

Families are not staff users. A signed-in family is remembered in the session under its own
key (``SESSION_KEY``), and ``PortalMiddleware`` sets ``request.family`` (a ``FamilyAccount``
or ``None``); ``request.user`` stays anonymous, so no staff page or staff API ever opens for
a family. The portal's API authenticates with the same session or with a portal token
(``Authorization: Portal <key>``, see ``services.accounts.portal_token_issue``); those
authentication classes are set on the portal's API views only, never as DRF defaults.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .constants import AccountStatus
from .models import FamilyAccount, PortalToken

SESSION_KEY = "idmaj_family"
TOKEN_USE_RESOLUTION = timedelta(hours=1)
# The session is bound to the account's password hash (as Django does for staff users): a
# new password, or "sign out everywhere" (which hashes the password again with a new salt),
# ends every other session of the account.
SESSION_HASH_KEY = "idmaj_family_hash"
# An account registered (or signed in) but whose phone is not verified yet: the verify page.
PENDING_KEY = "idmaj_family_pending"


def session_hash(account: FamilyAccount) -> str:
    return salted_hmac(
        "idmaj.visits.portal_auth.session", account.password, algorithm="sha256"
    ).hexdigest()


def _account_from_session(request) -> FamilyAccount | None:
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    account = FamilyAccount.objects.filter(pk=pk, status=AccountStatus.ACTIVE).first()
    if account is None:
        return None
    stored = request.session.get(SESSION_HASH_KEY)
    # Sessions are written by the server only: one without the hash was made by a test
    # helper that sets ``SESSION_KEY`` alone.
    if stored is not None and not constant_time_compare(stored, session_hash(account)):
        request.session.flush()
        return None
    return account


class PortalMiddleware:
    """Sets ``request.family`` (lazily: no query on pages that do not ask)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.family = SimpleLazyObject(lambda: _account_from_session(request))
        return self.get_response(request)


def current_family(request) -> FamilyAccount | None:
    """The signed-in family of this request, or ``None``."""
    family = getattr(request, "family", None)
    return family if family is not None and family.__class__ is FamilyAccount else None


def family_login(request, account: FamilyAccount) -> None:
    """Remember ``account`` in this session (a new session key: no fixation)."""
    request.session.cycle_key()
    request.session.pop(PENDING_KEY, None)
    request.session[SESSION_KEY] = account.pk
    request.session[SESSION_HASH_KEY] = session_hash(account)
    request.family = account


def family_session_refresh(request, account: FamilyAccount) -> None:
    """Keep this session after the account's password changed (the others end)."""
    request.session[SESSION_HASH_KEY] = session_hash(account)


def family_logout(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(SESSION_HASH_KEY, None)
    request.session.cycle_key()
    request.family = None


def family_required(view):
    """The page needs a signed-in family: otherwise to the sign-in page, then back."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        account = _account_from_session(request)
        if account is None:
            return redirect(
                reverse("portal:signin") + "?" + urlencode({"next": request.get_full_path()})
            )
        request.family = account
        return view(request, *args, **kwargs)

    return wrapper


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class PortalTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Portal <key>``: a family's API token."""

    keyword = "Portal"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode().lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        key = header[1].decode(errors="replace")
        token = (
            PortalToken.objects.select_related("account")
            .filter(key_hash=token_hash(key), expires_at__gt=timezone.now())
            .first()
        )
        if token is None or token.account.status != AccountStatus.ACTIVE:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
            # Noted at most once an hour: no write on every call of the booking rush.
            PortalToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        request._request.family = token.account
        return (token.account, token)

    def authenticate_header(self, request):
        return self.keyword


class PortalSessionAuthentication(authentication.SessionAuthentication):
    """The portal's browser session (with CSRF checks, as DRF's session authentication)."""

    def authenticate(self, request):
        account = _account_from_session(request._request)
        if account is None:
            return None
        self.enforce_csrf(request)
        request._request.family = account
        return (account, None)


class IsFamily(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, FamilyAccount)


PORTAL_AUTHENTICATION = [PortalTokenAuthentication, PortalSessionAuthentication]


class PortalTokenScheme(OpenApiAuthenticationExtension):
    """The portal's token in the OpenAPI schema."""

    target_class = PortalTokenAuthentication
    name = "portalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Portal <token>` (POST /api/v1/portal/auth/token/)",
        }


class PortalSessionScheme(OpenApiAuthenticationExtension):
    """The portal's browser session in the OpenAPI schema."""

    target_class = PortalSessionAuthentication
    name = "portalSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
