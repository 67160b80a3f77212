"""Run catalogue entries in a lab: devices, benign traffic, attack, capture, truth.

One session builds one topology, starts the device services and the benign
traffic of every home device, records a benign-only capture, then runs each
selected entry in turn with its own capture (``<slug>.pcap``) and labels file
(``<slug>.labels.json``) in the output folder. The topology is removed
whatever happens (see :func:`twinai.lab.topology.lab_topology`).
"""

from __future__ import annotations

import json
import logging
import platform
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from twinai.errors import LabError
from twinai.lab.catalogue import PYTHON, CatalogueEntry
from twinai.lab.topology import (
    HOME_NET,
    HOSTS,
    Topology,
    host_ip,
    lab_topology,
    python_env,
)
from twinai.lab.truth import RunLabels
from twinai.labels import BENIGN

__all__ = [
    "BENIGN_ROLES",
    "SERVICES_OF",
    "RunOptions",
    "plan",
    "run_entries",
    "slug",
    "tool_versions",
]

log = logging.getLogger(__name__)

SERVICES_OF = {
    "cam": ("http:80", "rtsp:554", "telnet:23", "telnet:2323"),
    "hub": (
        "mqtt:1883",
        "ssh:22",
        "coap:5683",
        "ssdp:1900",
        "dns:53",
        "ntp:123",
        "http:80",
    ),
    "sensor": ("coap:5683",),
    "bot1": ("telnet:23",),
    "bot2": ("telnet:23",),
    "cloud": ("http:80", "ssh:22", "telnet:23"),
    "refl": ("dns:53", "ntp:123", "ssdp:1900", "coap:5683"),
}
BENIGN_ROLES = ("sensor", "cam", "hub", "phone", "bot1", "bot2")
CAPTURE_BRIDGE = (
    "br-home"  # the router's home side: every packet that enters or leaves home
)
# tcpdump keeps headers and the first bytes of payload: enough for the meter,
# small enough that the full catalogue fits in a few hundred MB of pcaps.
SNAPLEN = 256
# tcpdump needs a moment after "listening" before it really captures, and a
# grace after the last packet before SIGINT, or short captures come out empty.
CAPTURE_LEAD_S = 1.0
CAPTURE_TAIL_S = 1.5
# Services and benign clients need this long before the first capture.
WARMUP_S = 3.0
TCPDUMP_START_TIMEOUT_S = 10.0
# hping3 exits 1 when it saw no replies although it sent everything.
ACCEPTED_EXIT = {"hping3": {0, 1}, "nmap": {0}, "scapy": {0}}


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    benign_seconds: float = 8.0  # length of the benign-only capture, 0 for none
    session: str | None = None


def slug(name: str) -> str:
    """File-name form of an entry name: ``scan/tcp-syn`` -> ``scan-tcp-syn``."""
    return re.sub(r"[^a-z0-9.+-]+", "-", name.lower())


def _resolve(argv: Sequence[str]) -> list[str]:
    """The command as run: the catalogue's ``python3`` is this interpreter."""
    return [sys.executable if arg == PYTHON else arg for arg in argv]


def plan(entries: Sequence[CatalogueEntry], options: RunOptions) -> list[str]:
    """Human-readable plan: one line per command the run would start."""
    lines = [
        f"build lab topology (namespaces twl-<session>-*), capture on router:{CAPTURE_BRIDGE}",
        f"start services on {', '.join(SERVICES_OF)}; benign traffic from "
        f"{', '.join(BENIGN_ROLES)}",
    ]
    if options.benign_seconds:
        lines.append(
            f"benign-only capture {options.benign_seconds:g}s -> "
            f"{options.out_dir / 'benign.pcap'}"
        )
    for entry in entries:
        for host in entry.attackers:
            lines.append(
                f"{entry.name} [{host} {host_ip(host)}, <= {entry.max_packets} "
                f"packets, <= {entry.max_seconds:g}s] -> "
                f"{options.out_dir / (slug(entry.name) + '.pcap')}: "
                f"{' '.join(entry.command)}"
            )
    lines.append("remove every namespace of the session")
    return lines


def tool_versions() -> dict[str, str]:
    """Versions of the tools that made the traffic, for labels and the card."""

    def first_line(argv: list[str], pattern: str) -> str:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        match = re.search(pattern, done.stdout + done.stderr)
        return match.group(1) if match else "unknown"

    import scapy

    return {
        "nmap": first_line(["nmap", "--version"], r"Nmap version (\S+)"),
        "hping3": first_line(["hping3", "--version"], r"hping3 version (\S+)"),
        "tcpdump": first_line(["tcpdump", "--version"], r"tcpdump version (\S+)"),
        "libpcap": first_line(["tcpdump", "--version"], r"libpcap version (\S+)"),
        "scapy": str(scapy.VERSION),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _start_services(topology: Topology, lifetime_s: float, log_dir: Path) -> None:
    for host, specs in SERVICES_OF.items():
        argv = [PYTHON, "-m", "twinai.lab.services", "--seconds", f"{lifetime_s:.0f}"]
        for spec in specs:
            argv += ["--listen", spec]
        with open(log_dir / f"services-{host}.log", "wb") as sink:
            topology.start(
                host,
                _resolve(argv),
                stdout=sink.fileno(),
                stderr=sink.fileno(),
                env=python_env(),
            )


def _start_benign(topology: Topology, lifetime_s: float, log_dir: Path) -> None:
    for seed, role in enumerate(BENIGN_ROLES):
        argv = [
            PYTHON,
            "-m",
            "twinai.lab.benign",
            "--role",
            role,
            "--seconds",
            f"{lifetime_s:.0f}",
            "--seed",
            str(seed),
        ]
        with open(log_dir / f"benign-{role}.log", "wb") as sink:
            topology.start(
                role,
                _resolve(argv),
                stdout=sink.fileno(),
                stderr=sink.fileno(),
                env=python_env(),
            )


class _Capture:
    """tcpdump on the router's home bridge, from ``start`` to ``stop``."""

    def __init__(self, topology: Topology, path: Path) -> None:
        self.topology, self.path = topology, path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            "tcpdump",
            "-i",
            CAPTURE_BRIDGE,
            "-n",
            "-s",
            str(SNAPLEN),
            "-U",
            "--immediate-mode",
            "-w",
            str(self.path),
        ]
        self.proc = self.topology.start("router", argv, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        deadline, seen = time.monotonic() + TCPDUMP_START_TIMEOUT_S, b""
        while b"listening on" not in seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stderr], [], [], max(left, 0))
            chunk = self.proc.stderr.read1(4096) if ready else b""  # type: ignore[attr-defined]
            if not chunk:
                raise LabError(
                    f"tcpdump did not start capturing to {self.path}: "
                    f"{seen.decode(errors='replace').strip() or 'no output'}"
                )
            seen += chunk
        time.sleep(CAPTURE_LEAD_S)

    def stop(self) -> None:
        time.sleep(CAPTURE_TAIL_S)
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise LabError(f"tcpdump wrote no capture to {self.path}")


