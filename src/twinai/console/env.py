"""Small typed readers of environment variables that fail loudly.

A setting that is present but malformed stops the console at start-up with a
message naming the variable, the value received and the values allowed; it
never falls back silently. Secrets may come from ``NAME_FILE`` (a path whose
content is the value), which keeps them out of process listings.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

__all__ = ["env_str", "env_bool", "env_int", "env_list", "env_path", "env_secret"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's text, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    """A yes/no variable; anything but the usual spellings is an error."""
    value = env_str(name)
    if value is None:
        return default

    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value; use one of "
        f"{', '.join(_TRUE + _FALSE)}"
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number not below ``minimum``."""
    value = env_str(name)
    if value is None:
        return default

    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks around items are dropped."""
    value = env_str(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    """A filesystem path, with ``~`` expanded."""
    value = env_str(name)
    return Path(value).expanduser() if value else default


def env_secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    file_name = env_str(f"{name}_FILE")
    if file_name is None:
        return env_str(name)

    path = Path(file_name).expanduser()
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}_FILE={file_name!r} cannot be read ({exc.strerror}); "
            "point it at a readable file holding the secret"
        ) from None
    if not secret:
        raise ImproperlyConfigured(f"{name}_FILE={file_name!r} is empty")
    return secret
