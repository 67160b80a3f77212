"""The live loop of ``twinai watch``: capture, judge every tick, report, stop cleanly.

:class:`Watch` joins a :class:`~twinai.live.capture.TcpdumpCapture` and a
:class:`~twinai.live.detector.LiveDetector`. Its loop:

1. every ``tick_s``, take the bytes tcpdump wrote and run a detector tick;
2. every ``stats_interval_s``, ask tcpdump for its drop counts, read the
   interface's drop counter, and report a :class:`WatchStats`;
3. when ``stop`` is set (SIGINT/SIGTERM in the CLI) or ``duration_s`` has
   passed: stop tcpdump after its grace, judge what it still had, emit the
   final alert records and return the summary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from twinai.live.capture import TcpdumpCapture, interface_rx_dropped
from twinai.live.detector import DetectorStats, LiveDetector

__all__ = ["DEFAULT_TICK_S", "DEFAULT_STATS_INTERVAL_S", "Watch", "WatchStats"]

log = logging.getLogger(__name__)

# A tick every 0.25 s: a scanner at nmap -T4's ~300 probes/s gets at most
# ~75 probes in before it is first looked at; a tick on a quiet home network
# costs a few milliseconds, so a shorter one buys little but CPU.
DEFAULT_TICK_S = 0.25

# Often enough to notice a capture that drops, rarely enough not to flood logs.
DEFAULT_STATS_INTERVAL_S = 10.0


@dataclass
class WatchStats:
    """The periodic stats line: the detector's counters plus the capture's."""

    seconds: float
    detector: DetectorStats
    captured: int  # tcpdump: packets written
    dropped_by_kernel: int  # tcpdump: lost in the capture buffer
    interface_rx_dropped: int | None  # the interface's own receive drops since start

    def line(self) -> str:
        d = self.detector
        rx = "?" if self.interface_rx_dropped is None else str(self.interface_rx_dropped)
        return (f"{self.seconds:.0f} s: {d.packets} packets seen, {self.dropped_by_kernel} "
                f"dropped by kernel (interface rx_dropped {rx}), {d.flows_held} flows held "
                f"({d.flows_seen} seen), {d.alerts} alerts, {d.blocks} blocks"
                f"{f', {d.block_failures} failed' if d.block_failures else ''}; "
                f"tick {d.last_tick_ms:.0f} ms (max {d.max_tick_ms:.0f})")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Watch:
    """Watch one interface until told to stop (see the module docstring).

    Parameters
    ----------
    capture : TcpdumpCapture
        Where the packets come from (not started yet).
    detector : LiveDetector
        Who judges them.
    tick_s, stats_interval_s : float
        Loop periods.
    on_stats : callable or None
        Called with each :class:`WatchStats` (also logged at INFO).
    on_ready : callable or None
        Called once tcpdump listens.
    """

    def __init__(self, capture: TcpdumpCapture, detector: LiveDetector, *,
                 tick_s: float = DEFAULT_TICK_S,
                 stats_interval_s: float = DEFAULT_STATS_INTERVAL_S,
                 on_stats: Callable[[WatchStats], None] | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
        if tick_s <= 0 or stats_interval_s <= 0:
            raise ValueError(f"tick_s and stats_interval_s must be > 0, got {tick_s} "
                             f"and {stats_interval_s}")
        self.capture = capture
        self.detector = detector
        self.tick_s = tick_s
        self.stats_interval_s = stats_interval_s
        self.on_stats = on_stats
        self.on_ready = on_ready
        self.ready = threading.Event()  # set once tcpdump listens
        self._started = 0.0
        self._rx_dropped_at_start: int | None = None

    def run(self, stop: threading.Event, *, duration_s: float | None = None) -> WatchStats:
        """Capture and judge until ``stop`` is set or ``duration_s`` passed."""
        self._rx_dropped_at_start = self._rx_dropped()
        self.capture.start()
        self._started = time.monotonic()
        self.ready.set()
        if self.on_ready is not None:
            self.on_ready()
        try:
            self._loop(stop, duration_s)
        finally:
            self.capture.stop()
        self.detector.feed(self.capture.take())
        self.detector.finish()
        final = self.stats()
        log.info("watch stopped: %s", final.line())
        return final

    def stats(self) -> WatchStats:
        """The counters now (tcpdump's as of its last report)."""
        rx_now = self._rx_dropped()
        rx = None if rx_now is None or self._rx_dropped_at_start is None \
            else rx_now - self._rx_dropped_at_start
        return WatchStats(
            seconds=time.monotonic() - self._started,
            detector=self.detector.stats(),
            captured=self.capture.counts.captured,
            dropped_by_kernel=self.capture.counts.dropped_by_kernel,
            interface_rx_dropped=rx,
        )

    def _loop(self, stop: threading.Event, duration_s: float | None) -> None:
        next_stats = self._started + self.stats_interval_s
        deadline = None if duration_s is None else self._started + duration_s
        while not stop.wait(self.tick_s):
            self.detector.feed(self.capture.take())
            self.detector.tick()
            now = time.monotonic()
            if now >= next_stats:
                self._report()
                next_stats = now + self.stats_interval_s
            if deadline is not None and now >= deadline:
                return
            if not self.capture.running:
                log.error("tcpdump exited on its own; stopping the watch")
                return

    def _report(self) -> None:
        self.capture.request_counts()  # read back before the next report
        stats = self.stats()
        log.info("%s", stats.line())
        if self.on_stats is not None:
            self.on_stats(stats)

    def _rx_dropped(self) -> int | None:
        return interface_rx_dropped(self.capture.interface, self.capture.netns)
