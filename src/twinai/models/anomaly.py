"""An anomaly detector fitted on benign flows only, to name attacks no fold knows.

Both folds are supervised: they recognise the scans and floods they were
trained on. A new kind of attack may look like neither and pass as benign.
:class:`BenignAnomalyDetector` learns what benign flows look like (an
isolation forest over ``log1p`` features) and flags flows that isolate
quickly; :func:`mark_unknown` turns a benign verdict with such a score into
``unknown``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted

__all__ = ["BENIGN_QUANTILE", "UNKNOWN", "BenignAnomalyDetector", "mark_unknown"]

log = logging.getLogger(__name__)

# The threshold is this quantile of the anomaly scores of the benign training
# flows: by construction about 1% of benign flows like those seen in training
# score above it. One false "unknown" in a hundred benign flows is tolerable
# because an alert needs several anomalous flows of one host (see
# twinai.alerts.rollup); a lower quantile floods the operator.
BENIGN_QUANTILE = 0.99

# The verdict given to a flow no fold claims but the anomaly detector flags.
UNKNOWN = "unknown"


class BenignAnomalyDetector(BaseEstimator):
    """Score how unlike the benign training flows a flow is.

    Parameters
    ----------
    quantile : float
        Quantile of benign training scores used as ``threshold_``.
    n_estimators : int
        Trees of the isolation forest.
    max_samples : int
        Flows drawn per tree (256 is the isolation forest paper's default).
    random_state : int

    Attributes
    ----------
    forest_ : fitted IsolationForest on ``log1p`` features.
    threshold_ : float, scores above it are anomalous.
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> benign = rng.normal(10, 1, size=(500, 3))
    >>> detector = BenignAnomalyDetector().fit(benign)
    >>> bool(detector.is_anomalous(np.array([[10.0, 10.0, 10.0], [1e6, 0.0, 0.0]]))[1])
    True
    """

    def __init__(self, *, quantile: float = BENIGN_QUANTILE, n_estimators: int = 200,
                 max_samples: int = 256, random_state: int = 0) -> None:
        self.quantile = quantile
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> BenignAnomalyDetector:
        """Fit on benign flows. With ``y`` (labels), rows not labelled benign are dropped."""
        if not 0.5 <= self.quantile < 1.0:
            raise ValueError(f"quantile must be in [0.5, 1), got {self.quantile}")
        X = _features(X)
        if y is not None:
            X = X[np.asarray(y).astype(str) == "benign"]
        if X.shape[0] < 2:
            raise ValueError(f"the anomaly detector needs benign flows to learn from; got {X.shape[0]}")

        self.n_features_in_ = X.shape[1]
        self.forest_ = IsolationForest(n_estimators=self.n_estimators,
                                       max_samples=min(self.max_samples, X.shape[0]),
                                       random_state=self.random_state, n_jobs=1).fit(X)
        self.threshold_ = float(np.quantile(self._raw_score(X), self.quantile))
        log.info("anomaly detector: %d benign flows, threshold %.4f (q%.3f)", X.shape[0],
                 self.threshold_, self.quantile)
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly score of each flow: higher means less like benign training flows."""
        check_is_fitted(self, "forest_")
        X = _features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the detector was fitted "
                             f"with {self.n_features_in_}")
        return self._raw_score(X)

    def is_anomalous(self, X: Any) -> np.ndarray:
        """True where the score is above ``threshold_``."""
        return self.score_samples(X) > self.threshold_

    def _raw_score(self, X: np.ndarray) -> np.ndarray:
        # IsolationForest.score_samples is high for normal rows; negate it.
        return -self.forest_.score_samples(X)


def _features(X: Any) -> np.ndarray:
    X = np.nan_to_num(np.asarray(X, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D matrix of flows x features, got {X.ndim}-D")
    # Byte and packet counts span nine decades; a split on raw values would
    # only ever separate the largest flows.
    return np.sign(X) * np.log1p(np.abs(X))


def mark_unknown(verdict: np.ndarray, anomalous: np.ndarray) -> np.ndarray:
    """Verdicts where a ``benign`` flow flagged as anomalous becomes ``unknown``.

    >>> mark_unknown(np.array(["benign", "benign", "scan"]), np.array([True, False, True])).tolist()
    ['unknown', 'benign', 'scan']
    """
    verdict = np.asarray(verdict).astype(object)
    return np.where((verdict == "benign") & np.asarray(anomalous), UNKNOWN, verdict)
