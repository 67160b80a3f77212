"""``twinai block``: the operator's hand on the block list.

``list`` shows what is blocked now, ``add`` blocks an address for a while and
``remove`` lifts a block. Adds go through the same policy as the live loop, so
an operator cannot block the host itself, its gateway or an allow-listed
network by accident; every add and remove is written to the audit log.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from twinai.errors import InputError
from twinai.response import (
    DEFAULT_AUDIT_LOG,
    DEFAULT_BLOCK_TTL_S,
    AuditLog,
    BlockEntry,
    BlockPolicy,
    BlockRequest,
    DryRunFirewall,
    Firewall,
    IPAddress,
    Network,
    NftablesFirewall,
    Responder,
    format_duration,
    parse_duration,
    parse_ip,
    parse_network,
)

__all__ = ["command"]

F = TypeVar("F", bound=Callable[..., Any])


def _to_ip(ctx: click.Context, param: click.Parameter, value: str) -> IPAddress:
    """Click callback: a usage error, not a traceback, for a bad address."""
    try:
        return parse_ip(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _to_ttl(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_duration(value, name="--ttl")
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _to_networks(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[Network]:
    try:
        return [parse_network(value) for value in values]
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _netns_option(func: F) -> F:
    return click.option(
        "--netns",
        metavar="NAME",
        default=None,
        help="Act inside this network namespace (ip netns exec NAME nft ...).",
    )(func)


def _change_options(func: F) -> F:
    """Options shared by the commands that change the block list."""
    decorators = [
        _netns_option,
        click.option(
            "--dry-run", is_flag=True, help="Only report and audit what would be done."
        ),
        click.option(
            "--audit-log",
            type=click.Path(dir_okay=False),
            default=str(DEFAULT_AUDIT_LOG),
            show_default=True,
            envvar="TWINAI_AUDIT_LOG",
            help="Append-only JSON-lines file.",
        ),
        click.option(
            "--who",
            default=None,
            help="Operator name for the audit log [default: login name].",
        ),
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


@click.group(name="block")
def command() -> None:
    """Show, add and remove blocked addresses (nftables, with expiry)."""


@command.command(name="list")
@_netns_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(netns: str | None, as_json: bool) -> None:
    """Show blocked addresses, their time left and the reason."""
    entries = NftablesFirewall(netns=netns).list_blocked()
    if as_json:
        for entry in entries:
            click.echo(json.dumps(_entry_dict(entry)))
        return
    if not entries:
        click.echo("no address is blocked")
        return
    click.echo(_render_table(entries))


@command.command(name="add")
@click.argument("ip", metavar="IP", callback=_to_ip)
@click.option(
    "--ttl",
    metavar="DURATION",
    callback=_to_ttl,
    default=format_duration(DEFAULT_BLOCK_TTL_S),
    show_default=True,
    help="How long the block lasts: 30s, 10m, 1h, 1h30m.",
)
@click.option("--reason", default="blocked by operator", show_default=True)
@click.option(
    "--allow",
    "allow",
    metavar="CIDR",
    callback=_to_networks,
    multiple=True,
    help="Network never to block (repeatable).",
)
@click.option(
    "--home-net",
    "home_nets",
    metavar="CIDR",
    callback=_to_networks,
    multiple=True,
    help="Home network; an address inside it is quarantined (repeatable).",
)
@_change_options
def add_command(
    ip: IPAddress,
    ttl: int,
    reason: str,
    allow: list[Network],
    home_nets: list[Network],
    netns: str | None,
    dry_run: bool,
    audit_log: str,
    who: str | None,
) -> None:
    """Block IP for --ttl; refused for the host, its gateway and --allow networks."""
    policy = BlockPolicy(allow=allow, home_nets=home_nets, netns=netns)
    responder = _responder(policy, netns, dry_run, audit_log, who)

    response = responder.respond(BlockRequest(ip, reason), ttl_s=ttl)
    if response.result is None:
        raise InputError(f"{response.decision.why}; nothing was blocked")

    verb = "would block" if dry_run else "blocked"
    click.echo(
        f"{verb} {ip} ({response.decision.direction}) for {format_duration(ttl)}: "
        f"{reason}"
    )


@command.command(name="remove")
@click.argument("ip", metavar="IP", callback=_to_ip)
@click.option("--reason", default="unblocked by operator", show_default=True)
@_change_options
def remove_command(
    ip: IPAddress,
    reason: str,
    netns: str | None,
    dry_run: bool,
    audit_log: str,
    who: str | None,
) -> None:
    """Lift the block on IP (not an error when it is not blocked)."""
    responder = _responder(BlockPolicy(netns=netns), netns, dry_run, audit_log, who)
    result = responder.unblock(ip, reason=reason)

    if dry_run:
        click.echo(f"would unblock {ip}")
    elif result.changed:
        click.echo(f"unblocked {ip}")
    else:
        click.echo(f"{ip} was not blocked")


def _responder(
    policy: BlockPolicy,
    netns: str | None,
    dry_run: bool,
    audit_log: str,
    who: str | None,
) -> Responder:
    firewall: Firewall = DryRunFirewall() if dry_run else NftablesFirewall(netns=netns)
    return Responder(
        firewall, policy, AuditLog(audit_log), who=who or _login_name(), netns=netns
    )


def _login_name() -> str:
    """The person behind the command, also when it runs through sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _entry_dict(entry: BlockEntry) -> dict[str, Any]:
    return {
        "ip": str(entry.ip),
        "expires_in_s": entry.expires_in_s,
        "timeout_s": entry.timeout_s,
        "reason": entry.reason,
    }


def _render_table(entries: list[BlockEntry]) -> str:
    rows = [("ADDRESS", "EXPIRES-IN", "TTL", "REASON")]
    rows += [
        (
            str(e.ip),
            format_duration(e.expires_in_s),
            format_duration(e.timeout_s),
            e.reason,
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths))
        + "  "
        + row[3]
        for row in rows
    )
