"""Family portal account pages: register, verify, sign in/out, reset, account page; the
separation of the portal from the staff pages; Arabic and French."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext, ngettext

from idmaj.core.models import AuditEntry
from idmaj.visits.constants import AccountStatus
from idmaj.visits.models import FamilyAccount, PortalToken
from idmaj.visits.portal.accounts import home_url
from idmaj.visits.portal_auth import SESSION_KEY
from idmaj.visits.services import accounts as svc

from .accounts_fixtures import NEW_PASSWORD, last_code, portal_sign_in, register_data, sms_outbox
from .factories import FAMILY_PASSWORD, FamilyAccountFactory


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _form(**kw) -> dict:
    """The registration form's fields (the password typed twice)."""
    data = register_data(**kw)
    data.setdefault("password2", data["password"])
    return data


def _lang(client, lang):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def _signed_in_pk(client):
    return client.session.get(SESSION_KEY)


# -- register → SMS → verify → signed in ----------------------------------------------------------
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_register_verify_and_in(client, db, commit, lang):
    _lang(client, lang)
    r = client.get(reverse("portal:register"))
    assert r.status_code == 200
    html = r.content.decode()
    assert f'lang="{lang}"' in html and ('dir="rtl"' in html) == (lang == "ar")
    with translation.override(lang):
        assert escape(gettext("Create your account")) in html
    with commit():
        r = client.post(reverse("portal:register"), _form())
    assert r.status_code == 302 and r.url == reverse("portal:verify")
    account = FamilyAccount.objects.get()
    assert account.status == AccountStatus.UNVERIFIED and account.language == lang
    [sms] = sms_outbox()
    assert sms["language"] == lang
    r = client.get(reverse("portal:verify"))
    assert r.status_code == 200 and "+2126" in r.content.decode()  # the masked phone
    assert "1234567" not in r.content.decode()
    r = client.post(reverse("portal:verify"), {"code": last_code(account.phone)})
    assert r.status_code == 302 and r.url == home_url()
    assert _signed_in_pk(client) == account.pk
    r = client.get(reverse("portal:account"))
    assert r.status_code == 200 and "Khadija Alaoui" in r.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_register_errors_next_to_fields_in_french(client, db):
    _lang(client, "fr")
    r = client.post(
        reverse("portal:register"),
        _form(cin="12", phone="0537123456", password2="autre-chose-encore"),
    )
    assert r.status_code == 400
    html = r.content.decode()
    with translation.override("fr"):
        assert escape(gettext("The two passwords are not the same.")) in html
    assert not FamilyAccount.objects.exists()
    r = client.post(reverse("portal:register"), _form(phone="0537123456"))
    assert r.status_code == 400
    with translation.override("fr"):
        msg = gettext("Give a valid mobile phone number, for example 0612345678.")
    assert escape(msg) in r.content.decode()
    assert 'value="Khadija"' in r.content.decode()  # what was typed is kept
    assert not FamilyAccount.objects.exists()


def test_register_duplicate_refused(client, db):
    FamilyAccountFactory(cin="AB123456")
    r = client.post(reverse("portal:register"), _form())
    assert r.status_code == 409
    assert FamilyAccount.objects.count() == 1 and not sms_outbox()


def test_verify_wrong_code_and_resend(client, db, commit):
    with commit():
        client.post(reverse("portal:register"), _form())
    account = FamilyAccount.objects.get()
    good = last_code(account.phone)
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    _lang(client, "fr")
    r = client.post(reverse("portal:verify"), {"code": wrong})
    assert r.status_code == 400
    with translation.override("fr"):
        expected = ngettext(
            "This code is not correct. %(n)d attempt left.",
            "This code is not correct. %(n)d attempts left.",
            4,
        ) % {"n": 4}
    assert escape(expected) in r.content.decode()
    assert _signed_in_pk(client) is None
    with commit():
        r = client.post(reverse("portal:verify"), {"resend": "1"})
    assert r.status_code == 302 and len(sms_outbox()) == 2
    r = client.post(reverse("portal:verify"), {"code": last_code(account.phone)})
    assert r.status_code == 302 and _signed_in_pk(client) == account.pk


