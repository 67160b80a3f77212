"""Train both folds from a labelled flow table and write a model bundle.

Rows of one capture run are strongly alike (the same tool, the same target,
milliseconds apart), so a random-row split puts near-copies of test rows in
training and reports flattering numbers. We split by run (``run_id``), or by
time when the table has no runs, and report metrics on the held-out part.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import GroupShuffleSplit

from twinai.errors import InputError
from twinai.folds.bundle import FEATURE_SETS, FOLDS, ModelBundle, feature_matrix
from twinai.folds.estimators import LEARNERS, FoldClassifier
from twinai.labels import is_valid_label

__all__ = ["TEST_FRACTION", "TrainReport", "split_rows", "train_bundle", "fold_metrics"]

log = logging.getLogger(__name__)

# A quarter of the runs held out: enough runs of each family for stable
# scores with the lab's ~100 runs, while most of the data still trains.
TEST_FRACTION = 0.25


@dataclass
class TrainReport:
    """What training measured: one metrics row per fold, model, feature set and split."""

    metrics: list[dict[str, Any]] = field(default_factory=list)
    split: str = "run"
    train_rows: int = 0
    test_rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    bundle_path: Path | None = None

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(self.metrics)


def split_rows(flows: pl.DataFrame, *, split: str = "run", seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Indices of train and test rows, and the split actually used.

    ``run``: whole runs go to one side (needs ``run_id``; falls back to time).
    ``time``: the last TEST_FRACTION of flows by start time are the test set.
    ``random``: random rows, only to compare with published figures.
    """
    n = flows.height
    if split == "run" and "run_id" in flows.columns and flows["run_id"].n_unique() >= 4:
        groups = flows["run_id"].cast(pl.Utf8).fill_null("none").to_numpy()
        splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_FRACTION, random_state=seed)
        train, test = next(splitter.split(np.zeros(n), groups=groups))
        return train, test, "run"
    if split in ("run", "time") and "first_seen_us" in flows.columns:
        order = np.argsort(flows["first_seen_us"].fill_null(0).to_numpy(), kind="stable")
        cut = int(n * (1 - TEST_FRACTION))
        return np.sort(order[:cut]), np.sort(order[cut:]), "time"
    if split not in ("run", "time", "random"):
        raise InputError(f"--split must be run, time or random, got {split!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    cut = int(n * (1 - TEST_FRACTION))
    return np.sort(order[:cut]), np.sort(order[cut:]), "random"


def fold_metrics(y_true: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Binary metrics of one fold: positive = the fold's family."""
    y_pred = (score >= 0.5).astype(np.int64)
    negatives = int((y_true == 0).sum())
    false_pos = int(((y_pred == 1) & (y_true == 0)).sum())
    out = {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
        "f1_macro": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "fpr": false_pos / negatives if negatives else 0.0,
        "roc_auc": roc_auc_score(y_true, score) if 0 < y_true.sum() < len(y_true) else float("nan"),
        "support": int(len(y_true)),
        "positives": int(y_true.sum()),
    }
    return {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in out.items()}


def _check_labels(flows: pl.DataFrame) -> np.ndarray:
    if "label" not in flows.columns:
        raise InputError("the training table has no `label` column; make one with "
                         "`twinai lab dataset` or `twinai datasets import`")
    labels = flows["label"].cast(pl.Utf8).fill_null("benign").to_numpy().astype(str)
    bad = sorted({lab for lab in set(labels.tolist()) if not is_valid_label(lab)})
    if bad:
        raise InputError(f"labels outside the taxonomy: {', '.join(bad[:5])}")
    return labels


def _check_fold_examples(labels: np.ndarray) -> None:
    """Each fold learns its family against the rest: both must be in the training rows."""
    for family in ("scan", "ddos"):
        positive = int(np.char.startswith(labels.astype(str), f"{family}/").sum())
        if positive == 0 or positive == labels.size:
            raise InputError(
                f"the training rows hold {positive} {family}/... flows of {labels.size}: "
                f"fold {family!r} needs both {family}/... flows and other flows to learn "
                "from (add labelled captures of that family, e.g. from `twinai lab`)")


def train_bundle(flows: pl.DataFrame, out_dir: str | os.PathLike[str], *,
                 models: tuple[str, ...] = ("lightgbm",), split: str = "run", seed: int = 0,
                 progress: Callable[[str, float], None] | None = None,
                 data_card: dict[str, Any] | None = None) -> TrainReport:
    """Train fold 1 and fold 2 and save a bundle serving the first of ``models``.

    Every model in ``models`` is trained and measured; the bundle keeps the
    first one. ``progress(step, fraction)`` is called as work advances.
    """
    for name in models:
        if name not in LEARNERS:
            raise InputError(f"unknown model {name!r}; choose from {', '.join(LEARNERS)}")
    labels = _check_labels(flows)
    train, test, used = split_rows(flows, split=split, seed=seed)
    _check_fold_examples(labels[train])
    report = TrainReport(split=used, train_rows=len(train), test_rows=len(test))
    sets = [s for s, cols in FEATURE_SETS.items() if all(c in flows.columns for c in cols)]
    if not sets:
        raise InputError("the table has neither the capture nor the universal features")

    serving: dict[str, dict[str, FoldClassifier]] = {f: {} for f in FOLDS}
    steps = len(models) * len(sets) * len(FOLDS)
    done = 0
    for feature_set in sets:
        matrix = feature_matrix(flows, FEATURE_SETS[feature_set])
        for model_name in models:
            for fold, family in FOLDS.items():
                if progress:
                    progress(f"{fold} {model_name} ({feature_set})", done / steps)
                started = time.perf_counter()
                estimator = FoldClassifier(family=family, learner=model_name, random_state=seed)
                estimator.fit(matrix[train], labels[train])
                report.seconds[f"{fold}/{model_name}/{feature_set}"] = time.perf_counter() - started
                _measure(report, estimator, matrix, labels, train, test, fold, model_name, feature_set)
                if model_name == models[0]:
                    serving[fold][feature_set] = estimator
                done += 1

    bundle = ModelBundle(folds=serving, meta={
        "name": Path(out_dir).name,
        "split": used,
        "models": list(models),
        "serving_model": models[0],
        "train_rows": len(train),
        "test_rows": len(test),
        "label_counts": _label_counts(labels),
        "metrics": report.metrics,
        "train_seconds": report.seconds,
        "data_card": data_card or {},
    })
    report.bundle_path = bundle.save(out_dir)
    if progress:
        progress("done", 1.0)
    return report


def _label_counts(labels: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(labels, return_counts=True)
    return {str(k): int(v) for k, v in zip(names, counts)}


def _measure(report: TrainReport, estimator: FoldClassifier, matrix: np.ndarray,
             labels: np.ndarray, train: np.ndarray, test: np.ndarray, fold: str,
             model_name: str, feature_set: str) -> None:
    family = estimator.family
    for split_name, rows in (("train", train), ("test", test)):
        if rows.size == 0:
            continue
        y_true = np.char.startswith(labels[rows], f"{family}/").astype(np.int64)
        score = estimator.predict_proba(matrix[rows])[:, 1]
        row = {"fold": fold, "model": model_name, "features": feature_set, "split": split_name}
        row.update(fold_metrics(y_true, score))
        row["type_f1_macro"], row["type_f1"] = _type_f1(estimator, matrix[rows], labels[rows], family)
        report.metrics.append(row)
        log.info("%s %s %s %s: f1 %.4f fpr %.4f", fold, model_name, feature_set, split_name,
                 row["f1"], row["fpr"])


def _type_f1(estimator: FoldClassifier, matrix: np.ndarray, labels: np.ndarray,
             family: str) -> tuple[float, dict[str, float]]:
    """Macro and per-type F1 of the type namer on this fold's true positives."""
    positive = np.char.startswith(labels, f"{family}/")
    if not positive.any():
        return float("nan"), {}
    truth = np.array([lab.partition("/")[2] for lab in labels[positive]])
    named = estimator.attack_types(matrix[positive]).astype(str)
    kinds = sorted(set(truth.tolist()))
    per_type = f1_score(truth, named, labels=kinds, average=None, zero_division=0)
    macro = f1_score(truth, named, average="macro", zero_division=0)
    return round(float(macro), 6), {k: round(float(v), 4) for k, v in zip(kinds, per_type)}
