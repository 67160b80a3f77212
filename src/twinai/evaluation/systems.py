"""The two systems compared: two folds (scan, DDoS) and one multi-class classifier.

Both end in a three-way verdict per flow (benign / scan / ddos) and an
attack score, so that :mod:`twinai.evaluation.metrics` scores them alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator

from twinai.folds.bundle import FLOW_SCORE_THRESHOLD
from twinai.folds.estimators import FoldClassifier, make_learner

__all__ = ["FOLD_FAMILIES", "SingleStage", "TwoFold", "fold_verdict"]

FOLD_FAMILIES = ("scan", "ddos")


def fold_verdict(scan_score: np.ndarray, ddos_score: np.ndarray) -> np.ndarray:
    """The bundle's rule: benign below the flow threshold, else the higher fold."""
    return np.where(np.maximum(scan_score, ddos_score) < FLOW_SCORE_THRESHOLD, "benign",
                    np.where(scan_score >= ddos_score, "scan", "ddos"))


@dataclass
class TwoFold:
    """Fold 1 and fold 2 with one learner; a fold is None when training had no positives."""

    model: str
    folds: dict[str, FoldClassifier | None]
    train_seconds: float

    @classmethod
    def fit(cls, model: str, X: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> TwoFold:
        started = time.perf_counter()
        folds: dict[str, FoldClassifier | None] = {}
        for family in FOLD_FAMILIES:
            positive = np.char.startswith(labels, f"{family}/")
            if not positive.any() or positive.all():
                folds[family] = None
                continue
            folds[family] = FoldClassifier(family=family, learner=model,
                                           random_state=seed).fit(X, labels)
        return cls(model, folds, time.perf_counter() - started)

    def scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Each fold's score per row; zeros for a fold that could not be trained."""
        return {family: (np.zeros(X.shape[0]) if fold is None else fold.predict_proba(X)[:, 1])
                for family, fold in self.folds.items()}

    def verdict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Verdicts, attack scores (the higher fold score) and the fold scores."""
        scores = self.scores(X)
        attack = np.maximum(scores["scan"], scores["ddos"])
        return fold_verdict(scores["scan"], scores["ddos"]), attack, scores


@dataclass
class SingleStage:
    """One classifier over benign / scan / ddos (``other/...`` counts as benign, as for the folds)."""

    model: str
    classifier: BaseEstimator | None
    only_class: str
    train_seconds: float

    @classmethod
    def fit(cls, model: str, X: np.ndarray, families: np.ndarray, *, seed: int = 0) -> SingleStage:
        started = time.perf_counter()
        targets = np.where(families == "other", "benign", families)
        if np.unique(targets).size < 2:
            return cls(model, None, str(targets[0]) if targets.size else "benign", 0.0)
        classifier = make_learner(model, random_state=seed).fit(X, targets)
        return cls(model, classifier, "", time.perf_counter() - started)

    def verdict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Verdicts and attack scores (one minus the benign probability)."""
        if self.classifier is None:
            attack = np.full(X.shape[0], 0.0 if self.only_class == "benign" else 1.0)
            return np.full(X.shape[0], self.only_class), attack
        proba = self.classifier.predict_proba(X)
        classes = np.asarray(self.classifier.classes_).astype(str)
        verdict = classes[np.argmax(proba, axis=1)]
        benign = np.flatnonzero(classes == "benign")
        attack = 1.0 - proba[:, benign[0]] if benign.size else np.ones(X.shape[0])
        return verdict, attack
