"""Run an evaluation: models on one split, a bundle, the anomaly detector, cross-dataset.

Everything measured here lands in an :class:`Evaluation`, which
:mod:`twinai.evaluation.report` renders; nothing here draws or prints.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from twinai.errors import InputError
from twinai.evaluation.data import FAMILIES, families_of, in_time_order, label_families
from twinai.evaluation.metrics import other_verdicts, verdict_confusion, verdict_metrics
from twinai.evaluation.systems import FOLD_FAMILIES, SingleStage, TwoFold
from twinai.folds.bundle import (
    FEATURE_SETS,
    choose_feature_set,
    feature_matrix,
    load_bundle,
)
from twinai.folds.estimators import LEARNERS
from twinai.folds.train import fold_metrics, split_rows
from twinai.models.anomaly import BenignAnomalyDetector, mark_unknown

__all__ = ["RANDOM_SPLIT_WARNING", "CrossCell", "Evaluation", "SystemResult", "evaluate"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

RANDOM_SPLIT_WARNING = (
    "This evaluation used a random-row split. Flows of one capture run are near-copies "
    "of each other (same tool, same target, milliseconds apart), so a random split puts "
    "near-copies of test flows in training and inflates every score. Use it only to "
    "compare with published figures; trust the run or time split.")


@dataclass
class SystemResult:
    """One model as one system (two-fold or single-stage) on one split."""

    model: str
    system: str
    train_seconds: float
    train: dict[str, Any]
    test: dict[str, Any]
    confusion: np.ndarray
    other: dict[str, float]
    folds: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CrossCell:
    """A model trained on one dataset and tested on another (or held out of itself)."""

    model: str
    train: str
    test: str
    metrics: dict[str, Any]
    fold_f1: dict[str, float]
    notes: list[str]


@dataclass
class Evaluation:
    """Everything one ``twinai evaluate`` run measured."""

    data: list[str]
    split: str
    requested_split: str
    feature_set: str
    rows: int
    train_rows: int
    test_rows: int
    label_counts: dict[str, dict[str, int]]
    results: list[SystemResult] = field(default_factory=list)
    bundle: dict[str, Any] | None = None
    anomaly: dict[str, Any] | None = None
    cross: list[CrossCell] = field(default_factory=list)
    cross_datasets: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def evaluate(flows: pl.DataFrame, *, data: list[str], models: tuple[str, ...],
             split: str = "run", seed: int = 0, feature_set: str | None = None,
             bundle_path: str | Path | None = None,
             cross_datasets: dict[str, pl.DataFrame] | None = None,
             cross_models: tuple[str, ...] = ("lightgbm",),
             progress: Progress | None = None) -> Evaluation:
    """Measure ``models`` (two-fold and single-stage), a bundle and the anomaly detector.

    ``flows`` is split by ``split`` (run, time or random); every model is
    trained on the same training rows and scored on the same test rows.
    ``cross_datasets`` (name -> flows) adds the cross-dataset matrix over the
    universal features with ``cross_models``.
    """
    _check_models(models + cross_models)
    say = progress or (lambda step: None)
    flows = in_time_order(flows)
    feature_set = feature_set or choose_feature_set(flows.columns)
    matrix = feature_matrix(flows, FEATURE_SETS[feature_set])
    labels = flows["label"].cast(pl.Utf8).fill_null("benign").to_numpy().astype(str)
    families = label_families(flows)
    train, test, used = split_rows(flows, split=split, seed=seed)
    if test.size == 0 or train.size == 0:
        raise InputError(f"the {used} split left no {'test' if test.size == 0 else 'train'} rows")

    result = Evaluation(data=data, split=used, requested_split=split, feature_set=feature_set,
                        rows=flows.height, train_rows=int(train.size), test_rows=int(test.size),
                        label_counts={"train": _counts(labels[train]),
                                      "test": _counts(labels[test])})
    _note_split(result, families, train, test)

    split_data = _Split(matrix, labels, families, train, test)
    first: TwoFold | None = None
    for model in models:
        say(f"two-fold {model}")
        try:
            measured, system = _two_fold_result(model, split_data, seed)
            single = _single_stage_result(model, split_data, seed)
        except ValueError as exc:
            # A learner that cannot fit these rows (e.g. too few flows of a
            # type for its internal cross-validation) is reported, not fatal.
            log.warning("%s could not be trained: %s", model, exc)
            result.failed[model] = str(exc)
            continue
        result.results += [measured, single]
        first = first or system
    say("anomaly detector")
    result.anomaly = _anomaly(split_data, first, seed)
    if bundle_path is not None:
        say("bundle")
        result.bundle = _bundle_result(bundle_path, flows[test], families[test])
    if cross_datasets:
        result.cross_datasets = {name: _counts(label_families(table))
                                 for name, table in cross_datasets.items()}
        for model in cross_models:
            say(f"cross-dataset {model}")
            result.cross.extend(_cross_dataset(model, cross_datasets, split, seed))
    return result


@dataclass
class _Split:
    matrix: np.ndarray
    labels: np.ndarray
    families: np.ndarray
    train: np.ndarray
    test: np.ndarray


def _check_models(models: tuple[str, ...]) -> None:
    unknown = [name for name in models if name not in LEARNERS]
    if unknown:
        raise InputError(f"unknown model {unknown[0]!r}; choose from {', '.join(LEARNERS)}")


def _counts(values: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(values, return_counts=True)
    return {str(k): int(v) for k, v in zip(names, counts)}


def _note_split(result: Evaluation, families: np.ndarray, train: np.ndarray,
                test: np.ndarray) -> None:
    if result.split == "random":
        result.warnings.append(RANDOM_SPLIT_WARNING)
    if result.split != result.requested_split:
        result.warnings.append(
            f"A {result.requested_split} split was asked for but the data allows only a "
            f"{result.split} split (a run split needs a `run_id` column with at least 4 runs).")
    for family in FAMILIES[1:]:
        for side, rows in (("training", train), ("test", test)):
            if not (families[rows] == family).any():
                result.warnings.append(f"The {side} rows hold no {family} flows; "
                                       f"{family} scores are N/A.")


def _two_fold_result(model: str, data: _Split, seed: int) -> tuple[SystemResult, TwoFold]:
    system = TwoFold.fit(model, data.matrix[data.train], data.labels[data.train], seed=seed)
    measured: dict[str, dict[str, Any]] = {}
    fold_rows: list[dict[str, Any]] = []
    confusion = np.zeros((4, 3), dtype=np.int64)
    other: dict[str, float] = {}
    for side, rows in (("train", data.train), ("test", data.test)):
        verdict, attack, scores = system.verdict(data.matrix[rows])
        measured[side] = verdict_metrics(data.families[rows], verdict, attack)
        fold_rows.extend(_fold_rows(system, data.labels[rows], scores, side))
        if side == "test":
            confusion = verdict_confusion(data.families[rows], verdict)
            other = other_verdicts(data.families[rows], verdict)
    return SystemResult(model, "two-fold", system.train_seconds, measured["train"],
                        measured["test"], confusion, other, fold_rows), system


def _fold_rows(system: TwoFold, labels: np.ndarray, scores: dict[str, np.ndarray],
               side: str) -> list[dict[str, Any]]:
    rows = []
    for family in FOLD_FAMILIES:
        truth = np.char.startswith(labels, f"{family}/").astype(np.int64)
        row: dict[str, Any] = {"fold": family, "split": side}
        if system.folds[family] is None:
            row["note"] = f"no {family} flows in training"
        elif not truth.any():
            row["note"] = f"no {family} flows in {side}"
        row.update(fold_metrics(truth, scores[family]))
        rows.append(row)
    return rows


def _single_stage_result(model: str, data: _Split, seed: int) -> SystemResult:
    system = SingleStage.fit(model, data.matrix[data.train], data.families[data.train], seed=seed)
    measured = {}
    for side, rows in (("train", data.train), ("test", data.test)):
        verdict, attack = system.verdict(data.matrix[rows])
        measured[side] = verdict_metrics(data.families[rows], verdict, attack)
        if side == "test":
            confusion = verdict_confusion(data.families[rows], verdict)
            other = other_verdicts(data.families[rows], verdict)
    return SystemResult(model, "single-stage", system.train_seconds, measured["train"],
                        measured["test"], confusion, other)


def _anomaly(data: _Split, first: TwoFold | None, seed: int) -> dict[str, Any] | None:
    """The benign-only detector on the test rows, and the unknown verdicts it adds."""
    benign = data.train[data.families[data.train] == "benign"]
    if benign.size < 2:
        return None
    detector = BenignAnomalyDetector(random_state=seed).fit(data.matrix[benign])
    test_families = data.families[data.test]
    flagged = detector.is_anomalous(data.matrix[data.test])
    score = detector.score_samples(data.matrix[data.test])
    attack = test_families != "benign"
    out: dict[str, Any] = {
        "threshold": detector.threshold_,
        "quantile": detector.quantile,
        "benign_train_rows": int(benign.size),
        "flagged_share": {name: float(flagged[test_families == name].mean())
                          for name in FAMILIES + ("other",) if (test_families == name).any()},
        "roc_auc": (float(roc_auc_score(attack, score)) if 0 < attack.sum() < attack.size
                    else math.nan),
    }
    if first is not None:
        verdict, _, _ = first.verdict(data.matrix[data.test])
        unknown = mark_unknown(verdict, flagged) == "unknown"
        out["unknown_model"] = first.model
        out["unknown_by_family"] = {name: int((unknown & (test_families == name)).sum())
                                    for name in FAMILIES + ("other",)}
        missed = (verdict == "benign") & attack
        out["missed_attacks"] = int(missed.sum())
        out["missed_attacks_caught"] = int((missed & flagged).sum())
    return out


def _bundle_result(path: str | Path, test_flows: pl.DataFrame,
                   families: np.ndarray) -> dict[str, Any]:
    """The bundle's verdicts on the test rows (it may have trained on some of them)."""
    bundle = load_bundle(path)
    # TODO(evaluation): bundle.predict scores distinct rows out of order, which
    # breaks window models (deep learners); score such bundles fold by fold.
    predicted = bundle.predict(test_flows, explain=False)
    verdict = predicted["verdict"].to_numpy().astype(str)
    attack = np.maximum(predicted["scan_score"].to_numpy(), predicted["ddos_score"].to_numpy())
    return {
        "name": bundle.name,
        "serving_model": bundle.meta.get("serving_model"),
        "trained_split": bundle.meta.get("split"),
        "trained_rows": bundle.meta.get("train_rows"),
        "feature_set": predicted["feature_set"][0] if predicted.height else None,
        "test": verdict_metrics(families, verdict, attack),
        "confusion": verdict_confusion(families, verdict),
        "other": other_verdicts(families, verdict),
    }


