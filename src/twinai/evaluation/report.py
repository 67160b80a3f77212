"""Render an :class:`Evaluation` as report.md (and report.html) with PNG plots."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

from twinai.evaluation.data import FAMILIES
from twinai.evaluation.metrics import CONFUSION_ROWS
from twinai.evaluation.plots import draw_all
from twinai.evaluation.runner import CrossCell, Evaluation, SystemResult

__all__ = ["PUBLISHED", "write_report"]

# The figures the original research published for its two-fold system
# (random-row split, scaling fitted per class on the whole table).
PUBLISHED = {"accuracy": 0.9889, "precision": 0.9901, "recall": 0.9874, "f1": 0.9887}


def write_report(evaluation: Evaluation, out_dir: str | Path, *, html_too: bool = True) -> Path:
    """Write report.md (+ report.html) and the plots into ``out_dir``; returns report.md."""
    out_dir = Path(out_dir)
    plots = draw_all(evaluation, out_dir)
    text = "\n".join(_sections(evaluation, plots)) + "\n"
    path = out_dir / "report.md"
    path.write_text(text)
    if html_too:
        (out_dir / "report.html").write_text(markdown_to_html(text))
    return path


def _sections(ev: Evaluation, plots: dict[str, str]) -> list[str]:
    lines = ["# TwinAI evaluation", ""]
    lines += _setup(ev)
    two_fold = [r for r in ev.results if r.system == "two-fold"]
    single = [r for r in ev.results if r.system == "single-stage"]
    if two_fold:
        lines += _models_section(ev, two_fold, plots)
        lines += _folds_section(two_fold, plots)
        lines += _per_class_section(two_fold)
        lines += _comparison_section(two_fold, single, plots)
        lines += _times_section(two_fold, single, plots)
    if ev.bundle:
        lines += _bundle_section(ev.bundle)
    if ev.anomaly:
        lines += _anomaly_section(ev.anomaly)
    if ev.cross:
        lines += _cross_section(ev, plots)
    return lines


def _setup(ev: Evaluation) -> list[str]:
    lines = [
        "## Data and split", "",
        f"* Data: {', '.join(f'`{p}`' for p in ev.data)} ({ev.rows} flows)",
        (f"* **Split: {ev.split}** ({ev.train_rows} training rows, {ev.test_rows} test rows; "
        f"asked for: {ev.requested_split})"),
        (f"* Features: `{ev.feature_set}`; rows in time order (windows of the deep models "
        "are built inside the training or the test rows, never across them)"),
        f"* Training labels: {_counts_text(ev.label_counts['train'])}",
        f"* Test labels: {_counts_text(ev.label_counts['test'])}", "",
    ]
    for warning in ev.warnings:
        lines += [f"> **Warning:** {warning}", ""]
    for model, reason in ev.failed.items():
        lines += [f"> **{model} could not be trained:** {reason}", ""]
    return lines


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _models_section(ev: Evaluation, results: list[SystemResult], plots: dict[str, str]) -> list[str]:
    lines = ["## Two-fold system per model (test rows)", "",
             ("Verdict benign / scan / ddos per flow (the bundle's rule: benign when both "
             "fold scores are below 0.5, else the higher fold). Macro means over the classes "
             "present in the test rows; FPR = benign flows given an attack verdict; ROC-AUC "
             "of any attack against benign on the higher fold score. `other/...` flows are "
             "left out (see the confusion matrices)."), "",
             "| model | accuracy | precision | recall | F1 | FPR | ROC-AUC | train accuracy |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        t = r.test
        lines.append(f"| {r.model} | {_f(t.get('accuracy'))} | {_f(t.get('precision_macro'))} | "
                     f"{_f(t.get('recall_macro'))} | {_f(t.get('f1_macro'))} | {_f(t.get('fpr'))} | "
                     f"{_f(t.get('roc_auc'))} | {_f(r.train.get('accuracy'))} |")
    published = " / ".join(f"{k} {v:.2%}" for k, v in PUBLISHED.items())
    lines += ["", (f"Published by the original research: {published}, on a random-row split "
              "with per-class scaling (both leak test information into training)."), ""]
    lines += _image(plots, "metrics", "Metrics per model")
    lines += _image(plots, "train_vs_test", "Train vs test accuracy")
    lines += ["### Confusion matrices (test rows; rows = truth, columns = verdict)", ""]
    lines += _image(plots, "confusion_two_fold", "Confusion matrices, two-fold")
    for r in results:
        lines += _confusion_table(r.model, r.confusion)
    return lines


def _confusion_table(title: str, confusion: Any) -> list[str]:
    lines = [f"**{title}**", "", "| truth \\ verdict | " + " | ".join(FAMILIES) + " |",
             "|---|" + "--:|" * len(FAMILIES)]
    for name, row in zip(CONFUSION_ROWS, confusion):
        if row.sum() or name != "other":
            lines.append(f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |")
    return lines + [""]


def _folds_section(results: list[SystemResult], plots: dict[str, str]) -> list[str]:
    lines = ["## Per fold (binary: the fold's family against everything else)", "",
             "| model | fold | split | accuracy | precision | recall | F1 | FPR | ROC-AUC | note |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|---|"]
    for r in results:
        for row in r.folds:
            lines.append(f"| {r.model} | {row['fold']} | {row['split']} | {_f(row['accuracy'])} | "
                         f"{_f(row['precision'])} | {_f(row['recall'])} | {_f(row['f1'])} | "
                         f"{_f(row['fpr'])} | {_f(row['roc_auc'])} | {row.get('note', '')} |")
    return lines + [""] + _image(plots, "folds", "Per-fold F1, ROC-AUC and FPR")


def _per_class_section(results: list[SystemResult]) -> list[str]:
    lines = ["## Per class (two-fold, test rows)", "",
             "| model | " + " | ".join(f"{c} P / R / F1" for c in FAMILIES) + " |",
             "|---|" + "---|" * len(FAMILIES)]
    for r in results:
        cells = []
        for name in FAMILIES:
            c = r.test.get("per_class", {}).get(name, {})
            cells.append(f"{_f(c.get('precision'))} / {_f(c.get('recall'))} / {_f(c.get('f1'))}")
        lines.append(f"| {r.model} | " + " | ".join(cells) + " |")
    return lines + [""]


def _comparison_section(two_fold: list[SystemResult], single: list[SystemResult],
                        plots: dict[str, str]) -> list[str]:
    lines = ["## Two folds against one multi-class classifier", "",
             ("Same learner, same training and test rows; the single-stage classifier "
             "predicts benign / scan / ddos directly (`other/...` trains as benign, as it "
             "does for the folds)."), "",
             ("| model | two-fold accuracy | single accuracy | two-fold F1 | single F1 | "
             "two-fold FPR | single FPR |"), "|---|--:|--:|--:|--:|--:|--:|"]
    for a, b in zip(two_fold, single):
        lines.append(f"| {a.model} | {_f(a.test.get('accuracy'))} | {_f(b.test.get('accuracy'))} | "
                     f"{_f(a.test.get('f1_macro'))} | {_f(b.test.get('f1_macro'))} | "
                     f"{_f(a.test.get('fpr'))} | {_f(b.test.get('fpr'))} |")
    lines += [""] + _image(plots, "two_fold_vs_single", "Two-fold vs single-stage")
    lines += _image(plots, "confusion_single_stage", "Confusion matrices, single-stage")
    return lines


def _times_section(two_fold: list[SystemResult], single: list[SystemResult],
                   plots: dict[str, str]) -> list[str]:
    lines = ["## Training time", "",
             ("Wall-clock seconds to fit on the training rows on this machine (two-fold: "
             "both folds, each a detector and a type namer)."), "",
             "| model | two-fold s | single-stage s |", "|---|--:|--:|"]
    for a, b in zip(two_fold, single):
        lines.append(f"| {a.model} | {a.train_seconds:.1f} | {b.train_seconds:.1f} |")
    return lines + [""] + _image(plots, "seconds", "Training seconds")


def _bundle_section(bundle: dict[str, Any]) -> list[str]:
    t = bundle["test"]
    lines = ["## The bundle", "",
             (f"Bundle `{bundle['name']}` (serving `{bundle['serving_model']}`, trained on "
             f"{bundle['trained_rows']} rows with a {bundle['trained_split']} split, features "
             f"`{bundle['feature_set']}`) scored on the test rows. It may have trained on some "
             "of these rows; trust it only when it was trained on other data or the same split."),
             "", "| accuracy | precision | recall | F1 | FPR | ROC-AUC |", "|--:|--:|--:|--:|--:|--:|",
             (f"| {_f(t.get('accuracy'))} | {_f(t.get('precision_macro'))} | "
             f"{_f(t.get('recall_macro'))} | {_f(t.get('f1_macro'))} | {_f(t.get('fpr'))} | "
             f"{_f(t.get('roc_auc'))} |"), ""]
    return lines + _confusion_table("bundle", bundle["confusion"])


def _anomaly_section(anomaly: dict[str, Any]) -> list[str]:
    shares = ", ".join(f"{k} {v:.1%}" for k, v in anomaly["flagged_share"].items())
    lines = ["## Anomaly detector (unknown attacks)", "",
             (f"Isolation forest fitted on {anomaly['benign_train_rows']} benign training flows; "
             f"threshold = the {anomaly['quantile']:.0%} quantile of their scores "
             f"({anomaly['threshold']:.4f})."), "",
             f"* Test flows flagged, by truth: {shares}",
             f"* ROC-AUC, any attack against benign: {_f(anomaly['roc_auc'])}"]
    if "unknown_model" in anomaly:
        by_family = ", ".join(f"{k} {v}" for k, v in anomaly["unknown_by_family"].items())
        lines += [(f"* `unknown` verdicts added to the {anomaly['unknown_model']} folds' benign "
                  f"verdicts, by truth: {by_family}"),
                  (f"* Attacks the folds missed: {anomaly['missed_attacks']}, of which the "
                  f"anomaly detector flags {anomaly['missed_attacks_caught']}")]
    return lines + [""]


def _cross_section(ev: Evaluation, plots: dict[str, str]) -> list[str]:
    names = list(ev.cross_datasets)
    lines = ["## Cross-dataset matrix (universal features)", "",
             ("Train on the row's dataset, test on the column's; the diagonal is the "
             f"dataset's own {ev.requested_split} split (time where it has too few runs; "
             "the split used is listed under each matrix). Cells: scan fold F1 / ddos fold "
             "F1 / FPR. N/A where the training set or the test set lacks the family."), "",
             "| dataset | flows by family |", "|---|---|"]
    for name, counts in ev.cross_datasets.items():
        lines.append(f"| {name} | {_counts_text(counts)} |")
    lines.append("")
    for model in sorted({c.model for c in ev.cross}):
        cells = {(c.train, c.test): c for c in ev.cross if c.model == model}
        lines += [f"**{model}**", "", "| trained on \\ tested on | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for train in names:
            row = [_cross_text(cells.get((train, test))) for test in names]
            lines.append(f"| {train} | " + " | ".join(row) + " |")
        diagonal = [f"{name}: {'; '.join(cells[(name, name)].notes)}"
                    for name in names if (name, name) in cells]
        lines += ["", "Diagonal: " + ", ".join(diagonal) + "."]
        lines += [""] + _image(plots, f"cross_{model}", f"Cross-dataset, {model}")
    return lines


def _cross_text(cell: CrossCell | None) -> str:
    if cell is None:
        return "N/A"
    return f"{_f(cell.fold_f1['scan'])} / {_f(cell.fold_f1['ddos'])} / {_f(cell.metrics.get('fpr'))}"


def _image(plots: dict[str, str], key: str, alt: str) -> list[str]:
    return [f"![{alt}]({plots[key]})", ""] if key in plots else []


def _f(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "N/A"
    return f"{float(value):.4f}"


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the report uses (headings, lists, tables, images, quotes)."""
    body: list[str] = []
    table: list[str] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            body.append(_html_table(table))
            table = []
        body.append(_html_line(line))
    return ("<!doctype html><meta charset='utf-8'><title>TwinAI evaluation</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
            "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}"
            "blockquote{background:#fee;padding:4px}</style>\n" + "\n".join(body))


def _html_table(lines: list[str]) -> str:
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    head, body = rows[0], rows[2:]
    out = ["<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out) + "</table>"


def _html_line(line: str) -> str:
    image = re.fullmatch(r"!\[(.*)\]\((.*)\)", line)
    if image:
        return f"<p><img alt='{html.escape(image[1])}' src='{html.escape(image[2])}'></p>"
    heading = re.match(r"(#+) (.*)", line)
    if heading:
        level = len(heading[1])
        return f"<h{level}>{_inline(heading[2])}</h{level}>"
    if line.startswith("* "):
        return f"<li>{_inline(line[2:])}</li>"
    if line.startswith("> "):
        return f"<blockquote>{_inline(line[2:])}</blockquote>"
    return f"<p>{_inline(line)}</p>" if line else ""


def _inline(text: str) -> str:
    text = html.escape(text.replace("\\|", "|"))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)