def test_verify_without_pending_account_goes_to_sign_in(client, db):
    r = client.get(reverse("portal:verify"))
    assert r.status_code == 302 and r.url == reverse("portal:signin")


# -- sign-in and out -----------------------------------------------------------------------------------
def test_sign_in_to_next_or_home(client, db):
    account = FamilyAccountFactory(language="fr")
    target = reverse("portal:account")
    r = client.post(
        reverse("portal:signin"),
        {"phone": account.phone, "password": FAMILY_PASSWORD, "next": target},
    )
    assert r.status_code == 302 and r.url == target
    assert _signed_in_pk(client) == account.pk
    # a browser that never chose a language gets the account's
    assert r.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert AuditEntry.objects.filter(verb="family_signin").count() == 1


def test_sign_in_refuses_unsafe_next(client, db):
    account = FamilyAccountFactory()
    r = client.post(
        reverse("portal:signin"),
        {"phone": account.phone, "password": FAMILY_PASSWORD, "next": "https://evil.example/"},
    )
    assert r.status_code == 302 and r.url == home_url()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_sign_in_wrong_password(client, db, lang):
    account = FamilyAccountFactory()
    _lang(client, lang)
    r = client.post(reverse("portal:signin"), {"phone": account.phone, "password": "wrong-one"})
    assert r.status_code == 400
    with translation.override(lang):
        assert escape(gettext("Wrong phone number or password.")) in r.content.decode()
    assert _signed_in_pk(client) is None


def test_sign_in_unverified_goes_to_verify_with_a_code(client, db, commit):
    with commit():
        account = svc.family_register(**register_data())
    with commit():
        r = client.post(reverse("portal:signin"), {"phone": "0661234567", "password": NEW_PASSWORD})
    assert r.status_code == 302 and r.url == reverse("portal:verify")
    assert len(sms_outbox()) == 1  # the code sent at registration is still valid: no new one
    r = client.post(reverse("portal:verify"), {"code": last_code(account.phone)})
    assert r.status_code == 302 and _signed_in_pk(client) == account.pk


def test_rate_limited_sign_in_page(client, db, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "signin:ip": (2, 900)}
    account = FamilyAccountFactory()
    _lang(client, "fr")
    for _ in range(2):
        client.post(reverse("portal:signin"), {"phone": account.phone, "password": "x"})
    r = client.post(reverse("portal:signin"), {"phone": account.phone, "password": FAMILY_PASSWORD})
    assert r.status_code == 429
    with translation.override("fr"):
        head = gettext("Too many attempts. Try again in %(wait)s.").split("%(wait)s")[0]
    assert escape(head) in r.content.decode()
    assert _signed_in_pk(client) is None


def test_rate_limited_registration_page_per_address(client, db, settings, commit):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "register:ip": (1, 3600)}
    with commit():
        client.post(reverse("portal:register"), _form())
    r = client.post(reverse("portal:register"), _form(cin="X1", phone="0677777777"))
    assert r.status_code == 429
    assert FamilyAccount.objects.count() == 1


def test_sign_out_is_post_only(client, db):
    account = FamilyAccountFactory()
    portal_sign_in(client, account)
    assert client.get(reverse("portal:signout")).status_code == 405
    assert _signed_in_pk(client) == account.pk
    r = client.post(reverse("portal:signout"))
    assert r.status_code == 302 and _signed_in_pk(client) is None
    r = client.get(reverse("portal:account"))
    assert r.status_code == 302 and r.url.startswith(reverse("portal:signin"))


