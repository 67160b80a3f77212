"""The exceptions of TwinAI Defense, in one place.

Hierarchy::

    TwinAIError                 base of everything we raise on purpose
    ├── InputError              bad user input: a file, a column, an option (permanent)
    │   ├── CaptureError        a capture file that cannot be read at all
    │   └── DatasetError        a flow log or CSV that cannot be imported
    ├── ModelError              a model bundle that is missing or does not fit the code
    ├── LabError                the traffic lab could not build or tear down its network
    └── ResponseError           a firewall action failed (may be retried)

Input errors name the file, the place in it and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "TwinAIError",
    "InputError",
    "CaptureError",
    "DatasetError",
    "ModelError",
    "LabError",
    "ResponseError",
]


class TwinAIError(Exception):
    """Base class of every error TwinAI Defense raises on purpose."""


class InputError(TwinAIError, ValueError):
    """The user gave something we cannot use; retrying will not help."""


class CaptureError(InputError):
    """A capture file cannot be read (not a capture, unknown format, unreadable)."""


class DatasetError(InputError):
    """A flow dataset (CSV, Zeek log, Parquet) cannot be imported."""


class ModelError(TwinAIError):
    """A model bundle is missing, damaged or built for another feature list."""


class LabError(TwinAIError):
    """The traffic lab failed to build, run or remove its namespaces."""


class ResponseError(TwinAIError):
    """A block or unblock could not be applied; the caller may retry."""
