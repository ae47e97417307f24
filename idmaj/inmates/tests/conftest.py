import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Argon2 takes about half a second per test user; these tests never sign in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
