"""The two folds as scikit-learn estimators.

Each fold answers two questions about a flow: *is it part of my family of
attack* (a score between 0 and 1) and, if so, *which type* (``tcp-syn``,
``udp-flood``, ...). :class:`FoldClassifier` holds a binary detector for the
first and a multi-class namer, trained on the positive flows only, for the
second. Fold 1 is ``FoldClassifier(family="scan")``, fold 2
``FoldClassifier(family="ddos")``.

The default learner is LightGBM: fast to train on two cores, fast to score in
batches, and its own per-feature contributions explain each verdict.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["FoldClassifier", "make_learner", "LEARNERS", "CLASSICAL_LEARNERS", "DEEP_LEARNERS"]

log = logging.getLogger(__name__)

# The classical learners `twinai train --models` offers, by name.
CLASSICAL_LEARNERS = (
    "lightgbm",
    "random-forest",
    "decision-tree",
    "naive-bayes",
    "linear-svm",
    "logistic-regression",
    "mlp",
)
# Deep learners over windows of consecutive flows (PyTorch to train, ONNX
# Runtime to serve); they live in twinai.models.deep.
DEEP_LEARNERS = ("cnn", "lstm", "cnn-lstm", "resnet18")
LEARNERS = CLASSICAL_LEARNERS + DEEP_LEARNERS


# LightGBM's decision_type bits (include/LightGBM/tree.h): bit 0 marks a
# categorical split, bits 2-3 the missing type (0 None, 1 Zero, 2 NaN).
_CATEGORICAL_BIT = 1
_MISSING_ZERO = 1
_TREE_LINES = re.compile(r"^(split_feature|threshold|decision_type)=(.*)$", re.M)


# The LightGBM type namer is multi-class: each boosting round grows one tree
# per attack type (30 scan, 55 DDoS types in the lab data), so the detector's
# 120 rounds of 31 leaves made namers of 3,600-6,600 trees and a 17 MB
# bundle. 40 rounds of 15 leaves name types about as well on the last quarter
# (by time) of each type's lab flows: type F1 macro 0.83 vs 0.80 for scans,
# 0.82 vs 0.84 for floods, at about a sixth of the size. Faster learning
# rates with fewer rounds diverged (F1 below 0.2) on the 55 DDoS types.
NAMER_TREES = 40
NAMER_LEAVES = 15


def signed_log1p(X: np.ndarray) -> np.ndarray:
    """Compress heavy-tailed counts and rates (bytes span nine decades) for
    learners that assume roughly normal inputs; keeps the sign."""
    return np.sign(X) * np.log1p(np.abs(X))


def make_learner(name: str, *, random_state: int = 0, n_jobs: int = 1) -> BaseEstimator:
    """A fresh classifier by name; each one outputs probabilities."""
    if name in DEEP_LEARNERS:
        from twinai.models.deep import make_deep_learner

        return make_deep_learner(name, random_state=random_state)
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        # 120 shallow trees: enough for the few dozen features, quick on 2 cores.
        return LGBMClassifier(n_estimators=120, num_leaves=31, learning_rate=0.1,
                              min_child_samples=10, class_weight="balanced",
                              random_state=random_state, n_jobs=n_jobs, verbose=-1)
    if name == "random-forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, min_samples_leaf=2,
                                      class_weight="balanced", n_jobs=n_jobs,
                                      random_state=random_state)
    if name == "decision-tree":
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(min_samples_leaf=2, class_weight="balanced",
                                      random_state=random_state)
    if name == "naive-bayes":
        from sklearn.naive_bayes import GaussianNB
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        return make_pipeline(FunctionTransformer(signed_log1p), GaussianNB())
    if name == "linear-svm":
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler

        # A linear SVM trained on the modified Huber loss (a smoothed hinge),
        # which yields probabilities by itself. LinearSVC needs a calibration
        # by cross-validation for them, and that refuses the lab's attack
        # types of one or two flows when it names types.
        return make_pipeline(FunctionTransformer(signed_log1p), StandardScaler(),
                             SGDClassifier(loss="modified_huber", class_weight="balanced",
                                           max_iter=50, tol=1e-4, random_state=random_state))
    if name == "logistic-regression":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler

        return make_pipeline(FunctionTransformer(signed_log1p), StandardScaler(),
                             LogisticRegression(max_iter=500, class_weight="balanced"))
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler

        return make_pipeline(FunctionTransformer(signed_log1p), StandardScaler(),
                             MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=200,
                                           early_stopping=True, random_state=random_state))
    raise ValueError(f"unknown learner {name!r}; choose one of {', '.join(LEARNERS)}")


def _namer_from(detector: BaseEstimator) -> BaseEstimator:
    """A fresh type namer like the detector, smaller for LightGBM (see NAMER_TREES)."""
    namer = clone(detector)
    if type(namer).__name__ == "LGBMClassifier":
        namer.set_params(n_estimators=NAMER_TREES, num_leaves=NAMER_LEAVES)
    return namer


class FoldClassifier(ClassifierMixin, BaseEstimator):
    """One fold: detect a family of attacks in flows and name their type.

    Parameters
    ----------
    family : {"scan", "ddos"}
        Labels ``<family>/<type>`` are this fold's positives; every other
        label (benign, the other fold's family, other/...) is negative.
    learner : str
        Name of the classifier (see ``LEARNERS``) used for both the detector
        and the type namer.
    random_state : int

    Attributes
    ----------
    detector_ : fitted binary classifier (positive = this family).
    namer_ : fitted classifier over attack types, or None with fewer than two types.
    types_ : attack type names the namer knows.
    classes_ : ``[0, 1]``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [5.0], [5.2]] * 10)
    >>> y = np.array(["benign", "benign", "scan/tcp-syn", "scan/tcp-syn"] * 10)
    >>> fold = FoldClassifier(family="scan", learner="decision-tree").fit(X, y)
    >>> fold.predict(np.array([[5.1]]))[0]
    1
    """

    def __init__(self, *, family: str = "scan", learner: str = "lightgbm",
                 random_state: int = 0) -> None:
        self.family = family
        self.learner = learner
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> "FoldClassifier":
        if self.family not in ("scan", "ddos"):
            raise ValueError(f"family must be 'scan' or 'ddos', got {self.family!r}")
        X = np.asarray(X, dtype=np.float64)
        labels = np.asarray(y).astype(str)
        positive = np.char.startswith(labels, f"{self.family}/")
        if positive.all() or not positive.any():
            raise ValueError(
                f"fold {self.family!r} needs both {self.family}/... flows and other flows "
                f"to learn from; got {int(positive.sum())} positive of {len(labels)}")

        base = make_learner(self.learner, random_state=self.random_state)
        self.detector_ = clone(base).fit(X, positive.astype(np.int64))

        types = np.array([label.partition("/")[2] for label in labels[positive]])
        self.types_ = sorted(set(types.tolist()))
        self.namer_ = None
        if len(self.types_) > 1:
            self.namer_ = _namer_from(base).fit(X[positive], types)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        log.info("fold %s (%s): %d flows, %d positive, %d types", self.family,
                 self.learner, len(labels), int(positive.sum()), len(self.types_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "detector_")
        X = self._check(X)
        proba = self.detector_.predict_proba(X)
        positive_column = list(self.detector_.classes_).index(1)
        score = proba[:, positive_column]
        return np.column_stack([1.0 - score, score])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def attack_types(self, X: Any) -> np.ndarray:
        """The most likely attack type of each row (meaningful where predicted positive)."""
        check_is_fitted(self, "detector_")
        X = self._check(X)
        if self.namer_ is None:
            return np.full(X.shape[0], self.types_[0] if self.types_ else "unknown", dtype=object)
        return self.namer_.predict(X).astype(object)

    def split_thresholds(self) -> list[np.ndarray] | None:
        """Per feature, the sorted thresholds of every split of both models.

        A LightGBM tree sends a value left when it is ``<=`` the split's
        threshold, so two rows that fall between the same thresholds on every
        feature get the same scores and types, bit for bit. None when that
        does not hold: another learner (or a LightGBM model wrapped in one),
        linear trees, categorical splits, or splits that treat zero as missing.
        """
        check_is_fitted(self, "detector_")
        if self.learner != "lightgbm":
            return None
        found: list[set[float]] = [set() for _ in range(self.n_features_in_)]
        for model in (self.detector_, self.namer_):
            if model is None:
                continue
            booster = getattr(model, "booster_", None)
            if booster is None or not _add_thresholds(booster.model_to_string(), found):
                return None
        return [np.array(sorted(values), dtype=np.float64) for values in found]

    def contributions(self, X: Any) -> np.ndarray | None:
        """Per-feature contributions to the detector's score (LightGBM only), else None."""
        check_is_fitted(self, "detector_")
        if self.learner != "lightgbm":
            return None
        X = self._check(X)
        contrib = self.detector_.predict_proba(X, pred_contrib=True)
        return np.asarray(contrib)[:, : X.shape[1]]

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[-1] if X.ndim else 0} features, but this fold was "
                f"fitted with {self.n_features_in_}")
        return X


def _add_thresholds(model_text: str, found: list[set[float]]) -> bool:
    """Add the split thresholds of a LightGBM model text to ``found``;
    False when a split is not a plain numeric ``<=`` test (see split_thresholds)."""
    if "is_linear=1" in model_text:
        return False
    lines: dict[str, list[str]] = {"split_feature": [], "threshold": [], "decision_type": []}
    for key, values in _TREE_LINES.findall(model_text):
        lines[key].append(values)
    if len({len(found_lines) for found_lines in lines.values()}) != 1:
        return False
    for features, thresholds, kinds in zip(*lines.values()):
        for feature, threshold, kind in zip(features.split(), thresholds.split(), kinds.split()):
            decision = int(kind)
            if decision & _CATEGORICAL_BIT or (decision >> 2) & 3 == _MISSING_ZERO:
                return False
            found[int(feature)].add(float(threshold))
    return True
