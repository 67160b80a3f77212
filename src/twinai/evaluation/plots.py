"""PNG plots of an evaluation (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from twinai.evaluation.data import FAMILIES
from twinai.evaluation.metrics import CONFUSION_ROWS
from twinai.evaluation.runner import Evaluation, SystemResult

__all__ = ["draw_all"]

_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc")


def draw_all(evaluation: Evaluation, out_dir: Path) -> dict[str, str]:
    """Write every plot the evaluation has data for; returns section -> file name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    two_fold = [r for r in evaluation.results if r.system == "two-fold"]
    single = [r for r in evaluation.results if r.system == "single-stage"]
    if two_fold:
        files["metrics"] = _grouped_bars(
            out_dir / "metrics_by_model.png", [r.model for r in two_fold],
            {m: [r.test.get(m, math.nan) for r in two_fold] for m in _METRICS},
            "Two-fold system, test rows")
        files["folds"] = _fold_bars(out_dir / "folds_by_model.png", two_fold)
        files["confusion_two_fold"] = _confusions(out_dir / "confusion_two_fold.png", two_fold)
        files["train_vs_test"] = _grouped_bars(
            out_dir / "train_vs_test_accuracy.png", [r.model for r in two_fold],
            {"train": [r.train.get("accuracy", math.nan) for r in two_fold],
             "test": [r.test.get("accuracy", math.nan) for r in two_fold]},
            "Accuracy on training vs test rows (two-fold)")
        files["seconds"] = _grouped_bars(
            out_dir / "training_seconds.png", [r.model for r in two_fold],
            {"two-fold": [r.train_seconds for r in two_fold],
             "single-stage": [r.train_seconds for r in single]},
            "Training time (s, this machine)", unit_range=False)
    if single:
        files["confusion_single_stage"] = _confusions(out_dir / "confusion_single_stage.png", single)
        files["two_fold_vs_single"] = _grouped_bars(
            out_dir / "two_fold_vs_single_stage.png", [r.model for r in single],
            {"two-fold F1": [r.test.get("f1_macro", math.nan) for r in two_fold],
             "single-stage F1": [r.test.get("f1_macro", math.nan) for r in single],
             "two-fold FPR": [r.test.get("fpr", math.nan) for r in two_fold],
             "single-stage FPR": [r.test.get("fpr", math.nan) for r in single]},
            "Two folds vs one multi-class classifier (test macro F1, FPR)")
    for model in sorted({cell.model for cell in evaluation.cross}):
        files[f"cross_{model}"] = _cross_heatmaps(out_dir / f"cross_dataset_{model}.png",
                                                  evaluation, model)
    return files


def _grouped_bars(path: Path, groups: list[str], series: dict[str, list[float]], title: str,
                  *, unit_range: bool = True) -> str:
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) * max(1, len(series)) / 2), 4))
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for index, (name, values) in enumerate(series.items()):
        heights = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
        axes.bar(x + index * width - 0.4 + width / 2, heights, width, label=name)
    axes.set_xticks(x, groups, rotation=30, ha="right")
    if unit_range:
        axes.set_ylim(0, 1.05)
    axes.set_title(title)
    axes.legend(fontsize=8, ncols=min(5, len(series)))
    return _save(figure, path)


def _fold_bars(path: Path, results: list[SystemResult]) -> str:
    figure, panes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for pane, family in zip(panes, ("scan", "ddos")):
        rows = [_fold_row(r, family) for r in results]
        x = np.arange(len(results))
        for index, metric in enumerate(("f1", "roc_auc", "fpr")):
            values = np.nan_to_num([row.get(metric, math.nan) for row in rows], nan=0.0)
            pane.bar(x + (index - 1) * 0.27, values, 0.27, label=metric)
        pane.set_xticks(x, [r.model for r in results], rotation=30, ha="right")
        pane.set_title(f"{family} fold (test)")
        pane.set_ylim(0, 1.05)
    panes[0].legend(fontsize=8)
    return _save(figure, path)


def _fold_row(result: SystemResult, family: str) -> dict[str, Any]:
    for row in result.folds:
        if row["fold"] == family and row["split"] == "test":
            return row
    return {}


def _confusions(path: Path, results: list[SystemResult]) -> str:
    columns = min(4, len(results))
    rows = math.ceil(len(results) / columns)
    figure, panes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.2 * rows), squeeze=False)
    for pane in panes.flat[len(results):]:
        pane.axis("off")
    for pane, result in zip(panes.flat, results):
        _confusion_pane(pane, result.confusion, f"{result.model} ({result.system})")
    return _save(figure, path)


def _confusion_pane(pane: Any, confusion: np.ndarray, title: str) -> None:
    totals = confusion.sum(axis=1, keepdims=True)
    shares = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    pane.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(confusion):
        pane.text(j, i, str(count), ha="center", va="center", fontsize=7,
                  color="white" if shares[i, j] > 0.6 else "black")
    pane.set_xticks(range(len(FAMILIES)), FAMILIES, fontsize=7)
    pane.set_yticks(range(len(CONFUSION_ROWS)), CONFUSION_ROWS, fontsize=7)
    pane.set_xlabel("verdict", fontsize=7)
    pane.set_title(title, fontsize=8)


def _cross_heatmaps(path: Path, evaluation: Evaluation, model: str) -> str:
    names = list(evaluation.cross_datasets)
    figure, panes = plt.subplots(1, 3, figsize=(15, 4.5))
    metrics = (("scan fold F1", lambda c: c.fold_f1["scan"]),
               ("ddos fold F1", lambda c: c.fold_f1["ddos"]),
               ("macro F1 (benign/scan/ddos)", lambda c: c.metrics.get("f1_macro", math.nan)))
    cells = {(c.train, c.test): c for c in evaluation.cross if c.model == model}
    for pane, (title, value_of) in zip(panes, metrics):
        grid = np.full((len(names), len(names)), math.nan)
        for (i, train), (j, test) in _pairs(names):
            if (train, test) in cells:
                grid[i, j] = value_of(cells[(train, test)])
        pane.imshow(np.ma.masked_invalid(grid), cmap="viridis", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(grid):
            pane.text(j, i, "N/A" if math.isnan(value) else f"{value:.2f}", ha="center",
                      va="center", fontsize=8, color="black" if math.isnan(value) or value > 0.5
                      else "white")
        pane.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        pane.set_yticks(range(len(names)), names, fontsize=7)
        pane.set_xlabel("tested on")
        pane.set_ylabel("trained on")
        pane.set_title(f"{title}: {model}", fontsize=9)
    return _save(figure, path)


def _pairs(names: list[str]) -> list[tuple[tuple[int, str], tuple[int, str]]]:
    return [((i, a), (j, b)) for i, a in enumerate(names) for j, b in enumerate(names)]


def _save(figure: Any, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name
