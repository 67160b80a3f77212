"""``twinai datasets``: bring public flow data sets into the flow table."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from twinai.datasets import FORMATS, ImportReport, import_dataset, is_flow_log, write_flows
from twinai.errors import DatasetError

__all__ = ["command"]


@click.group(name="datasets")
def command() -> None:
    """Import public flow data sets (CIC-IDS, IoT-23, Zeek, Argus)."""


@command.command(name="import")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Flow table to write: .parquet or .csv.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Input format; detected from the header when omitted.",
)
@click.option("--dataset", default=None, help="Source name for the dataset column.")
def import_command(
    paths: tuple[Path, ...], out: Path, format_: str | None, dataset: str | None
) -> None:
    """Import PATHS into one flow table written to --out."""
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter("must end in .parquet or .csv", param_hint="--out")
    tables = []
    for path in _flow_files(paths):
        result = import_dataset(path, format_, dataset=dataset)
        click.echo(render_report(result.report))
        tables.append(result.flows)
    flows = pl.concat(tables).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("flow_id")
    )
    write_flows(flows, out)
    click.echo(f"wrote {flows.height} flows to {out}")


def _flow_files(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; folders as the flow logs found under them, in name order."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file() and is_flow_log(p))
        if not found:
            raise DatasetError(f"{path}: no flow log or flow CSV found in this folder")
        files += found
    return files


def render_report(report: ImportReport) -> str:
    """The report of one import as a small text table."""
    rows = [
        ("file", report.path),
        ("format / dataset", f"{report.format} / {report.dataset}"),
        ("rows read", f"{report.rows_read}"),
        ("rows kept", f"{report.rows_kept}"),
        ("rows rejected", f"{report.rows_rejected}"),
        ("speed", f"{report.rows_per_second:,.0f} rows/s"),
    ]
    for reason, count in report.rejected.most_common():
        lines = ", ".join(map(str, report.reject_lines.get(reason, [])))
        rows.append(("  rejected", f"{count:>9}  {reason} (lines {lines})"))
    for what, count in report.repairs.most_common():
        rows.append(("  repaired", f"{count:>9}  {what}"))
    for label, count in report.label_counts.most_common():
        rows.append(("  label", f"{count:>9}  {label}"))
    for note in report.notes:
        rows.append(("  note", note))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n"
