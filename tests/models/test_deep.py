"""The deep learners: they learn, scale without peeking, export faithfully and load without torch."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twinai.folds.estimators import FoldClassifier
from twinai.models._training import TrainingPlan, export_onnx, fit_network
from twinai.models.deep import ARCHITECTURES, DeepFlowClassifier
from twinai.models.onnx_scoring import OnnxScorer
from twinai.models.windows import flow_windows

REPO_ROOT = Path(__file__).resolve().parents[2]


def _easy_problem(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Flows whose class shows in the first feature (byte-count-like, heavy-tailed)."""
    rng = np.random.default_rng(seed)
    X = rng.exponential(100.0, size=(rows, 6))
    positive = rng.random(rows) < 0.4
    X[positive, 0] *= 50.0
    return X, positive.astype(np.int64)


def _tiny(architecture: str, **overrides: object) -> DeepFlowClassifier:
    params: dict[str, object] = {"architecture": architecture, "window": 4, "epochs": 3,
                                     "batch_size": 64, "max_train_seconds": 20.0}
    params.update(overrides)
    return DeepFlowClassifier(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted_cnn() -> DeepFlowClassifier:
    X, y = _easy_problem(800, seed=1)
    return _tiny("cnn").fit(X, y)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_beats_chance_on_an_easy_problem(architecture: str) -> None:
    X, y = _easy_problem(1200, seed=2)
    X_test, y_test = _easy_problem(400, seed=3)

    model = _tiny(architecture).fit(X, y)

    accuracy = float((model.predict(X_test) == y_test).mean())
    assert accuracy > 0.8, f"{architecture} accuracy {accuracy:.3f}"
    assert model.predict_proba(X_test).shape == (400, 2)
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1.0, atol=1e-5)


def test_scaler_statistics_come_from_training_rows_only(fitted_cnn: DeepFlowClassifier) -> None:
    X, _ = _easy_problem(800, seed=1)
    logged = np.log1p(X)
    mean_before = fitted_cnn.scale_mean_.copy()

    outliers = np.full((50, 6), 1e9)
    fitted_cnn.predict_proba(outliers)

    np.testing.assert_allclose(fitted_cnn.scale_mean_, logged.mean(axis=0))
    np.testing.assert_allclose(fitted_cnn.scale_std_, logged.std(axis=0))
    np.testing.assert_array_equal(fitted_cnn.scale_mean_, mean_before)


def test_a_row_is_judged_from_its_own_matrix_only(fitted_cnn: DeepFlowClassifier) -> None:
    X, _ = _easy_problem(200, seed=4)
    alone = fitted_cnn.predict_proba(X[100:120])
    after_other_rows = fitted_cnn.predict_proba(X[90:120])[10:]

    # The first rows of the slice see zero padding, not the rows before it.
    assert not np.allclose(alone[:3], after_other_rows[:3])
    # Once the window lies inside the slice the context is the same.
    np.testing.assert_allclose(alone[3:], after_other_rows[3:], atol=1e-6)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_onnx_matches_torch_within_1e4(architecture: str) -> None:
    import torch

    X, y = _easy_problem(300, seed=5)
    scaled = np.log1p(X).astype(np.float32)
    plan = TrainingPlan(architecture, 4, 1, 64, 1e-3, 10.0, 10_000, 1, 0)
    trained = fit_network(scaled, y, 2, plan)
    windows = flow_windows(scaled, 4)

    with torch.no_grad():
        expected = torch.softmax(trained.network(torch.from_numpy(windows)), dim=1).numpy()
    served = OnnxScorer(export_onnx(trained.network, 4, 6)).run(windows)

    # 300 rows: a batch size other than the one used at export.
    np.testing.assert_allclose(served, expected, atol=1e-4)


def test_pickled_model_scores_in_a_process_without_torch(fitted_cnn: DeepFlowClassifier,
                                                         tmp_path: Path) -> None:
    X, _ = _easy_problem(50, seed=6)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(fitted_cnn))
    np.save(tmp_path / "X.npy", X)
    expected = fitted_cnn.predict_proba(X)
    script = (
        "import sys, pickle, numpy as np\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, NoTorch())  # any torch import now fails\n"
        f"model = pickle.loads(open({str(tmp_path / 'model.pkl')!r}, 'rb').read())\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, model.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))\n"
        "assert 'torch' not in sys.modules\n"
    )

    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60, env=_env())

    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_fold_classifier_uses_a_deep_namer_with_string_types() -> None:
    X, y = _easy_problem(900, seed=7)
    rng = np.random.default_rng(7)
    labels = np.where(y == 1, np.where(rng.random(900) < 0.5, "scan/tcp-syn", "scan/udp"), "benign")
    X[labels == "scan/udp", 1] *= 80.0

    fold = FoldClassifier(family="scan", learner="cnn").fit(X, labels)

    named = fold.attack_types(X[labels != "benign"])
    assert set(named.tolist()) <= {"tcp-syn", "udp"}
    assert fold.predict(X).mean() == pytest.approx((labels != "benign").mean(), abs=0.1)


def test_one_class_is_refused() -> None:
    with pytest.raises(ValueError, match="one class"):
        _tiny("cnn").fit(np.ones((10, 2)), np.zeros(10))


def test_unknown_architecture_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="architecture must be one of cnn, lstm"):
        _tiny("transformer").fit(np.ones((10, 2)), np.arange(10) % 2)


def test_predicting_before_fit_is_refused() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DeepFlowClassifier().predict_proba(np.ones((3, 2)))


def test_feature_count_mismatch_is_refused(fitted_cnn: DeepFlowClassifier) -> None:
    with pytest.raises(ValueError, match="X has 5 features, but this model was fitted with 6"):
        fitted_cnn.predict_proba(np.ones((3, 5)))


def test_a_small_table_gets_at_least_min_batches_steps() -> None:
    X, y = _easy_problem(300, seed=8)
    scaled = np.log1p(X).astype(np.float32)
    plan = TrainingPlan("cnn", 4, 1, 64, 1e-3, 30.0, 10_000, 1, 0, min_batches=40)

    trained = fit_network(scaled, y, 2, plan)

    # One epoch of 300 rows at batch 64 is 5 steps; min_batches asks for 40.
    assert trained.batches_run == 40
    assert trained.epochs_run == pytest.approx(8.0)


def test_no_batch_of_two_rows_ends_training_instead_of_looping() -> None:
    X, y = _easy_problem(20, seed=9)
    plan = TrainingPlan("cnn", 4, 1, 1, 1e-3, 30.0, 10_000, 1, 0, min_batches=40)

    trained = fit_network(np.log1p(X).astype(np.float32), y, 2, plan)

    assert trained.batches_run == 0
