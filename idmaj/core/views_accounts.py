"""Staff account pages under ``/admin-tools/accounts/``: list, create, detail, edit, roles,
deactivation, password and second-factor resets; and "change my password" for everyone.

Holders of ``accounts.manage`` only: anyone else gets 403 on every page, whatever account
they ask for. An account outside a regional or institution administrator's scope answers
404 like a missing one (``selectors.get_user_for_admin_or_404``). Each view validates a
form, calls one service and renders; the services decide.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import devices_for_user

from . import selectors, services
from .errors import DomainError
from .errors import PermissionDenied as DomainPermissionDenied
from .forms import (
    AccountCreateForm,
    AccountEditForm,
    AccountFilterForm,
    ConfirmForm,
    DeactivateForm,
    PasswordChangeForm,
    RoleAssignForm,
)
from .models import RoleAssignment, User
from .roles import role_label
from .scoping import AccountScope, account_scope
from .selectors import record_history


# -- helpers ---------------------------------------------------------------------------------
def manager_required(view: Callable) -> Callable:
    """Signed in and holding ``accounts.manage`` somewhere, or 403; the scope travels along."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        scope = account_scope(request.user)
        if scope is None:
            raise HttpForbidden
        try:
            return view(request, scope, *args, **kwargs)
        except DomainPermissionDenied as err:
            raise HttpForbidden from err

    return wrapped


def _account(request: HttpRequest, username: str) -> User:
    return selectors.get_user_for_admin_or_404(fetched_by=request.user, username=username)


def _places(scope: AccountScope):
    """The regional directorates and institutions an administrator may give roles for."""
    from idmaj.facilities.models import Facility, Region

    regions = Region.objects.order_by("code")
    facilities = Facility.objects.order_by("code")
    if not scope.national:
        regions = regions.filter(pk__in=scope.region_ids)
        facilities = facilities.filter(pk__in=scope.facility_ids)
    return regions, facilities


def _run(request: HttpRequest, form, run: Callable[[dict], Any]) -> tuple[bool, Any]:
    """Validate ``form`` and call the service; a refusal lands on the form (its field when
    the form has it). Returns (done, what the service returned)."""
    if request.method != "POST" or not form.is_valid():
        return False, None
    try:
        return True, run(form.cleaned_data)
    except DomainPermissionDenied:
        raise
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return False, None


def _data(request: HttpRequest):
    """What a form is bound to: the POST data (empty for a bare confirmation), or nothing."""
    return request.POST if request.method == "POST" else None


def _status(request: HttpRequest) -> int:
    return 400 if request.method == "POST" else 200


def _form_page(request, *, form, title, account: User | None = None, intro=None, submit=None):
    return render(
        request,
        "core/accounts/form.html",
        {"form": form, "title": title, "account": account, "intro": intro, "submit": submit},
        status=_status(request),
    )


def _confirm_page(request, *, form, account: User, title, intro, submit):
    return render(
        request,
        "core/accounts/confirm.html",
        {
            "form": form,
            "account": account,
            "title": title,
            "intro": intro,
            "submit": submit,
        },
        status=_status(request),
    )


# -- list and create -------------------------------------------------------------------------
@manager_required
def account_list(request, scope):
    regions, facilities = _places(scope)
    form = AccountFilterForm(request.GET, regions=regions, facilities=facilities)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"],
            "role": data["role"],
            "region": next((r for r in regions if r.code == data["region"]), None),
            "facility": next((f for f in facilities if f.code == data["facility"]), None),
            "active": {"yes": True, "no": False}.get(data["active"]),
        }
    users = selectors.user_list(fetched_by=request.user, **filters)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    template = "core/accounts/_rows.html" if request.htmx else "core/accounts/list.html"
    return render(request, template, {"form": form, "page": page})


