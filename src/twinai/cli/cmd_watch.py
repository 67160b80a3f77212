"""``twinai watch``: judge a live interface, write alerts, block scanners.

Without ``--enforce`` nothing is blocked: the dry-run firewall reports (and
audits) what would have been. SIGINT or SIGTERM stops the watch cleanly:
tcpdump is given its grace, what it held is judged, alerts are flushed and a
summary is printed.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType
from typing import IO, Any

import click

from twinai.errors import InputError
from twinai.flows.direction import PRIVATE_NETS
from twinai.folds.bundle import load_bundle
from twinai.live import (
    DEFAULT_STATS_INTERVAL_S,
    DEFAULT_TICK_S,
    LiveDetector,
    TcpdumpCapture,
    Watch,
    WatchStats,
    warm_up,
)
from twinai.response import (
    DEFAULT_AUDIT_LOG,
    DEFAULT_BLOCK_TTL_S,
    AuditLog,
    BlockPolicy,
    DryRunFirewall,
    Firewall,
    NftablesFirewall,
    Responder,
    parse_duration,
    parse_network,
)

__all__ = ["command"]


def _to_ttl(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_duration(value, name="--block-ttl")
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _to_cidrs(ctx: click.Context, param: click.Parameter,
              values: tuple[str, ...]) -> list[str]:
    try:
        return [str(parse_network(value)) for value in values]
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command("watch")
@click.option("-i", "--interface", required=True, metavar="IF", help="Interface to watch.")
@click.option("--netns", default=None, metavar="NAME",
              help="Capture and block inside this network namespace.")
@click.option("--home-net", "home_net", multiple=True, metavar="CIDR", callback=_to_cidrs,
              help="Defended network (repeatable); default: the private ranges.")
@click.option("--model", type=click.Path(file_okay=False), default=None,
              help="Model bundle directory; default: the bundle shipped with TwinAI.")
@click.option("--alerts", "alerts_out", default=None, metavar="FILE|-",
              help="Append EVE JSON alerts here as they happen (- for standard output).")
@click.option("--enforce", is_flag=True,
              help="Really block (nftables); without it, only report what would be blocked.")
@click.option("--block-ttl", default=f"{DEFAULT_BLOCK_TTL_S}s", callback=_to_ttl,
              show_default=True, metavar="DURATION", help="How long a block lasts (30s, 10m, 1h).")
@click.option("--allow", multiple=True, metavar="CIDR", callback=_to_cidrs,
              help="Never block addresses in this network (repeatable).")
@click.option("--audit-log", type=click.Path(dir_okay=False), default=str(DEFAULT_AUDIT_LOG),
              show_default=True, envvar="TWINAI_AUDIT_LOG", help="Append-only JSON-lines file.")
@click.option("--stats-interval", type=click.FloatRange(min=0.1), default=DEFAULT_STATS_INTERVAL_S,
              show_default=True, metavar="S", help="Seconds between stats lines.")
@click.option("--tick", type=click.FloatRange(min=0.01), default=DEFAULT_TICK_S,
              show_default=True, metavar="S", help="Seconds between judgements.")
@click.option("--write-pcap", type=click.Path(dir_okay=False), default=None,
              help="Also write the captured packets to this pcap file.")
@click.option("--duration", type=click.FloatRange(min=0.1), default=None, metavar="S",
              help="Stop by itself after this many seconds.")
def command(interface: str, netns: str | None, home_net: list[str], model: str | None,
            alerts_out: str | None, enforce: bool, block_ttl: int, allow: list[str],
            audit_log: str, stats_interval: float, tick: float, write_pcap: str | None,
            duration: float | None) -> None:
    """Watch a live interface: alert on scans and floods as they happen, block scanners."""
    bundle = load_bundle(model)
    firewall: Firewall = NftablesFirewall(netns=netns) if enforce else DryRunFirewall()
    policy = BlockPolicy(allow=allow, home_nets=home_net or PRIVATE_NETS, netns=netns)
    responder = Responder(firewall, policy, AuditLog(audit_log), ttl_s=block_ttl, netns=netns)
    sink = _open_sink(alerts_out)
    to_stderr = alerts_out == "-"

    mode = "enforcing" if enforce else "dry run (nothing is blocked)"
    where = f" in {netns}" if netns else ""
    warm_up(bundle)
    detector = LiveDetector(bundle, home_net=home_net or None, responder=responder,
                            on_alert=lambda record: _write(sink, record), name=interface)
    capture = TcpdumpCapture(interface, netns=netns, write_pcap=write_pcap)
    watch = Watch(capture, detector, tick_s=tick, stats_interval_s=stats_interval,
                  on_stats=lambda stats: click.echo(f"stats: {stats.line()}", err=True),
                  on_ready=lambda: click.echo(f"watching {interface}{where}: model "
                                              f"{bundle.name}, {mode}; stop with Ctrl-C",
                                              err=True))

    stop = threading.Event()
    with _stop_on_signals(stop):
        try:
            final = watch.run(stop, duration_s=duration)
        finally:
            if sink is not None and sink is not sys.stdout:
                sink.close()
    _print_summary(final, detector, to_stderr=to_stderr)


def _open_sink(target: str | None) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    try:
        return open(target, "a", encoding="utf-8", buffering=1)
    except OSError as exc:
        raise InputError(f"--alerts {target}: cannot open for appending ({exc.strerror})") \
            from exc


def _write(sink: IO[str] | None, record: dict[str, Any]) -> None:
    if sink is not None:
        sink.write(json.dumps(record, separators=(",", ":")) + "\n")
        sink.flush()


class _stop_on_signals:
    """Set ``stop`` on SIGINT and SIGTERM while inside; restore the old handlers."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def __enter__(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _print_summary(final: WatchStats, detector: LiveDetector, *, to_stderr: bool) -> None:
    def say(text: str) -> None:
        click.echo(text, err=to_stderr)

    say(f"stopped after {final.line()}")
    for held in detector.book.alerts.values():
        alert = held.alert
        who = alert.src_ip if alert.fold == "prevention" else f"{alert.dest_ip} (victim)"
        blocked = ", ".join(f"{'would block' if m.dry_run else 'blocked'} {m.ip} after "
                            f"{m.probes_before_block} probes" for m in held.blocks.values())
        say(f"  {alert.fold:<10} {alert.direction:<8} {who:<18} {alert.attack_type:<20} "
            f"flows {alert.flows}, probes before alert {alert.probes_before_alert}"
            f"{'; ' + blocked if blocked else ''}")
    say(f"{len(detector.book)} alert(s), {final.detector.blocks} block(s)")
