"""Every call from the console into the TwinAI library, in one place.

The console never computes flows, features or verdicts itself: it meters
captures, imports flow files, trains and predicts through the functions the
CLI uses. Keeping the call sites here makes the library's interface, and
its absence while parts of it are being written, visible in one module.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from twinai.errors import DatasetError, ModelError
from twinai.flows.schema import UNIVERSAL_COLUMNS

log = logging.getLogger(__name__)

__all__ = [
    "FlowFile",
    "library_status",
    "meter_capture",
    "read_flow_file",
    "load_bundle",
    "predict",
    "train",
    "model_names",
    "describe_bundle",
]

# The library entry points the console relies on, as "module:function".
_ENTRY_POINTS = {
    "meter": "twinai.flows.meter:meter_files",
    "import": "twinai.datasets:import_dataset",
    "bundle": "twinai.folds.bundle:load_bundle",
    "train": "twinai.folds.train:train_bundle",
}


def _entry(name: str) -> Callable[..., Any]:
    """The library function behind ``name``; ModelError when not available."""
    module_name, _, attribute = _ENTRY_POINTS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ModelError(
            f"the library function {_ENTRY_POINTS[name]} is not available ({exc}); "
            "install a TwinAI Defense build that includes it"
        ) from None


def library_status() -> dict[str, bool]:
    """Which library entry points this installation provides."""
    status = {}
    for name in _ENTRY_POINTS:
        try:
            _entry(name)
            status[name] = True
        except ModelError:
            status[name] = False
    return status


@dataclass(frozen=True)
class FlowFile:
    """Flows read from an uploaded file, with what the importer said about it."""

    flows: pl.DataFrame
    report: str


def meter_capture(path: Path, name: str) -> FlowFile:
    """Turn one capture file into the flow table, with the meter's summary."""
    meter_files = _entry("meter")
    from twinai.flows.meter import MeterReport

    report = MeterReport()
    flows: pl.DataFrame = meter_files([str(path)], report=report)
    return FlowFile(flows=flows, report=f"{name}: {report.summary()}")


def read_flow_file(path: Path, fmt: str | None = None) -> FlowFile:
    """Read a flow CSV, Zeek log or Parquet flow table into the flow table.

    Parquet files are flow tables this project wrote (``twinai meter -o``);
    everything else goes through the dataset importers.
    """
    if fmt == "parquet":
        flows = pl.read_parquet(path)
        missing = [c for c in UNIVERSAL_COLUMNS if c not in flows.columns]
        if missing:
            raise DatasetError(
                f"{path.name}: the Parquet file lacks flow-table columns "
                f"{', '.join(missing)}; write it with the TwinAI meter or upload a CSV"
            )
        return FlowFile(flows=flows, report=f"{flows.height} flows read from Parquet")

    import_dataset = _entry("import")
    result = import_dataset(str(path), format=None)
    return FlowFile(flows=result.flows, report=result.report.summary())


_bundle_lock = threading.Lock()
_bundle_cache: dict[str, Any] = {}


def load_bundle(path: str | None) -> Any:
    """The model bundle at ``path`` (None: the shipped default), loaded once."""
    key = path or ""
    with _bundle_lock:
        if key not in _bundle_cache:
            loader = _entry("bundle")
            log.info("loading model bundle %s", path or "(shipped default)")
            _bundle_cache[key] = loader(path)
        return _bundle_cache[key]


def forget_bundle(path: str | None) -> None:
    """Drop a cached bundle, so that the next prediction reloads it from disk."""
    with _bundle_lock:
        _bundle_cache.pop(path or "", None)


def predict(flows: pl.DataFrame, bundle_path: str | None) -> pl.DataFrame:
    """Verdicts, fold scores and reasons for every flow, in input order."""
    bundle = load_bundle(bundle_path)
    verdicts: pl.DataFrame = bundle.predict(flows)
    if verdicts.height != flows.height:
        raise ModelError(
            f"the bundle returned {verdicts.height} verdicts for {flows.height} flows"
        )
    return verdicts


def describe_bundle(path: str | None) -> dict[str, Any]:
    """What a bundle says about itself, for the bundles page and the API."""
    bundle = load_bundle(path)
    meta = bundle.meta
    return {
        "path": path or "(shipped default)",
        "name": bundle.name,
        "created": meta.get("created"),
        "feature_version": meta.get("feature_version"),
        "models": meta.get("models", []),
        "serving_model": meta.get("serving_model"),
        "metrics": meta.get("metrics", []),
    }


# Used when the library does not list its learners.
_FALLBACK_MODELS = ("lightgbm",)


def model_names() -> tuple[str, ...]:
    """Learners train_bundle accepts, as the library lists them."""
    try:
        module = importlib.import_module(_ENTRY_POINTS["train"].partition(":")[0])
    except ImportError:
        return _FALLBACK_MODELS
    for attribute in ("MODEL_NAMES", "MODELS", "LEARNERS"):
        names = getattr(module, attribute, None)
        if names:
            return tuple(str(n) for n in names)
    return _FALLBACK_MODELS


def train(
    flows: pl.DataFrame,
    out_dir: Path,
    models: tuple[str, ...],
    progress: Callable[..., None] | None,
) -> Any:
    """Train and test a bundle on ``flows``, writing it to ``out_dir``."""
    train_bundle = _entry("train")
    return train_bundle(flows, out_dir, models=models, progress=progress)
