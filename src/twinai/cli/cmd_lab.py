"""``twinai lab``: the traffic lab (catalogue, run, dataset, demo, clean)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click

from twinai.lab.catalogue import CATALOGUE, entries_named

__all__ = ["command"]

DEMO_ENTRIES = {"scan/tcp-syn": "scan-syn", "ddos/tcp-syn-flood": "flood-syn"}


@click.group("lab")
def command() -> None:
    """Generate labelled IoT scan and DDoS traffic in network namespaces (root)."""


@command.command("catalogue")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of entries.")
def catalogue(as_json: bool) -> None:
    """List every scan and DDoS entry of the lab."""
    if as_json:
        click.echo(json.dumps([e.to_json() for e in CATALOGUE], indent=1))
        return
    width = max(len(e.name) for e in CATALOGUE)
    for entry in CATALOGUE:
        click.echo(
            f"{entry.name:<{width}}  {entry.fold:<10}  {entry.direction:<8}  "
            f"{'+'.join(entry.attackers):<14}  {' '.join(entry.command)}"
        )
    scans = sum(e.fold == "prevention" for e in CATALOGUE)
    click.echo(f"{len(CATALOGUE)} entries: {scans} scan, {len(CATALOGUE) - scans} DDoS")


def _selected(only: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    return [n for item in (*only, *names) for n in item.split(",") if n]


@command.command("run")
@click.argument("names", nargs=-1)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Run only these entries (repeat, or comma-separated). Default: all.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("lab-runs"),
    show_default=True,
    help="Folder for captures.",
)
@click.option(
    "--benign-seconds",
    type=float,
    default=8.0,
    show_default=True,
    help="Length of the benign-only capture (0 for none).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; build nothing.")
def run(
    names: tuple[str, ...],
    only: tuple[str, ...],
    out_dir: Path,
    benign_seconds: float,
    dry_run: bool,
) -> None:
    """Run catalogue entries (NAMES or --only), capturing each with its labels."""
    from twinai.lab.runner import RunOptions, plan, run_entries

    wanted = _selected(only, names)
    entries = entries_named(wanted) if wanted else list(CATALOGUE)
    options = RunOptions(out_dir=out_dir, benign_seconds=benign_seconds)
    if dry_run:
        for line in plan(entries, options):
            click.echo(line)
        return
    started = time.monotonic()
    runs = run_entries(entries, options, progress=lambda msg: click.echo(msg, err=True))
    click.echo(
        f"{len(runs)} captures with labels in {out_dir} "
        f"({time.monotonic() - started:.0f} s)"
    )


@command.command("dataset")
@click.argument(
    "runs_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Parquet file to write.",
)
@click.option(
    "--card",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Dataset card to write (default: DATASET_CARD.md beside --out).",
)
def dataset(runs_dir: Path, out: Path, card: Path | None) -> None:
    """Meter and label the captures under RUNS_DIR into one flow table."""
    from twinai.lab.dataset import (
        build_dataset,
        dataset_card,
        write_card,
        write_dataset,
    )

    table, runs = build_dataset(
        runs_dir, progress=lambda msg: click.echo(msg, err=True)
    )
    write_dataset(table, out)
    card_path = card or out.with_name("DATASET_CARD.md")
    write_card(dataset_card(table, runs, runs_dir, out.name), card_path)
    counts = table.group_by("label").len().sort("label")
    for label, flows in counts.iter_rows():
        click.echo(f"{flows:>8}  {label}")
    click.echo(f"{table.height} flows from {len(runs)} runs -> {out}; card {card_path}")


@command.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/lab/demo"),
    show_default=True,
)
def demo(out_dir: Path) -> None:
    """Record the small demo captures: a SYN scan, a SYN flood and benign traffic."""
    from twinai.lab.runner import RunOptions, run_entries, slug

    staging = out_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    runs = run_entries(
        entries_named(list(DEMO_ENTRIES)),
        RunOptions(out_dir=staging, benign_seconds=6.0),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for labels in runs:
        stem = DEMO_ENTRIES.get(labels.label, "benign")
        shutil.copy(staging / labels.capture, out_dir / f"{stem}.pcap")
        labels.capture = f"{stem}.pcap"
        labels.write(out_dir / f"{stem}.labels.json")
        click.echo(f"{out_dir / labels.capture} ({slug(labels.label)})")
    shutil.rmtree(staging)


@command.command("clean")
def clean() -> None:
    """Remove namespaces (and their processes) left by a lab that was killed."""
    from twinai.lab.topology import NS_PREFIX, clean_leftovers, require_lab_tools

    require_lab_tools()
    removed = clean_leftovers(NS_PREFIX)
    click.echo(
        f"removed {len(removed)} lab namespaces"
        + (f": {', '.join(removed)}" if removed else "")
    )
