"""Map the labels written by public data sets onto the TwinAI taxonomy.

Every source names its classes differently (``PortScan``, ``Portscan``,
``PartOfAHorizontalPortScan``; ``DDoS``, ``DoS Hulk``, ``DrDoS_DNS``), and some
files mangle them (the en dash of ``Web Attack – Brute Force`` read as
``Web Attack � Brute Force``). The mapping runs once per distinct label, not
per row, so its rules can be plain Python.

Rules, first match wins (documented in ``docs/datasets.md``):

1. benign names (``BENIGN``, ``Benign``, ``benign``, ``Normal``, CTU-13
   ``From-Normal-…``) → ``benign``;
2. the explicit table below (scan families of IoT-23 and Stratosphere, bare
   attack names of CIC-DDoS2019 in CICFlowMeter files);
3. DistriNet ``… - Attempted`` rows (the attack did not carry out its effect)
   → ``other/<label>``;
4. names with a DoS word (``DoS``, ``DDoS``, ``DrDoS``) or ``flood`` →
   ``ddos/<rest of the name>``; names with ``scan`` → ``scan/<name>``;
5. anything else → ``other/<label>``: kept, never dropped.
"""

from __future__ import annotations

import re

from twinai.labels import BENIGN, DDOS, OTHER, SCAN, make_label

__all__ = ["clean_label_text", "to_taxonomy", "zeek_label_key"]

_ODD_DASHES = re.compile("[\u2010-\u2015\u2212\ufffd\u0096]")
_SPACES = re.compile(r"\s+")
_DOS_WORD = re.compile(r"(?i)(?:^|[^a-z])(?:dr)?d?dos(?:$|[^a-z])|flood")
_DOS_PREFIX = re.compile(r"(?i)^d?dos(?:\s*attacks?)?[\s_-]*")
_ATTEMPTED = re.compile(r"(?i)\s-\s*attempted$")

_BENIGN_NAMES = frozenset({"benign", "normal", "background-normal"})
_BENIGN_PREFIXES = ("from-normal", "to-normal", "normal-")

# Labels whose meaning is not in their words. IoT-23's and Stratosphere's
# scan families, and Stratosphere's inbound probes: in 008-zeek-mixed they are
# unanswered probes from 1,599 Internet sources to 2,060 ports of one host
# (MANIFEST), i.e. inbound Internet scanning, which fold 1 must see.
_EXPLICIT = {
    "portscan": make_label(SCAN, "portscan"),
    "port scan": make_label(SCAN, "portscan"),
    "partofahorizontalportscan": make_label(SCAN, "horizontal-portscan"),
    "partofahorizontalportscan-attack": make_label(SCAN, "horizontal-portscan"),
    "c&c-partofahorizontalportscan": make_label(SCAN, "horizontal-portscan"),
    "external-attack-to-device": make_label(SCAN, "inbound-internet-scanning"),
    "ddos": make_label(DDOS, "flood"),
    "syn": make_label(DDOS, "syn"),
    "udp-lag": make_label(DDOS, "udp-lag"),
    "udplag": make_label(DDOS, "udp-lag"),
    "webddos": make_label(DDOS, "webddos"),
}

# CIC-DDoS2019's second-day files name reflection attacks by protocol alone;
# in a CICFlowMeter file these words can only mean that data set's floods.
_CIC_DDOS2019_BARE = (
    "dns", "ldap", "mssql", "netbios", "ntp", "snmp", "ssdp", "udp", "tftp",
    "portmap",
)  # fmt: skip


def clean_label_text(text: str) -> str:
    """Normalise dashes (en/em dash, cp1252 0x96, U+FFFD) and whitespace."""
    return _SPACES.sub(" ", _ODD_DASHES.sub("-", text)).strip()


def to_taxonomy(original: str, *, cic: bool = False) -> str:
    """Return the taxonomy label of one label as written by a data set.

    ``cic`` enables the bare CIC-DDoS2019 protocol names (``LDAP``, ``UDP``…).

    >>> to_taxonomy("DoS Hulk")
    'ddos/hulk'
    >>> to_taxonomy("Web Attack \ufffd Brute Force")
    'other/Web Attack - Brute Force'
    """
    text = clean_label_text(original)
    if text.lower().startswith("flow="):
        text = text[len("flow=") :]
    key = text.lower()
    if key in _BENIGN_NAMES or key.startswith(_BENIGN_PREFIXES):
        return BENIGN
    if key in _EXPLICIT:
        return _EXPLICIT[key]
    if cic and key in _CIC_DDOS2019_BARE:
        return make_label(DDOS, key)
    if _ATTEMPTED.search(text):
        return make_label(OTHER, text)
    return _by_words(text)


def _by_words(text: str) -> str:
    """Rule 4 and 5 of the module docstring."""
    if _DOS_WORD.search(text):
        rest = _DOS_PREFIX.sub("", text) or "flood"
        return make_label(DDOS, rest)
    if "scan" in text.lower():
        return make_label(SCAN, text)
    return make_label(OTHER, text)


def zeek_label_key(label: str | None, detailed: str | None) -> str | None:
    """The label to map for Stratosphere's two columns (``label``, ``detailed``).

    ``Benign / Microsoft`` → ``Benign``; ``Malicious / DDoS`` → ``DDoS``;
    ``Malicious / -`` → ``Malicious``; ``Background / (empty)`` → ``Background``.
    """
    if label is None:
        return None
    label = label.strip()
    detail = (detailed or "").strip()
    if label.lower() == BENIGN or detail in ("", "-", "(empty)"):
        return label
    return detail
