"""Accounts, roles held per scope, the tamper-evident audit trail and notifications."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .constants import Channel, NotificationStatus, ScopeLevel


class User(AbstractUser):
    """A staff account (families get their own accounts in the visits domain)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    full_name_ar = models.CharField(_("full name (Arabic)"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="ar"
    )
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def display_name(self) -> str:
        return self.full_name_ar or self.get_full_name() or self.username


class Permission(models.Model):
    """A permission code declared by a domain in its ``permissions.py``."""

    code = models.CharField(max_length=80, unique=True)
    label = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("permission")
        verbose_name_plural = _("permissions")

    def __str__(self) -> str:
        return self.code


class Role(models.Model):
    """A role, defined as data in ``core.roles.ROLES`` and kept in line by ``sync_roles``."""

    code = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    permissions = models.ManyToManyField(Permission, related_name="roles", blank=True)
    read_only = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.code


class RoleAssignment(models.Model):
    """A role held by a user nationally, for one regional directorate or one institution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    level = models.CharField(_("scope"), max_length=10, choices=ScopeLevel.choices)
    region = models.ForeignKey(
        "facilities.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("regional directorate"),
    )
    facility = models.ForeignKey(
        "facilities.Facility",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("institution"),
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                name="assignment_scope_consistent",
                condition=(
                    Q(level=ScopeLevel.NATIONAL, region__isnull=True, facility__isnull=True)
                    | Q(level=ScopeLevel.REGION, region__isnull=False, facility__isnull=True)
                    | Q(level=ScopeLevel.FACILITY, region__isnull=True, facility__isnull=False)
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "level", "region", "facility"], name="assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        target = self.facility or self.region or _("national")
        return f"{self.user} · {self.role} · {target}"


class AuditChainHead(models.Model):
    """The last entry of one chain of the audit trail.

    There is one chain per institution (and chain 0 for national records): appending locks
    only the head of that institution's chain, so that writes in different institutions never
    wait for each other, while each chain stays strictly ordered.
    """

    chain = models.BigIntegerField(primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain {self.chain} @ {self.last_seq}"


class AuditEntry(models.Model):
    """One append-only entry of the audit trail; ``hash`` covers content and ``prev_hash``."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")
        READ = "read", _("read")
        LOGIN = "login", _("signed in")
        LOGIN_FAILED = "login_failed", _("sign-in failed")
        LOGOUT = "logout", _("signed out")
        ACTION = "action", _("action")

    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    verb = models.CharField(max_length=80, blank=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    facility_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["facility_id", "at"], name="audit_facility_at_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.chain}.{self.seq} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """One SMS or e-mail, rendered in the recipient's language, sent by a background job."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=200)
    language = models.CharField(max_length=8, default="ar")
    template = models.CharField(max_length=80)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    facility_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["status", "created_at"], name="notif_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient} ({self.template})"
