"""The two profiles: development defaults, and a production profile clean under --deploy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import idmaj.settings as project_settings

ROOT = Path(__file__).resolve().parents[3]


def _run(env_extra: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDMAJ_", "DATABASE_URL"))}
    env.update({"IDMAJ_DATA_DIR": str(tmp_path), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "idmaj.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "IDMAJ_PROFILE": "production",
    "IDMAJ_ALLOWED_HOSTS": "idmaj.example",
}


def test_production_profile_passes_check_deploy(tmp_path):
    env = {**PRODUCTION, "IDMAJ_SECRET_KEY": secrets.token_urlsafe(64)}
    result = _run(env, tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_production_profile_without_secret_key_refuses_to_start(tmp_path):
    result = _run(PRODUCTION, tmp_path, "check")
    assert result.returncode != 0
    assert "IDMAJ_SECRET_KEY" in result.stderr


def test_production_settings_values(tmp_path):
    env = {**PRODUCTION, "IDMAJ_SECRET_KEY": secrets.token_urlsafe(64)}
    code = (
        "from django.conf import settings as s;"
        "print(s.OTP_REQUIRED_ROLES, s.DEBUG, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_AGE)"
    )
    result = _run(env, tmp_path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip().splitlines()[-1]
        == "['system_admin', 'physician', 'nurse'] False True 1800"
    )


def test_development_defaults():
    assert project_settings.OTP_REQUIRED_ROLES == []
    assert project_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
    length = [
        v
        for v in project_settings.AUTH_PASSWORD_VALIDATORS
        if v["NAME"].endswith("MinimumLengthValidator")
    ]
    assert length[0]["OPTIONS"]["min_length"] >= 12
    assert any(
        v["NAME"].endswith("CommonPasswordValidator")
        for v in project_settings.AUTH_PASSWORD_VALIDATORS
    )
    assert project_settings.AXES_FAILURE_LIMIT == 5
    assert project_settings.SESSION_COOKIE_AGE == 1800
    assert project_settings.SESSION_SAVE_EVERY_REQUEST is True
