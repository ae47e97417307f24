import pytest
from axes.models import AccessAttempt


@pytest.fixture
def no_lockouts(settings, db):
    """Lockouts are counted per test: no failed attempt leaks from one test to the next."""
    settings.AXES_ENABLED = True
    AccessAttempt.objects.all().delete()
    yield


@pytest.fixture
def otp_roles(settings):
    """The production rule: administrators and medical staff need a second factor."""
    settings.OTP_REQUIRED_ROLES = ["system_admin", "physician", "nurse"]
    return settings.OTP_REQUIRED_ROLES


@pytest.fixture(autouse=True)
def _cheap_argon2(settings):
    """Argon2 still (stored hashes start with ``argon2``), with test-sized cost parameters.

    The production hasher takes a sizeable fraction of a second by design; the tests sign in
    hundreds of times. ``test_settings`` checks the real hasher configuration.
    """
    settings.PASSWORD_HASHERS = ["idmaj.core.tests.hashers.CheapArgon2PasswordHasher"]
