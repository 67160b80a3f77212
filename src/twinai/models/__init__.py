"""Model zoo beyond the default folds: deep learners and the anomaly detector.

``twinai.models.deep`` serves on ONNX Runtime; torch is imported only to train.
"""

from twinai.models.anomaly import BENIGN_QUANTILE, BenignAnomalyDetector, mark_unknown
from twinai.models.deep import (
    ARCHITECTURES,
    WINDOW_FLOWS,
    DeepFlowClassifier,
    make_deep_learner,
)

__all__ = [
    "ARCHITECTURES",
    "BENIGN_QUANTILE",
    "WINDOW_FLOWS",
    "BenignAnomalyDetector",
    "DeepFlowClassifier",
    "make_deep_learner",
    "mark_unknown",
]
