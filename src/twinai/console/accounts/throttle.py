"""Login throttling: too many failures lock a username and an address for a while."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

# An address may try several usernames (a shared NAT); give it more room than
# one username before it is locked.
ADDRESS_FACTOR = 4


def _keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    keys = [(f"login-fail:user:{username.strip().lower()}", limit)]
    if ip:
        keys.append((f"login-fail:ip:{ip}", limit * ADDRESS_FACTOR))
    return keys


def is_locked(username: str, ip: str | None) -> bool:
    """True when the username or the address used up its failures."""
    return any(cache.get(key, 0) >= limit for key, limit in _keys(username, ip))


def record_failure(username: str, ip: str | None) -> None:
    """Count one failed login; the window restarts with each failure."""
    for key, _ in _keys(username, ip):
        cache.set(key, cache.get(key, 0) + 1, settings.LOGIN_LOCKOUT_SECONDS)


def clear(username: str) -> None:
    """Forget a username's failures after a successful login."""
    cache.delete(f"login-fail:user:{username.strip().lower()}")
