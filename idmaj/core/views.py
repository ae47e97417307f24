"""Sign-in (password, then TOTP where required), language, home dashboard, audit trail."""

from __future__ import annotations

import datetime as dt

import segno
from axes.helpers import get_lockout_message
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import selectors
from .middleware import otp_required_for
from .scoping import access_for


class LoginForm(auth_views.AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong user name or password."),
        "inactive": _("This account is inactive."),
    }


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        lang = user.preferred_language
        if (
            lang
            and check_for_language(lang)
            and not self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        ):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                lang,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
            )
        return response


LOCKED_OUT_MESSAGE = _(
    "Too many failed sign-in attempts. Try again in 30 minutes or ask an administrator."
)


def lockout_response(request, original_response=None, credentials=None):
    """Shown instead of the sign-in page (or the token answer) while locked out.

    django-axes calls this with ``(request, original_response, credentials)``.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "detail": str(LOCKED_OUT_MESSAGE)}, status=429)
    return render(request, "core/locked_out.html", {"message": LOCKED_OUT_MESSAGE}, status=429)


class OtpForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


@login_required
def otp_view(request):
    """Verify a TOTP code; a user without a device first registers one (QR code)."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    pending = None
    if device is None:
        pending = TOTPDevice.objects.filter(
            user=user, confirmed=False
        ).first() or TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    form = OtpForm(request.POST or None)
    target = device or pending
    if request.method == "POST" and form.is_valid():
        if target.verify_token(form.cleaned_data["token"]):
            if not target.confirmed:
                target.confirmed = True
                target.save(update_fields=["confirmed"])
            otp_login(request, target)
            nxt = request.GET.get("next") or reverse("core:home")
            if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
                nxt = reverse("core:home")
            return redirect(nxt)
        form.add_error(
            "token", _("This code is not valid. Check the time on your phone and try again.")
        )
    qr_svg = None
    if pending is not None:
        qr_svg = segno.make(pending.config_url, error="m").svg_inline(scale=4)
    return render(
        request,
        "core/otp.html",
        {"form": form, "qr_svg": qr_svg, "required": otp_required_for(user)},
    )


@require_POST
def set_language(request):
    """Switch the interface language; remembered in a cookie and on the user's account."""
    lang = request.POST.get("language", "")
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        nxt = "/"
    response = HttpResponseRedirect(nxt)
    if lang in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
        if request.user.is_authenticated and request.user.preferred_language != lang:
            request.user.preferred_language = lang
            request.user.save(update_fields=["preferred_language"])
    return response


@login_required
def home(request):
    """The dashboard of the signed-in user: widgets from each domain, by role."""
    from .dashboard import widgets_for
    from .roles import ROLES

    access = access_for(request.user)
    role_labels = [ROLES[r]["label"] for r in sorted(access.roles) if r in ROLES]
    return render(
        request,
        "core/home.html",
        {
            "widgets": widgets_for(request),
            "access": access,
            "role_labels": role_labels,
            "today": today(),
        },
    )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Person (user name)"), required=False)
    facility = forms.CharField(label=_("Institution code"), required=False)
    object_type = forms.CharField(label=_("Record type"), required=False)
    object_id = forms.CharField(label=_("Record identifier"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@login_required
def audit_list(request):
    from idmaj.facilities.models import Facility

    form = AuditFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        facility_id = None
        if data["facility"]:
            fac = Facility.objects.filter(code=data["facility"].strip().upper()).first()
            facility_id = fac.pk if fac else -1
        filters = dict(
            actor=data["actor"].strip(),
            facility_id=facility_id,
            object_type=data["object_type"].strip(),
            object_id=data["object_id"].strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
    qs = selectors.audit_entry_list(fetched_by=request.user, **filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    codes = dict(
        Facility.objects.filter(id__in={e.facility_id for e in page if e.facility_id}).values_list(
            "id", "code"
        )
    )
    template = "core/_audit_rows.html" if request.htmx else "core/audit_list.html"
    return render(request, template, {"form": form, "page": page, "codes": codes})


@login_required
def lockouts(request):
    access = access_for(request.user)
    if not access.has_perm("accounts.view_lockouts"):
        raise Http404
    if request.method == "POST":
        username = request.POST.get("username", "")
        axes_reset(username=username)
        messages.success(request, _("Lockout lifted for %(user)s.") % {"user": username})
        return redirect("core:lockouts")
    attempts = AccessAttempt.objects.order_by("-attempt_time")[:200]
    return render(
        request,
        "core/lockouts.html",
        {
            "attempts": attempts,
            "limit": settings.AXES_FAILURE_LIMIT,
            "lockout_message": get_lockout_message(),
        },
    )


def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
