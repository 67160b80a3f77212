"""ModelBundle.predict scores groups of flows once; the result must be the
same as scoring every flow on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from twinai.flows.meter import meter_files
from twinai.folds.bundle import (
    FEATURE_SETS,
    FLOW_SCORE_THRESHOLD,
    FOLDS,
    ModelBundle,
    _distinct_keys,
    feature_matrix,
    load_bundle,
)
from twinai.folds.estimators import FoldClassifier

_FAMILY_OF_FOLD = {"prevention": "scan", "detection": "ddos"}


@pytest.fixture(scope="module")
def flood_and_scan(shared_data: Path) -> pl.DataFrame:
    return pl.concat([meter_files([shared_data / "stopddos" / "amp.UDP.snmp.src161.pcapng"]),
                      meter_files([shared_data / "ndpi" / "synscan.pcap"])],
                     how="diagonal_relaxed")


def _assert_same_as_flow_by_flow(bundle: ModelBundle, flows: pl.DataFrame) -> None:
    out = bundle.predict(flows, explain=False)
    feature_set = out["feature_set"][0]
    matrix = feature_matrix(flows, FEATURE_SETS[feature_set])
    for fold in FOLDS:
        family = _FAMILY_OF_FOLD[fold]
        model = bundle.folds[fold][feature_set]
        score = model.predict_proba(matrix)[:, 1]
        np.testing.assert_array_equal(out[f"{family}_score"].to_numpy(), score)
        shown = score >= FLOW_SCORE_THRESHOLD
        types = out[f"{family}_type"].to_numpy()
        assert types[shown].tolist() == model.attack_types(matrix[shown]).tolist()
        assert out[f"{family}_type"].filter(pl.Series(~shown)).null_count() == int((~shown).sum())


def test_shipped_bundle_groups_flows_without_changing_a_score(flood_and_scan: pl.DataFrame) -> None:
    bundle = load_bundle()
    thresholds = bundle._split_thresholds("capture")
    assert thresholds is not None
    assert sum(t.size for t in thresholds) > 100
    _assert_same_as_flow_by_flow(bundle, flood_and_scan)


def test_universal_features_group_the_same_way(flood_and_scan: pl.DataFrame) -> None:
    bundle = load_bundle()
    universal = flood_and_scan.select(FEATURE_SETS["universal"])
    _assert_same_as_flow_by_flow(bundle, universal)


def test_other_learners_group_by_exact_rows(labelled_flows: pl.DataFrame) -> None:
    matrix = feature_matrix(labelled_flows, FEATURE_SETS["capture"])
    labels = labelled_flows["label"].to_numpy().astype(str)
    folds = {fold: {"capture": FoldClassifier(family=family, learner="decision-tree")
                    .fit(matrix, labels)}
             for fold, family in _FAMILY_OF_FOLD.items()}
    bundle = ModelBundle(folds=folds)
    assert bundle._split_thresholds("capture") is None
    _assert_same_as_flow_by_flow(bundle, labelled_flows)


def test_rows_that_share_a_hash_stay_apart() -> None:
    # Two key columns (a, b) hash as ((offset ^ a) * P ^ b) * P: pick b so that
    # rows (0, 0) and (1, b) collide.
    offset = np.array([0xCBF29CE484222325], dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    b = int(((offset * prime) ^ ((offset ^ np.uint64(1)) * prime))[0])
    a_column = np.array([0, 1, 0, 1], dtype=np.uint64)
    b_column = np.array([0, b, 0, b], dtype=np.uint64)
    first, inverse = _distinct_keys([a_column, b_column])
    assert len(first) == 2
    assert inverse[0] == inverse[2] != inverse[1] == inverse[3]
