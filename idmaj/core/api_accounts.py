"""The staff accounts API under ``/api/v1/accounts/``: thin views over the core services.

Holders of ``accounts.manage`` only: any other signed-in caller gets 403 ``forbidden`` on
every endpoint, whatever account it names; an account outside a regional or institution
administrator's scope answers 404 like a missing one. Accounts are addressed by user name,
role assignments by their UUID.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .errors import DomainError, PermissionDenied
from .models import RoleAssignment, User
from .scoping import account_scope
from .serializers import (
    DeactivateSerializer,
    OtpResetSerializer,
    RoleAssignSerializer,
    TemporaryPasswordSerializer,
    UserCreateSerializer,
    UserFilterSerializer,
    UserSerializer,
    UserUpdateSerializer,
)

TAGS = ["accounts"]


class _ManagersOnly:
    """Refuse (403) a caller who manages no account, before looking at the request."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if account_scope(request.user) is None:
            raise PermissionDenied("forbidden", _("You are not allowed to do this here."))


def _account(request, username: str) -> User:
    return selectors.get_user_for_admin_or_404(fetched_by=request.user, username=username)


def _fresh(request, user: User) -> dict:
    """The account as the API shows it, read again with its role assignments."""
    return UserSerializer(_account(request, user.username)).data


def _place(model, code: str, field: str):
    if not code:
        return None
    obj = model.objects.filter(code=code.strip().upper()).first()
    if obj is None:
        raise DomainError("unknown_code", _("Unknown code %(code)s.") % {"code": code}, field=field)
    return obj


@extend_schema(tags=TAGS)
class UserListCreate(_ManagersOnly, GenericAPIView):
    """Staff accounts the caller manages (GET), or a new one without roles (POST)."""

    serializer_class = UserSerializer
    queryset = User.objects.none()

    @extend_schema(
        operation_id="v1_accounts_users_list",
        responses=UserSerializer(many=True),
        parameters=[
            OpenApiParameter("q", str, description="user name, names or e-mail contain"),
            OpenApiParameter("role", str, description="role code"),
            OpenApiParameter("facility", str, description="institution code"),
            OpenApiParameter("region", str, description="regional directorate code"),
            OpenApiParameter("active", bool),
        ],
    )
    def get(self, request):
        from idmaj.facilities.models import Facility, Region

        filters = UserFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        users = selectors.user_list(
            fetched_by=request.user,
            q=data.get("q", ""),
            role=data.get("role", ""),
            facility=_place(Facility, data.get("facility", ""), "facility"),
            region=_place(Region, data.get("region", ""), "region"),
            active=data.get("active"),
        )
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def post(self, request):
        ser = UserCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **ser.validated_data)
        return Response(_fresh(request, user), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class UserDetail(_ManagersOnly, APIView):
    """One staff account by user name (GET), or a change of its names, e-mail, phone or
    preferred language (PATCH)."""

    @extend_schema(responses=UserSerializer)
    def get(self, request, username):
        return Response(UserSerializer(_account(request, username)).data)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer)
    def patch(self, request, username):
        user = _account(request, username)
        ser = UserUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.user_update(actor=request.user, user=user, changes=dict(ser.validated_data))
        return Response(_fresh(request, user))


@extend_schema(tags=TAGS)
class RoleAssign(_ManagersOnly, APIView):
    """Give the account a role nationally, for a regional directorate or an institution
    (201; 200 when it already held it there)."""

    @extend_schema(
        request=RoleAssignSerializer, responses={200: UserSerializer, 201: UserSerializer}
    )
    def post(self, request, username):
        from idmaj.facilities.models import Facility, Region

        user = _account(request, username)
        ser = RoleAssignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        assignment = services.role_assign(
            actor=request.user,
            user=user,
            role_code=data["role"],
            level=data["level"],
            region=_place(Region, data.get("region", ""), "region"),
            facility=_place(Facility, data.get("facility", ""), "facility"),
        )
        code = status.HTTP_201_CREATED if assignment.was_created else status.HTTP_200_OK
        return Response(_fresh(request, user), status=code)


@extend_schema(tags=TAGS)
class RoleRevoke(_ManagersOnly, APIView):
    """Take one role assignment (by its id) away from the account (204)."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, username, assignment):
        user = _account(request, username)
        held = RoleAssignment.objects.filter(user=user, uuid=assignment).first()
        if held is None:
            raise Http404
        services.role_revoke(actor=request.user, assignment=held)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class Deactivate(_ManagersOnly, APIView):
    """Deactivate the account, with a reason: its sessions and API tokens end."""

    @extend_schema(request=DeactivateSerializer, responses=UserSerializer)
    def post(self, request, username):
        user = _account(request, username)
        ser = DeactivateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.user_deactivate(actor=request.user, user=user, reason=ser.validated_data["reason"])
        return Response(_fresh(request, user))


@extend_schema(tags=TAGS)
class Reactivate(_ManagersOnly, APIView):
    """Open a deactivated account again."""

    @extend_schema(request=None, responses=UserSerializer)
    def post(self, request, username):
        user = _account(request, username)
        services.user_reactivate(actor=request.user, user=user)
        return Response(_fresh(request, user))


@extend_schema(tags=TAGS)
class PasswordReset(_ManagersOnly, APIView):
    """A random temporary password, returned once in this answer and nowhere else."""

    @extend_schema(request=None, responses=TemporaryPasswordSerializer)
    def post(self, request, username):
        user = _account(request, username)
        password = services.user_password_reset(actor=request.user, user=user)
        response = Response({"temporary_password": password})
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(tags=TAGS)
class OtpReset(_ManagersOnly, APIView):
    """Remove the account's second-factor devices; it enrols again at its next sign-in."""

    @extend_schema(request=None, responses=OtpResetSerializer)
    def post(self, request, username):
        user = _account(request, username)
        removed = services.user_otp_reset(actor=request.user, user=user)
        return Response({"devices_removed": removed})


urlpatterns = [
    path("users/", UserListCreate.as_view(), name="api-account-list"),
    path("users/<str:username>/", UserDetail.as_view(), name="api-account-detail"),
    path("users/<str:username>/roles/", RoleAssign.as_view(), name="api-account-role-assign"),
    path(
        "users/<str:username>/roles/<uuid:assignment>/",
        RoleRevoke.as_view(),
        name="api-account-role-revoke",
    ),
    path("users/<str:username>/deactivate/", Deactivate.as_view(), name="api-account-deactivate"),
    path("users/<str:username>/reactivate/", Reactivate.as_view(), name="api-account-reactivate"),
    path(
        "users/<str:username>/password-reset/",
        PasswordReset.as_view(),
        name="api-account-password-reset",
    ),
    path("users/<str:username>/otp-reset/", OtpReset.as_view(), name="api-account-otp-reset"),
]
