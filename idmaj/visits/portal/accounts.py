"""Family portal pages of the account: register, verify the phone, sign in and out, reset
the password, the account page (details, language, e-mail, password, sign out everywhere).

Each page validates a form and calls one service of ``services.accounts`` (rate limits are
counted there, with the client's address); a ``DomainError`` is shown next to its field with
what was typed kept (HTTP 400, or 429 when rate limited). The pages follow the site's
language switch; the account's own ``language`` (set at registration from the page's
language) is the language of its SMS and e-mails.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError

from .. import selectors
from ..constants import CodePurpose
from ..context import portal_context
from ..forms.accounts import (
    AccountForm,
    PasswordChangeForm,
    RegisterForm,
    ResetConfirmForm,
    ResetRequestForm,
    SigninForm,
    SignOutEverywhereForm,
    VerifyForm,
)
from ..portal_auth import (
    PENDING_KEY,
    current_family,
    family_login,
    family_logout,
    family_required,
    family_session_refresh,
)
from ..ratelimit import client_address
from ..services import accounts as services

RESET_PHONE_KEY = "idmaj_family_reset_phone"


# -- helpers -------------------------------------------------------------------------------------
def home_url() -> str:
    """The portal's home page (my prisoners), or the account page while it does not exist."""
    try:
        return reverse("portal:home")
    except NoReverseMatch:
        return reverse("portal:account")


def _next_url(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return home_url()


def _page(request, template: str, context: dict, status: int = 200):
    return render(
        request,
        f"visits/portal/accounts/{template}",
        {**portal_context(request), **context},
        status=status,
    )


def _submit(form, call: Callable) -> tuple[object | None, int]:
    """Validate ``form`` and call the service: (result, 200) or (None, status) with the error
    next to its field."""
    if not form.is_valid():
        return None, 400
    try:
        return call(form.cleaned_data), 200
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.status


def _active_language() -> str:
    lang = (get_language() or "ar").split("-")[0]
    return lang if lang in services.PORTAL_LANGUAGES else "ar"


def _set_language_cookie(request, response, language: str) -> None:
    """On sign-in, a browser that never chose a language gets the account's."""
    if not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )


def _mask(phone: str) -> str:
    """+212612345678 → +212 6•••••678 (shown on the verify page)."""
    if len(phone) < 8:
        return phone
    return f"{phone[:5]}{'•' * (len(phone) - 8)}{phone[-3:]}"


# -- registration and verification ---------------------------------------------------------------
def register(request):
    if current_family(request) is not None:
        return redirect(home_url())
    form = RegisterForm(request.POST or None)
    status = 200
    if request.method == "POST":
        account, status = _submit(
            form,
            lambda d: services.family_register(
                cin=d["cin"],
                first_name=d["first_name"],
                family_name=d["family_name"],
                phone=d["phone"],
                password=d["password"],
                email=d["email"],
                language=_active_language(),
                ip=client_address(request),
            ),
        )
        if account is not None:
            request.session[PENDING_KEY] = account.pk
            messages.success(
                request,
                _("Your account is created. We sent you a code by SMS to check your phone."),
            )
            return redirect("portal:verify")
    return _page(request, "register.html", {"form": form}, status)


def verify(request):
    """Type the code received by SMS; or ask for a new one (``resend``)."""
    account = selectors.family_pending(request.session.get(PENDING_KEY))
    if account is None:
        return redirect(home_url() if current_family(request) else reverse("portal:signin"))
    form = VerifyForm(
        request.POST if request.method == "POST" and "resend" not in request.POST else None
    )
    status = 200
    if request.method == "POST" and "resend" in request.POST:
        try:
            services.phone_code_send(
                account=account, purpose=CodePurpose.VERIFY_PHONE, ip=client_address(request)
            )
        except DomainError as err:
            messages.error(request, err.message)
            return _page(
                request, "verify.html", {"form": form, "phone": _mask(account.phone)}, err.status
            )
        messages.success(request, _("A new code is on its way."))
        return redirect("portal:verify")
    if request.method == "POST":
        done, status = _submit(
            form, lambda d: services.phone_verify(account=account, code=d["code"])
        )
        if done is not None:
            family_login(request, account)
            messages.success(request, _("Your phone number is verified. Welcome to Ziyara."))
            return redirect(home_url())
    return _page(request, "verify.html", {"form": form, "phone": _mask(account.phone)}, status)


