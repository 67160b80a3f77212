"""``twinai console``: the web console for the operator and remote users."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from twinai.console import PRODUCTION_SETTINGS


def _first_operator() -> None:
    """Create the first operator from the environment or by asking."""
    from twinai.console import bootstrap

    if bootstrap.operator_exists():
        return
    username = os.environ.get("TWINAI_ADMIN_USER", "")
    password = os.environ.get("TWINAI_ADMIN_PASSWORD", "")
    if not (username and password):
        if not sys.stdin.isatty():
            raise click.UsageError(
                "no operator account yet: set TWINAI_ADMIN_USER and "
                "TWINAI_ADMIN_PASSWORD, or start the console in a terminal"
            )
        click.echo("No operator account yet; create one.")
        username = username or click.prompt("Operator username")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    bootstrap.create_operator(
        username, password, os.environ.get("TWINAI_ADMIN_EMAIL", "")
    )
    click.echo(f"Operator {username!r} created.")


@click.command("console")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Database, uploads and bundles [default: $TWINAI_DATA_DIR or ~/.local/share/twinai].",
)
@click.option(
    "--production", is_flag=True, help="Use the production settings (TLS, secrets)."
)
@click.option(
    "--setup-only", is_flag=True, help="Prepare database and operator, then exit."
)
def command(
    host: str, port: int, data_dir: Path | None, production: bool, setup_only: bool
) -> None:
    """Start the web console (SQLite by default; DATABASE_URL selects PostgreSQL)."""
    from django.core.exceptions import ImproperlyConfigured

    from twinai.console import bootstrap

    try:
        bootstrap.setup(data_dir, PRODUCTION_SETTINGS if production else None)
    except ImproperlyConfigured as exc:
        raise click.UsageError(f"console settings: {exc}") from None
    bootstrap.migrate()
    _first_operator()
    if setup_only:
        click.echo("Console database ready.")
        return

    from django.core.management import call_command

    click.echo(f"TwinAI console on http://{host}:{port}/ (Ctrl-C stops it)")
    # --insecure lets runserver serve the vendored static files with DEBUG off.
    call_command(
        "runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True
    )
