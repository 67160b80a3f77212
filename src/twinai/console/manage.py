"""Django's management commands for the console: ``python -m twinai.console.manage``."""

from __future__ import annotations

import os
import sys

from twinai.console import DEFAULT_SETTINGS


def main() -> None:
    """Run a management command with the console's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
