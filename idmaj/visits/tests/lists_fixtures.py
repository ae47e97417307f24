"""Helpers of the visitor lists tests (``test_lists_*.py``)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from idmaj.core.models import Permission, Role
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.tests.factories import CustodyPeriodFactory, PersonFactory

from ..portal_auth import SESSION_KEY
from .factories import FamilyAccountFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 120, 10)).save(out, "JPEG")
    return out.getvalue()


def pdf_upload(name="livret.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def prisoner(facility, **person):
    """A prisoner in custody at ``facility`` with known names in both scripts."""
    values = {
        "first_name_ar": "يوسف",
        "family_name_ar": "الإدريسي",
        "first_name_latin": "Youssef",
        "family_name_latin": "Idrissi",
        **person,
    }
    return CustodyPeriodFactory(facility=facility, person=PersonFactory(**values))


def years_ago(n: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - n) - dt.timedelta(days=days)
    except ValueError:  # 29 February
        return today.replace(year=today.year - n, day=28) - dt.timedelta(days=days)


def viewer(facility):
    """A user holding ``visits.view`` only, at ``facility``."""
    role, _created = Role.objects.get_or_create(code="test_visits_viewer", defaults={"label": "v"})
    role.permissions.set(Permission.objects.filter(code="visits.view"))
    user = UserFactory(username=f"viewer_{facility.code.lower()}")
    grant(user, "test_visits_viewer", facility=facility)
    return user


def family_client(client, account):
    """``client`` signed in on the portal as ``account``."""
    session = client.session
    session[SESSION_KEY] = account.pk
    session.save()
    return client


def new_family(**kw):
    return FamilyAccountFactory(**kw)


def outbox(settings, kind: str = "sms") -> list[dict]:
    path = settings.NOTIFY_OUTBOX_DIR / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(autouse=True)
def _lists_media(settings, tmp_path):
    """Uploaded documents go to a temporary private media root."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
