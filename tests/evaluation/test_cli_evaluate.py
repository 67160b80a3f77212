"""``twinai evaluate`` on a small table of public flows: report, sections, plots."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from twinai.cli.main import cli
from twinai.datasets import import_dataset
from twinai.errors import InputError
from twinai.evaluation import RANDOM_SPLIT_WARNING

_CIC = ("BENIGN_5000.csv", "DDoS_5000.csv", "Portscan_5000.csv")
_ZEEK = "stratosphere/008-zeek-mixed/data/conn.log.labeled"
# Rows kept per CIC file and runs cut from each: small enough for seconds of
# training, enough runs that a run split holds out every class.
_ROWS_PER_FILE = 400
_RUNS_PER_FILE = 8

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_table(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIC-IDS2017 flows with runs cut as blocks of consecutive flows of one file."""
    parts = []
    for name in _CIC:
        flows = import_dataset(shared_data / "cicids2017-improved" / name).flows
        flows = flows.sort("first_seen_us").head(_ROWS_PER_FILE)
        run = (pl.int_range(pl.len()) * _RUNS_PER_FILE // pl.len()).cast(pl.Utf8)
        parts.append(flows.with_columns((pl.lit(name + "-") + run).alias("run_id")))
    path = tmp_path_factory.mktemp("table") / "flows.parquet"
    pl.concat(parts, how="diagonal_relaxed").write_parquet(path)
    return path


def test_run_split_report_has_every_section_and_plot(small_table: Path, shared_data: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "report"

    result = CliRunner().invoke(cli, [
        "evaluate", "--data", str(small_table), "--models", "lightgbm,naive-bayes,cnn",
        "--cross", str(shared_data / _ZEEK), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "split by run" in result.output
    report = (out / "report.md").read_text()
    for heading in ("## Data and split", "## Two-fold system per model (test rows)",
                    "### Confusion matrices", "## Per fold", "## Per class",
                    "## Two folds against one multi-class classifier", "## Training time",
                    "## Anomaly detector (unknown attacks)",
                    "## Cross-dataset matrix (universal features)"):
        assert heading in report, heading
    assert "**Split: run**" in report
    assert "| naive-bayes |" in report and "| cnn |" in report
    assert "cic-ids2017-distrinet | " in report and "| zeek |" in report
    # The Zeek capture has no DDoS flows: its DDoS cells cannot be scored.
    assert "N/A" in report
    # The CIC table has runs; the Zeek log has none, so its diagonal is a time split.
    assert "Diagonal: cic-ids2017-distrinet: run split, zeek: time split" in report
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["confusion_single_stage.png", "confusion_two_fold.png",
                    "cross_dataset_lightgbm.png", "folds_by_model.png", "metrics_by_model.png",
                    "train_vs_test_accuracy.png", "training_seconds.png",
                    "two_fold_vs_single_stage.png"]
    for png in pngs:
        assert (out / png).read_bytes()[:8] == _PNG_MAGIC
        assert f"]({png})" in report
    assert "<table>" in (out / "report.html").read_text()


def test_random_split_is_named_and_warned_about(small_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"

    result = CliRunner().invoke(cli, ["evaluate", "--data", str(small_table), "--models",
                                      "decision-tree", "--split", "random", "--out", str(out)])

    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "**Split: random**" in report
    assert RANDOM_SPLIT_WARNING in report


def test_unknown_model_is_a_usage_error_naming_the_choices(small_table: Path,
                                                           tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["evaluate", "--data", str(small_table), "--models",
                                      "lightgbm,xgboost", "--out", str(tmp_path / "r")])

    assert result.exit_code == 2
    assert "unknown model 'xgboost'" in result.output
    assert "random-forest" in result.output
    assert not (tmp_path / "r").exists()


def test_table_without_labels_is_refused_naming_the_file(tmp_path: Path) -> None:
    table = tmp_path / "unlabelled.csv"
    pl.DataFrame({"duration_s": [1.0]}).write_csv(table)

    result = CliRunner().invoke(cli, ["evaluate", "--data", str(table), "--out",
                                      str(tmp_path / "r")])

    # main() turns the InputError into one line and exit 2; under CliRunner it surfaces.
    assert isinstance(result.exception, InputError)
    assert "unlabelled.csv: no `label` column" in str(result.exception)


def test_unlabelled_flow_log_is_refused_not_scored_as_benign(shared_data: Path,
                                                              tmp_path: Path) -> None:
    scan_log = shared_data / "stratosphere" / "002-zeek-scenario-port-scanning" / "conn.log"

    result = CliRunner().invoke(cli, ["evaluate", "--data", str(scan_log), "--out",
                                      str(tmp_path / "r")])

    assert isinstance(result.exception, InputError)
    assert "conn.log: every `label` is empty (an unlabelled log)" in str(result.exception)
    assert not (tmp_path / "r").exists()
