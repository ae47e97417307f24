"""Helpers of the account tests (and for the other portal tests: ``portal_sign_in``)."""

from __future__ import annotations

import json
import re

from django.conf import settings

from ..models import FamilyAccount
from ..portal_auth import SESSION_HASH_KEY, SESSION_KEY, session_hash

# A password the validators accept (12+ characters, not common, not numeric).
NEW_PASSWORD = "Qoffa-sans-pain-77"


def sms_outbox() -> list[dict]:
    """The SMS written to the test's outbox (``settings.NOTIFY_OUTBOX_DIR / "sms.jsonl"``)."""
    path = settings.NOTIFY_OUTBOX_DIR / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def last_code(phone: str) -> str:
    """The 6-digit code of the last SMS sent to ``phone``."""
    texts = [m["text"] for m in sms_outbox() if m["to"] == phone]
    assert texts, f"no SMS to {phone}"
    found = re.search(r"\b(\d{6})\b", texts[-1])
    assert found, texts[-1]
    return found.group(1)


def portal_sign_in(client, account: FamilyAccount):
    """Sign ``account`` in on the test ``client`` (as ``portal_auth.family_login`` does)."""
    session = client.session
    session[SESSION_KEY] = account.pk
    session[SESSION_HASH_KEY] = session_hash(account)
    session.save()
    return client


def register_data(**kw) -> dict:
    data = {
        "cin": "ab 123-456",
        "first_name": "Khadija",
        "family_name": "Alaoui",
        "phone": "06 61 23 45 67",
        "password": NEW_PASSWORD,
        "email": "",
    }
    data.update(kw)
    return data
