"""Second factor: mandatory for the roles in ``settings.OTP_REQUIRED_ROLES``."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .scoping import access_for

_EXEMPT_PREFIXES = (
    "/static/",
    "/api/v1/auth/token/",
    "/i18n/",
    "/accounts/otp/",
    "/accounts/logout/",
    "/accounts/login/",
)


def otp_required_for(user) -> bool:
    required = set(settings.OTP_REQUIRED_ROLES)
    return bool(required) and bool(access_for(user).roles & required)


class SecondFactorMiddleware:
    """Until verified, a user whose role needs a second factor reaches only the OTP page.

    ``request.user`` here comes from the session: an API call made with a signed-in browser
    session is held back too (403 ``otp_required``); API tokens are only handed out after the
    second factor (``core.api.TokenView``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_EXEMPT_PREFIXES)
            and not user.is_verified()
            and otp_required_for(user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "otp_required",
                        "detail": _("A valid code from your authenticator app is required."),
                    },
                    status=403,
                )
            return redirect(
                reverse("core:otp") + "?" + urlencode({"next": request.get_full_path()})
            )
        return self.get_response(request)
