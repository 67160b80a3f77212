"""Metrics of a three-way verdict (benign / scan / DDoS) against the labels.

Both the two-fold system and a single-stage classifier end in the same
verdict per flow, so they are scored by the same function. Flows labelled
``other/...`` have no right answer among the three and are left out of these
scores; :func:`other_verdicts` says where they went.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import (
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from twinai.evaluation.data import FAMILIES

__all__ = ["CONFUSION_ROWS", "other_verdicts", "verdict_confusion", "verdict_metrics"]

# Rows of a confusion matrix: the three families, then other/... flows.
CONFUSION_ROWS = FAMILIES + ("other",)


def verdict_metrics(truth: np.ndarray, verdict: np.ndarray, attack_score: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro and per-class precision/recall/F1, FPR and ROC-AUC.

    ``truth`` holds families (``other`` rows are skipped), ``verdict`` one of
    FAMILIES, ``attack_score`` how likely the flow is any attack (for ROC-AUC
    of attack against benign). FPR is the share of benign flows given an
    attack verdict. A class absent from ``truth`` gets NaN recall and F1 and
    is left out of the macro means.
    """
    keep = truth != "other"
    truth, verdict, attack_score = truth[keep], verdict[keep], attack_score[keep]
    present = [name for name in FAMILIES if (truth == name).any()]
    out: dict[str, Any] = {"support": int(truth.size), "classes": present}
    if truth.size == 0:
        return out | {"accuracy": math.nan, "precision_macro": math.nan,
                      "recall_macro": math.nan, "f1_macro": math.nan, "fpr": math.nan,
                      "roc_auc": math.nan, "per_class": {}}

    precision, recall, f1, support = precision_recall_fscore_support(
        truth, verdict, labels=list(FAMILIES), zero_division=0)
    per_class = {}
    for index, name in enumerate(FAMILIES):
        absent = name not in present
        per_class[name] = {
            "precision": float(precision[index]) if (verdict == name).any() else math.nan,
            "recall": math.nan if absent else float(recall[index]),
            "f1": math.nan if absent else float(f1[index]),
            "support": int(support[index]),
        }
    out["per_class"] = per_class
    out["accuracy"] = float((truth == verdict).mean())
    for metric in ("precision", "recall", "f1"):
        values = [per_class[name][metric] for name in present]
        out[f"{metric}_macro"] = float(np.nanmean(values)) if values else math.nan
    benign = truth == "benign"
    out["fpr"] = float((verdict[benign] != "benign").mean()) if benign.any() else math.nan
    attack = ~benign
    out["roc_auc"] = (float(roc_auc_score(attack, attack_score))
                      if 0 < attack.sum() < attack.size else math.nan)
    return out


def verdict_confusion(truth: np.ndarray, verdict: np.ndarray) -> np.ndarray:
    """Counts with rows CONFUSION_ROWS (truth) and columns FAMILIES (verdict)."""
    matrix = confusion_matrix(_row_index(truth), _row_index(verdict),
                              labels=list(range(len(CONFUSION_ROWS))))
    return matrix[:, : len(FAMILIES)]


def _row_index(names: np.ndarray) -> np.ndarray:
    lookup = {name: index for index, name in enumerate(CONFUSION_ROWS)}
    return np.array([lookup[str(name)] for name in names], dtype=np.int64)


def other_verdicts(truth: np.ndarray, verdict: np.ndarray) -> dict[str, float]:
    """Share of ``other/...`` flows given each verdict (empty when there are none)."""
    other = truth == "other"
    if not other.any():
        return {}
    values, counts = np.unique(verdict[other].astype(str), return_counts=True)
    return {str(v): float(c) / float(other.sum()) for v, c in zip(values, counts)}