def _cross_dataset(model: str, datasets: dict[str, pl.DataFrame], split: str,
                   seed: int) -> list[CrossCell]:
    """Train on each dataset, test on each other one; the diagonal uses the split."""
    names = FEATURE_SETS["universal"]
    prepared = {}
    for name, flows in datasets.items():
        flows = in_time_order(flows)
        prepared[name] = (flows, feature_matrix(flows, names),
                          flows["label"].cast(pl.Utf8).fill_null("benign").to_numpy().astype(str))
    cells = []
    for train_name, (train_flows, X, labels) in prepared.items():
        inner_train, inner_test, used = split_rows(train_flows, split=split, seed=seed)
        whole = TwoFold.fit(model, X, labels, seed=seed)
        inner = TwoFold.fit(model, X[inner_train], labels[inner_train], seed=seed)
        for test_name, (_, X_test, test_labels) in prepared.items():
            if test_name == train_name:
                cells.append(_cross_cell(inner, train_name, test_name, X[inner_test],
                                         labels[inner_test], labels[inner_train]))
                # A dataset without enough runs falls back to a time split.
                cells[-1].notes.insert(0, f"{used} split")
            else:
                cells.append(_cross_cell(whole, train_name, test_name, X_test, test_labels,
                                         labels))
    return cells


def _cross_cell(system: TwoFold, train_name: str, test_name: str, X: np.ndarray,
                labels: np.ndarray, train_labels: np.ndarray) -> CrossCell:
    verdict, attack, scores = system.verdict(X)
    families = families_of(labels)
    fold_f1: dict[str, float] = {}
    notes = []
    for family in FOLD_FAMILIES:
        truth = np.char.startswith(labels, f"{family}/").astype(np.int64)
        if system.folds[family] is None:
            fold_f1[family] = math.nan
            notes.append(f"no {family} in training")
        elif not truth.any():
            fold_f1[family] = math.nan
            notes.append(f"no {family} in test")
        else:
            fold_f1[family] = float(fold_metrics(truth, scores[family])["f1"])
    if not (families == "benign").any():
        notes.append("no benign in test")
    return CrossCell(system.model, train_name, test_name,
                     verdict_metrics(families, verdict, attack), fold_f1, notes)
