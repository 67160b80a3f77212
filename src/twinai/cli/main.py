"""Entry point of the ``twinai`` command."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

import twinai
from twinai.errors import TwinAIError

__all__ = ["cli", "main"]

log = logging.getLogger(__name__)


def _configure_logging(verbose: int, quiet: bool) -> None:
    """Send library logs to stderr; the CLI alone decides where logs go."""
    level = logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # numba and matplotlib are chatty at INFO/DEBUG.
    for noisy in ("numba", "matplotlib", "PIL", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(twinai.__version__, prog_name="twinai")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def cli(verbose: int, quiet: bool) -> None:
    """TwinAI Defense: stop IoT scanners early, detect DDoS floods."""
    _configure_logging(verbose, quiet)


def _register_commands() -> None:
    """Attach every ``twinai.cli.cmd_*`` module's ``command`` to the group."""
    import twinai.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("cmd_"):
            continue
        module = importlib.import_module(f"twinai.cli.{info.name}")
        cli.add_command(module.command)


_register_commands()


def main() -> None:
    """Run the CLI, turning our own errors into one line and exit status 2."""
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TwinAIError as exc:
        click.echo(f"twinai: error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        # A file we were told to write where it cannot go, a full disk, a
        # refused connection: the system's own words name the path.
        click.echo(f"twinai: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    if isinstance(status, int) and status:
        sys.exit(status)


if __name__ == "__main__":
    main()
