"""Django settings of the console, read from the environment.

Zero configuration gives a working console: SQLite and the secret key live in
the data directory (``TWINAI_DATA_DIR``, default ``~/.local/share/twinai``).
``DATABASE_URL`` (``postgres://user:pass@host:5432/name``) selects PostgreSQL.
:mod:`twinai.console.settings_production` tightens everything for a public
deployment. ``docs/console.md`` lists every variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from twinai.console.env import (
    env_bool,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_str,
)

PACKAGE_DIR = Path(__file__).resolve().parent


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "twinai"


DATA_DIR = env_path("TWINAI_DATA_DIR", _default_data_dir())
DATA_DIR.mkdir(parents=True, exist_ok=True)
UPLOAD_DIR = DATA_DIR / "uploads"
BUNDLE_DIR = DATA_DIR / "bundles"


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept on disk."""
    configured = env_secret("TWINAI_SECRET_KEY")
    if configured:
        return configured

    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(64), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


# Seconds a SQLite writer waits for another writer's lock.
SQLITE_BUSY_TIMEOUT_S = 20


def _databases() -> dict[str, dict[str, object]]:
    url = env_secret("DATABASE_URL")
    if url is None:
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(DATA_DIR / "console.sqlite3"),
                # Train jobs write progress from a background thread while
                # pages read: WAL lets readers go on during a write, and the
                # timeout makes a writer wait for the other one's lock
                # instead of failing with "database is locked".
                "OPTIONS": {
                    "timeout": SQLITE_BUSY_TIMEOUT_S,
                    "init_command": "PRAGMA journal_mode=WAL;",
                    "transaction_mode": "IMMEDIATE",
                },
                # Tests use a file too: Django's default in-memory test
                # database shares one cache between threads, whose table
                # locks fail at once ("database table is locked") whatever
                # the timeout.
                "TEST": {"NAME": str(DATA_DIR / "test-console.sqlite3")},
            }
        }

    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    engine = str(config.get("ENGINE", ""))
    if not engine.endswith(("postgresql", "sqlite3")):
        raise ImproperlyConfigured(
            f"DATABASE_URL names the engine {engine!r}; the console supports "
            "postgres://… and sqlite:///…"
        )
    return {"default": dict(config)}


SECRET_KEY = _secret_key()
DEBUG = env_bool("TWINAI_DEBUG", False)
ALLOWED_HOSTS = env_list("TWINAI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("TWINAI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "twinai.console.accounts",
    "twinai.console.detection",
    "twinai.console.training",
    "twinai.console.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "twinai.console.urls"
WSGI_APPLICATION = "twinai.console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "twinai.console.accounts.context.role",
            ],
        },
    },
]

DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 first: new passwords and every login re-hash with it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# The throttle counts failures in the process cache; one console process is
# the supported deployment (TODO(console): a shared cache for several workers).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGIN_FAILURE_LIMIT = env_int("TWINAI_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("TWINAI_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

# Upload limits, all checked before a file is parsed.
UPLOAD_MAX_BYTES = env_int("TWINAI_UPLOAD_MAX_MB", 50, minimum=1) * 1024 * 1024
UPLOAD_MAX_ROWS = env_int("TWINAI_UPLOAD_MAX_ROWS", 200_000, minimum=1)
UPLOAD_MAX_COLUMNS = env_int("TWINAI_UPLOAD_MAX_COLUMNS", 200, minimum=1)
API_MAX_FLOWS = env_int("TWINAI_API_MAX_FLOWS", 10_000, minimum=1)
# Bodies above this stay on disk while Django reads them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# Train jobs run in threads of the console process (no extra server).
TRAIN_MAX_CONCURRENT_JOBS = env_int("TWINAI_TRAIN_MAX_JOBS", 1, minimum=1)
# A bundle directory to serve when the operator has not chosen one; empty
# means the library's shipped default bundle.
DEFAULT_BUNDLE_PATH = env_str("TWINAI_BUNDLE")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TWINAI_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = env_path("TWINAI_STATIC_ROOT", DATA_DIR / "static")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("TWINAI_SESSION_HOURS", 12, minimum=1) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "twinai.console.api.permissions.IsAuthorisedUser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("TWINAI_API_RATE", "600/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TwinAI Defense console API",
    "DESCRIPTION": "Predict the botnet detection status of flows; list model bundles.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# No handlers here: the entry point (the CLI, wsgi.py) decides where logs go.
LOGGING = {"version": 1, "disable_existing_loggers": False}
