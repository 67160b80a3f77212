"""Train a deep network on flow windows and export it to ONNX (needs torch).

Imported only from ``DeepFlowClassifier.fit``: scoring runs on ONNX Runtime,
so a fitted model loads and predicts on a machine without torch.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from twinai.models._networks import build_network, probabilities
from twinai.models.windows import gather_windows, pad_rows

__all__ = ["TrainedNetwork", "TrainingPlan", "export_onnx", "fit_network"]

log = logging.getLogger(__name__)

# ONNX opset 17 is the newest the TorchScript exporter writes for every layer
# used here, and ONNX Runtime 1.16+ runs it.
ONNX_OPSET = 17


@dataclass(frozen=True)
class TrainingPlan:
    """How long and how hard to train (see DeepFlowClassifier's parameters)."""

    architecture: str
    window: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_train_seconds: float
    max_windows_per_epoch: int
    n_threads: int
    random_state: int
    min_batches: int = 1


@dataclass
class TrainedNetwork:
    """The trained network (in eval mode) and what the training loop did."""

    network: nn.Module
    epochs_run: float
    batches_run: int
    seconds: float
    stopped_by_time: bool


def fit_network(scaled: np.ndarray, targets: np.ndarray, n_classes: int,
                plan: TrainingPlan) -> TrainedNetwork:
    """Train on every window of ``scaled`` with class-balanced cross-entropy.

    1. Windows are gathered per batch from one padded copy of the matrix,
       so memory stays at one matrix, not ``window`` copies of it.
    2. Each epoch visits at most ``max_windows_per_epoch`` random windows.
    3. Training stops after ``epochs`` and at least ``min_batches`` batches
       (a small table gets more epochs), or after ``max_train_seconds``,
       whichever comes first, and always after at least one batch.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(plan.n_threads)
    try:
        return _train(scaled, targets, n_classes, plan)
    finally:
        torch.set_num_threads(previous_threads)


def _train(scaled: np.ndarray, targets: np.ndarray, n_classes: int,
           plan: TrainingPlan) -> TrainedNetwork:
    torch.manual_seed(plan.random_state)
    rng = np.random.default_rng(plan.random_state)
    network = build_network(plan.architecture, scaled.shape[1], n_classes)
    optimizer = torch.optim.Adam(network.parameters(), lr=plan.learning_rate)
    loss_of = nn.CrossEntropyLoss(weight=_balanced_weights(targets, n_classes))
    padded = pad_rows(scaled, plan.window)
    labels = torch.from_numpy(targets.astype(np.int64))

    started = time.perf_counter()
    batches, seen, out_of_time = 0, 0, False
    network.train()
    epoch = 0
    while epoch < plan.epochs or batches < plan.min_batches:
        epoch += 1
        batches_before = batches
        order = rng.permutation(scaled.shape[0])[: plan.max_windows_per_epoch]
        for start in range(0, order.size, plan.batch_size):
            rows = order[start : start + plan.batch_size]
            if rows.size < 2:  # batch norm needs two samples per batch
                continue
            windows = torch.from_numpy(gather_windows(padded, rows, plan.window))
            optimizer.zero_grad()
            loss = loss_of(network(windows), labels[rows])
            loss.backward()
            optimizer.step()
            batches, seen = batches + 1, seen + rows.size
            out_of_time = time.perf_counter() - started > plan.max_train_seconds
            if out_of_time:
                break
        if out_of_time or batches == batches_before:  # no batch of two rows: give up
            break

    network.eval()
    seconds = time.perf_counter() - started
    epochs_run = seen / max(1, min(scaled.shape[0], plan.max_windows_per_epoch))
    if out_of_time:
        log.warning("%s: stopped after %.1f s (max_train_seconds) at epoch %.2f of %d; "
                    "the model may be undertrained", plan.architecture, seconds,
                    epochs_run, plan.epochs)
    return TrainedNetwork(network, epochs_run, batches, seconds, out_of_time)


def _balanced_weights(targets: np.ndarray, n_classes: int) -> torch.Tensor:
    """n / (classes * count) per class, as scikit-learn's class_weight="balanced"."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, targets.size / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def export_onnx(network: nn.Module, window: int, n_features: int) -> bytes:
    """The network plus softmax as ONNX bytes, any batch size.

    The graph's input is ``windows`` (batch, window, features) float32 and
    its output ``probabilities`` (batch, classes).
    """
    example = torch.zeros(2, window, n_features, dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Only around this call: the TorchScript exporter announces its own
        # deprecation, and warns that an LSTM exported without initial state
        # may fix the batch size (tests score other batch sizes), and the tracer
        # notes shape checks inside nn.LSTM that hold for every export here.
        # TODO(models): move to the torch.export-based exporter once onnxscript
        # is a dependency; drop this filter then.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*LSTM.*", category=UserWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            probabilities(network).eval(), (example,), buffer,
            input_names=["windows"], output_names=["probabilities"],
            dynamic_axes={"windows": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=ONNX_OPSET, dynamo=False,
        )
    return buffer.getvalue()
