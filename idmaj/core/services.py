"""Writes of the core domain: roles kept in line with their declaration, accounts, roles held."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from . import audit
from .constants import ScopeLevel
from .errors import ConflictError, DomainError
from .models import AuditEntry, Permission, Role, RoleAssignment, User
from .roles import ALL, ROLES


def declared_permissions() -> dict[str, str]:
    """Every permission code declared by an installed idmaj domain (``<app>/permissions.py``).

    Labels are kept in their source language, whatever language is active: the tables must
    not change when ``sync_roles`` runs under another language (``migrate`` runs untranslated,
    a request or a test in Arabic).
    """
    out: dict[str, str] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("idmaj."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.permissions")
        except ModuleNotFoundError:
            continue
        with translation.override(None):
            for code, label in getattr(module, "PERMISSIONS", {}).items():
                out[code] = str(label)
    return out


def roles_sync(*, using: str = "default") -> dict[str, int]:
    """Make the Permission and Role tables say exactly what the declarations say."""
    declared = declared_permissions()
    for code, spec in ROLES.items():
        for p in spec["permissions"]:
            if p != ALL and p not in declared:
                raise DomainError(
                    "unknown_permission", f"role {code} names undeclared permission {p}"
                )
    changed = 0
    with transaction.atomic(using=using), translation.override(None):
        existing = {p.code: p for p in Permission.objects.using(using).all()}
        for code, label in declared.items():
            p = existing.get(code)
            if p is None:
                existing[code] = Permission.objects.using(using).create(code=code, label=label)
                changed += 1
            elif p.label != label:
                p.label = label
                p.save(update_fields=["label"])
                changed += 1
        stale = [c for c in existing if c not in declared]
        if stale:
            Permission.objects.using(using).filter(code__in=stale).delete()
            changed += len(stale)
        for code, spec in ROLES.items():
            role, created = Role.objects.using(using).get_or_create(
                code=code, defaults={"label": str(spec["label"])}
            )
            role.label = str(spec["label"])
            role.read_only = bool(spec.get("read_only", False))
            role.save(update_fields=["label", "read_only"])
            codes = set(declared) if ALL in spec["permissions"] else set(spec["permissions"])
            wanted = {existing[c].pk for c in codes}
            have = set(role.permissions.values_list("pk", flat=True))
            if wanted != have:
                role.permissions.set(wanted)
                changed += 1
            changed += int(created)
    return {"permissions": len(declared), "roles": len(ROLES), "changed": changed}


def user_create(
    *,
    actor,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    full_name_ar: str = "",
    email: str = "",
    preferred_language: str = "ar",
    is_superuser: bool = False,
    validate: bool = True,
) -> User:
    if User.objects.filter(username=username).exists():
        raise DomainError("username_taken", _("This user name is already taken."), field="username")
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        full_name_ar=full_name_ar,
        email=email,
        preferred_language=preferred_language,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError("weak_password", " ".join(exc.messages), field="password") from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.full_clean(exclude=["password"])
            user.save()
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=user,
                after=audit.snapshot(
                    user,
                    [
                        "username",
                        "first_name",
                        "last_name",
                        "full_name_ar",
                        "email",
                        "is_superuser",
                    ],
                ),
            )
    except IntegrityError as exc:  # the same user name created meanwhile by someone else
        raise ConflictError(
            "username_taken", _("This user name is already taken."), field="username"
        ) from exc
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError("invalid", " ".join(messages), field=field) from exc
    return user


def role_assign(
    *, actor, user: User, role_code: str, level: str, region=None, facility=None
) -> RoleAssignment:
    role = Role.objects.filter(code=role_code).first()
    if role is None:
        raise DomainError("unknown_role", _("Unknown role %(role)s.") % {"role": role_code})
    if level == ScopeLevel.FACILITY and facility is None:
        raise DomainError("scope_missing", _("An institution is required for this scope."))
    if level == ScopeLevel.REGION and region is None:
        raise DomainError("scope_missing", _("A regional directorate is required for this scope."))
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user,
            role=role,
            level=level,
            region=region if level == ScopeLevel.REGION else None,
            facility=facility if level == ScopeLevel.FACILITY else None,
        )
        if created:
            assignment.full_clean()
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=assignment,
                facility_id=assignment.facility_id,
                after={
                    "user": user.username,
                    "role": role_code,
                    "level": level,
                    "region": region.code if region else None,
                    "facility": facility.code if facility else None,
                },
            )
    if hasattr(user, "_idmaj_access"):
        del user._idmaj_access
    return assignment
