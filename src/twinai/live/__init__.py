"""Live watching: a network interface judged as it speaks, attackers blocked.

The offline stages run unchanged on live traffic: tcpdump's pcap stream is
walked and decoded by the capture code (:mod:`.stream`), held packets are
re-metered into the flow table each tick (:mod:`.flows`), changed flows are
scored by the folds and rolled up into alerts (:mod:`.detector`,
:mod:`.book`), and the responder blocks. :class:`Watch` is the loop around
them (``twinai watch``).
"""

from twinai.live.book import GROWTH_FACTOR, AlertBook, BlockMark, LiveAlert
from twinai.live.capture import CaptureCounts, TcpdumpCapture, interface_rx_dropped
from twinai.live.detector import DetectorStats, LiveDetector, warm_up
from twinai.live.flows import FLOW_KEY, MAX_RETAINED_PACKETS, FlowTick, LiveFlows
from twinai.live.stream import PcapStream
from twinai.live.watch import DEFAULT_STATS_INTERVAL_S, DEFAULT_TICK_S, Watch, WatchStats

__all__ = [
    "DEFAULT_STATS_INTERVAL_S",
    "DEFAULT_TICK_S",
    "FLOW_KEY",
    "GROWTH_FACTOR",
    "MAX_RETAINED_PACKETS",
    "AlertBook",
    "BlockMark",
    "CaptureCounts",
    "DetectorStats",
    "FlowTick",
    "LiveAlert",
    "LiveDetector",
    "LiveFlows",
    "PcapStream",
    "TcpdumpCapture",
    "Watch",
    "WatchStats",
    "interface_rx_dropped",
    "warm_up",
]
