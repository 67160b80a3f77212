"""``twinai train``: fit both folds on a labelled flow table and write a bundle."""

from __future__ import annotations

import click

from twinai.flows.io import read_table
from twinai.folds.estimators import LEARNERS
from twinai.folds.train import train_bundle


@click.command("train")
@click.option("--data", "data", required=True, multiple=True, type=click.Path(exists=True),
              help="Labelled flow table(s): .parquet or .csv with a `label` column.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Bundle directory to write.")
@click.option("--models", "models", default="lightgbm", show_default=True,
              help=f"Comma-separated learners; the first one serves. Choices: {', '.join(LEARNERS)}.")
@click.option("--split", type=click.Choice(["run", "time", "random"]), default="run",
              show_default=True, help="How to hold out test data (random only to compare "
              "with published figures).")
@click.option("--seed", type=int, default=0, show_default=True)
def command(data: tuple[str, ...], out: str, models: str, split: str, seed: int) -> None:
    """Train fold 1 (scan) and fold 2 (DDoS) and report held-out metrics."""
    import polars as pl

    table = pl.concat([read_table(p) for p in data], how="diagonal_relaxed")
    names = tuple(m.strip() for m in models.split(",") if m.strip())
    report = train_bundle(table, out, models=names, split=split, seed=seed,
                          progress=lambda step, frac: click.echo(f"[{frac:4.0%}] {step}", err=True))
    metrics = report.table().filter(pl.col("split") == "test").select(
        "fold", "model", "features", "accuracy", "precision", "recall", "f1", "f1_macro", "fpr",
        "roc_auc", "type_f1_macro", "support")
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True):
        click.echo(metrics)
    _print_type_f1(report.metrics)
    click.echo(f"split by {report.split}: {report.train_rows} train / {report.test_rows} test rows; "
               f"bundle -> {report.bundle_path}")


def _print_type_f1(metrics: list[dict]) -> None:  # type: ignore[type-arg]
    """Per-attack-type F1 of each fold's type namer on the held-out rows."""
    for row in metrics:
        if row["split"] != "test" or not row.get("type_f1"):
            continue
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(row["type_f1"].items()))
        click.echo(f"{row['fold']} {row['model']} ({row['features']}) type F1: {scores}")
