"""Sign-in: Argon2 passwords, lockout (django-axes), TOTP second factor, idle sessions, tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from idmaj.core import services
from idmaj.core.errors import DomainError
from idmaj.core.models import AuditEntry, User
from idmaj.core.tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_lockouts")]

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
LOCKED = "Too many failed sign-in attempts. Try again in 30 minutes or ask an administrator."


def _code(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def _forget_throttling(device: TOTPDevice) -> None:
    """django-otp makes the user wait a second after a wrong code; the test does not wait."""
    device.refresh_from_db()
    assert device.throttling_failure_count > 0  # the wrong code did count
    device.throttle_reset()


# -- passwords ---------------------------------------------------------------------------------
def test_password_is_stored_with_argon2():
    user = services.user_create(actor=None, username="clerk", password="long-enough-pass-2026!")
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert user.check_password("long-enough-pass-2026!")


@pytest.mark.parametrize("weak", ["password1234", "short", "123456789012"])
def test_weak_passwords_are_refused_and_nothing_is_created(weak):
    entries = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        services.user_create(actor=None, username="weakling", password=weak)
    assert exc.value.field == "password"
    assert exc.value.code == "weak_password"
    assert not User.objects.filter(username="weakling").exists()
    assert AuditEntry.objects.count() == entries


def test_short_password_message_names_the_minimum():
    with pytest.raises(DomainError) as exc:
        services.user_create(actor=None, username="weakling", password="short")
    assert "12" in str(exc.value)


# -- lockout -----------------------------------------------------------------------------------
def _fail(client, username, n):
    for i in range(n):
        r = client.post(LOGIN, {"username": username, "password": "wrong-password-x"})
        # the form again with its error; the failure that reaches the limit locks at once
        assert r.status_code == (429 if i + 1 >= 5 else 200)


def test_five_failures_lock_the_account_even_for_the_right_password(client, make_user):
    make_user("registry.a", "registry_officer")
    _fail(client, "registry.a", 4)
    r = client.post(LOGIN, {"username": "registry.a", "password": PASSWORD})
    assert r.status_code == 302  # four failures: still allowed, and the count resets
    client.post("/accounts/logout/")
    _fail(client, "registry.a", 5)
    r = client.post(LOGIN, {"username": "registry.a", "password": PASSWORD})
    assert r.status_code == 429
    assert "core/locked_out.html" in [t.name for t in r.templates]
    assert "_auth_user_id" not in client.session
    with translation.override("ar"):
        assert escape(gettext(LOCKED)) in r.content.decode()


def test_lockout_message_follows_the_language(client, make_user):
    make_user("registry.a", "registry_officer")
    client.cookies["idmaj_language"] = "fr"
    _fail(client, "registry.a", 5)
    r = client.post(LOGIN, {"username": "registry.a", "password": PASSWORD})
    assert r.status_code == 429
    with translation.override("fr"):
        assert escape(gettext(LOCKED)) in r.content.decode()
    assert 'lang="fr"' in r.content.decode()


def test_token_endpoint_counts_failures_and_refuses_when_locked(client, make_user):
    make_user("registry.a", "registry_officer")
    for i in range(5):
        r = client.post(
            TOKEN, {"username": "registry.a", "password": "nope"}, content_type="application/json"
        )
        if i < 4:
            assert r.status_code == 400
            assert r.json()["code"] == "invalid_credentials"
        else:  # the failure that reaches the limit locks at once
            assert r.status_code == 429
    assert AccessAttempt.objects.get(username="registry.a").failures_since_start == 5
    r = client.post(
        TOKEN, {"username": "registry.a", "password": PASSWORD}, content_type="application/json"
    )
    assert r.status_code == 429
    assert r.json()["code"] == "locked_out"
    assert not Token.objects.filter(user__username="registry.a").exists()
    # the HTML sign-in is locked as well: one count for both doors
    r = client.post(LOGIN, {"username": "registry.a", "password": PASSWORD})
    assert r.status_code == 429


def test_failures_through_the_form_lock_the_api(client, make_user):
    make_user("registry.a", "registry_officer")
    _fail(client, "registry.a", 5)
    r = client.post(
        TOKEN, {"username": "registry.a", "password": PASSWORD}, content_type="application/json"
    )
    assert r.status_code == 429


def test_admin_sees_and_lifts_lockouts(client, make_user):
    make_user("registry.a", "registry_officer")
    admin = make_user("root", "system_admin")
    other = make_user("nosy", "central_admin")
    _fail(client, "registry.a", 5)
    client.force_login(other)
    assert client.get("/admin-tools/lockouts/").status_code == 404
    assert client.post("/admin-tools/lockouts/", {"username": "registry.a"}).status_code == 404
    assert AccessAttempt.objects.filter(username="registry.a").exists()  # nothing lifted
    client.force_login(admin)
    r = client.get("/admin-tools/lockouts/")
    assert r.status_code == 200
    assert "registry.a" in r.content.decode()
    r = client.post("/admin-tools/lockouts/", {"username": "registry.a"})
    assert r.status_code == 302
    assert not AccessAttempt.objects.filter(username="registry.a").exists()
    client.post("/accounts/logout/")
    r = client.post(LOGIN, {"username": "registry.a", "password": PASSWORD})
    assert r.status_code == 302


# -- second factor -----------------------------------------------------------------------------
def _sign_in(client, username):
    r = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.content.decode()[:500]


def test_physician_is_sent_to_otp_until_verified(client, make_user, otp_roles):
    make_user("doctor.a", "physician")
    _sign_in(client, "doctor.a")
    for path in ("/", "/audit/", "/admin-tools/lockouts/", "/facilities/"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/otp/"), path
    r = client.get("/accounts/otp/?next=/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "<svg" in body  # the QR code to register an authenticator
    device = TOTPDevice.objects.get(user__username="doctor.a")
    assert not device.confirmed
    # a wrong code: a translated error, still not verified
    r = client.post(
        "/accounts/otp/?next=/", {"token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert r.status_code == 200
    with translation.override("ar"):
        assert (
            escape(gettext("This code is not valid. Check the time on your phone and try again."))
            in r.content.decode()
        )
    assert client.get("/").status_code == 302
    _forget_throttling(device)
    # the right code confirms the device and lets the physician in
    r = client.post("/accounts/otp/?next=/", {"token": _code(device)})
    assert r.status_code == 302 and r["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_confirmed_device_shows_no_qr_code(client, make_user, otp_roles):
    user = make_user("nurse.a", "nurse")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, "nurse.a")
    r = client.get("/accounts/otp/")
    assert r.status_code == 200 and "<svg" not in r.content.decode()


def test_otp_next_does_not_redirect_elsewhere(client, make_user, otp_roles):
    user = make_user("nurse.a", "nurse")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, "nurse.a")
    r = client.post("/accounts/otp/?next=https://evil.example/", {"token": _code(device)})
    assert r.status_code == 302 and r["Location"] == "/"


def test_registry_officer_is_not_asked(client, make_user, otp_roles):
    make_user("registry.a", "registry_officer")
    _sign_in(client, "registry.a")
    assert client.get("/").status_code == 200


def test_unverified_physician_cannot_use_the_api_with_the_session(client, make_user, otp_roles):
    make_user("doctor.a", "physician")
    _sign_in(client, "doctor.a")
    r = client.get("/api/v1/facilities/")
    assert r.status_code == 403
    assert r.json()["code"] == "otp_required"


def test_nobody_is_asked_in_the_default_settings(client, make_user, settings):
    assert settings.OTP_REQUIRED_ROLES == []
    make_user("doctor.a", "physician")
    _sign_in(client, "doctor.a")
    assert client.get("/").status_code == 200


def test_token_requires_otp_for_physician(client, make_user, otp_roles):
    user = make_user("doctor.a", "physician")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    creds = {"username": "doctor.a", "password": PASSWORD}
    r = client.post(TOKEN, creds, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "otp_required"
    r = client.post(TOKEN, {**creds, "otp": "12345x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "otp_required"
    assert not Token.objects.filter(user=user).exists()
    _forget_throttling(device)
    r = client.post(TOKEN, {**creds, "otp": _code(device)}, content_type="application/json")
    assert r.status_code == 200
    assert r.json()["token"] == Token.objects.get(user=user).key


# -- idle sessions -----------------------------------------------------------------------------
def test_session_settings(settings):
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_expired_session_is_signed_out(client, make_user):
    make_user("registry.a", "registry_officer")
    _sign_in(client, "registry.a")
    assert client.get("/").status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_activity_pushes_the_expiry_forward(client, make_user):
    make_user("registry.a", "registry_officer")
    _sign_in(client, "registry.a")
    key = client.session.session_key
    soon = timezone.now() + dt.timedelta(minutes=2)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get("/").status_code == 200
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + dt.timedelta(seconds=1790)
    assert expiry <= timezone.now() + dt.timedelta(seconds=1800)


# -- token API ---------------------------------------------------------------------------------
@pytest.mark.urls("idmaj.core.tests.urls_for_tests")
def test_token_authenticates_api_requests(client, make_user):
    make_user("registry.a", "registry_officer")
    r = client.post(
        TOKEN, {"username": "registry.a", "password": PASSWORD}, content_type="application/json"
    )
    assert r.status_code == 200
    token = r.json()["token"]
    client.logout()
    assert client.get("/api/v1/test/whoami/").status_code in (401, 403)
    r = client.get("/api/v1/test/whoami/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code == 200 and r.json() == {"username": "registry.a"}
    r = client.get("/api/v1/test/whoami/", HTTP_AUTHORIZATION="Token not-a-token")
    assert r.status_code in (401, 403)


def test_token_wrong_password(client, make_user):
    make_user("registry.a", "registry_officer")
    r = client.post(
        TOKEN, {"username": "registry.a", "password": "bad"}, content_type="application/json"
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_credentials"
    with translation.override("ar"):
        assert body["detail"] == gettext("Wrong user name or password.")
    assert not Token.objects.exists()


def test_token_missing_fields(client):
    r = client.post(TOKEN, {}, content_type="application/json")
    assert r.status_code == 400


# -- login and logout go to the audit trail ----------------------------------------------------
def test_login_and_logout_are_audited(client, make_user):
    make_user("registry.a", "registry_officer")
    _sign_in(client, "registry.a")
    client.post("/accounts/logout/")
    actions = list(
        AuditEntry.objects.filter(actor_username="registry.a").values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.LOGIN, AuditEntry.Action.LOGOUT]


# -- account services --------------------------------------------------------------------------
def test_invalid_username_is_a_domain_error():
    with pytest.raises(DomainError) as exc:
        services.user_create(actor=None, username="bad name!", password="long-enough-pass-2026!")
    assert exc.value.field == "username"
    assert not User.objects.filter(username="bad name!").exists()


def test_role_assign_needs_its_scope():
    from idmaj.core.constants import ScopeLevel

    user = services.user_create(actor=None, username="amina", password="long-enough-pass-2026!")
    with pytest.raises(DomainError) as exc:
        services.role_assign(actor=None, user=user, role_code="nurse", level=ScopeLevel.FACILITY)
    assert exc.value.code == "scope_missing"
    with pytest.raises(DomainError) as exc:
        services.role_assign(actor=None, user=user, role_code="jester", level=ScopeLevel.NATIONAL)
    assert exc.value.code == "unknown_role"
    assert not user.assignments.exists()


def test_failed_login_is_audited_without_the_password(client, make_user):
    make_user("registry.a", "registry_officer")
    client.post(LOGIN, {"username": "registry.a", "password": "guessed-password-1"})
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert entry.actor_username == "registry.a" and entry.actor_id is None
    assert "guessed-password-1" not in str(entry.before) + str(entry.after) + entry.object_repr
