"""The audit log: one JSON line for every block and unblock, appended only.

A block decides who can reach a home, so each one must be traceable later:
who asked, what was done to which address, why, when, and until when. Lines
are appended with ``O_APPEND`` in one write each, so the live loop and an
operator's command can share the file without tearing lines.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twinai.errors import InputError, ResponseError
from twinai.response._firewall import BlockResult

__all__ = ["DEFAULT_AUDIT_LOG", "AuditLog"]

DEFAULT_AUDIT_LOG = Path("/var/log/twinai/audit.jsonl")

_FILE_MODE = 0o640


class AuditLog:
    """An append-only JSON-lines file of block and unblock records.

    Each line holds ``when``, ``who``, ``what`` (``block``/``unblock``), ``ip``,
    ``why``, ``until`` (None for an unblock), ``ttl_s``, ``fold``,
    ``direction``, ``backend``, ``dry_run``, ``changed`` and ``netns``.

    Raises
    ------
    InputError
        At construction, when the file cannot be opened for appending.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(self._open())
        except OSError as exc:
            raise InputError(
                f"audit log {self.path} cannot be opened for appending "
                f"({exc.strerror}); choose another file with --audit-log"
            ) from exc

    def record(
        self,
        result: BlockResult,
        *,
        who: str,
        why: str,
        fold: str | None = None,
        direction: str | None = None,
        netns: str | None = None,
    ) -> dict[str, Any]:
        """Append the line for ``result`` and return it as a dict."""
        line = {
            "when": _iso(datetime.now(UTC)),
            "who": who,
            "what": result.action,
            "ip": str(result.ip),
            "why": why,
            "until": _iso(result.expires_at) if result.expires_at else None,
            "ttl_s": result.ttl_s,
            "fold": fold,
            "direction": direction,
            "backend": result.backend,
            "dry_run": result.dry_run,
            "changed": result.changed,
            "netns": netns,
        }
        self._append(json.dumps(line, ensure_ascii=False) + "\n")
        return line

    def read(self) -> list[dict[str, Any]]:
        """Return every record in the file, oldest first."""
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(text) for text in handle if text.strip()]

    def _append(self, text: str) -> None:
        try:
            descriptor = self._open()
            try:
                os.write(descriptor, text.encode("utf-8"))
            finally:
                os.close(descriptor)
        except OSError as exc:
            raise ResponseError(
                f"audit line not written to {self.path} ({exc.strerror}); "
                f"the firewall action was done: {text.strip()}"
            ) from exc

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        return os.open(self.path, flags, _FILE_MODE)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
