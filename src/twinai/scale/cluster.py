"""Dask clusters for TwinAI: many captures judged in parallel, folds trained on partitions.

Captures are independent units of work: each is metered and judged on one
worker exactly as ``twinai detect CAPTURE`` would (host windows never span two
captures, since two captures rarely share a clock or a sensor). Training reads
a partitioned flow dataset (a folder of Parquet files written by ``twinai
flows`` plus a ``label`` column) as a Dask dataframe and fits each fold's
LightGBM detector and type namer with ``lightgbm.dask``: each worker holds
only its partitions.

Notes
-----
Distributed LightGBM builds its histograms from every worker's rows, so the
trees differ slightly from a single-process fit on the same rows; verdicts
agree on nearly every flow (see tests/scale), not bit for bit.

Each worker label-encodes the classes it holds, and the model handed back is
one worker's: a worker whose partitions lack a class trains against codes
that mean something else on the others (LightGBM issue #2419), and its model
may know one class only. A flow dataset written capture by capture is
exactly that (a scan capture, a benign capture). So rows are first dealt to
the partitions at random, and a fit whose partitions still miss a class
(a type of a few flows) runs on one partition instead.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from twinai.errors import InputError, ModelError
from twinai.folds.bundle import FEATURE_SETS, FOLDS, ModelBundle
from twinai.folds.estimators import FoldClassifier, make_learner

__all__ = ["CaptureVerdicts", "connect", "detect_many", "train_on_dask"]

log = logging.getLogger(__name__)

# Two workers of one thread each: the cores of the machines this project
# targets; a real cluster is given by address instead.
LOCAL_WORKERS = 2
# Seconds to wait for a scheduler given by address before saying it is not there.
CONNECT_TIMEOUT_S = 10

# The hidden column that deals rows to partitions at random.
_ROW_KEY = "_twinai_row_key"


@dataclass
class CaptureVerdicts:
    """What one worker found in one capture."""

    capture: str
    verdicts: pl.DataFrame
    alerts: list[dict[str, Any]]
    summary: dict[str, Any]


def connect(scheduler: str | None = None, *, processes: bool = True,
            workers: int = LOCAL_WORKERS) -> Any:
    """A Dask client: on ``scheduler`` (``tcp://host:8786``) or on a new local cluster."""
    from distributed import Client

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler!r}: {exc} "
                             "(give tcp://HOST:PORT of a running `dask scheduler`)") from None
    # A client that starts its own cluster also stops it when closed.
    return Client(n_workers=workers, threads_per_worker=1, processes=processes,
                  dashboard_address=None)


def _judge_capture(path: str, home_net: list[str] | None, model: str | None) -> CaptureVerdicts:
    from twinai.detect import detect

    result = detect([path], home_net=home_net, model=model)
    return CaptureVerdicts(capture=path, verdicts=result.verdicts(), alerts=result.eve(),
                           summary=result.summary())


def detect_many(captures: list[str | os.PathLike[str]], client: Any, *,
                home_net: list[str] | None = None,
                model: str | os.PathLike[str] | None = None) -> list[CaptureVerdicts]:
    """Judge each capture on a worker; results in the order of ``captures``.

    Every worker must see the capture paths and the model bundle (a shared
    file system, or the same paths on each machine).
    """
    from twinai.capture.reader import capture_files

    files = [str(p) for p in capture_files(list(captures))]
    if not files:
        raise InputError("no capture files found in the given inputs")
    futures = client.map(_judge_capture, files, home_net=home_net,
                         model=str(model) if model else None, pure=False)
    results: list[CaptureVerdicts] = client.gather(futures)
    return results


def _flow_frame(dataset: str | os.PathLike[str], feature_set: str) -> Any:
    import dask.dataframe as dd

    path = Path(dataset)
    if not path.exists():
        raise InputError(f"{path}: no such flow dataset (a folder of .parquet flow tables)")
    frame = dd.read_parquet(str(path))
    missing = [c for c in (*FEATURE_SETS[feature_set], "label") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the flow dataset lacks the columns {', '.join(missing[:5])}")
    return frame


def _dask_learner(client: Any, seed: int) -> Any:
    from lightgbm.dask import DaskLGBMClassifier

    params = make_learner("lightgbm", random_state=seed).get_params()
    params.pop("n_jobs", None)
    return DaskLGBMClassifier(client=client, **params)


class NamedClasses:
    """A classifier fitted on class codes 0..k-1 that answers with the names.

    Types are coded as numbers so that features and target travel in one
    Dask array (two collections may be partitioned differently, misaligning
    rows).
    """

    def __init__(self, model: Any, names: list[str]) -> None:
        self.model = model
        self.names = np.array(names, dtype=object)

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.model.predict(X)).astype(np.int64)
        return self.names[codes]


