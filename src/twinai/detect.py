"""The main job: captures (or flow logs) in, verdicts and alerts out.

capture -> flows -> features -> fold 1 and fold 2 -> per-flow verdicts ->
signatures -> alerts per host. The same function serves the CLI, the web
console and the benchmarks.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from twinai.alerts.eve import to_eve
from twinai.alerts.rollup import Alert, rollup
from twinai.alerts.signatures import match_signatures
from twinai.capture.reader import capture_files
from twinai.errors import InputError
from twinai.flows.direction import direction_of, in_networks, parse_home_net
from twinai.flows.io import TABLE_SUFFIXES, read_table
from twinai.flows.meter import MeterReport, meter_files
from twinai.folds.bundle import ModelBundle, load_bundle

__all__ = ["DetectionResult", "detect", "load_flows", "explain_alerts", "is_capture_input",
           "check_inputs", "VERDICT_COLUMNS"]

log = logging.getLogger(__name__)

VERDICT_COLUMNS = ("flow_id", "src_ip", "src_port", "dst_ip", "dst_port", "protocol",
                   "first_seen_us", "last_seen_us", "direction", "scan_score", "ddos_score",
                   "verdict", "attack_type", "signature")


@dataclass
class DetectionResult:
    """Everything one detection run produced."""

    flows: pl.DataFrame
    predictions: pl.DataFrame
    alerts: list[Alert]
    model: str
    meter: MeterReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def eve(self, action: str = "allowed") -> list[dict[str, Any]]:
        return [to_eve(a, model=self.model, action=action) for a in self.alerts]

    def verdicts(self) -> pl.DataFrame:
        """Per-flow verdicts: the flow key, both fold scores, the verdict."""
        joined = pl.concat([self.flows, self.predictions], how="horizontal")
        return joined.select([c for c in VERDICT_COLUMNS if c in joined.columns])

    def summary(self) -> dict[str, Any]:
        counts = self.predictions["verdict"].value_counts() if self.predictions.height else None
        by_verdict = {r[0]: int(r[1]) for r in counts.iter_rows()} if counts is not None else {}
        return {
            "flows": self.flows.height,
            "verdicts": by_verdict,
            "scanners": sorted({a.src_ip for a in self.alerts if a.fold == "prevention"}),
            "flood_victims": sorted({a.dest_ip for a in self.alerts if a.fold == "detection"}),
            "compromised": sorted({a.compromised["device"] for a in self.alerts if a.compromised}),
            "alerts": len(self.alerts),
            "seconds": round(sum(self.seconds.values()), 3),
        }


def _is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def load_flows(inputs: list[str | os.PathLike[str]], *, home_net: list[str] | None = None,
               report: MeterReport | None = None) -> pl.DataFrame:
    """Captures, flow tables or flow logs -> one flow table.

    Flow tables written by ``twinai flows`` are read as they are; other CSVs
    and Zeek logs go through the public-dataset importers.
    """
    paths = check_inputs(inputs)
    captures = [p for p in paths if is_capture_input(p)]
    others = [p for p in paths if p not in captures]
    tables: list[pl.DataFrame] = []
    if captures:
        tables.append(meter_files(capture_files(captures), home_net=home_net, report=report))
    for path in others:
        tables.append(_read_flow_file(path, home_net))
    if len(tables) == 1:
        return tables[0]
    return pl.concat(tables, how="diagonal_relaxed").with_row_index("flow_id").with_columns(
        pl.col("flow_id").cast(pl.Int64))


def check_inputs(inputs: list[str | os.PathLike[str]]) -> list[Path]:
    """The inputs as paths; InputError naming the first that does not exist."""
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    return paths


def is_capture_input(path: Path) -> bool:
    """A folder, or a file that is neither a flow table nor a flow log."""
    return path.is_dir() or not (_is_table(path) or _is_flow_log(path))


def _is_flow_log(path: Path) -> bool:
    try:
        from twinai.datasets import is_flow_log
    except ImportError:  # importers not installed in this build
        return False
    return bool(is_flow_log(path))


def _read_flow_file(path: Path, home_net: list[str] | None) -> pl.DataFrame:
    if _is_table(path):
        table = read_table(path)
        if "flow_id" in table.columns and "orig_pkts" in table.columns:
            return table
    from twinai.datasets import import_dataset

    table = import_dataset(path).flows
    if "flow_id" not in table.columns:
        table = table.with_row_index("flow_id").with_columns(pl.col("flow_id").cast(pl.Int64))
    return _with_direction(table, home_net)


def _with_direction(table: pl.DataFrame, home_net: list[str] | None) -> pl.DataFrame:
    """Direction of imported flows, when they carry addresses."""
    if "src_ip" not in table.columns or table["src_ip"].null_count() == table.height:
        return table.with_columns(pl.lit("external").alias("direction"))
    import ipaddress

    import numpy as np

    nets = parse_home_net(home_net)

    def halves(column: str) -> tuple[np.ndarray, np.ndarray]:
        hi, lo = [], []
        for text in table[column].fill_null("0.0.0.0").to_list():
            try:
                value = ipaddress.ip_address(text)
            except ValueError:
                value = ipaddress.ip_address("0.0.0.0")
            number = int(value) | (0xFFFF00000000 if value.version == 4 else 0)
            hi.append(number >> 64)
            lo.append(number & ((1 << 64) - 1))
        return np.array(hi, np.uint64), np.array(lo, np.uint64)

    src = in_networks(*halves("src_ip"), nets)
    dst = in_networks(*halves("dst_ip"), nets)
    return table.with_columns(pl.Series("direction", direction_of(src, dst).tolist(), dtype=pl.Utf8))


def explain_alerts(alerts: list[Alert], flows: pl.DataFrame, bundle: ModelBundle) -> None:
    """Give each alert the features behind the score of the flow it cites."""
    if not alerts or "flow_id" not in flows.columns:
        return
    ids = flows["flow_id"].to_numpy()
    for alert in alerts:
        rows = (ids == alert.flow_id).nonzero()[0]
        if rows.size == 0:
            continue
        text = bundle.explain(flows[int(rows[0]):int(rows[0]) + 1], alert.fold)[0]
        if text:
            import json

            alert.reasons = json.loads(text)


def detect(inputs: list[str | os.PathLike[str]] | pl.DataFrame, *,
           home_net: list[str] | None = None,
           model: str | os.PathLike[str] | ModelBundle | None = None) -> DetectionResult:
    """Run both folds over captures, flow files or a ready flow table."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model)
    seconds["load model"] = time.perf_counter() - started

    report = MeterReport()
    started = time.perf_counter()
    if isinstance(inputs, pl.DataFrame):
        flows = inputs
    else:
        flows = load_flows(list(inputs), home_net=home_net, report=report)
    seconds["flows"] = time.perf_counter() - started

    started = time.perf_counter()
    predictions = bundle.predict(flows, explain=False)
    seconds["folds"] = time.perf_counter() - started

    started = time.perf_counter()
    signatures = match_signatures(flows)
    predictions = predictions.with_columns(pl.Series("signature", signatures.tolist(), dtype=pl.Utf8))
    alerts = rollup(flows, predictions, signatures)
    explain_alerts(alerts, flows, bundle)
    seconds["alerts"] = time.perf_counter() - started

    log.info("detect: %d flows, %d alerts", flows.height, len(alerts))
    return DetectionResult(flows=flows, predictions=predictions, alerts=alerts,
                           model=bundle.name, meter=report if report.files else None,
                           seconds=seconds)
