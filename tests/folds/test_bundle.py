"""Training writes a bundle that predicts, explains, and refuses a wrong feature list."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from twinai.errors import InputError, ModelError
from twinai.features import UNIVERSAL_FEATURES
from twinai.folds.bundle import ModelBundle, load_bundle
from twinai.folds.train import split_rows, train_bundle


def test_bundle_records_its_features_versions_and_metrics(trained_bundle: ModelBundle) -> None:
    meta = json.loads((trained_bundle.path / "bundle.json").read_text())
    assert meta["feature_version"]
    assert "src_w10s_dst_ports" in meta["features"]["capture"]
    assert "src_ip" not in meta["features"]["capture"]
    assert meta["libraries"]["lightgbm"]
    tests = [m for m in meta["metrics"] if m["split"] == "test"]
    assert {m["fold"] for m in tests} == {"prevention", "detection"}
    capture = {m["fold"]: m for m in tests if m["features"] == "capture"}
    assert capture["prevention"]["f1"] > 0.9
    assert capture["detection"]["f1"] > 0.9


def test_predict_scores_both_folds(trained_bundle: ModelBundle, labelled_flows: pl.DataFrame) -> None:
    sample = labelled_flows.filter(pl.col("label") != "benign").sample(200, seed=1)
    out = trained_bundle.predict(sample)
    assert out.height == 200
    truth = sample["label"].str.split("/").list.first().to_list()
    assert (pl.Series(truth) == out["verdict"]).mean() > 0.9
    explained = out.filter(pl.col("verdict") != "benign")["reasons"].drop_nulls()
    assert explained.len() > 0
    assert {"feature", "value", "contribution"} <= set(json.loads(explained[0])[0])


def test_universal_columns_alone_are_enough(trained_bundle: ModelBundle,
                                           labelled_flows: pl.DataFrame) -> None:
    one = labelled_flows.select(UNIVERSAL_FEATURES).head(3)
    out = trained_bundle.predict(one)
    assert out["feature_set"].to_list() == ["universal"] * 3


def test_missing_columns_are_named(trained_bundle: ModelBundle) -> None:
    with pytest.raises(InputError, match="orig_pkts"):
        trained_bundle.predict(pl.DataFrame({"duration_s": [1.0]}))


def test_a_bundle_for_another_feature_list_is_refused(trained_bundle: ModelBundle,
                                                      tmp_path: Path) -> None:
    copy = tmp_path / "old"
    copy.mkdir()
    for item in trained_bundle.path.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    meta = json.loads((copy / "bundle.json").read_text())
    meta["features"]["capture"] = meta["features"]["capture"][:-1]
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature list differs"):
        load_bundle(copy)
    meta["feature_version"] = "1999.01"
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature version '1999.01'"):
        load_bundle(copy)


def test_a_changed_model_file_is_refused(trained_bundle: ModelBundle, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    copy.mkdir()
    for item in trained_bundle.path.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    (copy / "prevention-capture.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="changed since the bundle was saved"):
        load_bundle(copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="bundle.json missing"):
        load_bundle(tmp_path)


def test_run_split_keeps_each_run_on_one_side(labelled_flows: pl.DataFrame) -> None:
    train, test, used = split_rows(labelled_flows, split="run")
    assert used == "run"
    runs_train = set(labelled_flows[train]["run_id"].to_list())
    runs_test = set(labelled_flows[test]["run_id"].to_list())
    assert runs_train and runs_test and not runs_train & runs_test


def test_labels_outside_the_taxonomy_are_refused(labelled_flows: pl.DataFrame,
                                                 tmp_path: Path) -> None:
    bad = labelled_flows.head(50).with_columns(pl.lit("Malicious").alias("label"))
    with pytest.raises(InputError, match="labels outside the taxonomy: Malicious"):
        train_bundle(bad, tmp_path / "b")


@pytest.mark.parametrize("text", ["{not json", "", "[]"])
def test_a_damaged_bundle_description_is_named(trained_bundle: ModelBundle, tmp_path: Path,
                                               text: str) -> None:
    copy = tmp_path / "damaged"
    copy.mkdir()
    for item in trained_bundle.path.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    (copy / "bundle.json").write_text(text)
    with pytest.raises(ModelError, match=r"bundle\.json: (not valid JSON|holds a list)"):
        load_bundle(copy)


def test_training_without_one_fold_s_family_is_refused(labelled_flows: pl.DataFrame,
                                                       tmp_path: Path) -> None:
    no_scans = labelled_flows.filter(~pl.col("label").str.starts_with("scan/"))
    with pytest.raises(InputError, match=r"0 scan/\.\.\. flows .* fold 'scan' needs both"):
        train_bundle(no_scans, tmp_path / "b")
