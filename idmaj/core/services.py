"""Writes of the core domain: roles kept in line with their declaration, accounts, roles held."""

from __future__ import annotations

import importlib
import secrets
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import audit
from .constants import ScopeLevel
from .errors import ConflictError, DomainError, PermissionDenied
from .models import AuditEntry, Permission, Role, RoleAssignment, User
from .roles import ALL, ROLES
from .scoping import AccountScope, account_scope


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


# -- staff accounts ----------------------------------------------------------------------------
# Who may manage whom: see ``scoping.AccountScope``. ``actor=None`` is the system itself (demo
# data, commands) and may do anything.

USER_UPDATABLE = ("first_name", "last_name", "full_name_ar", "email", "phone", "preferred_language")
"""The fields of an account that ``user_update`` changes (forms and serializers offer these)."""

_USER_AUDITED = ("username", *USER_UPDATABLE, "is_active", "is_superuser")
# A temporary password: 4 groups of 5 characters without look-alikes (0/O, 1/l/I).
_TEMP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You are not allowed to do this here."))


def _manager_scope(actor) -> AccountScope:
    """The actor's ``accounts.manage`` scope; ``PermissionDenied`` when they hold none."""
    scope = account_scope(actor)
    if scope is None:
        raise _forbidden()
    return scope


def _require_manages(actor, user: User) -> AccountScope:
    """``PermissionDenied`` unless the actor may manage ``user``'s account."""
    scope = _manager_scope(actor)
    if not scope.manages(user):
        raise _forbidden()
    return scope


def _not_self(actor, user: User, message) -> None:
    if actor is not None and actor.pk == user.pk:
        raise DomainError("own_account", message)


def _lock_user(user: User) -> User:
    """Re-read ``user`` under a row lock, inside the caller's transaction."""
    return User.objects.select_for_update().get(pk=user.pk)


def _clean_or_raise(obj, *, exclude: list[str] | None = None) -> None:
    """``full_clean`` with Django's ValidationError turned into a DomainError (first field)."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            name, errors = next(iter(exc.error_dict.items()))
            taken = name == "username" and errors[0].code == "unique"
            code = "username_taken" if taken else "invalid"
            raise DomainError(
                code,
                " ".join(errors[0].messages),
                field=None if name == NON_FIELD_ERRORS else name,
            ) from exc
        raise DomainError("invalid", " ".join(exc.messages)) from exc


def _validate_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError("weak_password", " ".join(exc.messages), field="password") from exc


def _forget_access(user: User) -> None:
    if hasattr(user, "_idmaj_access"):
        del user._idmaj_access


def _end_sessions(user: User) -> int:
    """Delete the user's stored sessions (database-backed session engines); other engines
    rely on the authentication backend, which refuses an inactive user on every request."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return 0
    engine = importlib.import_module(settings.SESSION_ENGINE)
    mine = []
    rows = Session.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data"
    )
    store = engine.SessionStore()
    for key, data in rows.iterator(chunk_size=2000):
        if store.decode(data).get(SESSION_KEY) == str(user.pk):
            mine.append(key)
    for key in mine:
        engine.SessionStore(session_key=key).delete()
    return len(mine)


def _end_tokens(user: User) -> int:
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user).delete()[0]


def user_create(
    *,
    actor,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    full_name_ar: str = "",
    email: str = "",
    phone: str = "",
    preferred_language: str = "ar",
    is_superuser: bool = False,
    validate: bool = True,
) -> User:
    """A new staff account, without any role (give roles with ``role_assign``).

    Any holder of ``accounts.manage`` may create one; only a national holder (or the system)
    may create a superuser. ``validate=False`` (the demo accounts) skips the password rules.
    """
    scope = _manager_scope(actor)
    if is_superuser and not scope.national:
        raise _forbidden()
    if User.objects.filter(username=username).exists():
        raise DomainError("username_taken", _("This user name is already taken."), field="username")
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        full_name_ar=full_name_ar,
        email=email,
        phone=phone,
        preferred_language=preferred_language,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    _clean_or_raise(user, exclude=["password"])
    if validate:
        _validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=user,
                after=audit.snapshot(user, _USER_AUDITED),
            )
    except IntegrityError as exc:  # the same user name created meanwhile by someone else
        raise ConflictError(
            "username_taken", _("This user name is already taken."), field="username"
        ) from exc
    return user


