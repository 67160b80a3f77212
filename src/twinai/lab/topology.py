"""The lab network: a home IoT subnet and an outside subnet joined by a router.

Every host is a Linux network namespace named ``twl-<session>-<host>``. The
router namespace holds two bridges (``br-home`` and ``br-out``) with the
gateway addresses; every other host hangs off one bridge by a veth pair whose
both ends are created directly inside namespaces, so nothing is added to the
machine's own namespace and nothing is routed to its real interfaces. The
same addresses can therefore be used by several labs at once: only the
namespace names must differ, which the random session id guarantees.

Addresses sit in 10.77.0.0/16, a private block chosen to stand out in
captures; the real machine never sees them.
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from twinai.errors import LabError

__all__ = [
    "HOME_NET",
    "HOSTS",
    "NS_PREFIX",
    "OUTSIDE_NET",
    "Host",
    "Topology",
    "clean_leftovers",
    "host_ip",
    "lab_ips",
    "lab_topology",
    "leftover_namespaces",
    "require_lab_tools",
]

log = logging.getLogger(__name__)

NS_PREFIX = "twl-"
HOME_NET = "10.77.1.0/24"
OUTSIDE_NET = "10.77.2.0/24"
HOME_GATEWAY = "10.77.1.1"
OUTSIDE_GATEWAY = "10.77.2.1"

# Tools the lab calls; a missing one is refused up front, not half-way.
REQUIRED_TOOLS = ("ip", "tcpdump", "nmap", "hping3")

# Seconds a terminated lab process gets before it is killed.
STOP_GRACE_S = 3.0


@dataclass(frozen=True)
class Host:
    """One emulated machine: its namespace suffix, side and address."""

    name: str
    side: str  # "home" or "outside"
    ip: str
    role: str  # what it stands for, for the dataset card


HOSTS: tuple[Host, ...] = (
    Host("cam", "home", "10.77.1.10", "IP camera: HTTP 80, RTSP 554, telnet 23/2323"),
    Host(
        "hub",
        "home",
        "10.77.1.11",
        "smart hub: MQTT 1883, SSH 22, CoAP, SSDP, DNS/NTP relay (the home reflector)",
    ),
    Host("sensor", "home", "10.77.1.12", "sensor: MQTT telemetry, CoAP 5683 device"),
    Host("phone", "home", "10.77.1.20", "owner's phone: SSH admin, HTTP, discovery"),
    Host(
        "bot1",
        "home",
        "10.77.1.66",
        "compromised plug: telnet 23, benign MQTT, runs outbound attacks",
    ),
    Host("bot2", "home", "10.77.1.67", "second compromised plug (multi-bot attacks)"),
    Host(
        "cloud",
        "outside",
        "10.77.2.20",
        "vendor cloud / outside victim: HTTP 80, SSH 22, telnet 23",
    ),
    Host(
        "refl",
        "outside",
        "10.77.2.53",
        "ISP DNS/NTP and open SSDP/CoAP (the outside reflector)",
    ),
    Host("atk1", "outside", "10.77.2.66", "attacker"),
    Host("atk2", "outside", "10.77.2.67", "attacker bot"),
    Host("atk3", "outside", "10.77.2.68", "attacker bot"),
)


def host_ip(name: str) -> str:
    """Address of a lab host by name (``cam`` gives ``10.77.1.10``)."""
    for host in HOSTS:
        if host.name == name:
            return host.ip
    raise LabError(
        f"no lab host named {name!r}; known: {', '.join(h.name for h in HOSTS)}"
    )


def lab_ips() -> tuple[str, ...]:
    """Every address the lab owns, gateways included."""
    return (HOME_GATEWAY, OUTSIDE_GATEWAY) + tuple(h.ip for h in HOSTS)


def require_lab_tools() -> dict[str, str]:
    """Refuse to go on unless we are root and every tool is on PATH.

    Returns the path of each tool.
    """
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (network namespaces, raw sockets); run it with sudo"
        )
    paths = {tool: shutil.which(tool) for tool in REQUIRED_TOOLS}
    missing = sorted(tool for tool, path in paths.items() if path is None)
    if missing:
        raise LabError(
            f"the lab needs {', '.join(missing)} on PATH; install "
            "iproute2, tcpdump, nmap and hping3 (apt-get install ...)"
        )
    return {tool: str(path) for tool, path in paths.items()}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``ip`` command; a failure becomes a LabError naming it."""
    argv = ["ip", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done


def leftover_namespaces(prefix: str = NS_PREFIX) -> list[str]:
    """Names of existing namespaces that start with ``prefix``."""
    listing = _ip("netns", "list", check=False).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return sorted(name for name in names if name.startswith(prefix))


def _stop_namespace(ns: str) -> None:
    """Kill whatever still runs in a lab namespace, then delete it."""
    pids = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            continue
    _ip("netns", "del", ns, check=False)


def clean_leftovers(prefix: str = NS_PREFIX) -> list[str]:
    """Remove every namespace (and its processes) whose name starts with ``prefix``.

    Returns the names removed.
    """
    if not prefix.startswith(NS_PREFIX):
        raise LabError(
            f"refusing to clean namespaces outside the lab prefix "
            f"{NS_PREFIX!r} (got {prefix!r})"
        )
    names = leftover_namespaces(prefix)
    for ns in names:
        _stop_namespace(ns)
    log.info("removed %d lab namespaces", len(names))
    return names


def _check_addresses_free() -> None:
    """Refuse when the machine itself already uses the lab's block.

    The namespaces are isolated, so a clash would not break the lab, but
    captures and reports would then name addresses that mean two things.
    """
    lab_block = ipaddress.ip_network("10.77.0.0/16")
    for line in _ip("-o", "-4", "addr", "show", check=False).stdout.splitlines():
        fields = line.split()
        if "inet" not in fields:
            continue
        address = ipaddress.ip_interface(fields[fields.index("inet") + 1])
        if address.network.overlaps(lab_block):
            raise LabError(
                f"this machine already uses {address} inside the lab's "
                f"block {lab_block}; free it or change topology.HOME_NET"
            )


@dataclass
class Topology:
    """A built lab: namespaces, bridges, routes, and the processes started in it."""

    session: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    built: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"{NS_PREFIX}{self.session}-"

    def ns(self, host: str) -> str:
        """Namespace name of a host (``router`` included)."""
        return f"{self.prefix}{host}"

    def argv_in(self, host: str, argv: Sequence[str]) -> list[str]:
        """The argument list that runs ``argv`` inside a host's namespace."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def start(
        self,
        host: str,
        argv: Sequence[str],
        *,
        stdout: int | None = None,
        stderr: int | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a process inside a host; it is stopped when the lab is torn down."""
        proc = subprocess.Popen(
            self.argv_in(host, argv),
            stdout=stdout or subprocess.DEVNULL,
            stderr=stderr or subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def build(self) -> None:
        """Create the namespaces, bridges, veth pairs, addresses and routes."""
        router = self.ns("router")
        self._add_namespace("router")
        for bridge, gateway in (("br-home", HOME_GATEWAY), ("br-out", OUTSIDE_GATEWAY)):
            _ip("-n", router, "link", "add", "name", bridge, "type", "bridge")
            _ip("-n", router, "addr", "add", f"{gateway}/24", "dev", bridge)
            _ip("-n", router, "link", "set", bridge, "up")
        # A blackhole default route: replies to spoofed random sources die
        # silently in the router instead of raising ICMP errors of their own.
        _ip("-n", router, "route", "add", "blackhole", "default")
        self._sysctl("router", "net.ipv4.ip_forward=1")
        for host in HOSTS:
            self._add_host(host)
        self._fill_home_neighbours("router", "br-home")
        for bot in ("bot1", "bot2"):
            self._fill_home_neighbours(bot, "eth0")
        log.info("lab %s built: %d namespaces", self.session, len(self.built))

    def _add_namespace(self, host: str) -> None:
        ns = self.ns(host)
        _ip("netns", "add", ns)
        self.built.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        # Spoofed floods and reflection need packets whose source is not on
        # the arrival interface; reverse-path filtering would drop them.
        self._sysctl(
            host,
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            # The kernel's 1/s ICMP error limit would stretch UDP
            # scans to minutes; real IoT stacks rarely limit at all.
            "net.ipv4.icmp_ratelimit=0",
        )

    def _add_host(self, host: Host) -> None:
        self._add_namespace(host.name)
        router, ns = self.ns("router"), self.ns(host.name)
        bridge, gateway = (
            ("br-home", HOME_GATEWAY)
            if host.side == "home"
            else ("br-out", OUTSIDE_GATEWAY)
        )
        port = f"p-{host.name}"
        _ip(
            "-n",
            router,
            "link",
            "add",
            "name",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        _ip("-n", router, "link", "set", port, "master", bridge)
        _ip("-n", router, "link", "set", port, "up")
        _ip("-n", ns, "addr", "add", f"{host.ip}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "default", "via", gateway)
        self._sysctl(host.name, "net.ipv4.conf.eth0.rp_filter=0")

    def _fill_home_neighbours(self, host: str, device: str) -> None:
        """Give every unused home address a permanent neighbour entry in ``host``.

        Without it, packets to addresses nobody holds (sweeps, Mirai's random
        targets) wait for ARP in the router (or in a home bot) and never reach
        the home bridge, so the capture would miss most of a sweep. With it
        they leave on the bridge to a MAC nobody owns: silent hosts.
        """
        used = {h.ip for h in HOSTS} | {HOME_GATEWAY}
        network = ipaddress.ip_network(HOME_NET)
        lines = [
            f"neigh replace {ip} lladdr 02:77:00:00:00:{int(ip) & 0xFF:02x} "
            f"dev {device} nud permanent"
            for ip in network.hosts()
            if str(ip) not in used
        ]
        argv = ["ip", "-n", self.ns(host), "-batch", "-"]
        done = subprocess.run(
            argv,
            input="\n".join(lines) + "\n",
            capture_output=True,
            check=False,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise LabError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")

    def _sysctl(self, host: str, *settings: str) -> None:
        argv = self.argv_in(host, ["sysctl", "-q", "-w", *settings])
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise LabError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")

    def stop_processes(self) -> None:
        """Terminate every process started in the lab, killing stragglers."""
        for proc in self.processes:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=STOP_GRACE_S)
        self.processes.clear()

    def teardown(self) -> None:
        """Stop the processes and remove every namespace of this session."""
        self.stop_processes()
        for ns in reversed(self.built):
            _stop_namespace(ns)
        self.built.clear()
        # A namespace that failed half-way through build is not in `built`.
        for ns in leftover_namespaces(self.prefix):
            _stop_namespace(ns)
        log.info("lab %s removed", self.session)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt so that `finally` blocks run."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def lab_topology(session: str | None = None) -> Iterator[Topology]:
    """Build a lab, hand it over, and remove it whatever happens.

    Removal runs on normal exit, on exceptions, on Ctrl-C and SIGTERM (turned
    into KeyboardInterrupt), and from ``atexit`` as a last resort.
    """
    require_lab_tools()
    _check_addresses_free()
    topology = Topology(session or secrets.token_hex(3))
    atexit.register(topology.teardown)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    if _is_main_thread():
        for sig in previous:
            signal.signal(sig, _raise_interrupt)
    try:
        topology.build()
        yield topology
    finally:
        topology.teardown()
        atexit.unregister(topology.teardown)
        if _is_main_thread():
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def package_root() -> Path:
    """Directory to put on PYTHONPATH so namespaced helpers import this package."""
    return Path(__file__).resolve().parents[2]


def python_env() -> dict[str, str]:
    """Environment for lab helper processes: this interpreter's package path."""
    env = dict(os.environ)
    root = str(package_root())
    env["PYTHONPATH"] = root + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
