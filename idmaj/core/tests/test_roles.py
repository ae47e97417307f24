"""Roles as data: ``roles_sync`` / ``idmaj sync_roles`` keep the tables in line."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from idmaj.core.models import Permission, Role
from idmaj.core.roles import ROLES
from idmaj.core.services import declared_permissions, roles_sync

pytestmark = pytest.mark.django_db

ISSUE_ROLES = {
    "system_admin",
    "central_admin",
    "regional_director",
    "institution_director",
    "registry_officer",
    "physician",
    "nurse",
    "catering_officer",
    "rehabilitation_officer",
    "visits_officer",
    "security_officer",
    "auditor",
}


def test_every_role_of_the_issue_exists():
    assert ISSUE_ROLES <= set(ROLES)
    assert ISSUE_ROLES <= set(Role.objects.values_list("code", flat=True))


def test_sync_is_idempotent():
    roles_sync()
    assert roles_sync()["changed"] == 0


def test_sync_removes_stale_and_restores_changed_permissions():
    stale = Permission.objects.create(code="old.perm", label="gone")
    registry = Role.objects.get(code="registry_officer")
    registry.permissions.add(stale, Permission.objects.get(code="audit.view"))
    auditor = Role.objects.get(code="auditor")
    auditor.permissions.remove(Permission.objects.get(code="audit.view"))
    result = roles_sync()
    assert result["changed"] >= 3
    assert not Permission.objects.filter(code="old.perm").exists()
    assert set(registry.permissions.values_list("code", flat=True)) == set(
        ROLES["registry_officer"]["permissions"]
    )
    assert auditor.permissions.filter(code="audit.view").exists()
    assert roles_sync()["changed"] == 0


def test_star_role_gets_every_declared_permission():
    admin = Role.objects.get(code="system_admin")
    assert set(admin.permissions.values_list("code", flat=True)) == set(declared_permissions())


def test_audit_view_holders():
    holders = set(
        Role.objects.filter(permissions__code="audit.view").values_list("code", flat=True)
    )
    assert holders == {"auditor", "system_admin"}


def test_sync_roles_command():
    Permission.objects.create(code="old.perm", label="gone")
    out = io.StringIO()
    call_command("sync_roles", stdout=out)
    assert "1 changes" in out.getvalue()
    out = io.StringIO()
    call_command("sync_roles", stdout=out)
    assert "0 changes" in out.getvalue()
    assert f"{len(ROLES)} roles" in out.getvalue()


def test_sync_does_not_depend_on_the_active_language():
    from django.utils import translation

    with translation.override("fr"):
        roles_sync()
    with translation.override("ar"):
        assert roles_sync()["changed"] == 0
    assert Permission.objects.get(code="audit.view").label == "Read the audit trail"
    assert Role.objects.get(code="auditor").label == "Auditor"