def user_update(*, actor, user: User, changes: dict[str, Any]) -> User:
    """Change an account's names, e-mail, phone or preferred language.

    ``changes`` maps field names of ``USER_UPDATABLE`` to new values; the audit entry holds
    the changed fields only, before and after. Nothing changed, nothing recorded.
    """
    unknown = [k for k in changes if k not in USER_UPDATABLE]
    if unknown:
        raise DomainError(
            "not_updatable",
            _("This field cannot be changed here: %(field)s.") % {"field": unknown[0]},
            field=unknown[0],
        )
    with transaction.atomic():
        locked = _lock_user(user)
        _require_manages(actor, locked)
        before = audit.snapshot(locked, USER_UPDATABLE)
        for name, value in changes.items():
            setattr(locked, name, "" if value is None else value)
        _clean_or_raise(locked, exclude=["password"])
        after = audit.snapshot(locked, USER_UPDATABLE)
        changed = [k for k in USER_UPDATABLE if before[k] != after[k]]
        if changed:
            locked.save(update_fields=changed)
            audit.record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=locked,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
    for name in USER_UPDATABLE:
        setattr(user, name, getattr(locked, name))
    return user


def user_deactivate(*, actor, user: User, reason: str) -> User:
    """Close an account: it can no longer sign in, its sessions and API tokens end.

    The account, its roles and its history stay; ``user_reactivate`` opens it again. An
    administrator cannot deactivate their own account.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock_user(user)
        _require_manages(actor, locked)
        _not_self(actor, locked, _("You cannot deactivate your own account."))
        if not reason:
            raise DomainError(
                "reason_required",
                _("Give the reason for deactivating the account."),
                field="reason",
            )
        if not locked.is_active:
            raise ConflictError("already_inactive", _("This account is already deactivated."))
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        sessions = _end_sessions(locked)
        tokens = _end_tokens(locked)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            verb="deactivate",
            obj=locked,
            before={"is_active": True},
            after={
                "is_active": False,
                "reason": reason[:500],
                "sessions_ended": sessions,
                "tokens_revoked": tokens,
            },
        )
    user.is_active = False
    _forget_access(user)
    return user


def user_reactivate(*, actor, user: User) -> User:
    """Open a deactivated account again (with the roles it still holds)."""
    with transaction.atomic():
        locked = _lock_user(user)
        _require_manages(actor, locked)
        if locked.is_active:
            raise ConflictError("already_active", _("This account is already active."))
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            verb="reactivate",
            obj=locked,
            before={"is_active": False},
            after={"is_active": True},
        )
    user.is_active = True
    _forget_access(user)
    return user


def _temporary_password(user: User) -> str:
    while True:
        groups = ["".join(secrets.choice(_TEMP_ALPHABET) for _i in range(5)) for _g in range(4)]
        candidate = "-".join(groups)
        try:
            validate_password(candidate, user)
        except ValidationError:  # pragma: no cover - a random draw that looks like the user
            continue
        return candidate


def user_password_reset(*, actor, user: User) -> str:
    """Give the account a random temporary password and return it, to be shown once to the
    administrator (it is stored hashed only, and never written to the audit trail).

    The user's sessions and API tokens end. The account model has no "must change the
    password" flag, so the change at the next sign-in is not enforced: the administrator
    asks the user to change it (page "Change my password"). An administrator resets their
    own password there too, not here.
    """
    with transaction.atomic():
        locked = _lock_user(user)
        _require_manages(actor, locked)
        _not_self(actor, locked, _("Change your own password on the page for it."))
        password = _temporary_password(locked)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        sessions = _end_sessions(locked)
        tokens = _end_tokens(locked)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            verb="password_reset",
            obj=locked,
            after={"sessions_ended": sessions, "tokens_revoked": tokens},
        )
    user.password = locked.password
    return password


def user_password_change(*, actor: User, old_password: str, new_password: str) -> User:
    """A signed-in user changes their own password (after a reset, or at any time)."""
    with transaction.atomic():
        locked = _lock_user(actor)
        if not locked.check_password(old_password):
            raise DomainError(
                "wrong_password",
                _("Your current password is not correct."),
                field="old_password",
            )
        try:
            validate_password(new_password, locked)
        except ValidationError as exc:
            raise DomainError(
                "weak_password", " ".join(exc.messages), field="new_password"
            ) from exc
        if locked.check_password(new_password):
            raise DomainError(
                "same_password",
                _("The new password must differ from the current one."),
                field="new_password",
            )
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        audit.record(
            actor=actor, action=AuditEntry.Action.UPDATE, verb="password_change", obj=locked
        )
    actor.password = locked.password
    return actor


def user_otp_reset(*, actor, user: User) -> int:
    """Remove the user's second-factor devices (a lost phone); they enrol a new one at their
    next sign-in. Returns how many devices were removed. Not for one's own account."""
    from django_otp import devices_for_user

    with transaction.atomic():
        locked = _lock_user(user)
        _require_manages(actor, locked)
        _not_self(actor, locked, _("Another administrator must reset your own second factor."))
        devices = list(devices_for_user(locked, confirmed=None))
        if not devices:
            raise ConflictError("no_device", _("This user has no second-factor device."))
        for device in devices:
            device.delete()
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            verb="otp_reset",
            obj=locked,
            after={"devices_removed": len(devices)},
        )
    return len(devices)


