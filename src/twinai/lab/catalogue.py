"""The catalogue of lab attacks: every scan and DDoS the lab can run.

Each :class:`CatalogueEntry` names an attack (its name is the flow label it
gives, e.g. ``scan/tcp-syn``), the fold that owns it, its direction, the
exact argument list run on each attacking host, and the hosts and addresses
that decide which flows are the attack's (see :mod:`twinai.lab.truth`).

Commands are bounded twice: in packets (``hping3 -c``, ``--count``, nmap's
port lists with ``--max-retries``) and in seconds (``--host-timeout``,
``--seconds``, and the runner's own timeout of ``max_seconds``).

Direction follows the home network's view: ``inbound`` attacks come from
outside hosts at home devices; ``outbound`` attacks come from a compromised
home device at outside hosts; ``internal`` ones stay in the home subnet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinai.lab.protocols import REFLECTOR_PORTS, SPOOF_PORT_RANGE
from twinai.lab.topology import HOME_NET, OUTSIDE_NET, host_ip
from twinai.lab.truth import ANY_OUTSIDE_LAB, FlowRule
from twinai.labels import FOLD_OF_FAMILY, family, is_valid_label

__all__ = [
    "CATALOGUE",
    "CatalogueEntry",
    "ddos_entries",
    "entries_named",
    "scan_entries",
]

PYTHON = "python3"  # replaced by the running interpreter at run time

# Packets each bot sends in a flood, and the gap between them (hping3 -i u2000
# = 500 packets/s). Enough for flood-shaped windows, small enough that the
# whole catalogue stays a few MB of flows.
FLOOD_PACKETS = 600
FLOOD_GAP = "u2000"
FLOOD_RATE = 500
# nmap bounds: one retry, and a host that takes longer than this is dropped.
NMAP_BOUNDS = ("--max-retries", "1", "--host-timeout", "40s")
SCAN_PORTS = ("--top-ports", "100")


@dataclass(frozen=True)
class CatalogueEntry:
    """One attack of the lab.

    ``command`` runs on every host named in ``attackers`` at the same time
    (one host for a single attacker, several for a botnet).
    """

    name: str
    direction: str
    command: tuple[str, ...]
    attackers: tuple[str, ...]
    victims: tuple[str, ...]  # addresses or CIDRs under attack
    tool: str
    max_packets: int
    max_seconds: float
    spoofed: bool = False  # sources are forged (random or decoys)
    reflectors: tuple[str, ...] = ()
    service_port: int = 0  # reflector port for reflection attacks
    # Narrow the attacker <-> victim rule when the attacker also sends benign
    # traffic to the victims (a home bot's own telemetry to the hub).
    victim_ports: tuple[int, ...] = ()
    protocols: tuple[int, ...] = ()
    note: str = ""
    extra_rules: tuple[FlowRule, ...] = field(default=())

    def __post_init__(self) -> None:
        if not is_valid_label(self.name) or family(self.name) not in FOLD_OF_FAMILY:
            raise ValueError(
                f"catalogue name must be scan/<type> or ddos/<type>: {self.name!r}"
            )

    @property
    def fold(self) -> str:
        return FOLD_OF_FAMILY[family(self.name)]

    @property
    def attacker_ips(self) -> tuple[str, ...]:
        return tuple(host_ip(h) for h in self.attackers)

    def rules(self) -> tuple[FlowRule, ...]:
        """Which flows belong to the attack (inside its time span)."""
        ports: list[tuple[int, int] | None] = [(p, p) for p in self.victim_ports] or [
            None
        ]
        protocols: list[int | None] = list(self.protocols) or [None]
        rules = [
            FlowRule(self.attacker_ips, self.victims, b_ports=port, protocol=proto)
            for port in ports
            for proto in protocols
        ]
        if self.spoofed:
            rules.append(FlowRule((ANY_OUTSIDE_LAB,), self.victims))
        if self.reflectors:
            port = (self.service_port, self.service_port)
            rules += [
                FlowRule(
                    self.reflectors,
                    self.victims,
                    a_ports=port,
                    b_ports=SPOOF_PORT_RANGE,
                    protocol=17,
                ),
                # The victim's ICMP port-unreachable answers to the reflector.
                FlowRule(self.reflectors, self.victims, protocol=1),
            ]
        return tuple(rules) + self.extra_rules

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "fold": self.fold,
            "direction": self.direction,
            "command": list(self.command),
            "attackers": list(self.attackers),
            "victims": list(self.victims),
            "tool": self.tool,
            "max_packets": self.max_packets,
            "max_seconds": self.max_seconds,
            "spoofed": self.spoofed,
            "reflectors": list(self.reflectors),
        }


def _nmap(
    name: str,
    direction: str,
    args: tuple[str, ...],
    target: str,
    *,
    attacker: str = "atk1",
    packets: int = 2000,
    seconds: float = 45.0,
    note: str = "",
    decoys: tuple[str, ...] = (),
    protocols: tuple[int, ...] = (),
) -> CatalogueEntry:
    command = ("nmap", "-n", *NMAP_BOUNDS, *args, target)
    return CatalogueEntry(
        name,
        direction,
        command,
        (attacker,),
        (target,),
        "nmap",
        packets,
        seconds,
        spoofed=bool(decoys),
        note=note,
        protocols=protocols,
    )


def _scan_entries() -> list[CatalogueEntry]:
    cam, hub, cloud = host_ip("cam"), host_ip("hub"), host_ip("cloud")
    techniques = [
        ("tcp-syn", "-sS"),
        ("tcp-connect", "-sT"),
        ("tcp-ack", "-sA"),
        ("tcp-window", "-sW"),
        ("tcp-maimon", "-sM"),
        ("tcp-null", "-sN"),
        ("tcp-fin", "-sF"),
        ("tcp-xmas", "-sX"),
    ]
    entries = [
        _nmap(f"scan/{n}", "inbound", ("-Pn", flag, *SCAN_PORTS), cam)
        for n, flag in techniques
    ]
    entries += [
        _nmap("scan/udp", "inbound", ("-Pn", "-sU", "--top-ports", "40"), hub),
        _nmap("scan/ip-protocol", "inbound", ("-Pn", "-sO"), cam),
        _nmap("scan/sctp-init", "inbound", ("-Pn", "-sY", "--top-ports", "40"), cam),
        _nmap(
            "scan/sctp-cookie-echo", "inbound", ("-Pn", "-sZ", "--top-ports", "40"), cam
        ),
    ]
    # TODO(lab): no idle/zombie scan (-sI): it needs a zombie whose IP ids
    # count globally, and Linux randomises them per destination. Add one when
    # an emulated device with a global IP id counter exists.
    sweeps = [
        ("icmp-echo", "-PE"),
        ("icmp-timestamp", "-PP"),
        ("icmp-netmask", "-PM"),
        ("tcp-syn-ping", "-PS"),
        ("tcp-ack-ping", "-PA"),
        ("udp-ping", "-PU"),
    ]
    entries += [
        _nmap(f"scan/sweep-{n}", "inbound", ("-sn", flag), HOME_NET)
        for n, flag in sweeps
    ]
    entries += [
        _nmap(
            "scan/sweep-arp",
            "internal",
            ("-sn", "-PR"),
            HOME_NET,
            attacker="bot1",
            note="ARP frames only: no IP flows, so it yields no labelled flows",
            protocols=(1,),
        ),
        _nmap(
            "scan/service-version",
            "inbound",
            ("-Pn", "-sV", "--version-light", "-p", "23,80,554"),
            cam,
        ),
        _nmap("scan/os-detection", "inbound", ("-Pn", "-O", "-p", "23,80,81"), cam),
        # T0 waits 5 minutes between probes (and before the first): its gap is
        # cut to 5 s to fit the lab's bounds; T1 keeps its 15 s, on two ports.
        _nmap(
            "scan/timing-t0-paranoid",
            "inbound",
            ("-Pn", "-sS", "-T0", "--scan-delay", "5s", "-p", "23,80"),
            cam,
            seconds=30.0,
        ),
        _nmap(
            "scan/timing-t1-sneaky",
            "inbound",
            ("-Pn", "-sS", "-T1", "-p", "23,80"),
            cam,
            seconds=45.0,
        ),
        _nmap(
            "scan/timing-t2-polite",
            "inbound",
            ("-Pn", "-sS", "-T2", "-p", "1-20"),
            cam,
            seconds=30.0,
        ),
        _nmap(
            "scan/timing-t3-normal", "inbound", ("-Pn", "-sS", "-T3", *SCAN_PORTS), cam
        ),
        _nmap(
            "scan/timing-t4-aggressive",
            "inbound",
            ("-Pn", "-sS", "-T4", *SCAN_PORTS),
            cam,
        ),
        _nmap(
            "scan/timing-t5-insane",
            "inbound",
            ("-Pn", "-sS", "-T5", "-p", "1-1000"),
            cam,
        ),
        _nmap(
            "scan/evasion-fragments", "inbound", ("-Pn", "-sS", "-f", *SCAN_PORTS), cam
        ),
        _nmap(
            "scan/evasion-decoys",
            "inbound",
            ("-Pn", "-sS", "-D", "198.51.100.7,203.0.113.9,ME", *SCAN_PORTS),
            cam,
            decoys=("198.51.100.7", "203.0.113.9"),
        ),
        _nmap(
            "scan/evasion-source-port-53",
            "inbound",
            ("-Pn", "-sS", "--source-port", "53", *SCAN_PORTS),
            cam,
        ),
        _nmap(
            "scan/evasion-data-length",
            "inbound",
            ("-Pn", "-sS", "--data-length", "24", *SCAN_PORTS),
            cam,
        ),
        _nmap(
            "scan/outbound-tcp-syn",
            "outbound",
            ("-Pn", "-sS", *SCAN_PORTS),
            cloud,
            attacker="bot1",
        ),
        _nmap(
            "scan/outbound-tcp-connect",
            "outbound",
            ("-Pn", "-sT", *SCAN_PORTS),
            cloud,
            attacker="bot1",
        ),
        _nmap(
            "scan/outbound-udp",
            "outbound",
            ("-Pn", "-sU", "--top-ports", "30"),
            cloud,
            attacker="bot1",
        ),
        _nmap(
            "scan/outbound-sweep-icmp-echo",
            "outbound",
            ("-sn", "-PE"),
            OUTSIDE_NET,
            attacker="bot1",
        ),
    ]
    entries += [
        _generator(
            "scan/mirai-telnet-inbound",
            "inbound",
            "atk1",
            HOME_NET,
            (
                "mirai",
                "--targets",
                HOME_NET,
                "--count",
                "400",
                "--rate",
                "150",
                "--seconds",
                "6",
            ),
        ),
        _generator(
            "scan/mirai-telnet-outbound",
            "outbound",
            "bot1",
            OUTSIDE_NET,
            (
                "mirai",
                "--targets",
                OUTSIDE_NET,
                "--count",
                "400",
                "--rate",
                "150",
                "--seconds",
                "6",
            ),
        ),
        _generator(
            "scan/mirai-telnet-internal",
            "internal",
            "bot1",
            HOME_NET,
            (
                "mirai",
                "--targets",
                HOME_NET,
                "--count",
                "300",
                "--rate",
                "150",
                "--seconds",
                "6",
            ),
            victim_ports=(23, 2323),
            protocols=(6,),
        ),
        _generator(
            "scan/fast-sweep-inbound",
            "inbound",
            "atk1",
            HOME_NET,
            (
                "fastsweep",
                "--targets",
                HOME_NET,
                "--count",
                "1500",
                "--rate",
                "1000",
                "--seconds",
                "4",
            ),
        ),
        _generator(
            "scan/fast-sweep-outbound",
            "outbound",
            "bot1",
            OUTSIDE_NET,
            (
                "fastsweep",
                "--targets",
                OUTSIDE_NET,
                "--count",
                "1500",
                "--rate",
                "1000",
                "--seconds",
                "4",
            ),
        ),
    ]
    return entries


def _generator(
    name: str,
    direction: str,
    attacker: str | tuple[str, ...],
    victim: str,
    args: tuple[str, ...],
    **extra: object,
) -> CatalogueEntry:
    attackers = (attacker,) if isinstance(attacker, str) else attacker
    count = int(args[args.index("--count") + 1])
    seconds = float(args[args.index("--seconds") + 1])
    command = (PYTHON, "-m", "twinai.lab.generators", *args)
    return CatalogueEntry(
        name,
        direction,
        command,
        attackers,
        (victim,),
        "scapy",
        count,
        seconds + 10.0,
        **extra,
    )  # type: ignore[arg-type]


TCP_FLAGS = (
    ("syn", ("-S",)),
    ("ack", ("-A",)),
    ("syn-ack", ("-S", "-A")),
    ("rst", ("-R",)),
    ("fin", ("-F",)),
    ("psh-ack", ("-P", "-A")),
    ("urg", ("-U",)),
    ("xmas", ("-F", "-P", "-U")),
    ("null", ()),
)
BOTS_IN = ("atk1", "atk2", "atk3")
BOTS_OUT = ("bot1", "bot2")


def _hping(
    name: str,
    direction: str,
    attackers: tuple[str, ...],
    victim: str,
    args: tuple[str, ...],
    spoofed: bool = False,
) -> CatalogueEntry:
    command = (
        "hping3",
        "-q",
        "-c",
        str(FLOOD_PACKETS),
        "-i",
        FLOOD_GAP,
        *args,
        *(("--rand-source",) if spoofed else ()),
        victim,
    )
    return CatalogueEntry(
        name,
        direction,
        command,
        attackers,
        (victim,),
        "hping3",
        FLOOD_PACKETS * len(attackers),
        15.0,
        spoofed=spoofed,
    )


def _tcp_floods() -> list[CatalogueEntry]:
    cam, cloud = host_ip("cam"), host_ip("cloud")
    entries: list[CatalogueEntry] = []
    for flag, args in TCP_FLAGS:
        tcp = ("-p", "80", *args)
        entries += [
            _hping(f"ddos/tcp-{flag}-flood", "inbound", ("atk1",), cam, tcp),
            _hping(
                f"ddos/tcp-{flag}-flood-spoofed", "inbound", ("atk1",), cam, tcp, True
            ),
            _hping(
                f"ddos/tcp-{flag}-flood-outbound", "outbound", ("bot1",), cloud, tcp
            ),
        ]
    for flag, args in TCP_FLAGS[:4] + TCP_FLAGS[5:6]:
        entries.append(
            _hping(
                f"ddos/tcp-{flag}-flood-botnet",
                "inbound",
                BOTS_IN,
                cam,
                ("-p", "80", *args),
            )
        )
    entries += [
        _hping(
            "ddos/tcp-syn-flood-outbound-spoofed",
            "outbound",
            ("bot1",),
            cloud,
            ("-p", "80", "-S"),
            True,
        ),
        _hping(
            "ddos/tcp-ack-flood-outbound-spoofed",
            "outbound",
            ("bot1",),
            cloud,
            ("-p", "80", "-A"),
            True,
        ),
        _hping(
            "ddos/tcp-syn-flood-outbound-botnet",
            "outbound",
            BOTS_OUT,
            cloud,
            ("-p", "80", "-S"),
        ),
    ]
    return entries


def _flood_gen(
    name: str,
    direction: str,
    attackers: tuple[str, ...],
    victim: str,
    proto: str,
    *opts: str,
    spoofed: bool = False,
) -> CatalogueEntry:
    args = (
        "flood",
        "--proto",
        proto,
        "--target",
        victim,
        *opts,
        *(("--spoof",) if spoofed else ()),
        "--count",
        str(FLOOD_PACKETS),
        "--rate",
        str(FLOOD_RATE),
        "--seconds",
        "5",
    )
    return _generator(name, direction, attackers, victim, args, spoofed=spoofed)


def _udp_icmp_floods() -> list[CatalogueEntry]:
    cam, cloud = host_ip("cam"), host_ip("cloud")
    small, large = ("-d", "32"), ("-d", "1400")
    return [
        _hping(
            "ddos/udp-flood-fixed-port",
            "inbound",
            ("atk1",),
            cam,
            ("--udp", "-p", "554", *small),
        ),
        _flood_gen(
            "ddos/udp-flood-random-port",
            "inbound",
            ("atk1",),
            cam,
            "udp",
            "--port",
            "0",
            "--size",
            "32",
        ),
        _hping(
            "ddos/udp-flood-large-payload",
            "inbound",
            ("atk1",),
            cam,
            ("--udp", "-p", "554", *large),
        ),
        _flood_gen(
            "ddos/udp-flood-random-port-large",
            "inbound",
            ("atk1",),
            cam,
            "udp",
            "--port",
            "0",
            "--size",
            "1400",
        ),
        _flood_gen(
            "ddos/udp-flood-fragmented",
            "inbound",
            ("atk1",),
            cam,
            "udp",
            "--port",
            "554",
            "--size",
            "2800",
            "--fragment",
            "1400",
        ),
        _hping(
            "ddos/udp-flood-spoofed",
            "inbound",
            ("atk1",),
            cam,
            ("--udp", "-p", "554", *small),
            True,
        ),
        _flood_gen(
            "ddos/udp-flood-random-port-spoofed",
            "inbound",
            ("atk1",),
            cam,
            "udp",
            "--port",
            "0",
            "--size",
            "64",
            spoofed=True,
        ),
        _hping(
            "ddos/udp-flood-botnet",
            "inbound",
            BOTS_IN,
            cam,
            ("--udp", "-p", "554", *small),
        ),
        _hping(
            "ddos/udp-flood-outbound",
            "outbound",
            ("bot1",),
            cloud,
            ("--udp", "-p", "53", *small),
        ),
        _flood_gen(
            "ddos/udp-flood-random-port-outbound",
            "outbound",
            ("bot1",),
            cloud,
            "udp",
            "--port",
            "0",
            "--size",
            "512",
        ),
        _hping(
            "ddos/udp-flood-outbound-spoofed",
            "outbound",
            ("bot1",),
            cloud,
            ("--udp", "-p", "53", *small),
            True,
        ),
        _flood_gen(
            "ddos/udp-flood-fragmented-outbound",
            "outbound",
            ("bot1",),
            cloud,
            "udp",
            "--port",
            "80",
            "--size",
            "2800",
            "--fragment",
            "1400",
        ),
        _hping(
            "ddos/udp-flood-outbound-botnet",
            "outbound",
            BOTS_OUT,
            cloud,
            ("--udp", "-p", "53", *small),
        ),
        _hping("ddos/icmp-echo-flood", "inbound", ("atk1",), cam, ("--icmp", *small)),
        _hping(
            "ddos/icmp-echo-flood-spoofed",
            "inbound",
            ("atk1",),
            cam,
            ("--icmp", *small),
            True,
        ),
        _hping(
            "ddos/icmp-echo-flood-botnet", "inbound", BOTS_IN, cam, ("--icmp", *small)
        ),
        _hping("ddos/icmp-large-flood", "inbound", ("atk1",), cam, ("--icmp", *large)),
        _flood_gen(
            "ddos/icmp-fragmented-flood",
            "inbound",
            ("atk1",),
            cam,
            "icmp",
            "--size",
            "4000",
            "--fragment",
            "1400",
        ),
        _hping(
            "ddos/icmp-echo-flood-outbound",
            "outbound",
            ("bot1",),
            cloud,
            ("--icmp", *small),
        ),
        _hping(
            "ddos/icmp-large-flood-outbound",
            "outbound",
            ("bot1",),
            cloud,
            ("--icmp", *large),
        ),
        _flood_gen(
            "ddos/icmp-fragmented-flood-outbound",
            "outbound",
            ("bot1",),
            cloud,
            "icmp",
            "--size",
            "4000",
            "--fragment",
            "1400",
        ),
        _hping(
            "ddos/icmp-echo-flood-outbound-spoofed",
            "outbound",
            ("bot1",),
            cloud,
            ("--icmp", *small),
            True,
        ),
    ]


def _application_floods() -> list[CatalogueEntry]:
    cam, cloud = host_ip("cam"), host_ip("cloud")

    def http(
        name: str,
        direction: str,
        who: tuple[str, ...],
        victim: str,
        method: str,
    ) -> CatalogueEntry:
        return _generator(
            name,
            direction,
            who,
            victim,
            (
                "http",
                "--target",
                victim,
                "--method",
                method,
                "--count",
                "300",
                "--workers",
                "8",
                "--seconds",
                "5",
            ),
        )

    def slow(name: str, direction: str, who: str, victim: str) -> CatalogueEntry:
        return _generator(
            name,
            direction,
            who,
            victim,
            (
                "slowheaders",
                "--target",
                victim,
                "--count",
                "60",
                "--interval",
                "1",
                "--seconds",
                "6",
            ),
        )

    return [
        http("ddos/http-get-flood", "inbound", ("atk1",), cam, "GET"),
        http("ddos/http-get-flood-botnet", "inbound", BOTS_IN, cam, "GET"),
        http("ddos/http-post-flood", "inbound", ("atk1",), cam, "POST"),
        slow("ddos/http-slow-headers", "inbound", "atk1", cam),
        http("ddos/http-get-flood-outbound", "outbound", ("bot1",), cloud, "GET"),
        http("ddos/http-post-flood-outbound", "outbound", ("bot1",), cloud, "POST"),
        slow("ddos/http-slow-headers-outbound", "outbound", "bot1", cloud),
    ]


def _reflection(
    name: str,
    direction: str,
    who: tuple[str, ...],
    service: str,
    reflector: str,
    victim: str,
) -> CatalogueEntry:
    args = (
        "reflect",
        "--service",
        service,
        "--reflector",
        reflector,
        "--victim",
        victim,
        "--count",
        "300",
        "--rate",
        "150",
        "--seconds",
        "4",
    )
    return _generator(
        name,
        direction,
        who,
        victim,
        args,
        reflectors=(reflector,),
        service_port=REFLECTOR_PORTS[service],
    )


def _reflection_floods() -> list[CatalogueEntry]:
    cam, cloud = host_ip("cam"), host_ip("cloud")
    refl, hub = host_ip("refl"), host_ip("hub")
    entries = [
        _reflection(
            f"ddos/{service}-reflection", "inbound", ("atk1",), service, refl, cam
        )
        for service in REFLECTOR_PORTS
    ]
    entries.append(
        _reflection("ddos/dns-reflection-botnet", "inbound", BOTS_IN, "dns", refl, cam)
    )
    # Outbound: a bot at home forges the outside victim's address and our own
    # hub answers it -- the home network lends its devices as amplifiers.
    entries += [
        _reflection(
            f"ddos/{service}-reflection-outbound",
            "outbound",
            ("bot1",),
            service,
            hub,
            cloud,
        )
        for service in REFLECTOR_PORTS
    ]
    entries.append(
        _reflection(
            "ddos/ssdp-reflection-outbound-botnet",
            "outbound",
            BOTS_OUT,
            "ssdp",
            hub,
            cloud,
        )
    )
    return entries


def _build() -> tuple[CatalogueEntry, ...]:
    entries = (
        _scan_entries()
        + _tcp_floods()
        + _udp_icmp_floods()
        + _application_floods()
        + _reflection_floods()
    )
    names = [e.name for e in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate catalogue names: {sorted(duplicates)}")
    return tuple(entries)


CATALOGUE: tuple[CatalogueEntry, ...] = _build()


def scan_entries() -> list[CatalogueEntry]:
    return [e for e in CATALOGUE if e.fold == "prevention"]


def ddos_entries() -> list[CatalogueEntry]:
    return [e for e in CATALOGUE if e.fold == "detection"]


def entries_named(names: list[str] | tuple[str, ...]) -> list[CatalogueEntry]:
    """The entries with these names, in catalogue order; unknown names are refused."""
    from twinai.errors import InputError

    known = {e.name: e for e in CATALOGUE}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            f"unknown catalogue entries: {', '.join(unknown)}; see "
            "`twinai lab catalogue` for the names"
        )
    wanted = set(names)
    return [e for e in CATALOGUE if e.name in wanted]
