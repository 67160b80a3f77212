"""Settings for a public deployment behind TLS: secrets and hosts are required.

Select with ``DJANGO_SETTINGS_MODULE=twinai.console.settings_production``.
``python -m twinai.console.manage check --deploy`` is clean under these.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from twinai.console.env import env_bool, env_int, env_list, env_secret
from twinai.console.settings import *  # noqa: F403 -- extend the base settings

if not env_secret("TWINAI_SECRET_KEY"):
    raise ImproperlyConfigured(
        "production settings need TWINAI_SECRET_KEY or TWINAI_SECRET_KEY_FILE "
        "(50+ random characters)"
    )
if not env_list("TWINAI_ALLOWED_HOSTS", []):
    raise ImproperlyConfigured(
        "production settings need TWINAI_ALLOWED_HOSTS, e.g. console.example.org"
    )

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("TWINAI_SSL_REDIRECT", True)
# One year, the usual preload horizon; start lower while testing TLS.
SECURE_HSTS_SECONDS = env_int("TWINAI_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TWINAI_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("TWINAI_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if env_bool("TWINAI_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
