"""Family accounts of the portal: registration, phone verification by SMS code, sign-in,
password reset, account details and the API tokens of the mobile app.

Rules:

* one live account per identity card (CIN) and per mobile phone; a refusal never says which
  of the two is taken. An account that was never verified does not block anyone for long: a
  new registration with the same CIN and phone replaces it at once, any other after a day;
* a new account is ``unverified`` until the code sent by SMS to its phone is typed back;
* codes: 6 digits from ``secrets``, stored as a keyed hash (HMAC with the server's secret
  key), valid ``settings.PORTAL_CODE_MINUTES``, spent after ``settings.PORTAL_CODE_ATTEMPTS``
  wrong guesses; a new code voids the earlier unused codes of the same purpose;
* sign-in compares a password hash whether or not the phone is known (same work, same
  answer), then tells an unverified account to verify its phone;
* asking for a password reset always gives the same answer; a code goes out only when an
  account holds that phone;
* rate limits (``ratelimit.hit``, ``settings.PORTAL_RATE_LIMITS``) are counted here, with the
  client's address passed in by the pages and the API alike;
* audit entries go to the national chain (a family belongs to no institution) with the
  account's UUID only: never a password, a code, a phone number or a name.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import UserAttributeSimilarityValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from idmaj.core import audit
from idmaj.core.errors import ConflictError, DomainError
from idmaj.core.models import AuditEntry
from idmaj.inmates.models import cin_validator, normalise_cin

from .. import ratelimit
from ..constants import AccountStatus, CodePurpose
from ..models import FamilyAccount, PhoneCode, PortalToken
from ..portal_auth import token_hash
from ._common import clean_or_raise, notify_family

__all__ = [
    "PORTAL_LANGUAGES",
    "AccountUnverified",
    "family_authenticate",
    "family_password_change",
    "family_register",
    "family_sign_out_everywhere",
    "family_update",
    "normalise_portal_phone",
    "password_reset_confirm",
    "password_reset_request",
    "phone_code_resend",
    "phone_code_send",
    "phone_verify",
    "portal_token_create",
    "portal_token_issue",
    "portal_token_revoke",
]

PORTAL_LANGUAGES = ("ar", "fr")
CODE_DIGITS = 6
# A registration never verified stops blocking its CIN and phone after this long.
STALE_UNVERIFIED = timedelta(hours=24)
# Compared against when the phone is unknown, so that a wrong phone costs as much as a
# wrong password (made once, on first use).
_DUMMY: dict[str, str] = {}

INVALID_CREDENTIALS = _("Wrong phone number or password.")
INVALID_CODE = _("This code is not valid or has expired. Ask for a new code if needed.")


class AccountUnverified(DomainError):
    """Sign-in of an account whose phone is not verified yet (``account`` attached)."""

    status = 403

    def __init__(self, account: FamilyAccount):
        super().__init__(
            "unverified",
            _("Your phone number is not verified yet. Type the code we sent you by SMS."),
        )
        self.account = account


# -- helpers -----------------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def normalise_portal_phone(raw: str, *, field: str = "phone") -> str:
    """A mobile number in E.164 ("06 12 34 56 78" → "+212612345678"); numbers without an
    international prefix are Moroccan. Fixed lines cannot receive the codes: refused."""
    raw = (raw or "").strip()
    message = _("Give a valid mobile phone number, for example 0612345678.")
    if not raw:
        raise DomainError("invalid_phone", message, field=field)
    try:
        number = phonenumbers.parse(raw, "MA")
    except phonenumbers.NumberParseException as exc:
        raise DomainError("invalid_phone", message, field=field) from exc
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in mobile:
        raise DomainError("invalid_phone", message, field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_or_none(raw: str) -> str | None:
    try:
        return normalise_portal_phone(raw)
    except DomainError:
        return None


def _cin(raw: str) -> str:
    cin = normalise_cin(raw)
    try:
        cin_validator(cin)
    except ValidationError as exc:
        raise DomainError("invalid_cin", " ".join(exc.messages), field="cin") from exc
    return cin


def _language(value: str) -> str:
    value = (value or "").split("-")[0].lower()
    return value if value in PORTAL_LANGUAGES else "ar"


def _validate_password(password: str, account: FamilyAccount, *, field: str) -> None:
    """Django's password validators (length, common, numeric, close to the first name or the
    e-mail), and not close to the family name or the CIN either."""
    messages: list[str] = []
    checks = (
        lambda: password_validation.validate_password(password, user=account),
        lambda: UserAttributeSimilarityValidator(user_attributes=("cin", "family_name")).validate(
            password, account
        ),
    )
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            messages += [m for m in exc.messages if m not in messages]
    if messages:
        raise DomainError("invalid_password", " ".join(messages), field=field)


def _hash_code(account: FamilyAccount, purpose: str, code: str) -> str:
    return salted_hmac(
        "idmaj.visits.phone_code", f"{account.pk}:{purpose}:{code}", algorithm="sha256"
    ).hexdigest()


def _audit(
    account: FamilyAccount,
    action: str,
    verb: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
):
    """An entry on the national chain naming the account by its UUID only."""
    audit.record(
        actor=None,
        action=action,
        obj=account,
        object_repr=str(account.uuid),
        facility_id=None,
        verb=verb,
        before=before,
        after={"family_account": str(account.uuid), **(after or {})},
    )


def _limit(scope: str, key: str) -> None:
    ratelimit.hit(scope, key)


def _live() -> Q:
    return ~Q(status=AccountStatus.PURGED)


# -- registration --------------------------------------------------------------------------------
def family_register(
    *,
    cin: str,
    first_name: str,
    family_name: str,
    phone: str,
    password: str,
    email: str = "",
    language: str = "ar",
    ip: str = "",
    now: datetime | None = None,
) -> FamilyAccount:
    """Create an unverified account and send the verification code by SMS."""
    _limit("register:ip", ip)
    cin = _cin(cin)
    phone = normalise_portal_phone(phone)
    _limit("register:phone", phone)
    _limit("code:ip", ip)
    _limit("code:phone", phone)
    now = _now(now)
    account = FamilyAccount(
        cin=cin,
        first_name=(first_name or "").strip(),
        family_name=(family_name or "").strip(),
        phone=phone,
        email=(email or "").strip().lower(),
        language=_language(language),
        status=AccountStatus.UNVERIFIED,
    )
    _validate_password(password, account, field="password")
    account.password = make_password(password)
    duplicate = ConflictError(
        "duplicate_account",
        _(
            "An account already exists with this identity card number or this phone number. "
            "Sign in, or reset your password if you forgot it."
        ),
    )
    with transaction.atomic():
        taken = list(
            FamilyAccount.objects.select_for_update()
            .filter(_live(), Q(cin=cin) | Q(phone=phone))
            .only("pk", "uuid", "cin", "phone", "status", "created_at")
        )
        replaced = []
        for other in taken:
            same_person = other.cin == cin and other.phone == phone
            stale = other.created_at < now - STALE_UNVERIFIED
            if other.status != AccountStatus.UNVERIFIED or not (same_person or stale):
                raise duplicate
            replaced.append(str(other.uuid))
        if taken:
            FamilyAccount.objects.filter(pk__in=[o.pk for o in taken]).delete()
        clean_or_raise(account, exclude=["password"], validate_constraints=False)
        try:
            with transaction.atomic():
                account.save()
        except IntegrityError as exc:  # registered by someone else in the same instant
            raise duplicate from exc
        _audit(
            account,
            AuditEntry.Action.CREATE,
            "family_register",
            after={"language": account.language, "replaced": replaced},
        )
        _code_send(account, CodePurpose.VERIFY_PHONE, now)
    return account


# -- codes ---------------------------------------------------------------------------------------
def _code_send(account: FamilyAccount, purpose: str, now: datetime) -> PhoneCode:
    """Void the earlier unused codes of ``purpose``, store a new one (hashed), send it."""
    PhoneCode.objects.filter(
        account=account, purpose=purpose, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = settings.PORTAL_CODE_MINUTES
    row = PhoneCode.objects.create(
        account=account,
        purpose=purpose,
        phone=account.phone,
        code_hash=_hash_code(account, purpose, code),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    notify_family(
        account,
        template="portal_code",
        context={"code": code, "purpose": CodePurpose(purpose).label, "minutes": minutes},
        email_too=False,  # the code proves the phone: never by e-mail
    )
    return row


def phone_code_send(
    *, account: FamilyAccount, purpose: str, ip: str = "", now: datetime | None = None
) -> None:
    """Send a new code of ``purpose`` to the account's phone (rate limited per phone and
    per address)."""
    if purpose not in (CodePurpose.VERIFY_PHONE, CodePurpose.RESET_PASSWORD):
        raise DomainError("invalid_purpose", _("This kind of code cannot be asked for here."))
    _limit("code:ip", ip)
    _limit("code:phone", account.phone)
    if purpose == CodePurpose.VERIFY_PHONE and account.status != AccountStatus.UNVERIFIED:
        raise ConflictError("already_verified", _("This phone number is already verified."))
    if account.status in (AccountStatus.PURGED, AccountStatus.SUSPENDED):
        raise ConflictError("account_closed", _("This account cannot receive codes."))
    with transaction.atomic():
        _code_send(account, purpose, _now(now))


def phone_code_resend(*, phone: str, purpose: str, ip: str = "", now: datetime | None = None):
    """A code asked for by phone number (not signed in): the same answer whether an account
    holds the phone or not; a code goes out only to an account that may use it."""
    if purpose == CodePurpose.RESET_PASSWORD:
        return password_reset_request(phone=phone, ip=ip, now=now)
    if purpose != CodePurpose.VERIFY_PHONE:
        raise DomainError("invalid_purpose", _("This kind of code cannot be asked for here."))
    _limit("code:ip", ip)
    number = normalise_portal_phone(phone)
    _limit("code:phone", number)
    account = FamilyAccount.objects.filter(phone=number, status=AccountStatus.UNVERIFIED).first()
    if account is not None:
        with transaction.atomic():
            _code_send(account, purpose, _now(now))


def _code_check(account: FamilyAccount, purpose: str, code: str, now: datetime) -> tuple[str, int]:
    """Check ``code`` against the account's live code of ``purpose``, in the caller's
    transaction: ("ok" | "wrong" | "spent" | "expired" | "none", attempts left). A wrong
    guess is counted (the caller commits before refusing)."""
    row = (
        PhoneCode.objects.select_for_update()
        .filter(account=account, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    if row is None:
        return "none", 0
    if row.expires_at <= now:
        return "expired", 0
    limit = settings.PORTAL_CODE_ATTEMPTS
    if row.attempts >= limit:
        return "spent", 0
    given = "".join(ch for ch in (code or "") if ch.isdigit())
    if not constant_time_compare(_hash_code(account, purpose, given), row.code_hash):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return ("wrong" if row.attempts < limit else "spent"), limit - row.attempts
    row.used_at = now
    row.save(update_fields=["used_at"])
    return "ok", limit - row.attempts


def _code_refusal(outcome: str, left: int) -> DomainError:
    if outcome == "wrong":
        return DomainError(
            "wrong_code",
            ngettext(
                "This code is not correct. %(n)d attempt left.",
                "This code is not correct. %(n)d attempts left.",
                left,
            )
            % {"n": left},
            field="code",
        )
    if outcome == "spent":
        return DomainError(
            "code_spent", _("Too many wrong codes. Ask for a new code."), field="code"
        )
    return DomainError(
        "code_expired", _("This code has expired. Ask for a new code."), field="code"
    )


def phone_verify(
    *, account: FamilyAccount, code: str, now: datetime | None = None
) -> FamilyAccount:
    """The code sent at registration, typed back: the account becomes active."""
    now = _now(now)
    if account.status != AccountStatus.UNVERIFIED:
        raise ConflictError("already_verified", _("This phone number is already verified."))
    with transaction.atomic():
        outcome, left = _code_check(account, CodePurpose.VERIFY_PHONE, code, now)
        if outcome == "ok":
            account.status = AccountStatus.ACTIVE
            account.phone_verified_at = now
            account.last_activity_at = now
            account.save(update_fields=["status", "phone_verified_at", "last_activity_at"])
            _audit(
                account,
                AuditEntry.Action.UPDATE,
                "family_phone_verify",
                before={"status": AccountStatus.UNVERIFIED},
                after={"status": AccountStatus.ACTIVE},
            )
    if outcome != "ok":  # the counted attempt is committed; refuse after
        raise _code_refusal(outcome, left)
    return account


# -- sign-in -------------------------------------------------------------------------------------
def _dummy_hash() -> str:
    if "h" not in _DUMMY:
        _DUMMY["h"] = make_password(secrets.token_urlsafe(16))
    return _DUMMY["h"]


def family_authenticate(
    *, phone: str, password: str, ip: str = "", now: datetime | None = None
) -> FamilyAccount:
    """The account holding ``phone`` if ``password`` is its own; notes the activity."""
    _limit("signin:ip", ip)
    number = _phone_or_none(phone)
    _limit("signin:phone", number or (phone or "").strip())
    account = (
        FamilyAccount.objects.filter(_live(), phone=number).first() if number is not None else None
    )
    if account is None:
        check_password(password or "", _dummy_hash())
        raise DomainError("invalid_credentials", INVALID_CREDENTIALS)

    def upgrade(raw: str) -> None:  # a hash made with older parameters is replaced
        account.password = make_password(raw)
        FamilyAccount.objects.filter(pk=account.pk).update(password=account.password)

    if not check_password(password or "", account.password, upgrade):
        with transaction.atomic():
            _audit(account, AuditEntry.Action.LOGIN_FAILED, "family_signin_failed")
        raise DomainError("invalid_credentials", INVALID_CREDENTIALS)
    if account.status == AccountStatus.UNVERIFIED:
        raise AccountUnverified(account)
    if account.status != AccountStatus.ACTIVE:
        raise DomainError(
            "account_suspended",
            _("This account is suspended. Contact the institution's visits office."),
            status=403,
        )
    now = _now(now)
    with transaction.atomic():
        FamilyAccount.objects.filter(pk=account.pk).update(last_activity_at=now)
        account.last_activity_at = now
        _audit(account, AuditEntry.Action.LOGIN, "family_signin")
    return account


# -- password reset ------------------------------------------------------------------------------
RESET_SENT = _(
    "If an account holds this phone number, a code has been sent to it by SMS. "
    "It is valid for a few minutes."
)


def password_reset_request(*, phone: str, ip: str = "", now: datetime | None = None) -> str:
    """Send a reset code when an account holds ``phone``; the answer (returned, to show) is
    the same either way."""
    _limit("code:ip", ip)
    number = normalise_portal_phone(phone)
    _limit("code:phone", number)
    account = (
        FamilyAccount.objects.filter(
            phone=number, status__in=[AccountStatus.ACTIVE, AccountStatus.UNVERIFIED]
        )
        .only("pk", "uuid", "phone", "language", "email", "status")
        .first()
    )
    if account is not None:
        with transaction.atomic():
            _code_send(account, CodePurpose.RESET_PASSWORD, _now(now))
    return str(RESET_SENT)


def password_reset_confirm(
    *, phone: str, code: str, new_password: str, ip: str = "", now: datetime | None = None
) -> FamilyAccount:
    """A reset code and a new password: the password changes, every API token of the account
    is revoked (and its browser sessions end); a phone not yet verified is now verified."""
    _limit("signin:ip", ip)
    number = _phone_or_none(phone)
    _limit("signin:phone", number or (phone or "").strip())
    account = (
        FamilyAccount.objects.filter(
            phone=number, status__in=[AccountStatus.ACTIVE, AccountStatus.UNVERIFIED]
        ).first()
        if number
        else None
    )
    if account is None:
        raise DomainError("invalid_code", INVALID_CODE, field="code")
    _validate_password(new_password, account, field="new_password")
    now = _now(now)
    with transaction.atomic():
        outcome, _left = _code_check(account, CodePurpose.RESET_PASSWORD, code, now)
        if outcome == "ok":
            before = {"status": account.status}
            account.password = make_password(new_password)
            fields = ["password", "last_activity_at"]
            account.last_activity_at = now
            if account.status == AccountStatus.UNVERIFIED:
                account.status = AccountStatus.ACTIVE
                account.phone_verified_at = now
                fields += ["status", "phone_verified_at"]
            account.save(update_fields=fields)
            revoked = PortalToken.objects.filter(account=account).delete()[0]
            _audit(
                account,
                AuditEntry.Action.UPDATE,
                "family_password_reset",
                before=before,
                after={"status": account.status, "tokens_revoked": revoked},
            )
            notify_family(account, template="portal_password_changed")
    if outcome != "ok":
        raise DomainError("invalid_code", INVALID_CODE, field="code")
    return account


# -- the account -----------------------------------------------------------------------------------
def family_update(*, account: FamilyAccount, email: str, language: str) -> FamilyAccount:
    """E-mail (optional) and the language of the messages sent to the family."""
    language = (language or "").lower()
    if language not in PORTAL_LANGUAGES:
        raise DomainError("invalid_language", _("Choose Arabic or French."), field="language")
    email = (email or "").strip().lower()
    changed = [
        name
        for name, value in (("email", email), ("language", language))
        if getattr(account, name) != value
    ]
    if not changed:
        return account
    before_language = account.language
    account.email = email
    account.language = language
    clean_or_raise(account, exclude=["password"], validate_constraints=False)
    with transaction.atomic():
        account.save(update_fields=changed)
        # The e-mail itself stays out of the trail (it is purged with the account).
        _audit(
            account,
            AuditEntry.Action.UPDATE,
            "family_update",
            before={"language": before_language},
            after={"changed": changed, "language": language},
        )
    return account


def family_password_change(
    *, account: FamilyAccount, old_password: str, new_password: str
) -> FamilyAccount:
    """Change the password (the current one first); revokes every API token of the account
    and ends its other browser sessions (``portal_auth.family_login`` keeps this one)."""
    if not check_password(old_password or "", account.password):
        raise DomainError(
            "wrong_password", _("Your current password is not correct."), field="old_password"
        )
    _validate_password(new_password, account, field="new_password")
    with transaction.atomic():
        account.password = make_password(new_password)
        account.save(update_fields=["password"])
        revoked = PortalToken.objects.filter(account=account).delete()[0]
        _audit(
            account,
            AuditEntry.Action.UPDATE,
            "family_password_change",
            after={"tokens_revoked": revoked},
        )
        notify_family(account, template="portal_password_changed")
    return account


def family_sign_out_everywhere(*, account: FamilyAccount, password: str) -> int:
    """Revoke every API token and end every browser session of the account (its password is
    hashed again with a new salt, which the sessions are bound to). Returns the number of
    tokens revoked."""
    if not check_password(password or "", account.password):
        raise DomainError(
            "wrong_password", _("Your current password is not correct."), field="password"
        )
    with transaction.atomic():
        account.password = make_password(password)
        account.save(update_fields=["password"])
        revoked = PortalToken.objects.filter(account=account).delete()[0]
        _audit(
            account,
            AuditEntry.Action.LOGOUT,
            "family_sign_out_everywhere",
            after={"tokens_revoked": revoked},
        )
    return revoked


# -- API tokens ----------------------------------------------------------------------------------
def portal_token_create(*, account: FamilyAccount, now: datetime | None = None) -> PortalToken:
    """A new API token; the key is on the returned row's ``key`` (only its hash is stored).
    The account's expired tokens are removed on the way."""
    now = _now(now)
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        PortalToken.objects.filter(account=account, expires_at__lte=now).delete()
        token = PortalToken.objects.create(
            account=account,
            key_hash=token_hash(key),
            expires_at=now + timedelta(days=settings.PORTAL_TOKEN_DAYS),
        )
    token.key = key  # type: ignore[attr-defined]
    return token


def portal_token_issue(*, account: FamilyAccount) -> str:
    """A new API token's key (``Authorization: Portal <key>``)."""
    return portal_token_create(account=account).key  # type: ignore[attr-defined]


def portal_token_revoke(*, account: FamilyAccount, token: PortalToken | None = None) -> int:
    """Revoke one token of the account, or all of them (``token=None``)."""
    tokens = PortalToken.objects.filter(account=account)
    if token is not None:
        tokens = tokens.filter(pk=token.pk)
    with transaction.atomic():
        revoked = tokens.delete()[0]
        if revoked:
            _audit(
                account,
                AuditEntry.Action.LOGOUT,
                "family_token_revoke",
                after={"tokens_revoked": revoked, "all": token is None},
            )
    return revoked