# -- password reset ------------------------------------------------------------------------------------
def test_reset_flow(client, db, commit):
    account = FamilyAccountFactory()
    with commit():
        r = client.post(reverse("portal:reset"), {"phone": account.phone})
    assert r.status_code == 302 and r.url == reverse("portal:reset_confirm")
    r = client.get(reverse("portal:reset_confirm"))
    assert account.phone in r.content.decode()  # prefilled
    r = client.post(
        reverse("portal:reset_confirm"),
        {
            "phone": account.phone,
            "code": last_code(account.phone),
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert r.status_code == 302 and r.url == reverse("portal:signin")
    account.refresh_from_db()
    assert check_password(NEW_PASSWORD, account.password)


def test_reset_unknown_phone_same_page(client, db, commit):
    account = FamilyAccountFactory()
    with commit():
        known = client.post(reverse("portal:reset"), {"phone": account.phone}, follow=True)
        unknown = client.post(reverse("portal:reset"), {"phone": "0699999999"}, follow=True)

    def page(r, phone):
        html = r.content.decode().replace(phone, "PHONE")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)

    assert page(known, account.phone) == page(unknown, "0699999999")
    with translation.override("ar"):
        assert escape(str(svc.RESET_SENT)) in page(known, account.phone)
    assert [m["to"] for m in sms_outbox()] == [account.phone]


# -- account page --------------------------------------------------------------------------------------
def test_account_page_update_details(client, db):
    account = FamilyAccountFactory()
    portal_sign_in(client, account)
    r = client.post(
        reverse("portal:account"),
        {"action": "details", "details-language": "fr", "details-email": "k@example.ma"},
    )
    assert r.status_code == 302
    account.refresh_from_db()
    assert (account.language, account.email) == ("fr", "k@example.ma")
    r = client.post(
        reverse("portal:account"),
        {"action": "details", "details-language": "en", "details-email": ""},
    )
    assert r.status_code == 400
    account.refresh_from_db()
    assert account.language == "fr"


def test_password_change_keeps_this_session_ends_the_others(client, db):
    from django.test import Client

    account = FamilyAccountFactory()
    other = portal_sign_in(Client(), account)
    portal_sign_in(client, account)
    svc.portal_token_issue(account=account)
    r = client.post(
        reverse("portal:account"),
        {
            "action": "password",
            "pw-old_password": FAMILY_PASSWORD,
            "pw-new_password": NEW_PASSWORD,
            "pw-new_password2": NEW_PASSWORD,
        },
    )
    assert r.status_code == 302
    assert client.get(reverse("portal:account")).status_code == 200
    assert other.get(reverse("portal:account")).status_code == 302
    assert PortalToken.objects.count() == 0


def test_password_change_wrong_current(client, db):
    account = FamilyAccountFactory()
    portal_sign_in(client, account)
    _lang(client, "fr")
    r = client.post(
        reverse("portal:account"),
        {
            "action": "password",
            "pw-old_password": "not-it",
            "pw-new_password": NEW_PASSWORD,
            "pw-new_password2": NEW_PASSWORD,
        },
    )
    assert r.status_code == 400
    with translation.override("fr"):
        assert escape(gettext("Your current password is not correct.")) in r.content.decode()
    account.refresh_from_db()
    assert check_password(FAMILY_PASSWORD, account.password)


def test_sign_out_everywhere(client, db):
    from django.test import Client

    account = FamilyAccountFactory()
    other = portal_sign_in(Client(), account)
    portal_sign_in(client, account)
    svc.portal_token_issue(account=account)
    svc.portal_token_issue(account=account)
    r = client.get(reverse("portal:account"))
    assert r.status_code == 200
    r = client.post(
        reverse("portal:account"), {"action": "everywhere", "everywhere-password": "wrong"}
    )
    assert r.status_code == 400 and PortalToken.objects.count() == 2
    r = client.post(
        reverse("portal:account"),
        {"action": "everywhere", "everywhere-password": FAMILY_PASSWORD},
    )
    assert r.status_code == 302 and r.url == reverse("portal:signin")
    assert PortalToken.objects.count() == 0
    assert client.get(reverse("portal:account")).status_code == 302
    assert other.get(reverse("portal:account")).status_code == 302
    account.refresh_from_db()
    assert check_password(FAMILY_PASSWORD, account.password)  # same password, new hash


def test_account_page_queries(client, db, django_assert_max_num_queries):
    account = FamilyAccountFactory()
    portal_sign_in(client, account)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("portal:account")).status_code == 200


# -- the portal and the staff pages stay apart -----------------------------------------------------------
def test_family_cannot_open_staff_pages(client, db):
    portal_sign_in(client, FamilyAccountFactory())
    r = client.get("/inmates/")
    assert r.status_code == 302 and r.url.startswith(reverse("core:login"))


def test_staff_is_not_a_family(client, vs):
    client.force_login(vs.officer)
    r = client.get(reverse("portal:account"))
    assert r.status_code == 302 and r.url.startswith(reverse("portal:signin"))
