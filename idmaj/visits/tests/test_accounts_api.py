"""The portal's account API: register → verify → token → me; codes, reset, revoke; rate
limits; staff credentials never open the portal API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from idmaj.core.models import AuditEntry
from idmaj.visits.constants import AccountStatus
from idmaj.visits.models import FamilyAccount, PortalToken
from idmaj.visits.portal_auth import token_hash
from idmaj.visits.services import accounts as svc

from .accounts_fixtures import NEW_PASSWORD, last_code, portal_sign_in, register_data, sms_outbox
from .factories import FAMILY_PASSWORD, FamilyAccountFactory


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def api():
    return APIClient()


def _token_for(api, account) -> str:
    r = api.post(
        reverse("api-portal-token"),
        {"phone": account.phone, "password": FAMILY_PASSWORD},
        format="json",
    )
    assert r.status_code == 201, r.content
    return r.json()["token"]


def test_register_verify_token_me(api, db, commit):
    with commit():
        r = api.post(
            reverse("api-portal-register"),
            register_data(language="fr"),
            format="json",
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "unverified" and body["phone"] == "+212661234567"
    account = FamilyAccount.objects.get(uuid=body["uuid"])
    assert account.language == "fr" and sms_outbox()[0]["language"] == "fr"
    r = api.post(
        reverse("api-portal-verify"),
        {"phone": "0661234567", "code": last_code(account.phone)},
        format="json",
    )
    assert r.status_code == 200, r.content
    token = r.json()["token"]
    assert r.json()["account"]["status"] == "active"
    api.credentials(HTTP_AUTHORIZATION=f"Portal {token}")
    r = api.get(reverse("api-portal-me"))
    assert r.status_code == 200
    assert r.json()["cin"] == "AB123456" and r.json()["language"] == "fr"
    # and a sign-in gives another token
    api.credentials()
    r = api.post(
        reverse("api-portal-token"),
        {"phone": "+212 661 23 45 67", "password": NEW_PASSWORD},
        format="json",
    )
    assert r.status_code == 201 and r.json()["expires_at"]
    assert PortalToken.objects.filter(account=account).count() == 2


def test_register_language_from_the_request(api, db, commit):
    data = register_data()
    with commit():
        r = api.post(reverse("api-portal-register"), data, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert r.status_code == 201
    assert FamilyAccount.objects.get().language == "fr"


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_register_refusals(api, db, lang):
    r = api.post(
        reverse("api-portal-register"),
        register_data(phone="0537123456"),
        format="json",
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert r.status_code == 400
    with translation.override(lang):
        expected = gettext("Give a valid mobile phone number, for example 0612345678.")
    assert r.json() == {"code": "invalid_phone", "detail": expected, "field": "phone"}
    FamilyAccountFactory(cin="AB123456")
    r = api.post(reverse("api-portal-register"), register_data(), format="json")
    assert r.status_code == 409 and r.json()["code"] == "duplicate_account"
    assert FamilyAccount.objects.count() == 1 and not sms_outbox()


def test_verify_wrong_code(api, db, commit):
    with commit():
        account = svc.family_register(**register_data())
    good = last_code(account.phone)
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    r = api.post(
        reverse("api-portal-verify"), {"phone": account.phone, "code": wrong}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "wrong_code"
    r = api.post(reverse("api-portal-verify"), {"phone": "0699999999", "code": good}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid_code"
    account.refresh_from_db()
    assert account.status == AccountStatus.UNVERIFIED and not PortalToken.objects.exists()


def test_codes_resend_same_answer(api, db, commit):
    with commit():
        account = svc.family_register(**register_data())
        known = api.post(
            reverse("api-portal-codes"),
            {"phone": account.phone, "purpose": "verify_phone"},
            format="json",
        )
        unknown = api.post(
            reverse("api-portal-codes"),
            {"phone": "0699999999", "purpose": "verify_phone"},
            format="json",
        )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m["to"] for m in sms_outbox()] == [account.phone, account.phone]


def test_unverified_sign_in_refused_with_code(api, db, commit):
    with commit():
        account = svc.family_register(**register_data())
    r = api.post(
        reverse("api-portal-token"),
        {"phone": account.phone, "password": NEW_PASSWORD},
        format="json",
    )
    assert r.status_code == 403 and r.json()["code"] == "unverified"
    assert not PortalToken.objects.exists()


def test_password_reset(api, db, commit):
    account = FamilyAccountFactory()
    old = _token_for(api, account)
    with commit():
        r = api.post(reverse("api-portal-password-reset"), {"phone": account.phone}, format="json")
        r2 = api.post(reverse("api-portal-password-reset"), {"phone": "0699999999"}, format="json")
    assert r.status_code == r2.status_code == 202 and r.json() == r2.json()
    r = api.post(
        reverse("api-portal-password-reset-confirm"),
        {"phone": account.phone, "code": last_code(account.phone), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert r.status_code == 200
    account.refresh_from_db()
    assert check_password(NEW_PASSWORD, account.password)
    api.credentials(HTTP_AUTHORIZATION=f"Portal {old}")
    assert api.get(reverse("api-portal-me")).status_code == 401


def test_me_patch(api, db):
    account = FamilyAccountFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Portal {_token_for(api, account)}")
    r = api.patch(reverse("api-portal-me"), {"language": "fr"}, format="json")
    assert r.status_code == 200 and r.json()["language"] == "fr"
    r = api.patch(reverse("api-portal-me"), {"email": "nope"}, format="json")
    assert r.status_code == 400
    r = api.patch(reverse("api-portal-me"), {"cin": "ZZ1", "email": "k@example.ma"}, format="json")
    assert r.status_code == 200
    account.refresh_from_db()
    assert (account.language, account.email, account.cin) == ("fr", "k@example.ma", account.cin)
    assert account.cin != "ZZ1"


def test_me_queries(api, db, django_assert_max_num_queries):
    account = FamilyAccountFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Portal {_token_for(api, account)}")
    api.get(reverse("api-portal-me"))  # notes the token's use (once an hour)
    with django_assert_max_num_queries(1):
        assert api.get(reverse("api-portal-me")).status_code == 200


def test_token_revoke_one_or_all(api, db):
    account = FamilyAccountFactory()
    first = _token_for(api, account)
    second = _token_for(api, account)
    api.credentials(HTTP_AUTHORIZATION=f"Portal {first}")
    r = api.post(reverse("api-portal-token-revoke"), {}, format="json")
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert api.get(reverse("api-portal-me")).status_code == 401
    assert PortalToken.objects.filter(key_hash=token_hash(second)).exists()
    third = _token_for(api, account)
    api.credentials(HTTP_AUTHORIZATION=f"Portal {third}")
    r = api.post(reverse("api-portal-token-revoke"), {"all": True}, format="json")
    assert r.json() == {"revoked": 2} and not PortalToken.objects.exists()
    assert AuditEntry.objects.filter(verb="family_token_revoke").count() == 2


def test_expired_or_unknown_token(api, db):
    account = FamilyAccountFactory()
    key = _token_for(api, account)
    PortalToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Portal {key}")
    assert api.get(reverse("api-portal-me")).status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Portal not-a-token")
    assert api.get(reverse("api-portal-me")).status_code == 401
    api.credentials()
    assert api.get(reverse("api-portal-me")).status_code in (401, 403)


def test_suspended_account_token_refused(api, db):
    account = FamilyAccountFactory()
    key = _token_for(api, account)
    FamilyAccount.objects.filter(pk=account.pk).update(status=AccountStatus.SUSPENDED)
    api.credentials(HTTP_AUTHORIZATION=f"Portal {key}")
    assert api.get(reverse("api-portal-me")).status_code == 401


def test_portal_session_works_for_the_api(client, db):
    account = FamilyAccountFactory()
    portal_sign_in(client, account)
    r = client.get(reverse("api-portal-me"))
    assert r.status_code == 200 and r.json()["uuid"] == str(account.uuid)


def test_staff_credentials_do_not_open_the_portal_api(api, vs):
    token = Token.objects.create(user=vs.officer)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(reverse("api-portal-me")).status_code in (401, 403)
    api.credentials()
    api.force_login(vs.officer)
    assert api.get(reverse("api-portal-me")).status_code in (401, 403)
    r = api.post(reverse("api-portal-token-revoke"), {"all": True}, format="json")
    assert r.status_code in (401, 403)


def test_portal_token_does_not_open_the_staff_api(api, vs):
    api.credentials(HTTP_AUTHORIZATION=f"Portal {_token_for(api, vs.account)}")
    r = api.get("/api/v1/inmates/")
    assert r.status_code in (401, 403)


def test_rate_limits_api(api, db, settings, commit):
    settings.PORTAL_RATE_LIMITS = {
        **settings.PORTAL_RATE_LIMITS,
        "signin:phone": (2, 900),
        "code:ip": (1, 3600),
    }
    account = FamilyAccountFactory()
    for _ in range(2):
        api.post(
            reverse("api-portal-token"), {"phone": account.phone, "password": "x"}, format="json"
        )
    r = api.post(
        reverse("api-portal-token"),
        {"phone": account.phone, "password": FAMILY_PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    with translation.override("fr"):
        head = gettext("Too many attempts. Try again in %(wait)s.").split("%(wait)s")[0]
    assert r.json()["detail"].startswith(head)
    assert not PortalToken.objects.exists()
    with commit():
        api.post(reverse("api-portal-password-reset"), {"phone": account.phone}, format="json")
        r = api.post(reverse("api-portal-password-reset"), {"phone": "0677777777"}, format="json")
    assert r.status_code == 429  # per address
    assert len(sms_outbox()) == 1