@manager_required
def account_create(request, scope):
    form = AccountCreateForm(_data(request), initial={"preferred_language": "ar"})

    def run(data):
        data = dict(data)
        data.pop("password_again")
        return services.user_create(actor=request.user, **data)

    done, user = _run(request, form, run)
    if done:
        messages.success(request, _("The account was created. Now give it its roles."))
        return redirect("core:account_detail", username=user.username)
    return _form_page(
        request,
        form=form,
        title=_("New staff account"),
        intro=_("The account starts without any role: give its roles on the next page."),
        submit=_("Create the account"),
    )


# -- one account -----------------------------------------------------------------------------
def _detail(request, scope: AccountScope, user: User, assign_form=None) -> HttpResponse:
    if assign_form is None:
        regions, facilities = _places(scope)
        assign_form = RoleAssignForm(
            regions=regions, facilities=facilities, national=scope.national
        )
    devices = list(devices_for_user(user, confirmed=None))
    return render(
        request,
        "core/accounts/detail.html",
        {
            "account": user,
            "assignments": user.assignments.all(),
            "assign_form": assign_form,
            "is_self": user.pk == request.user.pk,
            "devices": devices,
            "second_factor": any(d.confirmed for d in devices),
            "lockout": selectors.user_lockout_state(username=user.username),
            "history": record_history(
                fetched_by=request.user, object_type="core.user", object_id=str(user.uuid)
            ),
        },
        status=_status(request),
    )


@manager_required
def account_detail(request, scope, username):
    return _detail(request, scope, _account(request, username))


@manager_required
def account_edit(request, scope, username):
    user = _account(request, username)
    initial = {name: getattr(user, name) for name in services.USER_UPDATABLE}
    form = AccountEditForm(_data(request), initial=initial)
    done, _user = _run(
        request,
        form,
        lambda data: services.user_update(actor=request.user, user=user, changes=data),
    )
    if done:
        messages.success(request, _("The account was saved."))
        return redirect("core:account_detail", username=user.username)
    return _form_page(request, form=form, title=_("Edit the account"), account=user)


@manager_required
def role_assign(request, scope, username):
    user = _account(request, username)
    if request.method != "POST":
        return redirect("core:account_detail", username=user.username)
    regions, facilities = _places(scope)
    form = RoleAssignForm(
        request.POST, regions=regions, facilities=facilities, national=scope.national
    )

    def run(data):
        return services.role_assign(
            actor=request.user,
            user=user,
            role_code=data["role"],
            level=data["level"],
            region=data["region"],
            facility=data["facility"],
        )

    done, assignment = _run(request, form, run)
    if not done:
        return _detail(request, scope, user, assign_form=form)
    if assignment.was_created:
        messages.success(request, _("The role was given."))
    else:
        messages.info(request, _("The user already holds this role there."))
    return redirect("core:account_detail", username=user.username)


@manager_required
def role_revoke(request, scope, username, assignment):
    user = _account(request, username)
    held = get_object_or_404(
        RoleAssignment.objects.select_related("role", "region", "facility"),
        user=user,
        uuid=assignment,
    )
    form = ConfirmForm(_data(request))
    done, _none = _run(
        request, form, lambda data: services.role_revoke(actor=request.user, assignment=held)
    )
    if done:
        messages.success(request, _("The role was revoked."))
        return redirect("core:account_detail", username=user.username)
    where = held.facility.name if held.facility_id else held.region.name if held.region_id else ""
    return _confirm_page(
        request,
        form=form,
        account=user,
        title=_("Revoke a role"),
        intro=_("%(user)s will no longer hold the role %(role)s %(where)s.")
        % {
            "user": user.username,
            "role": role_label(held.role.code),
            "where": f"({where})" if where else f"({held.get_level_display()})",
        },
        submit=_("Revoke the role"),
    )


@manager_required
def account_deactivate(request, scope, username):
    user = _account(request, username)
    form = DeactivateForm(_data(request))
    done, _user = _run(
        request,
        form,
        lambda data: services.user_deactivate(actor=request.user, user=user, reason=data["reason"]),
    )
    if done:
        messages.success(request, _("The account was deactivated."))
        return redirect("core:account_detail", username=user.username)
    return _confirm_page(
        request,
        form=form,
        account=user,
        title=_("Deactivate the account"),
        intro=_(
            "The user can no longer sign in; their open sessions and API tokens end at once. "
            "The account, its roles and its history are kept, and it can be reactivated."
        ),
        submit=_("Deactivate"),
    )