def _assignment_summary(a: RoleAssignment) -> dict[str, Any]:
    return {
        "user": a.user.username,
        "role": a.role.code,
        "level": a.level,
        "region": a.region.code if a.region_id else None,
        "facility": a.facility.code if a.facility_id else None,
    }


def role_assign(
    *, actor, user: User, role_code: str, level: str, region=None, facility=None
) -> RoleAssignment:
    """Give ``user`` a role nationally, for a regional directorate or for an institution.

    Holding it already changes nothing (the assignment returned has ``was_created`` False).
    The new scope must lie within the actor's, and so must the user's other assignments.
    """
    role = Role.objects.filter(code=role_code).first()
    if role is None:
        raise DomainError(
            "unknown_role", _("Unknown role %(role)s.") % {"role": role_code}, field="role"
        )
    if level not in ScopeLevel.values:
        raise DomainError("invalid", _("Choose a scope."), field="level")
    if level == ScopeLevel.FACILITY and facility is None:
        raise DomainError(
            "scope_missing", _("An institution is required for this scope."), field="facility"
        )
    if level == ScopeLevel.REGION and region is None:
        raise DomainError(
            "scope_missing",
            _("A regional directorate is required for this scope."),
            field="region",
        )
    region = region if level == ScopeLevel.REGION else None
    facility = facility if level == ScopeLevel.FACILITY else None
    with transaction.atomic():
        locked = _lock_user(user)
        scope = _require_manages(actor, locked)
        if not scope.covers(level, getattr(region, "pk", None), getattr(facility, "pk", None)):
            raise _forbidden()
        assignment, created = RoleAssignment.objects.get_or_create(
            user=locked, role=role, level=level, region=region, facility=facility
        )
        if created:
            assignment.full_clean()
            audit.record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=assignment,
                facility_id=assignment.facility_id,
                after=_assignment_summary(assignment),
            )
    assignment.was_created = created
    _forget_access(user)
    return assignment


def role_revoke(*, actor, assignment: RoleAssignment) -> None:
    """Take a role assignment away. Not one's own: another administrator must do it."""
    with transaction.atomic():
        # the account first, as every account service locks it: no deadlock between them
        User.objects.select_for_update().filter(pk=assignment.user_id).first()
        locked = (
            RoleAssignment.objects.select_for_update(of=("self",))
            .select_related("user", "role", "region", "facility")
            .filter(pk=assignment.pk)
            .first()
        )
        if locked is None:
            raise ConflictError("already_revoked", _("This role was already revoked."))
        scope = _require_manages(actor, locked.user)
        if not scope.covers(locked.level, locked.region_id, locked.facility_id):
            raise _forbidden()
        _not_self(actor, locked.user, _("Another administrator must revoke your own roles."))
        before = _assignment_summary(locked)
        audit.record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            obj=locked,
            facility_id=locked.facility_id,
            before=before,
        )
        locked.delete()
    if hasattr(assignment, "user"):
        _forget_access(assignment.user)
