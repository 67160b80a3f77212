"""``twinai dask``: detection over many captures and training on a Dask cluster."""

from __future__ import annotations

import logging
import os

import click

from twinai.flows.io import check_table_path, write_table

_SCHEDULER = click.option(
    "--scheduler", default=None, metavar="ADDRESS",
    help="Dask scheduler, e.g. tcp://10.0.0.5:8786; default: a local cluster.")


@click.group("dask")
def command() -> None:
    """Run detection or training on a Dask cluster (local by default)."""
    # Dask's scheduler and workers log every start and stop at INFO through
    # their own handlers; follow twinai's -v/-q instead. Set before the
    # cluster starts, so that the worker processes inherit it.
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")


@command.command("detect")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@_SCHEDULER
@click.option("--home-net", "home_net", multiple=True, metavar="CIDR",
              help="Defended network (repeatable); default: the private ranges.")
@click.option("--model", type=click.Path(file_okay=False), default=None,
              help="Model bundle directory, readable by every worker.")
@click.option("--verdicts", "verdicts_out", default=None, type=click.Path(dir_okay=False),
              help="Write every capture's per-flow verdicts here (.parquet or .csv).")
def detect_command(inputs: tuple[str, ...], scheduler: str | None, home_net: tuple[str, ...],
                   model: str | None, verdicts_out: str | None) -> None:
    """Judge each capture (files or folders) on a worker of the cluster."""
    import polars as pl

    from twinai.scale import connect, detect_many

    if verdicts_out:
        check_table_path(verdicts_out)
    with connect(scheduler) as client:
        results = detect_many(list(inputs), client, home_net=list(home_net) or None, model=model)
    for result in results:
        s = result.summary
        click.echo(f"{result.capture}: {s['flows']} flows, {s['alerts']} alert(s), "
                   f"scanners {', '.join(s['scanners']) or '-'}, "
                   f"flood victims {', '.join(s['flood_victims']) or '-'}")
    if verdicts_out:
        tables = [r.verdicts.with_columns(pl.lit(r.capture).alias("capture")) for r in results]
        write_table(pl.concat(tables, how="diagonal_relaxed"), verdicts_out)


@command.command("train")
@click.option("--data", "data", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of labelled flow tables (.parquet) with a `label` column.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Bundle directory to write.")
@_SCHEDULER
@click.option("--seed", type=int, default=0, show_default=True)
def train_command(data: str, out: str, scheduler: str | None, seed: int) -> None:
    """Fit both folds on a partitioned flow dataset with LightGBM on Dask."""
    from twinai.scale import connect, train_on_dask

    with connect(scheduler) as client:
        path = train_on_dask(data, out, client, seed=seed)
    click.echo(f"bundle -> {path}")