def _with_target(features: Any, target: Any) -> tuple[Any, Any]:
    """Features and target as row-aligned Dask arrays, cut from one array.

    When a block of the target lacks one of the classes, both come back as
    one block: LightGBM then trains on one worker, but on the right codes.
    """
    both = features.assign(_target=target).to_dask_array(lengths=True)
    X, y = both[:, :-1], both[:, -1]
    present = [set(np.unique(block).tolist()) for block in _computed_blocks(y)]
    classes = set().union(*present)
    if len(present) > 1 and any(block != classes for block in present):
        log.warning("a partition lacks one of the classes %s; fitting on one partition",
                    sorted(classes))
        X, y = X.rechunk({0: X.shape[0]}), y.rechunk(y.shape[0])
    return X, y


def _computed_blocks(array: Any) -> list[np.ndarray]:
    """The blocks of a 1-D Dask array, computed."""
    import dask

    return list(dask.compute(*array.to_delayed().ravel().tolist()))


def _row_keys(part: Any, seed: int, partition_info: dict[str, Any] | None = None) -> Any:
    number = partition_info["number"] if partition_info else 0
    rng = np.random.default_rng([seed, number])
    return part.assign(**{_ROW_KEY: rng.random(len(part))})


def _dealt_at_random(frame: Any, seed: int) -> Any:
    """The rows of ``frame`` spread over as many partitions at random (see Notes)."""
    meta = frame._meta.assign(**{_ROW_KEY: np.float64(0.0)})
    keyed = frame.map_partitions(_row_keys, seed, meta=meta)
    return keyed.shuffle(on=_ROW_KEY, npartitions=frame.npartitions).drop(columns=_ROW_KEY)


def _check_classes(model: Any, expected: int, what: str) -> Any:
    """``model`` (a local LightGBM classifier) if it knows all ``expected`` classes."""
    if len(model.classes_) != expected:
        raise ModelError(
            f"{what}: the Dask-trained model knows the classes {list(model.classes_)}, "
            f"expected {expected}; repartition the flow dataset so that every "
            "partition holds flows of each class")
    return model


def _fit_fold(client: Any, frame: Any, names: tuple[str, ...], family: str,
              seed: int) -> FoldClassifier:
    """One fold's detector and type namer, fitted on the workers."""
    features = frame[list(names)].astype("float64").fillna(0.0)
    labels = frame["label"].astype(str)
    positive = labels.str.startswith(f"{family}/")
    X, y = _with_target(features, positive.astype("float64"))
    detector = _check_classes(_dask_learner(client, seed).fit(X, y.astype("int64")).to_local(),
                              2, f"fold {family} detector")

    types = labels[positive].str.split("/", n=1).str[1]
    kinds = sorted(types.unique().compute().tolist())
    namer = None
    if len(kinds) > 1:
        codes = types.map({kind: float(k) for k, kind in enumerate(kinds)}, meta=("t", "f8"))
        Xp, yp = _with_target(features[positive], codes)
        local = _dask_learner(client, seed).fit(Xp, yp.astype("int64")).to_local()
        namer = NamedClasses(_check_classes(local, len(kinds), f"fold {family} namer"), kinds)
    fold = FoldClassifier(family=family, learner="lightgbm", random_state=seed)
    fold.detector_, fold.namer_, fold.types_ = detector, namer, kinds
    fold.classes_ = np.array([0, 1])
    fold.n_features_in_ = len(names)
    return fold


def train_on_dask(dataset: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                  client: Any, *, seed: int = 0) -> Path:
    """Fit both folds on a partitioned flow dataset and save a model bundle.

    Trains on every row (no held-out split: measure the bundle afterwards
    with ``twinai train`` on a sample, or on a separate dataset).
    """
    folds: dict[str, dict[str, FoldClassifier]] = {fold: {} for fold in FOLDS}
    rows = 0
    for feature_set, names in FEATURE_SETS.items():
        try:
            frame = _flow_frame(dataset, feature_set)
        except InputError:
            if feature_set == "capture":
                log.info("%s: no capture features; training the universal set only", dataset)
                continue
            raise
        frame = _dealt_at_random(frame, seed).persist()
        rows = int(frame.shape[0].compute())
        for fold, family in FOLDS.items():
            folds[fold][feature_set] = _fit_fold(client, frame, names, family, seed)
    bundle = ModelBundle(folds=folds, meta={
        "name": Path(out_dir).name, "split": "none", "models": ["lightgbm"],
        "serving_model": "lightgbm", "train_rows": rows, "test_rows": 0,
        "trained_on": "dask", "dataset": str(dataset),
    })
    return bundle.save(out_dir)
