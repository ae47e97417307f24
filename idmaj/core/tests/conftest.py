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
