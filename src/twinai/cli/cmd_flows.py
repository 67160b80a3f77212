"""``twinai flows``: captures in, one row per bidirectional flow out."""

from __future__ import annotations

import click
from tqdm import tqdm

from twinai.capture.reader import capture_files
from twinai.errors import InputError, TwinAIError
from twinai.flows.direction import parse_home_net
from twinai.flows.io import check_table_path, write_table
from twinai.flows.meter import MeterReport, meter_files

# main() turns our errors into one line and status 2; this keeps that promise
# when the command runs inside another click runner (tests, other tools).
_ERROR_STATUS = 2


class _OneLineError(click.ClickException):
    exit_code = _ERROR_STATUS

    def show(self, file: object = None) -> None:
        click.echo(f"twinai: error: {self.message}", err=True)


def _out_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a bad output ending while parsing, before any capture is read."""
    try:
        check_table_path(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


def _home_net(ctx: click.Context, param: click.Parameter,
              value: tuple[str, ...]) -> tuple[str, ...]:
    try:
        parse_home_net(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


@click.command("flows")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              callback=_out_path, help="Output file: .parquet or .csv.")
@click.option("--home-net", "home_net", multiple=True, metavar="CIDR",
              callback=_home_net,
              help="Defended network (repeatable); default: the private ranges.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(inputs: tuple[str, ...], out: str, home_net: tuple[str, ...],
            no_progress: bool) -> None:
    """Meter pcap/pcapng captures (files, folders, .gz) into a flow table."""
    try:
        _run(inputs, out, home_net, no_progress)
    except TwinAIError as exc:
        raise _OneLineError(str(exc)) from exc


def _run(inputs: tuple[str, ...], out: str, home_net: tuple[str, ...],
         no_progress: bool) -> None:
    files = capture_files(list(inputs))
    total = sum(p.stat().st_size for p in files)
    report = MeterReport()
    with tqdm(total=len(files), unit="file", disable=no_progress or len(files) < 2,
              leave=False) as bar:
        table = meter_files(files, home_net=list(home_net) or None, report=report,
                            progress=lambda _n: bar.update(1))
    write_table(table, out)
    click.echo(f"{report.summary()} ({total / 1e6:.1f} MB) -> {out}")
