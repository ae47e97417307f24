"""API plumbing shared by every domain: the token endpoint and the error format."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import Http404
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .middleware import otp_required_for


def exception_handler(exc, context):
    """DomainError becomes 400/409 with a machine-readable ``code`` and a translated detail."""
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "detail": _("Not found.")}, status=404)
    return drf_exception_handler(exc, context)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(required=False, help_text="TOTP code, for roles that require one")


class TokenView(APIView):
    """Exchange a user name and password (and a TOTP code where required) for an API token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        tags=["auth"],
    )
    def post(self, request):
        ser = TokenRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request if hasattr(request, "_request") else request,
            username=ser.validated_data["username"],
            password=ser.validated_data["password"],
        )
        if user is None:
            return Response(
                {"code": "invalid_credentials", "detail": _("Wrong user name or password.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if otp_required_for(user):
            code = ser.validated_data.get("otp", "")
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if not code or device is None or not device.verify_token(code):
                return Response(
                    {
                        "code": "otp_required",
                        "detail": _("A valid code from your authenticator app is required."),
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
