"""The family portal's account API (``/api/v1/portal/...``), for the mobile app.

Registration, phone verification, codes, password reset and sign-in are open (no
authentication, no session: no CSRF either); ``me/`` and ``auth/token/revoke/`` need a family
(``Authorization: Portal <token>`` or the portal's browser session). Staff credentials never
open these endpoints. Refusals: 400/409 ``{"code", "detail"}``, 429 ``rate_limited``, 403
``unverified`` (sign-in before the phone is verified). Thin views over
``services.accounts``; rate limits are counted there with the client's address.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError

from .. import portal_auth, selectors
from ..ratelimit import client_address
from ..serializers.portal_accounts import (
    PortalAccountPatchSerializer,
    PortalAccountSerializer,
    PortalCodeRequestSerializer,
    PortalDetailSerializer,
    PortalPhoneSerializer,
    PortalRegisteredSerializer,
    PortalRegisterSerializer,
    PortalResetConfirmSerializer,
    PortalRevokedSerializer,
    PortalRevokeSerializer,
    PortalSigninSerializer,
    PortalTokenSerializer,
    PortalVerifiedSerializer,
    PortalVerifySerializer,
)
from ..services import accounts as services

TAGS = ["portal"]
REFUSED = OpenApiResponse(description="Refused: `{code, detail[, field]}`")
LIMITED = OpenApiResponse(description="Too many attempts: `{code: rate_limited, detail}`")


class _Open(APIView):
    """No authentication at all (the family is not signed in yet)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class _Family(APIView):
    authentication_classes = portal_auth.PORTAL_AUTHENTICATION
    permission_classes = [portal_auth.IsFamily]
    throttle_classes: list = []


def _token_body(token) -> dict:
    return {"token": token.key, "expires_at": token.expires_at}


class Register(_Open):
    """Create a family account (unverified) and send the verification code by SMS."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_register",
        request=PortalRegisterSerializer,
        responses={201: PortalRegisteredSerializer, 400: REFUSED, 409: REFUSED, 429: LIMITED},
    )
    def post(self, request):
        ser = PortalRegisterSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        account = services.family_register(
            cin=data["cin"],
            first_name=data["first_name"],
            family_name=data["family_name"],
            phone=data["phone"],
            password=data["password"],
            email=data.get("email", ""),
            language=data.get("language") or get_language() or "ar",
            ip=client_address(request),
        )
        return Response(
            {"uuid": account.uuid, "status": account.status, "phone": account.phone},
            status=status.HTTP_201_CREATED,
        )


class Verify(_Open):
    """The code received by SMS: the account becomes active and an API token is issued."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_verify",
        request=PortalVerifySerializer,
        responses={200: PortalVerifiedSerializer, 400: REFUSED, 409: REFUSED},
    )
    def post(self, request):
        ser = PortalVerifySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        phone = services.normalise_portal_phone(ser.validated_data["phone"])
        account = selectors.family_unverified_by_phone(phone)
        if account is None:
            raise DomainError("invalid_code", services.INVALID_CODE, field="code")
        account = services.phone_verify(account=account, code=ser.validated_data["code"])
        token = services.portal_token_create(account=account)
        return Response({**_token_body(token), "account": PortalAccountSerializer(account).data})


class Codes(_Open):
    """Send a new code (``verify_phone`` or ``reset_password``) to a phone. The answer is the
    same whether an account holds the phone or not."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_codes_send",
        request=PortalCodeRequestSerializer,
        responses={202: PortalDetailSerializer, 400: REFUSED, 429: LIMITED},
    )
    def post(self, request):
        ser = PortalCodeRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.phone_code_resend(
            phone=ser.validated_data["phone"],
            purpose=ser.validated_data["purpose"],
            ip=client_address(request),
        )
        return Response({"detail": str(services.RESET_SENT)}, status=status.HTTP_202_ACCEPTED)


class PasswordReset(_Open):
    """Ask for a password reset code by SMS (same answer whether the phone is known or not)."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_password_reset",
        request=PortalPhoneSerializer,
        responses={202: PortalDetailSerializer, 400: REFUSED, 429: LIMITED},
    )
    def post(self, request):
        ser = PortalPhoneSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        answer = services.password_reset_request(
            phone=ser.validated_data["phone"], ip=client_address(request)
        )
        return Response({"detail": answer}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirm(_Open):
    """The reset code and a new password; every API token of the account is revoked."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_password_reset_confirm",
        request=PortalResetConfirmSerializer,
        responses={200: PortalDetailSerializer, 400: REFUSED, 429: LIMITED},
    )
    def post(self, request):
        ser = PortalResetConfirmSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.password_reset_confirm(**ser.validated_data, ip=client_address(request))
        return Response({"detail": _("Your password is changed. Sign in with the new one.")})


class Token(_Open):
    """Sign in: a phone and a password for an API token (``Authorization: Portal <token>``)."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_token_create",
        request=PortalSigninSerializer,
        responses={
            201: PortalTokenSerializer,
            400: REFUSED,
            403: OpenApiResponse(description="`unverified` (verify the phone first) or suspended"),
            429: LIMITED,
        },
    )
    def post(self, request):
        ser = PortalSigninSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        account = services.family_authenticate(**ser.validated_data, ip=client_address(request))
        token = services.portal_token_create(account=account)
        return Response(_token_body(token), status=status.HTTP_201_CREATED)


class TokenRevoke(_Family):
    """Sign out: revoke the token of this request, or every token of the account (``all``)."""

    @extend_schema(
        tags=TAGS,
        operation_id="portal_token_revoke",
        request=PortalRevokeSerializer,
        responses={200: PortalRevokedSerializer},
    )
    def post(self, request):
        ser = PortalRevokeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        every = ser.validated_data["all"] or request.auth is None
        revoked = services.portal_token_revoke(
            account=request.user, token=None if every else request.auth
        )
        return Response({"revoked": revoked})


class Me(_Family):
    """The signed-in family's account; ``PATCH`` changes the e-mail or the language of the
    messages."""

    @extend_schema(tags=TAGS, operation_id="portal_me", responses={200: PortalAccountSerializer})
    def get(self, request):
        return Response(PortalAccountSerializer(request.user).data)

    @extend_schema(
        tags=TAGS,
        operation_id="portal_me_update",
        request=PortalAccountPatchSerializer,
        responses={200: PortalAccountSerializer, 400: REFUSED},
    )
    def patch(self, request):
        account = request.user
        ser = PortalAccountPatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        account = services.family_update(
            account=account,
            email=ser.validated_data.get("email", account.email),
            language=ser.validated_data.get("language", account.language),
        )
        return Response(PortalAccountSerializer(account).data)


urlpatterns = [
    path("register/", Register.as_view(), name="api-portal-register"),
    path("verify/", Verify.as_view(), name="api-portal-verify"),
    path("codes/", Codes.as_view(), name="api-portal-codes"),
    path("password-reset/", PasswordReset.as_view(), name="api-portal-password-reset"),
    path(
        "password-reset/confirm/",
        PasswordResetConfirm.as_view(),
        name="api-portal-password-reset-confirm",
    ),
    path("auth/token/", Token.as_view(), name="api-portal-token"),
    path("auth/token/revoke/", TokenRevoke.as_view(), name="api-portal-token-revoke"),
    path("me/", Me.as_view(), name="api-portal-me"),
]
