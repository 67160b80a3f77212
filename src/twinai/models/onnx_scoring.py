"""Score flow windows with an ONNX graph on ONNX Runtime (no torch needed)."""

from __future__ import annotations

import numpy as np

__all__ = ["SCORING_BATCH", "OnnxScorer"]

# Windows per ONNX Runtime call: large enough to amortise the call, small
# enough that a window batch of the widest feature set stays under ~20 MB.
SCORING_BATCH = 8_192


class OnnxScorer:
    """An ONNX Runtime session over serialized ONNX bytes.

    The session is not picklable; owners keep the bytes and rebuild a scorer
    after loading.
    """

    def __init__(self, onnx_bytes: bytes, *, n_threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def run(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities of ``windows`` (batch, window, features)."""
        (out,) = self._session.run(None, {self._input: windows.astype(np.float32, copy=False)})
        return np.asarray(out, dtype=np.float64)
