"""The label taxonomy shared by the lab, the dataset importers and both folds.

Every flow carries one label string:

* ``benign``
* ``scan/<type>``  -- handled by fold 1 (prevention), e.g. ``scan/tcp-syn``
* ``ddos/<type>``  -- handled by fold 2 (detection), e.g. ``ddos/udp-flood``
* ``other/<original label>`` -- malicious or unknown traffic outside both folds
  (C&C, downloads, ...). Kept, never dropped, so that evaluation can show it.
"""

from __future__ import annotations

import re

__all__ = [
    "BENIGN",
    "SCAN",
    "DDOS",
    "OTHER",
    "FOLD_OF_FAMILY",
    "family",
    "attack_type",
    "make_label",
    "is_valid_label",
]

BENIGN = "benign"
SCAN = "scan"
DDOS = "ddos"
OTHER = "other"

# Which fold owns which family of labels.
FOLD_OF_FAMILY = {SCAN: "prevention", DDOS: "detection"}

_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


def family(label: str) -> str:
    """Return ``benign``, ``scan``, ``ddos`` or ``other`` for a label."""
    if label == BENIGN:
        return BENIGN
    head, _, _ = label.partition("/")
    if head in (SCAN, DDOS, OTHER):
        return head
    raise ValueError(f"not a TwinAI label: {label!r} (expected benign, scan/…, ddos/…, other/…)")


def attack_type(label: str) -> str | None:
    """Return the part after the slash (``tcp-syn`` of ``scan/tcp-syn``), or None."""
    if label == BENIGN:
        return None
    return label.partition("/")[2] or None


def make_label(family_name: str, kind: str | None = None) -> str:
    """Build a label, normalising the type to lower-case words joined by dashes.

    >>> make_label("scan", "TCP SYN")
    'scan/tcp-syn'
    """
    if family_name == BENIGN:
        return BENIGN
    if family_name not in (SCAN, DDOS, OTHER):
        raise ValueError(f"family must be benign, scan, ddos or other, got {family_name!r}")
    if not kind:
        raise ValueError(f"a {family_name} label needs a type")
    if family_name == OTHER:
        return f"{OTHER}/{kind.strip()}"
    slug = re.sub(r"[^a-z0-9.+]+", "-", kind.strip().lower()).strip("-")
    return f"{family_name}/{slug}"


def is_valid_label(label: str) -> bool:
    """True when the label follows the taxonomy."""
    if label == BENIGN:
        return True
    head, _, tail = label.partition("/")
    if head == OTHER:
        return bool(tail)
    return head in (SCAN, DDOS) and bool(_TYPE_RE.match(tail))
