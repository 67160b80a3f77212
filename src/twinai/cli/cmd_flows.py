"""``twinai flows``: captures in, one row per bidirectional flow out."""

from __future__ import annotations

import click
from tqdm import tqdm

from twinai.capture.reader import capture_files
from twinai.flows.io import check_table_path, write_table
from twinai.flows.meter import MeterReport, meter_files


@click.command("flows")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .parquet or .csv.")
@click.option("--home-net", "home_net", multiple=True, metavar="CIDR",
              help="Defended network (repeatable); default: the private ranges.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(inputs: tuple[str, ...], out: str, home_net: tuple[str, ...],
            no_progress: bool) -> None:
    """Meter pcap/pcapng captures (files, folders, .gz) into a flow table."""
    check_table_path(out)
    files = capture_files(list(inputs))
    total = sum(p.stat().st_size for p in files)
    report = MeterReport()
    with tqdm(total=len(files), unit="file", disable=no_progress or len(files) < 2,
              leave=False) as bar:
        table = meter_files(files, home_net=list(home_net) or None, report=report,
                            progress=lambda _n: bar.update(1))
    write_table(table, out)
    click.echo(f"{report.summary()} ({total / 1e6:.1f} MB) -> {out}")
