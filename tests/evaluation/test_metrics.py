"""Three-way verdict metrics: computed values on hand-made verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinai.evaluation.metrics import other_verdicts, verdict_confusion, verdict_metrics
from twinai.evaluation.systems import fold_verdict


def test_metrics_of_a_known_verdict() -> None:
    truth = np.array(["benign", "benign", "benign", "benign", "scan", "scan", "ddos", "other"])
    verdict = np.array(["benign", "benign", "benign", "scan", "scan", "benign", "ddos", "ddos"])
    attack = np.array([0.1, 0.2, 0.1, 0.9, 0.8, 0.3, 0.9, 0.9])

    metrics = verdict_metrics(truth, verdict, attack)

    assert metrics["support"] == 7  # the other/... flow is left out
    assert metrics["accuracy"] == pytest.approx(5 / 7)
    assert metrics["fpr"] == pytest.approx(1 / 4)
    assert metrics["per_class"]["scan"]["recall"] == pytest.approx(0.5)
    assert metrics["per_class"]["benign"]["precision"] == pytest.approx(3 / 4)
    assert metrics["recall_macro"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
    # 3 attacks x 4 benign pairs: each attack loses to the benign 0.9 (the ddos
    # 0.9 ties it, half a win), and beats the other three: 9.5 of 12.
    assert metrics["roc_auc"] == pytest.approx(9.5 / 12)


def test_a_class_absent_from_the_test_rows_is_nan_and_left_out_of_macro_means() -> None:
    truth = np.array(["benign", "scan", "scan"])
    verdict = np.array(["benign", "scan", "ddos"])

    metrics = verdict_metrics(truth, verdict, np.array([0.0, 1.0, 1.0]))

    assert math.isnan(metrics["per_class"]["ddos"]["recall"])
    assert metrics["per_class"]["ddos"]["precision"] == 0.0
    assert metrics["classes"] == ["benign", "scan"]
    assert metrics["recall_macro"] == pytest.approx((1.0 + 0.5) / 2)


def test_confusion_rows_include_other_flows() -> None:
    truth = np.array(["benign", "scan", "other", "other"])
    verdict = np.array(["benign", "ddos", "benign", "scan"])

    confusion = verdict_confusion(truth, verdict)

    assert confusion.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [1, 1, 0]]
    assert other_verdicts(truth, verdict) == {"benign": 0.5, "scan": 0.5}


def test_fold_verdict_follows_the_bundle_rule() -> None:
    scan = np.array([0.1, 0.7, 0.6, 0.4])
    ddos = np.array([0.2, 0.6, 0.9, 0.45])

    assert fold_verdict(scan, ddos).tolist() == ["benign", "scan", "ddos", "benign"]
