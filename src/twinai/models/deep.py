"""Deep learners over windows of consecutive flows, trained in PyTorch, served by ONNX.

The research behind TwinAI compares a 1D-CNN, an LSTM, a CNN-LSTM and a
ResNet-18 that reads consecutive flow records stacked as the rows of an
image. :class:`DeepFlowClassifier` offers the four as one scikit-learn
classifier, so that :class:`twinai.folds.FoldClassifier` can use any of them
as its detector and its type namer.

Three leaks of the original pipeline are closed here:

* scaling statistics (``log1p`` then standardisation) are fitted in ``fit``
  on the training rows only and stored;
* identity columns (addresses, ports, times) never reach ``X``: the callers
  build ``X`` from :data:`twinai.folds.bundle.FEATURE_SETS`;
* a window is built only from the matrix given to ``fit`` or
  ``predict_proba`` (see :mod:`twinai.models.windows`), so a test window never
  holds training rows.

After training the network is exported to ONNX and the bytes are kept in
the estimator; scoring runs on ONNX Runtime, and unpickling a fitted model
does not import torch.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from twinai.models.onnx_scoring import SCORING_BATCH, OnnxScorer
from twinai.models.windows import gather_windows, pad_rows

__all__ = [
    "ARCHITECTURES",
    "WINDOW_FLOWS",
    "DeepFlowClassifier",
    "make_deep_learner",
]

log = logging.getLogger(__name__)

ARCHITECTURES = ("cnn", "lstm", "cnn-lstm", "resnet18")

# Flows per window (rows of a ResNet image). Eight consecutive flows cover a
# scanner's burst of probes or a flood's repeated rows while keeping the first
# rows of a short capture mostly real rather than padding.
WINDOW_FLOWS = 8

# Training bounds for a two-core machine: three passes over at most 50k
# windows each, cut at 60 s per network. A fold trains two networks (detector
# and namer), so a fold of one deep model stays within about two minutes.
DEFAULT_EPOCHS = 3
DEFAULT_MAX_WINDOWS_PER_EPOCH = 50_000
DEFAULT_MAX_TRAIN_SECONDS = 60.0
DEFAULT_THREADS = 2
# Fewest optimizer steps a network gets, however small its table: Adam at
# lr 1e-3 needs on the order of a hundred steps to leave its initial weights.
# Three epochs of a 900-row table at batch 256 are 12 steps; the CNN then
# labelled 60% of the flows of tests/models' easy problem positive (39% are)
# and reached 77% accuracy, against 96% after 40 steps. Large tables are
# unaffected (three epochs of 50k windows are 588 steps).
DEFAULT_MIN_BATCHES = 100

# A standard deviation below this is a constant column; dividing by it would
# turn rounding noise into huge values.
_MIN_STD = 1e-6


def _signed_log1p(X: np.ndarray) -> np.ndarray:
    return np.sign(X) * np.log1p(np.abs(X))


class DeepFlowClassifier(ClassifierMixin, BaseEstimator):
    """A neural classifier of each flow from the window of flows ending at it.

    Parameters
    ----------
    architecture : {"cnn", "lstm", "cnn-lstm", "resnet18"}
    window : int
        Flows per window; row ``i`` is judged from rows ``i - window + 1 .. i``.
    epochs : int
        Passes over the training windows (each capped, see below).
    batch_size : int
    learning_rate : float
        Adam step size.
    max_train_seconds : float
        Wall-clock cap on the training loop; a warning is logged when it cuts.
    max_windows_per_epoch : int
        Random windows visited per epoch, so that large tables train in bounded time.
    min_batches : int
        Fewest optimizer steps: a small table gets more than ``epochs`` passes
        (still cut by ``max_train_seconds``).
    n_threads : int
        Threads for torch while training and for ONNX Runtime while scoring.
    random_state : int

    Attributes
    ----------
    classes_ : ndarray of the class labels seen in ``fit``.
    scale_mean_, scale_std_ : per-feature statistics of ``log1p(|X|)`` on the training rows.
    onnx_model_ : bytes, the exported network (input ``windows``, output ``probabilities``).
    n_features_in_ : int
    train_seconds_ : float, time spent in ``fit``.
    epochs_run_ : float, passes actually made (more than ``epochs`` on a small table,
        see ``min_batches``; fewer when ``max_train_seconds`` cut).

    Notes
    -----
    Rows must be in time order, and a score depends on the rows before it
    in the same matrix: scoring rows one at a time, or deduplicated and
    reordered, judges each flow without its context.

    Examples
    --------
    >>> X = np.repeat([[0.0, 1.0], [9.0, 0.0]], 40, axis=0)
    >>> y = np.repeat(["benign", "scan"], 40)
    >>> model = DeepFlowClassifier(architecture="cnn", epochs=20).fit(X, y)
    >>> model.predict(X[[0, -1]]).tolist()
    ['benign', 'scan']
    """

    def __init__(self, *, architecture: str = "cnn", window: int = WINDOW_FLOWS,
                 epochs: int = DEFAULT_EPOCHS, batch_size: int = 256,
                 learning_rate: float = 1e-3,
                 max_train_seconds: float = DEFAULT_MAX_TRAIN_SECONDS,
                 max_windows_per_epoch: int = DEFAULT_MAX_WINDOWS_PER_EPOCH,
                 min_batches: int = DEFAULT_MIN_BATCHES,
                 n_threads: int = DEFAULT_THREADS, random_state: int = 0) -> None:
        self.architecture = architecture
        self.window = window
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_train_seconds = max_train_seconds
        self.max_windows_per_epoch = max_windows_per_epoch
        self.min_batches = min_batches
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> DeepFlowClassifier:
        """Fit the scaler and the network on these rows, then export to ONNX."""
        from twinai.models._training import TrainingPlan, export_onnx, fit_network

        started = time.perf_counter()
        self._validate_params()
        X = self._as_matrix(X)
        self.classes_, targets = np.unique(np.asarray(y), return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(f"y has one class ({self.classes_[0]!r}); a classifier needs two")
        if X.shape[0] != targets.size:
            raise ValueError(f"X has {X.shape[0]} rows but y has {targets.size}")

        self.n_features_in_ = X.shape[1]
        self._fit_scaler(X)
        plan = TrainingPlan(self.architecture, self.window, self.epochs, self.batch_size,
                            self.learning_rate, self.max_train_seconds,
                            self.max_windows_per_epoch, self.n_threads, self.random_state,
                            self.min_batches)
        trained = fit_network(self._scale(X), targets, self.classes_.size, plan)
        self.onnx_model_ = export_onnx(trained.network, self.window, self.n_features_in_)
        self.epochs_run_ = trained.epochs_run
        self.train_seconds_ = time.perf_counter() - started
        log.info("%s: %d rows, %d classes, %.2f epochs in %.1f s", self.architecture,
                 X.shape[0], self.classes_.size, self.epochs_run_, self.train_seconds_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of each row, columns in the order of ``classes_``."""
        check_is_fitted(self, "onnx_model_")
        X = self._as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but this model was fitted "
                             f"with {self.n_features_in_}")
        if X.shape[0] == 0:
            return np.zeros((0, self.classes_.size))

        padded = pad_rows(self._scale(X), self.window)
        scorer = self._scorer()
        parts = []
        for start in range(0, X.shape[0], SCORING_BATCH):
            rows = np.arange(start, min(start + SCORING_BATCH, X.shape[0]))
            parts.append(scorer.run(gather_windows(padded, rows, self.window)))
        return np.concatenate(parts)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        # An ONNX Runtime session does not pickle; it is rebuilt from onnx_model_.
        state = self.__dict__.copy()
        state.pop("_session", None)
        return state

    def _scorer(self) -> OnnxScorer:
        scorer: OnnxScorer | None = getattr(self, "_session", None)
        if scorer is None:
            scorer = OnnxScorer(self.onnx_model_, n_threads=self.n_threads)
            self._session = scorer
        return scorer

    def _fit_scaler(self, X: np.ndarray) -> None:
        logged = _signed_log1p(X)
        self.scale_mean_ = logged.mean(axis=0)
        std = logged.std(axis=0)
        self.scale_std_ = np.where(std < _MIN_STD, 1.0, std)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((_signed_log1p(X) - self.scale_mean_) / self.scale_std_).astype(np.float32)

    @staticmethod
    def _as_matrix(X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D matrix of flows x features, got {X.ndim}-D")
        return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)

    def _validate_params(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.architecture!r}")
        for name in ("window", "epochs", "batch_size", "max_windows_per_epoch", "min_batches",
                     "n_threads"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not self.max_train_seconds > 0:
            raise ValueError(f"max_train_seconds must be positive, got {self.max_train_seconds}")


def make_deep_learner(name: str, random_state: int = 0) -> DeepFlowClassifier:
    """The deep learner ``name`` (one of ``ARCHITECTURES``) with the default bounds."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown deep learner {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return DeepFlowClassifier(architecture=name, random_state=random_state)
