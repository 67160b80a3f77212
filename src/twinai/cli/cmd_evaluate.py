"""``twinai evaluate``: measure models on a run or time split and write a report with plots."""

from __future__ import annotations

import click

from twinai.folds.estimators import CLASSICAL_LEARNERS, LEARNERS


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in LEARNERS]
    if unknown:
        raise click.BadParameter(f"unknown model {unknown[0]!r}; choose from {', '.join(LEARNERS)}")
    return names


@click.command("evaluate")
@click.option("--model", "bundle", type=click.Path(exists=True, file_okay=False), default=None,
              help="A model bundle to score on the test rows as well.")
@click.option("--data", "data", required=True, multiple=True, type=click.Path(exists=True),
              help="Labelled flows: .parquet/.csv tables or public flow logs (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Report directory (report.md, report.html, PNG plots).")
@click.option("--models", "models", default="lightgbm,random-forest", show_default=True,
              help=f"Comma-separated learners to train and compare: {', '.join(LEARNERS)}; "
              "`classical` names all classical ones, `all` every one.")
@click.option("--split", type=click.Choice(["run", "time", "random"]), default="run",
              show_default=True, help="Hold out whole runs, the latest flows, or random rows "
              "(random inflates scores; only to compare with published figures).")
@click.option("--features", type=click.Choice(["capture", "universal"]), default=None,
              help="Feature set; default: capture when the data has it.")
@click.option("--cross", "cross", multiple=True, type=click.Path(exists=True),
              help="More datasets for the cross-dataset matrix (repeatable); with any, "
              "the --data datasets join the matrix too.")
@click.option("--cross-models", "cross_models", default="lightgbm", show_default=True,
              help="Learners for the cross-dataset matrix.")
@click.option("--seed", type=int, default=0, show_default=True)
def command(bundle: str | None, data: tuple[str, ...], out: str, models: str, split: str,
            features: str | None, cross: tuple[str, ...], cross_models: str, seed: int) -> None:
    """Accuracy, precision, recall, F1, FPR, ROC-AUC per fold and model, with plots."""
    import polars as pl

    from twinai.evaluation import evaluate, load_datasets, write_report

    chosen = {"classical": CLASSICAL_LEARNERS, "all": LEARNERS}.get(models) or _names(models)
    datasets = load_datasets(list(data))
    flows = pl.concat(list(datasets.values()), how="diagonal_relaxed")
    cross_sets = None
    if cross:
        cross_sets = dict(datasets)
        cross_sets.update(load_datasets(list(cross)))
    result = evaluate(flows, data=list(data), models=tuple(chosen), split=split, seed=seed,
                      feature_set=features, bundle_path=bundle, cross_datasets=cross_sets,
                      cross_models=_names(cross_models),
                      progress=lambda step: click.echo(f"... {step}", err=True))
    path = write_report(result, out)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"split by {result.split}: {result.train_rows} train / {result.test_rows} test "
               f"rows; report -> {path}")
