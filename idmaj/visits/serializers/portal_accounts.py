"""JSON shapes of the family portal's account API (thin: the rules are the services')."""

from __future__ import annotations

from rest_framework import serializers

from ..constants import AccountStatus
from ..models import FamilyAccount

# The same choice set as the registry's "language" fields: one enum in the OpenAPI schema.
PORTAL_LANGUAGE_CHOICES = [("ar", "ar"), ("fr", "fr")]
CODE_PURPOSE_CHOICES = [("verify_phone", "verify_phone"), ("reset_password", "reset_password")]


# A plain string in the schema ("status" enums of other domains would collide).
_STATUS_HELP = "One of: " + ", ".join(AccountStatus.values)


def _password(**kw) -> serializers.CharField:
    return serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, max_length=128, **kw
    )


class PortalAccountSerializer(serializers.ModelSerializer):
    """The signed-in family's own account."""

    status = serializers.CharField(read_only=True, help_text=_STATUS_HELP)
    language = serializers.ChoiceField(choices=PORTAL_LANGUAGE_CHOICES, read_only=True)

    class Meta:
        model = FamilyAccount
        fields = [
            "uuid",
            "cin",
            "first_name",
            "family_name",
            "phone",
            "email",
            "language",
            "status",
            "phone_verified_at",
            "created_at",
        ]
        read_only_fields = fields


class PortalAccountPatchSerializer(serializers.Serializer):
    """What the family may change itself (any subset)."""

    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=PORTAL_LANGUAGE_CHOICES, required=False)


class PortalRegisterSerializer(serializers.Serializer):
    """``phone``: a mobile number in any usual form (0612345678, +212 6 12 34 56 78);
    ``language``: of the SMS and e-mails (default: the request's language)."""

    cin = serializers.CharField(max_length=20)
    first_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=30)
    password = _password()
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=PORTAL_LANGUAGE_CHOICES, required=False)


class PortalRegisteredSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    status = serializers.CharField(help_text=_STATUS_HELP)
    phone = serializers.CharField(help_text="E.164; the verification code was sent to it")


class PortalVerifySerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)
    code = serializers.CharField(max_length=12)


class PortalTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Portal <token>`")
    expires_at = serializers.DateTimeField()


class PortalVerifiedSerializer(PortalTokenSerializer):
    account = PortalAccountSerializer()


class PortalCodeRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)
    purpose = serializers.ChoiceField(choices=CODE_PURPOSE_CHOICES, default="verify_phone")


class PortalPhoneSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)


class PortalResetConfirmSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)
    code = serializers.CharField(max_length=12)
    new_password = _password()


class PortalSigninSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)
    password = _password()


class PortalRevokeSerializer(serializers.Serializer):
    all = serializers.BooleanField(
        default=False, help_text="Revoke every token of the account, not only this one"
    )


class PortalRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()


class PortalDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