# -- sign-in and sign-out --------------------------------------------------------------------------
def signin(request):
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if current_family(request) is not None:
        return redirect(_next_url(request, nxt))
    form = SigninForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        ip = client_address(request)
        try:
            account = services.family_authenticate(
                phone=form.cleaned_data["phone"], password=form.cleaned_data["password"], ip=ip
            )
        except services.AccountUnverified as err:
            request.session[PENDING_KEY] = err.account.pk
            purpose = CodePurpose.VERIFY_PHONE
            if not selectors.phone_code_live(account=err.account, purpose=purpose):
                try:
                    services.phone_code_send(account=err.account, purpose=purpose, ip=ip)
                except DomainError as sent:
                    messages.error(request, sent.message)
            messages.info(request, err.message)
            return redirect("portal:verify")
        except DomainError as err:
            form.add_error(err.field if err.field in form.fields else None, err.message)
            status = err.status
        else:
            family_login(request, account)
            response = redirect(_next_url(request, nxt))
            _set_language_cookie(request, response, account.language)
            return response
    elif request.method == "POST":
        status = 400
    return _page(request, "signin.html", {"form": form, "next": nxt}, status)


@require_POST
def signout(request):
    family_logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("portal:signin")


# -- password reset --------------------------------------------------------------------------------
def reset(request):
    form = ResetRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        answer, status = _submit(
            form,
            lambda d: services.password_reset_request(phone=d["phone"], ip=client_address(request)),
        )
        if answer is not None:
            request.session[RESET_PHONE_KEY] = form.cleaned_data["phone"]
            messages.info(request, answer)
            return redirect("portal:reset_confirm")
    return _page(request, "reset.html", {"form": form}, status)


def reset_confirm(request):
    form = ResetConfirmForm(
        request.POST or None, initial={"phone": request.session.get(RESET_PHONE_KEY, "")}
    )
    status = 200
    if request.method == "POST":
        account, status = _submit(
            form,
            lambda d: services.password_reset_confirm(
                phone=d["phone"],
                code=d["code"],
                new_password=d["new_password"],
                ip=client_address(request),
            ),
        )
        if account is not None:
            request.session.pop(RESET_PHONE_KEY, None)
            if current_family(request) is not None:
                family_logout(request)
            messages.success(request, _("Your password is changed. Sign in with the new one."))
            return redirect("portal:signin")
    return _page(request, "reset_confirm.html", {"form": form}, status)


# -- the account page ------------------------------------------------------------------------------
@family_required
def account(request):
    """Details, language and e-mail, password, sign out everywhere (one form per action)."""
    family = request.family
    action = request.POST.get("action") if request.method == "POST" else None
    details = AccountForm(
        request.POST if action == "details" else None,
        prefix="details",
        initial={"language": family.language, "email": family.email},
    )
    password = PasswordChangeForm(request.POST if action == "password" else None, prefix="pw")
    everywhere = SignOutEverywhereForm(
        request.POST if action == "everywhere" else None, prefix="everywhere"
    )
    status = 200
    if action == "details":
        done, status = _submit(
            details,
            lambda d: services.family_update(
                account=family, email=d["email"], language=d["language"]
            ),
        )
        if done is not None:
            messages.success(request, _("Your details are saved."))
            return redirect("portal:account")
    elif action == "password":
        done, status = _submit(
            password,
            lambda d: services.family_password_change(
                account=family, old_password=d["old_password"], new_password=d["new_password"]
            ),
        )
        if done is not None:
            family_session_refresh(request, family)
            messages.success(
                request,
                _("Your password is changed. The mobile app must be signed in again."),
            )
            return redirect("portal:account")
    elif action == "everywhere":
        done, status = _submit(
            everywhere,
            lambda d: services.family_sign_out_everywhere(account=family, password=d["password"]),
        )
        if done is not None:
            family_logout(request)
            messages.success(request, _("You are signed out on every phone and computer."))
            return redirect("portal:signin")
    elif action is not None:
        status = 400
    return _page(
        request,
        "account.html",
        {
            "details_form": details,
            "password_form": password,
            "everywhere_form": everywhere,
            "devices": selectors.portal_tokens_active(account=family).count(),
        },
        status,
    )


urlpatterns = [
    path("register/", register, name="register"),
    path("verify/", verify, name="verify"),
    path("signin/", signin, name="signin"),
    path("signout/", signout, name="signout"),
    path("reset/", reset, name="reset"),
    path("reset/confirm/", reset_confirm, name="reset_confirm"),
    path("account/", account, name="account"),
]
