"""Block lifetimes: the default TTL and the parsing of ``30s``/``10m``/``1h``.

Every block expires. A permanent block outlives the reason it was made for
(a scanning bot is cleaned, an address is reassigned) and nobody remembers to
lift it, so the firewall set only takes elements with a timeout.
"""

from __future__ import annotations

import re

from twinai.errors import InputError

__all__ = [
    "DEFAULT_BLOCK_TTL_S",
    "MAX_BLOCK_TTL_S",
    "check_ttl",
    "format_duration",
    "parse_duration",
]

# One hour: Mirai-style bots pick random targets and do not come back to a
# host that dropped them for long, so an hour outlasts the scan; a false
# positive (a misjudged neighbour, a home device) heals on its own within the
# hour, without an operator.
DEFAULT_BLOCK_TTL_S = 3600

# Seven days: an automatic block longer than a week is a decision a person
# should make again, with fresh evidence.
MAX_BLOCK_TTL_S = 7 * 24 * 3600

_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART_RE = re.compile(r"(\d+)([smhd])")
_WHOLE_RE = re.compile(r"(?:\d+[smhd])+")


def parse_duration(text: str, *, name: str = "ttl") -> int:
    """Return the seconds in a duration such as ``30s``, ``10m``, ``1h30m``.

    Parameters
    ----------
    text : str
        One or more ``<integer><unit>`` parts, units ``s``, ``m``, ``h``, ``d``.
    name : str
        The option being parsed, named in the error message.

    Raises
    ------
    InputError
        When the text is not a duration, is zero or exceeds ``MAX_BLOCK_TTL_S``.

    Examples
    --------
    >>> parse_duration("10m")
    600
    >>> parse_duration("1h30m")
    5400
    """
    cleaned = text.strip().lower()
    if not _WHOLE_RE.fullmatch(cleaned):
        raise InputError(
            f"{name} must be a duration like 30s, 10m, 1h or 1h30m "
            f"(units s, m, h, d), got {text!r}"
        )

    seconds = sum(int(n) * _UNIT_S[unit] for n, unit in _PART_RE.findall(cleaned))
    return check_ttl(seconds, name=name)


def check_ttl(seconds: int, *, name: str = "ttl") -> int:
    """Return ``seconds`` when it is a usable block lifetime, else raise InputError."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(
            f"{name} must be an int of seconds, got {type(seconds).__name__}"
        )
    if seconds < 1 or seconds > MAX_BLOCK_TTL_S:
        raise InputError(
            f"{name} must be between 1s and {format_duration(MAX_BLOCK_TTL_S)} "
            f"({MAX_BLOCK_TTL_S} s), got {seconds} s"
        )
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way ``parse_duration`` reads them, e.g. ``1h5m``.

    Examples
    --------
    >>> format_duration(3900)
    '1h5m'
    >>> format_duration(0)
    '0s'
    """
    remaining = max(0, int(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
