"""Family accounts: registration, phone codes, sign-in, password reset, tokens (services)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry, Notification
from idmaj.visits import ratelimit
from idmaj.visits.constants import AccountStatus, CodePurpose
from idmaj.visits.models import FamilyAccount, PhoneCode, PortalToken
from idmaj.visits.portal_auth import token_hash
from idmaj.visits.services import accounts as svc

from .accounts_fixtures import NEW_PASSWORD, last_code, register_data, sms_outbox
from .factories import FAMILY_PASSWORD, FamilyAccountFactory

CIN_MSGID = (
    "A national identity card number is one or two Latin letters followed by digits, "
    "for example AB123456 or J456789."
)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit work (the SMS) of what happens inside."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _register(commit, **kw) -> FamilyAccount:
    with commit():
        return svc.family_register(**register_data(**kw))


# -- registration ----------------------------------------------------------------------------------
def test_register_normalises_and_sends_the_code_in_the_account_language(db, commit):
    account = _register(commit, language="fr")
    account.refresh_from_db()
    assert (account.cin, account.phone, account.status) == (
        "AB123456",
        "+212661234567",
        "unverified",
    )
    assert account.language == "fr"
    assert check_password(NEW_PASSWORD, account.password)
    [sms] = sms_outbox()
    assert sms["to"] == "+212661234567" and sms["language"] == "fr"
    code = last_code(account.phone)
    with translation.override("fr"):
        assert gettext("phone verification") in sms["text"]
    assert "10" in sms["text"]  # validity in minutes
    row = PhoneCode.objects.get(account=account)
    assert row.purpose == CodePurpose.VERIFY_PHONE and code not in row.code_hash
    assert row.expires_at - row.created_at == dt.timedelta(minutes=10)


def test_register_sms_in_arabic_by_default(db, commit):
    account = _register(commit)
    [sms] = sms_outbox()
    assert sms["language"] == "ar" and account.language == "ar"
    with translation.override("ar"):
        assert gettext("phone verification") in sms["text"]


def test_register_audit_on_national_chain_without_secrets(db, commit):
    account = _register(commit)
    code = last_code(account.phone)
    entry = AuditEntry.objects.get(verb="family_register")
    assert entry.chain == 0 and entry.facility_id is None and entry.actor_id is None
    assert entry.after["family_account"] == str(account.uuid)
    dumped = json.dumps([entry.before, entry.after, entry.object_repr])
    for secret in (code, NEW_PASSWORD, account.phone, account.cin, "Khadija"):
        assert secret not in dumped


@pytest.mark.parametrize(
    ("field", "value", "code", "msgid"),
    [
        ("cin", "123456", "invalid_cin", CIN_MSGID),
        (
            "phone",
            "0537123456",
            "invalid_phone",
            "Give a valid mobile phone number, for example 0612345678.",
        ),
        (
            "phone",
            "12",
            "invalid_phone",
            "Give a valid mobile phone number, for example 0612345678.",
        ),
        ("password", "short", "invalid_password", None),
        ("password", "123456789012345", "invalid_password", "This password is entirely numeric."),
        ("password", "Khadija12345", "invalid_password", None),
        ("password", "AB123456-xyz", "invalid_password", None),
    ],
)
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_register_refusals_translated(db, field, value, code, msgid, lang):
    with translation.override(lang), pytest.raises(DomainError) as err:
        svc.family_register(**register_data(**{field: value}))
    assert err.value.code == code
    assert err.value.field == field
    if msgid:
        with translation.override(lang):
            assert gettext(msgid) in str(err.value.message)
    assert not FamilyAccount.objects.exists() and not sms_outbox()


def test_register_duplicates_do_not_say_which(db, commit):
    existing = FamilyAccountFactory(cin="AB123456", phone="+212600000001")
    other = FamilyAccountFactory(cin="CD1", phone="+212661234567")
    before = FamilyAccount.objects.count()
    messages = []
    for kw in ({"cin": "AB123456", "phone": "0677777777"}, {"cin": "EE12", "phone": "0661234567"}):
        with pytest.raises(ConflictError) as err:
            _register(commit, **kw)
        assert err.value.code == "duplicate_account" and err.value.field is None
        messages.append(str(err.value.message))
    assert messages[0] == messages[1]
    assert FamilyAccount.objects.count() == before and not sms_outbox()
    existing.refresh_from_db()
    other.refresh_from_db()
    assert existing.status == other.status == AccountStatus.ACTIVE


def test_register_again_replaces_an_unverified_account_of_the_same_person(db, commit):
    first = _register(commit)
    second = _register(commit, first_name="Khadouj")
    assert not FamilyAccount.objects.filter(pk=first.pk).exists()
    assert FamilyAccount.objects.get().first_name == "Khadouj"
    assert AuditEntry.objects.filter(verb="family_register").last().after["replaced"] == [
        str(first.uuid)
    ]
    assert second.status == AccountStatus.UNVERIFIED


def test_unverified_account_of_another_cin_blocks_for_a_day_only(db, commit):
    squatter = _register(commit, cin="ZZ999")
    with pytest.raises(ConflictError):
        _register(commit, cin="AB123456")
    FamilyAccount.objects.filter(pk=squatter.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    account = _register(commit, cin="AB123456")
    assert list(FamilyAccount.objects.values_list("pk", flat=True)) == [account.pk]


# -- codes -----------------------------------------------------------------------------------------
def test_verify_activates(db, commit):
    account = _register(commit)
    svc.phone_verify(account=account, code=last_code(account.phone))
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.phone_verified_at
    assert PhoneCode.objects.get().used_at is not None
    entry = AuditEntry.objects.get(verb="family_phone_verify")
    assert entry.chain == 0 and entry.after["family_account"] == str(account.uuid)


def test_wrong_codes_are_counted_then_the_code_is_spent(db, commit, settings):
    settings.PORTAL_CODE_ATTEMPTS = 3
    account = _register(commit)
    good = last_code(account.phone)
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    with translation.override("fr"), pytest.raises(DomainError) as err:
        svc.phone_verify(account=account, code=wrong)
    assert err.value.code == "wrong_code" and err.value.field == "code"
    with translation.override("fr"):
        expected = ngettext(
            "This code is not correct. %(n)d attempt left.",
            "This code is not correct. %(n)d attempts left.",
            2,
        ) % {"n": 2}
    assert str(err.value.message) == expected
    assert PhoneCode.objects.get().attempts == 1  # counted although refused
    with pytest.raises(DomainError):
        svc.phone_verify(account=account, code=wrong)
    with pytest.raises(DomainError) as err:
        svc.phone_verify(account=account, code=wrong)
    assert err.value.code == "code_spent"
    with pytest.raises(DomainError) as err:  # the right code no longer opens it
        svc.phone_verify(account=account, code=good)
    assert err.value.code == "code_spent"
    account.refresh_from_db()
    assert account.status == AccountStatus.UNVERIFIED


def test_code_expires(db, commit, settings):
    account = _register(commit)
    code = last_code(account.phone)
    later = timezone.now() + dt.timedelta(minutes=settings.PORTAL_CODE_MINUTES, seconds=1)
    with pytest.raises(DomainError) as err:
        svc.phone_verify(account=account, code=code, now=later)
    assert err.value.code == "code_expired"
    svc.phone_verify(account=account, code=code, now=later - dt.timedelta(seconds=2))
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_new_code_voids_the_previous_one(db, commit):
    account = _register(commit)
    first = last_code(account.phone)
    with commit():
        svc.phone_code_send(account=account, purpose=CodePurpose.VERIFY_PHONE)
    second = last_code(account.phone)
    if first == second:  # one chance in a million
        pytest.skip("same code drawn twice")
    with pytest.raises(DomainError):
        svc.phone_verify(account=account, code=first)
    svc.phone_verify(account=account, code=second)
    assert FamilyAccount.objects.get().status == AccountStatus.ACTIVE


def test_verified_phone_gets_no_verification_code(db, commit):
    account = FamilyAccountFactory()
    with pytest.raises(ConflictError):
        svc.phone_code_send(account=account, purpose=CodePurpose.VERIFY_PHONE)
    svc.phone_code_resend(phone=account.phone, purpose=CodePurpose.VERIFY_PHONE)
    assert not sms_outbox() and not PhoneCode.objects.exists()


# -- sign-in -----------------------------------------------------------------------------------------
def test_authenticate_and_touch_activity(db):
    account = FamilyAccountFactory(last_activity_at=None)
    local = account.phone.replace("+212", "0")
    found = svc.family_authenticate(phone=local, password=FAMILY_PASSWORD)
    assert found.pk == account.pk
    account.refresh_from_db()
    assert account.last_activity_at is not None
    entry = AuditEntry.objects.get(verb="family_signin")
    assert entry.action == AuditEntry.Action.LOGIN and entry.chain == 0


def test_unknown_phone_and_wrong_password_answer_alike(db, monkeypatch):
    account = FamilyAccountFactory()
    checked = []
    real = svc.check_password
    monkeypatch.setattr(svc, "check_password", lambda *a, **k: checked.append(1) or real(*a, **k))
    errors = []
    for phone, password in ((account.phone, "wrong-password-1"), ("0699999999", FAMILY_PASSWORD)):
        with pytest.raises(DomainError) as err:
            svc.family_authenticate(phone=phone, password=password)
        errors.append((err.value.code, str(err.value.message)))
    assert errors[0] == errors[1] and errors[0][0] == "invalid_credentials"
    assert len(checked) == 2  # a hash is compared for the unknown phone too
    assert AuditEntry.objects.filter(verb="family_signin_failed").count() == 1


def test_unverified_is_told_to_verify_and_suspended_refused(db, commit):
    account = _register(commit)
    with pytest.raises(svc.AccountUnverified) as err:
        svc.family_authenticate(phone=account.phone, password=NEW_PASSWORD)
    assert err.value.account.pk == account.pk and err.value.status == 403
    with pytest.raises(DomainError) as err:  # a wrong password does not tell it is unverified
        svc.family_authenticate(phone=account.phone, password="not-the-password")
    assert err.value.code == "invalid_credentials"
    suspended = FamilyAccountFactory(status=AccountStatus.SUSPENDED)
    with pytest.raises(DomainError) as err:
        svc.family_authenticate(phone=suspended.phone, password=FAMILY_PASSWORD)
    assert err.value.code == "account_suspended"


# -- rate limits -------------------------------------------------------------------------------------
def test_rate_limit_sign_in_per_phone(db, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "signin:phone": (3, 900)}
    account = FamilyAccountFactory()
    for _ in range(3):
        with pytest.raises(DomainError) as err:
            svc.family_authenticate(phone=account.phone, password="nope", ip="10.0.0.1")
        assert err.value.code == "invalid_credentials"
    with translation.override("fr"), pytest.raises(ratelimit.RateLimited) as err:
        svc.family_authenticate(phone=account.phone, password=FAMILY_PASSWORD, ip="10.0.0.2")
    assert err.value.status == 429 and err.value.code == "rate_limited"
    with translation.override("fr"):
        head = gettext("Too many attempts. Try again in %(wait)s.").split("%(wait)s")[0]
    assert str(err.value.message).startswith(head) and head
    # another phone from the same address is not held back
    other = FamilyAccountFactory()
    svc.family_authenticate(phone=other.phone, password=FAMILY_PASSWORD, ip="10.0.0.2")


def test_rate_limit_sign_in_per_address(db, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "signin:ip": (2, 900)}
    accounts = FamilyAccountFactory.create_batch(3)
    for a in accounts[:2]:
        svc.family_authenticate(phone=a.phone, password=FAMILY_PASSWORD, ip="10.0.0.9")
    with pytest.raises(ratelimit.RateLimited):
        svc.family_authenticate(phone=accounts[2].phone, password=FAMILY_PASSWORD, ip="10.0.0.9")
    svc.family_authenticate(phone=accounts[2].phone, password=FAMILY_PASSWORD, ip="10.0.0.10")


def test_rate_limit_registration_per_phone(db, commit, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "register:phone": (2, 3600)}
    _register(commit, ip="10.0.0.1")
    _register(commit, ip="10.0.0.2")
    with pytest.raises(ratelimit.RateLimited):
        _register(commit, ip="10.0.0.3")
    assert len(sms_outbox()) == 2


def test_rate_limit_codes_per_phone(db, commit, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "code:phone": (2, 3600)}
    account = FamilyAccountFactory()
    with commit():
        svc.password_reset_request(phone=account.phone)
        svc.password_reset_request(phone=account.phone)
    with pytest.raises(ratelimit.RateLimited):
        svc.password_reset_request(phone=account.phone)
    assert len(sms_outbox()) == 2


# -- password reset ------------------------------------------------------------------------------------
def test_reset_same_answer_whatever_the_phone(db, commit):
    account = FamilyAccountFactory()
    with commit():
        known = svc.password_reset_request(phone=account.phone)
        unknown = svc.password_reset_request(phone="0699999999")
    assert known == unknown
    assert [m["to"] for m in sms_outbox()] == [account.phone]
    assert Notification.objects.count() == 1


def test_reset_confirm(db, commit):
    account = FamilyAccountFactory()
    key = svc.portal_token_issue(account=account)
    with commit():
        svc.password_reset_request(phone=account.phone)
    code = last_code(account.phone)
    with pytest.raises(DomainError) as err:  # the new password is checked before the code
        svc.password_reset_confirm(phone=account.phone, code=code, new_password="short")
    assert err.value.field == "new_password"
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    with pytest.raises(DomainError) as err:
        svc.password_reset_confirm(phone=account.phone, code=wrong, new_password=NEW_PASSWORD)
    assert err.value.code == "invalid_code"
    account.refresh_from_db()
    assert check_password(FAMILY_PASSWORD, account.password)
    with commit():
        svc.password_reset_confirm(phone=account.phone, code=code, new_password=NEW_PASSWORD)
    account.refresh_from_db()
    assert check_password(NEW_PASSWORD, account.password)
    assert not PortalToken.objects.filter(key_hash=token_hash(key)).exists()
    assert sms_outbox()[-1]["template"] == "portal_password_changed"
    with pytest.raises(DomainError):  # a code works once
        svc.password_reset_confirm(phone=account.phone, code=code, new_password=NEW_PASSWORD + "x")


def test_reset_confirm_unknown_phone_same_refusal(db):
    with pytest.raises(DomainError) as err:
        svc.password_reset_confirm(phone="0699999999", code="123456", new_password=NEW_PASSWORD)
    assert err.value.code == "invalid_code"


def test_reset_verifies_an_unverified_phone(db, commit):
    account = _register(commit)
    with commit():
        svc.password_reset_request(phone=account.phone)
    svc.password_reset_confirm(
        phone=account.phone, code=last_code(account.phone), new_password="Autre-mot-de-passe-9"
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.phone_verified_at


# -- account and tokens ----------------------------------------------------------------------------------
def test_update_language_and_email(db):
    account = FamilyAccountFactory()
    svc.family_update(account=account, email="Khadija@Example.ma", language="fr")
    account.refresh_from_db()
    assert (account.email, account.language) == ("khadija@example.ma", "fr")
    entry = AuditEntry.objects.get(verb="family_update")
    assert "khadija@example.ma" not in json.dumps(entry.after)
    with pytest.raises(DomainError) as err:
        svc.family_update(account=account, email="not-an-email", language="fr")
    assert err.value.field == "email"
    with pytest.raises(DomainError):
        svc.family_update(account=account, email="", language="en")
    account.refresh_from_db()
    assert (account.email, account.language) == ("khadija@example.ma", "fr")


def test_password_change_revokes_tokens(db):
    account = FamilyAccountFactory()
    svc.portal_token_issue(account=account)
    with pytest.raises(DomainError) as err:
        svc.family_password_change(account=account, old_password="x", new_password=NEW_PASSWORD)
    assert err.value.field == "old_password"
    assert PortalToken.objects.count() == 1
    svc.family_password_change(
        account=account, old_password=FAMILY_PASSWORD, new_password=NEW_PASSWORD
    )
    account.refresh_from_db()
    assert check_password(NEW_PASSWORD, account.password)
    assert PortalToken.objects.count() == 0


def test_token_stored_as_hash_with_expiry(db, settings):
    account = FamilyAccountFactory()
    key = svc.portal_token_issue(account=account)
    token = PortalToken.objects.get()
    assert token.key_hash == token_hash(key) and key not in token.key_hash
    days = (token.expires_at - token.created_at).days
    assert days in (settings.PORTAL_TOKEN_DAYS - 1, settings.PORTAL_TOKEN_DAYS)
    other = svc.portal_token_create(account=account)
    assert svc.portal_token_revoke(account=account, token=other) == 1
    assert list(PortalToken.objects.all()) == [token]
    assert svc.portal_token_revoke(account=FamilyAccountFactory()) == 0
    assert svc.portal_token_revoke(account=account) == 1
