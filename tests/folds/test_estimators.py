"""FoldClassifier behaves as a scikit-learn estimator and learns its family."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from twinai.folds.estimators import CLASSICAL_LEARNERS, NAMER_LEAVES, NAMER_TREES, FoldClassifier

rng = np.random.default_rng(0)
X = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(6, 1, (40, 3)), rng.normal(-6, 1, (40, 3))])
y = np.array(["benign"] * 60 + ["scan/tcp-syn"] * 20 + ["scan/udp"] * 20 + ["ddos/syn-flood"] * 40)


def test_keyword_only_parameters_are_stored_as_given() -> None:
    fold = FoldClassifier(family="ddos", learner="decision-tree", random_state=3)
    assert fold.get_params() == {"family": "ddos", "learner": "decision-tree", "random_state": 3}
    assert clone(fold).get_params() == fold.get_params()
    with pytest.raises(TypeError):
        FoldClassifier("scan")  # type: ignore[misc]


def test_unfitted_fold_refuses_to_predict() -> None:
    with pytest.raises(NotFittedError):
        FoldClassifier().predict_proba(X)


def test_fit_returns_self_and_learns_the_family() -> None:
    fold = FoldClassifier(family="scan", learner="lightgbm")
    assert fold.fit(X, y) is fold
    predicted = fold.predict(X)
    truth = np.char.startswith(y, "scan/").astype(int)
    assert (predicted == truth).mean() > 0.95
    assert fold.types_ == ["tcp-syn", "udp"]
    assert set(fold.attack_types(X[60:100])) <= {"tcp-syn", "udp"}


def test_wrong_family_and_one_class_data_are_refused() -> None:
    with pytest.raises(ValueError, match="family must be 'scan' or 'ddos'"):
        FoldClassifier(family="worm").fit(X, y)
    with pytest.raises(ValueError, match="needs both scan/... flows and other flows"):
        FoldClassifier(family="scan").fit(X[:60], y[:60])


def test_feature_count_mismatch_is_an_error() -> None:
    fold = FoldClassifier(family="ddos", learner="decision-tree").fit(X, y)
    with pytest.raises(ValueError, match="fitted with 3"):
        fold.predict_proba(X[:, :2])


@pytest.mark.parametrize("learner", CLASSICAL_LEARNERS)
def test_every_learner_separates_an_easy_problem(learner: str) -> None:
    fold = FoldClassifier(family="ddos", learner=learner).fit(X, y)
    score = fold.predict_proba(X)[:, 1]
    assert score[100:].min() > score[:60].max() - 0.5
    assert ((score >= 0.5) == (np.arange(len(y)) >= 100)).mean() > 0.9


def test_contributions_explain_lightgbm_only() -> None:
    fold = FoldClassifier(family="ddos").fit(X, y)
    contrib = fold.contributions(X[:5])
    assert contrib is not None and contrib.shape == (5, 3)
    assert FoldClassifier(family="ddos", learner="decision-tree").fit(X, y).contributions(X) is None


def test_lightgbm_namer_is_smaller_than_the_detector() -> None:
    """The multi-class namer grows a tree per type per round; it keeps fewer rounds."""
    three_types = np.concatenate([y[:100], np.array(["scan/tcp-fin"] * 40)])
    fold = FoldClassifier(family="scan", learner="lightgbm").fit(X, three_types)

    assert fold.detector_.n_estimators == 120
    assert fold.namer_.n_estimators == NAMER_TREES and fold.namer_.num_leaves == NAMER_LEAVES
    assert fold.namer_.booster_.num_trees() <= NAMER_TREES * 3
    assert set(fold.attack_types(X[100:])) == {"tcp-fin"}


def test_linear_svm_fold_names_types_of_a_single_flow() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    labels = np.where(X[:, 0] > 0.5, "scan/tcp-syn", "benign").astype(object)
    X[-1] = [6.0, 6.0, 6.0, 6.0]
    labels[-1] = "scan/sctp-init"  # one flow of its type, as in the lab

    fold = FoldClassifier(family="scan", learner="linear-svm").fit(X, labels)

    assert set(fold.types_) == {"tcp-syn", "sctp-init"}
    positive = labels != "benign"
    assert (fold.predict(X) == positive).mean() > 0.9
