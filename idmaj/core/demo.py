"""Demo accounts: all share ``IDMAJ_DEMO_PASSWORD`` (default ``idmaj-demo-2026``)."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import transaction

from .constants import ScopeLevel

DEMO_FACILITIES = ["OUJDA2", "BERKANE2"]

# (username prefix, role code)
FACILITY_ROLES = [
    ("director", "institution_director"),
    ("registry", "registry_officer"),
    ("doctor", "physician"),
    ("nurse", "nurse"),
    ("catering", "catering_officer"),
    ("rehab", "rehabilitation_officer"),
    ("visits", "visits_officer"),
    ("security", "security_officer"),
]

NATIONAL_ACCOUNTS = [
    ("admin", "system_admin", "مدير النظام", "Administrateur", "Système"),
    ("central", "central_admin", "الإدارة المركزية", "Administration", "Centrale"),
    ("auditor", "auditor", "المفتش", "Inspecteur", "Audit"),
]


def demo_usernames() -> list[str]:
    names = [a[0] for a in NATIONAL_ACCOUNTS]
    for code in DEMO_FACILITIES:
        names += [f"{prefix}.{code.lower()}" for prefix, _ in FACILITY_ROLES]
    return names


def demo_accounts_text(password: str) -> str:
    lines = [f"Demo accounts (password: {password}):"]
    lines.append(
        "  admin (system administrator), central (central administration), auditor (read-only)"
    )
    for code in DEMO_FACILITIES:
        lines.append(
            f"  {code}: " + ", ".join(f"{prefix}.{code.lower()}" for prefix, _ in FACILITY_ROLES)
        )
    # Accounts of other kinds that domains seed (e.g. the family portal's).
    for config in apps.get_app_configs():
        if not config.name.startswith("idmaj."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "demo_accounts_lines"):
            lines += module.demo_accounts_lines(password)
    return "\n".join(lines)


def seed_accounts(*, password: str, stdout=None) -> int:
    """Create the demo accounts and their roles (idempotent)."""
    from idmaj.facilities.models import Facility

    from .models import User
    from .services import role_assign, user_create

    created = 0
    with transaction.atomic():
        for username, role, name_ar, first, last in NATIONAL_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    actor=None,
                    username=username,
                    password=password,
                    first_name=first,
                    last_name=last,
                    full_name_ar=name_ar,
                    validate=False,
                    is_superuser=(role == "system_admin"),
                )
                created += 1
            role_assign(actor=None, user=user, role_code=role, level=ScopeLevel.NATIONAL)
        for code in DEMO_FACILITIES:
            facility = Facility.objects.filter(code=code).first()
            if facility is None:
                continue
            for prefix, role in FACILITY_ROLES:
                username = f"{prefix}.{code.lower()}"
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = user_create(
                        actor=None,
                        username=username,
                        password=password,
                        first_name=prefix.capitalize(),
                        last_name=code.title(),
                        validate=False,
                    )
                    created += 1
                role_assign(
                    actor=None,
                    user=user,
                    role_code=role,
                    level=ScopeLevel.FACILITY,
                    facility=facility,
                )
    if stdout:
        stdout.write(f"demo accounts: {created} created")
    return created
