"""Second factor: mandatory for the roles in ``settings.OTP_REQUIRED_ROLES``."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from .scoping import access_for

_EXEMPT_PREFIXES = (
    "/static/",
    "/api/",
    "/i18n/",
    "/accounts/otp/",
    "/accounts/logout/",
    "/accounts/login/",
)


def otp_required_for(user) -> bool:
    required = set(settings.OTP_REQUIRED_ROLES)
    return bool(required) and bool(access_for(user).roles & required)


class SecondFactorMiddleware:
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
            return redirect(reverse("core:otp") + f"?next={request.get_full_path()}")
        return self.get_response(request)
