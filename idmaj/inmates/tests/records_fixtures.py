"""Fixtures of the records tests (imported by ``test_records_*.py``)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from idmaj.core.models import Permission, Role
from idmaj.core.tests.factories import UserFactory, grant

from .factories import CustodyPeriodFactory, PersonFactory, registry_roles


def image_bytes(fmt: str = "JPEG", size=(40, 50), color=(120, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def outbox(settings, kind: str) -> list[dict]:
    path = settings.NOTIFY_OUTBOX_DIR / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(name="rec")
def rec_fixture(two_facilities, settings, tmp_path):
    """Two institutions with their directors (``inmates.alerts``) and registry officers
    (``inmates.admit``, ``inmates.edit``), a viewer and a releasing officer at OUJDA2, and
    one prisoner in custody at each. Media files go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    registry_roles()
    release_role, _ = Role.objects.get_or_create(code="test_release", defaults={"label": "r"})
    release_role.permissions.set(
        Permission.objects.filter(code__in=["inmates.view", "inmates.release"])
    )
    w = dict(two_facilities)
    a, b = w["a"], w["b"]
    users = w["users"]
    w["director_a"] = users["director.oujda2"]
    w["director_a"].email = "director.oujda2@dgapr.example"
    w["director_a"].preferred_language = "fr"
    w["director_a"].save(update_fields=["email", "preferred_language"])
    w["director_b"] = users["director.sale2"]
    w["director_b"].email = "director.sale2@dgapr.example"
    w["director_b"].save(update_fields=["email"])
    w["officer_a"] = users["registry.oujda2"]
    w["officer_a"].email = "registry.oujda2@dgapr.example"
    w["officer_a"].save(update_fields=["email"])
    w["officer_b"] = users["registry.sale2"]
    w["viewer_a"] = UserFactory(username="viewer.oujda2")
    grant(w["viewer_a"], "test_registry_viewer", facility=a)
    w["releaser_a"] = UserFactory(username="release.oujda2")
    grant(w["releaser_a"], "test_release", facility=a)
    w["custody_a"] = CustodyPeriodFactory(
        facility=a,
        committal_number="OUJDA2-2026-000501",
        person=PersonFactory(
            first_name_ar="يوسف",
            family_name_ar="الإدريسي",
            first_name_latin="Youssef",
            family_name_latin="Idrissi",
            cin="AB111111",
        ),
    )
    w["custody_b"] = CustodyPeriodFactory(
        facility=b,
        committal_number="SALE2-2026-000501",
        person=PersonFactory(cin="CD222222"),
    )
    return w