def _now_us() -> int:
    return time.time_ns() // 1000


def _attack(
    topology: Topology,
    entry: CatalogueEntry,
    log_dir: Path,
) -> list[dict[str, object]]:
    """Run the entry's command on every attacker at once; wait within its bound."""
    procs = []
    for host in entry.attackers:
        sink = open(log_dir / f"{slug(entry.name)}-{host}.log", "wb")  # noqa: SIM115
        procs.append(
            (
                host,
                sink,
                topology.start(
                    host,
                    _resolve(entry.command),
                    stdout=sink.fileno(),
                    stderr=sink.fileno(),
                    env=python_env(),
                ),
            )
        )
    deadline, results = time.monotonic() + entry.max_seconds, []
    for host, sink, proc in procs:
        try:
            code: int | None = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning(
                "%s on %s passed its %gs bound; stopped",
                entry.name,
                host,
                entry.max_seconds,
            )
            proc.kill()
            proc.wait(timeout=5)
            code = None
        sink.close()
        if code is not None and code not in ACCEPTED_EXIT.get(entry.tool, {0}):
            log.warning("%s on %s exited %s; see %s", entry.name, host, code, sink.name)
        results.append(
            {
                "host": host,
                "ip": host_ip(host),
                "argv": list(entry.command),
                "exit_code": code,
                "timed_out": code is None,
            }
        )
    return results


def _record(
    topology: Topology,
    entry: CatalogueEntry | None,
    options: RunOptions,
    tools: dict[str, str],
    log_dir: Path,
) -> RunLabels:
    name = entry.name if entry else BENIGN
    capture = options.out_dir / f"{slug(name)}.pcap"
    recorder = _Capture(topology, capture)
    recorder.start()
    start_us = _now_us()
    try:
        if entry is None:
            time.sleep(options.benign_seconds)
            commands: list[dict[str, object]] = []
        else:
            commands = _attack(topology, entry, log_dir)
    finally:
        end_us = _now_us()
        recorder.stop()
    labels = RunLabels(
        run_id=f"{topology.session}-{slug(name)}",
        label=name,
        fold=entry.fold if entry else None,
        direction=entry.direction if entry else None,
        capture=capture.name,
        start_us=start_us,
        end_us=end_us,
        attacker_ips=list(entry.attacker_ips) if entry else [],
        victim_ips=list(entry.victims) if entry else [],
        reflector_ips=list(entry.reflectors) if entry else [],
        spoofed=entry.spoofed if entry else False,
        rules=list(entry.rules()) if entry else [],
        commands=commands,
        tools=tools,
        home_net=[HOME_NET],
        session=topology.session,
    )
    labels.write(options.out_dir / f"{slug(name)}.labels.json")
    return labels


def run_entries(
    entries: Sequence[CatalogueEntry],
    options: RunOptions,
    progress: Callable[[str], None] | None = None,
) -> list[RunLabels]:
    """Build a lab, run the entries one after another, and remove the lab.

    Returns the labels of every capture written (the benign one first).
    """
    options.out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = options.out_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    tools = tool_versions()
    lifetime_s = (
        WARMUP_S
        + options.benign_seconds
        + sum(e.max_seconds + CAPTURE_LEAD_S + CAPTURE_TAIL_S + 2 for e in entries)
        + 60
    )
    started, runs = time.time(), []
    with lab_topology(options.session) as topology:
        _start_services(topology, lifetime_s, log_dir)
        _start_benign(topology, lifetime_s, log_dir)
        time.sleep(WARMUP_S)
        if options.benign_seconds:
            runs.append(_record(topology, None, options, tools, log_dir))
        for index, entry in enumerate(entries, 1):
            if progress:
                progress(f"[{index}/{len(entries)}] {entry.name}")
            runs.append(_record(topology, entry, options, tools, log_dir))
        session = topology.session
    _write_session(options.out_dir, session, started, runs, tools)
    return runs


def _write_session(
    out_dir: Path,
    session: str,
    started: float,
    runs: list[RunLabels],
    tools: dict[str, str],
) -> None:
    """A summary of the whole session, read by the dataset card."""
    summary = {
        "session": session,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_s": round(time.time() - started, 1),
        "runs": len(runs),
        "tools": tools,
        "hosts": [
            {"name": h.name, "ip": h.ip, "side": h.side, "role": h.role} for h in HOSTS
        ],
    }
    (out_dir / "session.json").write_text(json.dumps(summary, indent=2) + "\n")
