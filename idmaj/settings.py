"""Settings of idmaj, read once from the environment.

Two profiles:

* ``development`` (default): embedded SQLite under ``IDMAJ_DATA_DIR``, a file outbox for
  notifications, the demo never asks for a second factor;
* ``production`` (``IDMAJ_PROFILE=production``): secure cookies, HSTS, TOTP mandatory for
  the roles listed in ``IDMAJ_OTP_REQUIRED_ROLES``; passes ``idmaj check --deploy``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = _env(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


PROFILE = _env("IDMAJ_PROFILE", "development")
PRODUCTION = PROFILE == "production"

DATA_DIR = Path(_env("IDMAJ_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = _env_bool("IDMAJ_DEBUG", not PRODUCTION)

_DEV_SECRET = "idmaj-development-secret-key-not-for-production-use-0123456789abcdef"
SECRET_KEY = _env("IDMAJ_SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise RuntimeError("IDMAJ_SECRET_KEY must be set in the production profile")

ALLOWED_HOSTS = _env_list(
    "IDMAJ_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = _env_list("IDMAJ_CSRF_TRUSTED_ORIGINS", [])

DEMO_PASSWORD = _env("IDMAJ_DEMO_PASSWORD", "idmaj-demo-2026")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "idmaj.core",
    "idmaj.facilities",
    "idmaj.inmates",
    "idmaj.visits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "idmaj.visits.portal_auth.PortalMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "idmaj.core.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "idmaj.urls"
WSGI_APPLICATION = "idmaj.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "idmaj.core.context_processors.navigation",
            ],
            "builtins": ["idmaj.core.templatetags.idmaj"],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{DATA_DIR / 'idmaj.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        _env("DATABASE_URL", _default_sqlite), conn_max_age=0 if not PRODUCTION else 60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work together; IMMEDIATE transactions take the write
    # lock at BEGIN so that concurrent writers wait (busy timeout) instead of failing with
    # "database is locked" when they upgrade a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=30000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-idmaj.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# --- Authentication -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

# Sessions end after 30 idle minutes: every request pushes the expiry forward.
SESSION_COOKIE_AGE = int(_env("IDMAJ_SESSION_IDLE_SECONDS", "1800"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Lockout after repeated failures (django-axes), per user name and address.
AXES_FAILURE_LIMIT = int(_env("IDMAJ_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "idmaj.core.views.lockout_response"
AXES_VERBOSE = False

# Second factor (TOTP): roles for which it is mandatory. Empty in development, so that the
# demo never asks for it; administrators and medical staff in production.
OTP_REQUIRED_ROLES = _env_list(
    "IDMAJ_OTP_REQUIRED_ROLES",
    ["system_admin", "physician", "nurse"] if PRODUCTION else [],
)
OTP_TOTP_ISSUER = "idmaj"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("fr", _("French")), ("en", _("English"))]
LANGUAGES_BIDI = ["ar"]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "idmaj_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "Africa/Casablanca"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it; whitenoise expects it to exist
STATICFILES_DIRS = [BASE_DIR / "static"]  # the vendored front-end assets (htmx, CSS)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = DATA_DIR / "media"  # private files, never served directly

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "idmaj.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "idmaj API",
    "DESCRIPTION": "Integrated information system of the prison administration",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Background work ----------------------------------------------------------------------
REDIS_URL = _env("IDMAJ_REDIS_URL")
if REDIS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    INSTALLED_APPS.append("django_rq")
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
TASK_MAX_ATTEMPTS = int(_env("IDMAJ_TASK_MAX_ATTEMPTS", "5"))

# --- Cache (rate limits of the family portal) ---------------------------------------------
# Shared by every worker when Redis is there; the embedded default keeps counts per process.
CACHE_URL = _env("IDMAJ_CACHE_URL") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Visits and the family portal ---------------------------------------------------------
VISITS_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
VISITS_DOCUMENT_TYPES = ["application/pdf", "image/jpeg", "image/png"]
# Visitors' personal data and documents are purged after this many months without activity.
VISITS_RETENTION_MONTHS = int(_env("IDMAJ_VISITS_RETENTION_MONTHS", "24"))
PORTAL_CODE_MINUTES = 10  # an SMS code is valid this long
PORTAL_CODE_ATTEMPTS = 5  # wrong guesses before a code is spent
PORTAL_TOKEN_DAYS = 30  # API tokens of the family portal
# The list of bookable sessions the portal's API shows is shared this long by the families of
# an institution (0: read every time); the booking itself always checks the places.
VISITS_SESSIONS_CACHE_SECONDS = int(_env("IDMAJ_VISITS_SESSIONS_CACHE_SECONDS", "2"))
# Rate limits: (requests, seconds) per key; "IDMAJ_PORTAL_RATE_LIMITS=off" disables them
# (load tests from one address only).
PORTAL_RATE_LIMITS_ON = _env("IDMAJ_PORTAL_RATE_LIMITS", "on") != "off"
PORTAL_RATE_LIMITS = {
    "register:ip": (10, 3600),
    "register:phone": (3, 3600),
    "signin:ip": (30, 900),
    "signin:phone": (10, 900),
    "code:phone": (5, 3600),
    "code:ip": (20, 3600),
    "book:account": (20, 3600),
    "book:ip": (200, 3600),
}

# --- Notifications ------------------------------------------------------------------------
# "file": JSON lines under IDMAJ_DATA_DIR/outbox/ (demo, tests); "http": an SMS gateway;
# e-mail goes through Django's e-mail backend (SMTP in production).
NOTIFY_SMS_BACKEND = _env("IDMAJ_SMS_BACKEND", "file")
NOTIFY_EMAIL_BACKEND = _env("IDMAJ_EMAIL_BACKEND", "file")
NOTIFY_OUTBOX_DIR = DATA_DIR / "outbox"
SMS_GATEWAY_URL = _env("IDMAJ_SMS_GATEWAY_URL")
SMS_GATEWAY_TOKEN = _env("IDMAJ_SMS_GATEWAY_TOKEN")
SMS_SENDER = _env("IDMAJ_SMS_SENDER", "DGAPR")
EMAIL_HOST = _env("IDMAJ_SMTP_HOST", "localhost")
EMAIL_PORT = int(_env("IDMAJ_SMTP_PORT", "25"))
EMAIL_HOST_USER = _env("IDMAJ_SMTP_USER", "")
EMAIL_HOST_PASSWORD = _env("IDMAJ_SMTP_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("IDMAJ_SMTP_TLS", False)
DEFAULT_FROM_EMAIL = _env("IDMAJ_FROM_EMAIL", "no-reply@idmaj.local")

# --- Security -----------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("IDMAJ_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(_env("IDMAJ_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env("IDMAJ_LOG_LEVEL", "WARNING")},
}
