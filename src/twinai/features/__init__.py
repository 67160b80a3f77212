"""Feature lists and host context windows.

The model features are declared once, here, with a version string. Model
bundles record both and refuse to load against a different list.
"""

from __future__ import annotations

from twinai.flows.schema import FLOW_STAT_COLUMNS, UNIVERSAL_COLUMNS, WINDOW_COLUMNS

__all__ = ["FEATURE_VERSION", "CAPTURE_FEATURES", "UNIVERSAL_FEATURES"]

# Bump when a feature is added, removed, renamed or computed differently.
FEATURE_VERSION = "2026.12-2"

# Everything a capture gives us; identity columns (addresses, ports, times)
# are deliberately absent so that models learn behaviour, not addresses.
CAPTURE_FEATURES: tuple[str, ...] = UNIVERSAL_COLUMNS + FLOW_STAT_COLUMNS + WINDOW_COLUMNS

# What any public flow dataset can give: the Zeek conn.log view.
UNIVERSAL_FEATURES: tuple[str, ...] = UNIVERSAL_COLUMNS
