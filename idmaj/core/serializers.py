"""Serializers of the staff accounts API: shapes only; the services decide."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from .constants import ScopeLevel
from .models import RoleAssignment, User
from .roles import role_label


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    role = serializers.CharField(source="role.code")
    role_label = serializers.SerializerMethodField()
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "role_label", "level", "region", "facility"]

    def get_role_label(self, obj) -> str:
        return str(role_label(obj.role.code))


class UserSerializer(serializers.ModelSerializer):
    assignments = AssignmentSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "full_name_ar",
            "email",
            "phone",
            "preferred_language",
            "is_active",
            "is_superuser",
            "date_joined",
            "last_login",
            "assignments",
        ]
        read_only_fields = fields


class UserFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True)
    role = serializers.CharField(required=False, allow_blank=True)
    facility = serializers.CharField(required=False, allow_blank=True, help_text="code")
    region = serializers.CharField(required=False, allow_blank=True, help_text="code")
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class _AccountFields(serializers.Serializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    full_name_ar = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    preferred_language = serializers.ChoiceField(required=False, choices=settings.LANGUAGES)


class UserCreateSerializer(_AccountFields):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class UserUpdateSerializer(_AccountFields):
    pass


class RoleAssignSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="role code, e.g. registry_officer")
    level = serializers.ChoiceField(choices=ScopeLevel.choices)
    region = serializers.CharField(required=False, allow_blank=True, help_text="code")
    facility = serializers.CharField(required=False, allow_blank=True, help_text="code")


class DeactivateSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TemporaryPasswordSerializer(serializers.Serializer):
    temporary_password = serializers.CharField()


class OtpResetSerializer(serializers.Serializer):
    devices_removed = serializers.IntegerField()
