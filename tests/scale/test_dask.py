"""Detection and training on a local Dask cluster give the single-process results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import polars as pl
import pytest

pytest.importorskip("distributed")

from twinai.detect import detect  # noqa: E402
from twinai.flows.meter import meter_files  # noqa: E402
from twinai.folds.bundle import FEATURE_SETS, FOLDS, feature_matrix, load_bundle  # noqa: E402
from twinai.folds.estimators import FoldClassifier  # noqa: E402
from twinai.folds.train import train_bundle  # noqa: E402
from twinai.scale import connect, detect_many, train_on_dask  # noqa: E402

CAPTURES = {
    "ndpi/synscan.pcap": ("scan/tcp-syn", "src_ip", "172.16.0.8"),
    "stopddos/amp.UDP.snmp.src161.pcapng": ("ddos/udp-amplification", "dst_ip", "10.10.10.10"),
    "stopddos/amp.TCP.reflection.SYNACK.pcap": ("ddos/tcp-synack", "dst_ip", "10.10.10.10"),
    "ndpi/iphone.pcap": ("benign", None, None),
    "ndpi/android.pcap": ("benign", None, None),
}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with connect(processes=False, workers=2) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def labelled(shared_data: Path) -> pl.DataFrame:
    parts = []
    for name, (label, column, host) in CAPTURES.items():
        flows = meter_files([shared_data / name])
        tag = pl.lit(label) if column is None else pl.when(pl.col(column) == host).then(
            pl.lit(label)).otherwise(pl.lit("benign"))
        parts.append(flows.with_columns(tag.alias("label"), pl.lit(name).alias("run_id")))
    return pl.concat(parts, how="diagonal_relaxed")


@pytest.fixture(scope="module")
def bundle_dir(labelled: pl.DataFrame, tmp_path_factory: Any) -> Path:
    out = tmp_path_factory.mktemp("scale") / "bundle"
    train_bundle(labelled, out, split="random")
    return out


def test_captures_judged_on_the_cluster_match_detect_run_alone(
        client: Any, shared_data: Path, bundle_dir: Path) -> None:
    captures = [shared_data / "ndpi/synscan.pcap",
                shared_data / "stopddos/amp.UDP.snmp.src161.pcapng",
                shared_data / "ndpi/iphone.pcap"]

    results = detect_many(captures, client, model=bundle_dir)

    assert [r.capture for r in results] == [str(p) for p in captures]
    for path, result in zip(captures, results):
        alone = detect([path], model=bundle_dir)
        assert result.verdicts.equals(alone.verdicts())
        assert result.alerts == alone.eve()
    assert "172.16.0.8" in results[0].summary["scanners"]


def test_folds_trained_on_partitions_agree_with_a_single_process_fit(
        client: Any, labelled: pl.DataFrame, tmp_path: Path) -> None:
    # One Parquet file per capture, as `twinai flows` writes them: most
    # partitions hold one or two classes only.
    dataset = tmp_path / "flows"
    dataset.mkdir()
    for k, (_, part) in enumerate(labelled.group_by("run_id", maintain_order=True)):
        part.drop("run_id").write_parquet(dataset / f"part-{k}.parquet")

    bundle = load_bundle(train_on_dask(dataset, tmp_path / "bundle", client))
    served = bundle.predict(labelled, explain=False)

    matrix = feature_matrix(labelled, FEATURE_SETS["capture"])
    labels = labelled["label"].to_numpy().astype(str)
    for fold, family in FOLDS.items():
        alone = FoldClassifier(family=family).fit(matrix, labels).predict(matrix)
        on_dask = (served[f"{family}_score"].to_numpy() >= 0.5).astype(np.int64)
        truth = np.char.startswith(labels, f"{family}/").astype(np.int64)
        assert (on_dask == alone).mean() > 0.99, fold
        assert (on_dask == truth).mean() > 0.99, fold


def test_a_class_missing_from_a_partition_trains_on_one_partition(
        client: Any, caplog: pytest.LogCaptureFixture) -> None:
    import dask.dataframe as dd
    import pandas as pd

    from twinai.scale.cluster import _with_target

    features = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) ** 2})
    target = pd.Series([0.0] * 5 + [1.0] + [0.0] * 6)  # the one positive is in partition 0
    frame = dd.from_pandas(features.assign(t=target), npartitions=3)

    X, y = _with_target(frame[["a", "b"]], frame["t"])

    assert X.numblocks == (1, 1) and y.numblocks == (1,)
    np.testing.assert_array_equal(y.compute(), target.to_numpy())
    np.testing.assert_array_equal(X.compute(), features.to_numpy())
    assert "a partition lacks one of the classes [0.0, 1.0]" in caplog.text


def test_a_scheduler_address_without_a_port_is_a_clear_error() -> None:
    from twinai.errors import InputError
    from twinai.scale import connect

    with pytest.raises(InputError, match="cannot reach the Dask scheduler 'garbage'"):
        connect("garbage")
