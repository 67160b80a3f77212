"""Live capture through tcpdump: a pcap byte stream read from a pipe.

tcpdump does the privileged part (opening the interface, the kernel ring
buffer, counting kernel drops) and writes classic pcap to its standard
output; a reader thread empties the pipe as fast as it fills so that the
pipe never stalls tcpdump while the watcher is busy scoring. The bytes are
handed over in :meth:`TcpdumpCapture.take` and, when asked, written to a
pcap file as they are, so that what the watcher judged can be judged again
offline.

Known tcpdump behaviour this module relies on: ``--immediate-mode`` and
``-U`` hand each packet over at once instead of in 2 MB blocks; SIGUSR1
makes it print its packet counts (captured / received / dropped by kernel)
to stderr without stopping; SIGINT makes it flush and print them at exit.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from twinai.errors import CaptureError

__all__ = ["CaptureCounts", "TcpdumpCapture", "interface_rx_dropped"]

log = logging.getLogger(__name__)

# tcpdump needs a moment to open the interface; this long without its
# "listening on" line means it will not come.
START_TIMEOUT_S = 10.0

# Packets still in the kernel ring buffer or the pipe when a stop is asked
# for: tcpdump is given this long before it is told to stop, or the last
# packets of a short capture are lost.
STOP_GRACE_S = 1.0

# After SIGINT tcpdump exits within milliseconds; after this it is killed.
EXIT_TIMEOUT_S = 5.0

# Kernel capture buffer handed to tcpdump (-B, KiB). In immediate mode libpcap
# uses a TPACKET_V2 ring whose every slot is sized for a whole snapshot
# (256 KiB) when the interface offloads segmentation, as veths and most NICs
# do; tcpdump's default 2 MiB then holds about eight packets, and a scheduling
# hiccup of a few milliseconds drops packets at 2,000 packets/s
# (benchmarks/bench_watch.py: 11-16 kernel drops at 2,000-5,000 packets/s
# with the default, none at 5,000 with 64 MiB, about 250 slots).
CAPTURE_BUFFER_KIB = 65_536

_READ_BYTES = 1 << 16
_COUNT_RE = re.compile(r"(\d+) packets? (captured|received by filter|dropped by kernel)")


@dataclass
class CaptureCounts:
    """tcpdump's own counters, as last reported on its stderr."""

    captured: int = 0
    received: int = 0
    dropped_by_kernel: int = 0


class TcpdumpCapture:
    """Run ``tcpdump -w -`` on an interface and collect its pcap bytes.

    Parameters
    ----------
    interface : str
        The interface to listen on.
    netns : str or None
        Run tcpdump inside this network namespace (``ip netns exec``).
    write_pcap : path or None
        Also write every byte of the stream here (a valid pcap file).
    tcpdump : str
        The executable.
    """

    def __init__(self, interface: str, *, netns: str | None = None,
                 write_pcap: str | Path | None = None, tcpdump: str = "tcpdump") -> None:
        self.interface = interface
        self.netns = netns
        self.write_pcap = Path(write_pcap) if write_pcap else None
        self.tcpdump = tcpdump
        self.counts = CaptureCounts()
        self._proc: subprocess.Popen[bytes] | None = None
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stderr_tail: list[str] = []
        self._file: IO[bytes] | None = None

    def argv(self) -> list[str]:
        """The command line, as an argument list."""
        command = [self.tcpdump, "-i", self.interface, "-w", "-", "-U", "--immediate-mode",
                   "-n", "-s", "262144", "-B", str(CAPTURE_BUFFER_KIB)]
        if self.netns:
            return ["ip", "netns", "exec", self.netns, *command]
        return command

    def start(self) -> None:
        """Start tcpdump and wait until it listens; CaptureError if it cannot."""
        if self.write_pcap is not None:
            self.write_pcap.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.write_pcap, "wb")
        try:
            self._proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        except OSError as exc:
            raise CaptureError(f"cannot run {self.argv()[0]}: {exc.strerror}; "
                               "install tcpdump (apt-get install tcpdump)") from exc
        self._threads = [threading.Thread(target=self._pump_stdout, daemon=True),
                         threading.Thread(target=self._pump_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()
        if not self._wait_listening():
            self._kill()
            tail = " / ".join(self._stderr_tail[-3:]) or "no message"
            raise CaptureError(f"tcpdump on {self.interface} did not start: {tail}; check "
                               "the interface name (and --netns) and that you are root")
        log.info("capturing on %s%s", self.interface,
                 f" in namespace {self.netns}" if self.netns else "")

    def take(self) -> bytes:
        """The bytes received since the last call."""
        with self._lock:
            chunks, self._chunks = self._chunks, []
        return b"".join(chunks)

    def request_counts(self) -> None:
        """Ask tcpdump to print its counters (read back into ``counts``)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGUSR1)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, *, grace_s: float = STOP_GRACE_S) -> None:
        """Give tcpdump ``grace_s`` to catch up, stop it, drain the pipe."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            time.sleep(grace_s)
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("tcpdump did not exit on SIGINT within %.0f s; killing it",
                            EXIT_TIMEOUT_S)
                self._kill()
        for thread in self._threads:
            thread.join(timeout=EXIT_TIMEOUT_S)
        if self._file is not None:
            self._file.close()
        log.info("tcpdump stopped: %d captured, %d dropped by kernel",
                 self.counts.captured, self.counts.dropped_by_kernel)

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._listening.wait(timeout=0.05):
                return True
            if self._proc is not None and self._proc.poll() is not None:
                for thread in self._threads:
                    thread.join(timeout=1.0)
                return False
        return False

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=EXIT_TIMEOUT_S)

    def _pump_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        while chunk := stream.read1(_READ_BYTES):  # type: ignore[attr-defined]
            if self._file is not None:
                self._file.write(chunk)
                self._file.flush()
            with self._lock:
                self._chunks.append(chunk)

    def _pump_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if "listening on" in line:
                self._listening.set()
            self._read_count(line)
            self._stderr_tail = (self._stderr_tail + [line])[-10:]
            log.debug("tcpdump: %s", line)

    def _read_count(self, line: str) -> None:
        for number, what in _COUNT_RE.findall(line):
            if what == "captured":
                self.counts.captured = int(number)
            elif what == "received by filter":
                self.counts.received = int(number)
            else:
                self.counts.dropped_by_kernel = int(number)


def interface_rx_dropped(interface: str, netns: str | None = None) -> int | None:
    """The interface's receive drop counter (``ip -s -j link``), None if unreadable."""
    argv = ["ip", *(["-n", netns] if netns else []), "-s", "-j", "link", "show", "dev",
            interface]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
        links = json.loads(done.stdout) if done.returncode == 0 else []
        return int(links[0]["stats64"]["rx"]["dropped"])
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, IndexError):
        return None
