"""``twinai detect``: both folds over captures or flow logs; alerts and verdicts out."""

from __future__ import annotations


import click

from twinai.alerts.eve import format_timestamp, write_eve
from twinai.detect import DetectionResult, detect
from twinai.detect_stream import captures_only, detect_streaming
from twinai.flows.io import check_table_path, write_table


@click.command("detect")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--home-net", "home_net", multiple=True, metavar="CIDR",
              help="Defended network (repeatable); default: the private ranges.")
@click.option("--model", "model", type=click.Path(file_okay=False), default=None,
              help="Model bundle directory; default: the bundle shipped with TwinAI.")
@click.option("--alerts", "alerts_out", default=None, metavar="FILE|-",
              help="Write EVE JSON alerts here (- for standard output).")
@click.option("--verdicts", "verdicts_out", default=None, type=click.Path(dir_okay=False),
              help="Write per-flow verdicts here (.parquet or .csv).")
def command(inputs: tuple[str, ...], home_net: tuple[str, ...], model: str | None,
            alerts_out: str | None, verdicts_out: str | None) -> None:
    """Judge captures (pcap/pcapng, folders, .gz) or flow logs: who scans, who floods."""
    if verdicts_out:
        check_table_path(verdicts_out)
    # Captures stream (memory bounded by the open flows); flow tables and
    # logs are read whole anyway.
    run = detect_streaming if captures_only(list(inputs)) else detect
    result = run(list(inputs), home_net=list(home_net) or None, model=model)
    if alerts_out:
        write_eve(result.eve(), alerts_out)
    if verdicts_out:
        write_table(result.verdicts(), verdicts_out)
    _print_summary(result, to_stderr=alerts_out == "-")


def _print_summary(result: DetectionResult, *, to_stderr: bool) -> None:
    def say(text: str = "") -> None:
        click.echo(text, err=to_stderr)

    summary = result.summary()
    meter = result.meter.summary() if result.meter else f"{summary['flows']} flows"
    say(f"read: {meter}")
    verdicts = ", ".join(f"{v} {k}" for k, v in sorted(summary["verdicts"].items()))
    say(f"flow verdicts: {verdicts or 'none'}  (model {result.model})")
    if not result.alerts:
        say("no alerts")
    for alert in result.alerts:
        when = format_timestamp(alert.alert_us)[:19].replace("T", " ")
        if alert.fold == "prevention":
            what = (f"SCANNER  {alert.src_ip} -> {alert.targets} target(s) e.g. "
                    f"{alert.dest_ip}:{alert.dest_port}  {alert.attack_type}")
            extra = f"flows {alert.flows}, probes before alert {alert.probes_before_alert}"
            if alert.signature:
                extra += f", signature {alert.signature}"
        else:
            what = (f"FLOOD    {alert.dest_ip}:{alert.dest_port} <- {alert.sources} source(s)"
                    f"{' (spoofed/reflected)' if alert.spoofed else ''}  {alert.attack_type}")
            extra = f"flows {alert.flows}, packets {alert.packets}"
        flag = "  COMPROMISED DEVICE" if alert.compromised else ""
        say(f"  {when}  {alert.direction:<8} {what}  score {alert.score:.2f}  ({extra}){flag}")
    say(f"{len(result.alerts)} alert(s): {len(summary['scanners'])} scanner(s), "
        f"{len(summary['flood_victims'])} flood victim(s), "
        f"{len(summary['compromised'])} compromised device(s); {summary['seconds']:.2f} s")
