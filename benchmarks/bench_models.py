"""Time each learner of the model zoo: fit seconds and scoring throughput.

Usage::

    python3 benchmarks/bench_models.py [--data FLOWS] [--models a,b] [--rows N]

Fits fold 2 (DDoS, a detector and a type namer) on the first 75% of the
flows in time order and scores the rest, printing one row per learner. The
default data is the lab dataset, else the CIC-IDS2017 sample in ../shared/data.
Deep learners train on torch and score on ONNX Runtime; both times include
the ONNX export and session start.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from twinai.evaluation import load_datasets
from twinai.folds.bundle import FEATURE_SETS, choose_feature_set, feature_matrix
from twinai.folds.estimators import LEARNERS, FoldClassifier

REPO = Path(__file__).resolve().parents[1]
_LAB = REPO / "data" / "lab" / "dataset.parquet"
_CIC = REPO.parent / "shared" / "data" / "cicids2017-improved"


def _default_data() -> list[str]:
    if _LAB.exists():
        return [str(_LAB)]
    return [str(p) for p in sorted(_CIC.glob("*.csv"))]


def _bench(name: str, X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    cut = int(0.75 * X.shape[0])
    started = time.perf_counter()
    fold = FoldClassifier(family="ddos", learner=name).fit(X[:cut], labels[:cut])
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    fold.predict_proba(X[cut:])
    return fit_s, (X.shape[0] - cut) / max(time.perf_counter() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="*", default=None)
    parser.add_argument("--models", default=",".join(LEARNERS))
    parser.add_argument("--rows", type=int, default=0, help="use only the first N flows")
    args = parser.parse_args()

    flows = pl.concat(list(load_datasets(args.data or _default_data()).values()),
                      how="diagonal_relaxed")
    if args.rows:
        flows = flows.head(args.rows)
    feature_set = choose_feature_set(flows.columns)
    X = feature_matrix(flows, FEATURE_SETS[feature_set])
    labels = flows["label"].cast(pl.Utf8).fill_null("benign").to_numpy().astype(str)
    print(f"{flows.height} flows, {X.shape[1]} {feature_set} features")
    print(f"{'learner':<22}{'fit s':>10}{'score flows/s':>16}")
    for name in args.models.split(","):
        fit_s, rate = _bench(name, X, labels)
        print(f"{name:<22}{fit_s:>10.1f}{rate:>16,.0f}")


if __name__ == "__main__":
    main()