@manager_required
def account_reactivate(request, scope, username):
    user = _account(request, username)
    form = ConfirmForm(_data(request))
    done, _user = _run(
        request, form, lambda data: services.user_reactivate(actor=request.user, user=user)
    )
    if done:
        messages.success(request, _("The account was reactivated."))
        return redirect("core:account_detail", username=user.username)
    return _confirm_page(
        request,
        form=form,
        account=user,
        title=_("Reactivate the account"),
        intro=_("The user can sign in again, with the roles the account still holds."),
        submit=_("Reactivate"),
    )


@never_cache
@manager_required
def account_password_reset(request, scope, username):
    user = _account(request, username)
    form = ConfirmForm(_data(request))
    done, password = _run(
        request,
        form,
        lambda data: services.user_password_reset(actor=request.user, user=user),
    )
    if done:
        # Shown once, in this answer only (never_cache: not kept by the browser either).
        return render(
            request, "core/accounts/password_shown.html", {"account": user, "password": password}
        )
    return _confirm_page(
        request,
        form=form,
        account=user,
        title=_("Reset the password"),
        intro=_(
            "A temporary password is drawn at random and shown to you once. The user's open "
            "sessions and API tokens end. Hand the password over in person or by a trusted "
            "channel, and ask the user to change it at once."
        ),
        submit=_("Reset the password"),
    )


@manager_required
def account_otp_reset(request, scope, username):
    user = _account(request, username)
    form = ConfirmForm(_data(request))
    done, _count = _run(
        request, form, lambda data: services.user_otp_reset(actor=request.user, user=user)
    )
    if done:
        messages.success(request, _("The second factor was reset."))
        return redirect("core:account_detail", username=user.username)
    return _confirm_page(
        request,
        form=form,
        account=user,
        title=_("Reset the second factor"),
        intro=_(
            "The user's authenticator devices are removed (a lost or replaced phone). Where "
            "their role requires a second factor, they register a new device at their next "
            "sign-in."
        ),
        submit=_("Reset the second factor"),
    )


# -- one's own password ----------------------------------------------------------------------
@never_cache
@login_required
def password_change(request):
    form = PasswordChangeForm(_data(request))
    done, user = _run(
        request,
        form,
        lambda data: services.user_password_change(
            actor=request.user,
            old_password=data["old_password"],
            new_password=data["new_password"],
        ),
    )
    if done:
        update_session_auth_hash(request, user)  # this session stays signed in
        messages.success(request, _("Your password was changed."))
        return redirect("core:home")
    return _form_page(
        request,
        form=form,
        title=_("Change my password"),
        submit=_("Change the password"),
    )


urlpatterns = [
    path("accounts/password/", password_change, name="password_change"),
    path("admin-tools/accounts/", account_list, name="accounts"),
    path("admin-tools/accounts/new/", account_create, name="account_create"),
    path("admin-tools/accounts/<str:username>/", account_detail, name="account_detail"),
    path("admin-tools/accounts/<str:username>/edit/", account_edit, name="account_edit"),
    path("admin-tools/accounts/<str:username>/roles/", role_assign, name="account_role_assign"),
    path(
        "admin-tools/accounts/<str:username>/roles/<uuid:assignment>/revoke/",
        role_revoke,
        name="account_role_revoke",
    ),
    path(
        "admin-tools/accounts/<str:username>/deactivate/",
        account_deactivate,
        name="account_deactivate",
    ),
    path(
        "admin-tools/accounts/<str:username>/reactivate/",
        account_reactivate,
        name="account_reactivate",
    ),
    path(
        "admin-tools/accounts/<str:username>/password-reset/",
        account_password_reset,
        name="account_password_reset",
    ),
    path(
        "admin-tools/accounts/<str:username>/otp-reset/",
        account_otp_reset,
        name="account_otp_reset",
    ),
]

__all__ = ["urlpatterns"]
