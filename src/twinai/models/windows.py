"""Windows of consecutive flows: the input of the deep learners.

The rows of a feature matrix are flows in time order. The window ending at
row ``i`` holds rows ``i - window + 1 .. i``; before the first row it is
padded with zeros. Windows are built from the matrix they are given and from
nothing else, so a test matrix never borrows rows from training (the original
research cut images from the whole table before splitting it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["flow_windows", "gather_windows", "pad_rows"]


def pad_rows(scaled: np.ndarray, window: int) -> np.ndarray:
    """``scaled`` (float32) with ``window - 1`` rows of zeros in front."""
    padding = np.zeros((window - 1, scaled.shape[1]), dtype=np.float32)
    return np.concatenate([padding, scaled.astype(np.float32, copy=False)])


def gather_windows(padded: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """Windows ``(len(rows), window, features)`` ending at ``rows``.

    ``padded`` comes from :func:`pad_rows`; row ``i`` of the original matrix
    is ``padded[i + window - 1]``, so its window is ``padded[i : i + window]``.
    """
    return padded[rows[:, None] + np.arange(window)[None, :]]


def flow_windows(scaled: np.ndarray, window: int) -> np.ndarray:
    """Every window of ``scaled``: ``(rows, window, features)`` float32.

    Examples
    --------
    >>> flow_windows(np.array([[1.0], [2.0], [3.0]]), 2)[:, :, 0].tolist()
    [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    """
    padded = pad_rows(scaled, window)
    return gather_windows(padded, np.arange(scaled.shape[0]), window)
