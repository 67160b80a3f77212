"""The model bundle: both fitted folds plus everything needed to trust them.

A bundle is a directory::

    bundle.json      feature version and lists, thresholds, metrics, data card,
                     library versions, creation time, sha256 of each model file
    <fold>-<set>.joblib   fitted FoldClassifier per fold and feature set

Two feature sets are kept per fold: ``capture`` (everything a packet capture
gives, host windows included) and ``universal`` (the Zeek ``conn.log`` view
that flow logs and a single typed-in connection give). ``predict`` picks the
richest set the input has.

Loading refuses a bundle whose feature version or list differs from the code,
because a model fed columns in another order or meaning gives confident
nonsense.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl

import twinai
from twinai.errors import InputError, ModelError
from twinai.features import CAPTURE_FEATURES, FEATURE_VERSION, UNIVERSAL_FEATURES
from twinai.folds.estimators import FoldClassifier

__all__ = [
    "FOLDS",
    "FEATURE_SETS",
    "FLOW_SCORE_THRESHOLD",
    "ModelBundle",
    "load_bundle",
    "default_bundle_path",
    "feature_matrix",
    "choose_feature_set",
]

log = logging.getLogger(__name__)

FOLDS = {"prevention": "scan", "detection": "ddos"}
FEATURE_SETS = {"capture": CAPTURE_FEATURES, "universal": UNIVERSAL_FEATURES}

# A flow counts as evidence for a fold when its score reaches this. The folds
# are trained with balanced class weights, so 0.5 is the point where the model
# finds attack and benign equally likely; alerts need several such flows (or a
# signature) on top, see twinai.alerts.rollup.
FLOW_SCORE_THRESHOLD = 0.5

# Explaining a verdict (per-feature contributions, TreeSHAP) costs about 1 ms
# per row here, a hundred times the score itself; cap it so that a flood of
# millions of flows does not spend minutes on explanations. Alerts explain
# the flows they cite separately (see ModelBundle.explain).
MAX_EXPLAINED_ROWS = 2_000

_LIBRARIES = ("numpy", "polars", "scikit-learn", "lightgbm", "numba")


def default_bundle_path() -> Path:
    """The bundle shipped with the package, trained on the lab dataset."""
    return Path(__file__).resolve().parent.parent / "data" / "default_bundle"


def choose_feature_set(columns: list[str] | tuple[str, ...]) -> str:
    """``capture`` when every capture feature is present, else ``universal``."""
    present = set(columns)
    if all(c in present for c in CAPTURE_FEATURES):
        return "capture"
    missing = [c for c in UNIVERSAL_FEATURES if c not in present]
    if missing:
        raise InputError(
            f"flows lack the columns {', '.join(missing)}; give captures, the output of "
            "`twinai flows`, or a flow log imported with `twinai datasets import`")
    return "universal"


def feature_matrix(flows: pl.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The float matrix of ``names`` columns; null, NaN and Infinity become 0."""
    matrix = flows.select([pl.col(c).cast(pl.Float64) for c in names]).to_numpy()
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    np.nan_to_num(matrix, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return matrix


@dataclass
class ModelBundle:
    """Fitted folds and their metadata (see the module docstring)."""

    folds: dict[str, dict[str, FoldClassifier]]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _thresholds: dict[str, list[np.ndarray] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or (self.path.name if self.path else "unsaved"))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bundle directory (replacing model files already there)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files = {}
        for fold, by_set in self.folds.items():
            for feature_set, model in by_set.items():
                name = f"{fold}-{feature_set}.joblib"
                joblib.dump(model, path / name, compress=3)
                files[name] = _sha256(path / name)
        meta = dict(self.meta)
        meta.update({
            "format": 1,
            "feature_version": FEATURE_VERSION,
            "features": {k: list(v) for k, v in FEATURE_SETS.items()},
            "files": files,
            "twinai_version": twinai.__version__,
            "libraries": _library_versions(),
            "python": platform.python_version(),
        })
        meta.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        meta.setdefault("thresholds", {"flow_score": FLOW_SCORE_THRESHOLD})
        (path / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        self.meta, self.path = meta, path
        return path

    def predict(self, flows: pl.DataFrame, *, explain: bool = True) -> pl.DataFrame:
        """Score every flow with both folds.

        Returns one row per input row: ``scan_score``, ``ddos_score`` (0..1),
        ``scan_type``, ``ddos_type`` (the fold's attack type where its score
        reaches FLOW_SCORE_THRESHOLD, else null), ``verdict`` (benign | scan |
        ddos), ``attack_type`` (type of the verdict's fold, null when benign),
        ``reasons`` (JSON list of the top features behind a non-benign
        verdict, with their values and contributions) and ``feature_set``.
        """
        if flows.height == 0:
            return _empty_predictions()
        feature_set = choose_feature_set(flows.columns)
        names = FEATURE_SETS[feature_set]
        first, inverse = _distinct_flows(flows, names, self._split_thresholds(feature_set))
        unique = feature_matrix(flows.select(names)[first], names)

        scores: dict[str, np.ndarray] = {}
        types: dict[str, np.ndarray] = {}
        for fold, family in FOLDS.items():
            model = self._fold(fold, feature_set)
            scores[family] = model.predict_proba(unique)[:, 1]
            types[family] = _shown_types(model, unique, scores[family])

        verdict = np.where(
            np.maximum(scores["scan"], scores["ddos"]) < FLOW_SCORE_THRESHOLD,
            "benign",
            np.where(scores["scan"] >= scores["ddos"], "scan", "ddos"),
        ).astype(object)
        attack_type = np.where(verdict == "scan", types["scan"],
                               np.where(verdict == "ddos", types["ddos"], None))
        verdicts = _spread(verdict, inverse)
        reasons = (self._reasons(flows, verdicts.to_numpy(), feature_set, names)
                   if explain else [None] * flows.height)
        return pl.DataFrame({
            "scan_score": scores["scan"][inverse],
            "ddos_score": scores["ddos"][inverse],
            "scan_type": _spread(types["scan"], inverse),
            "ddos_type": _spread(types["ddos"], inverse),
            "verdict": verdicts,
            "attack_type": _spread(attack_type, inverse),
            "reasons": pl.Series(reasons, dtype=pl.Utf8),
            "feature_set": pl.repeat(feature_set, flows.height, dtype=pl.Utf8, eager=True),
        })

    def _split_thresholds(self, feature_set: str) -> list[np.ndarray] | None:
        """The split thresholds of all four models of ``feature_set``, per
        feature (see FoldClassifier.split_thresholds); None if one has none."""
        if feature_set not in self._thresholds:
            per_model = [self._fold(fold, feature_set).split_thresholds() for fold in FOLDS]
            merged = None
            if all(t is not None for t in per_model):
                merged = [np.unique(np.concatenate(parts))
                          for parts in zip(*[t for t in per_model if t is not None])]
            self._thresholds[feature_set] = merged
        return self._thresholds[feature_set]

    def _fold(self, fold: str, feature_set: str) -> FoldClassifier:
        try:
            return self.folds[fold][feature_set]
        except KeyError:
            raise ModelError(f"bundle {self.name} has no {fold} model for {feature_set} features") from None

    def _reasons(self, flows: pl.DataFrame, verdict: np.ndarray, feature_set: str,
                 names: tuple[str, ...]) -> list[str | None]:
        """Top features behind the first MAX_EXPLAINED_ROWS non-benign verdicts."""
        out: list[str | None] = [None] * flows.height
        for fold, family in FOLDS.items():
            rows = np.flatnonzero(verdict == family)[:MAX_EXPLAINED_ROWS]
            if rows.size:
                matrix = feature_matrix(flows.select(names)[rows], names)
                texts = self._explain_matrix(matrix, fold, feature_set, names)
                for row, text in zip(rows, texts):
                    out[row] = text
        return out

    def explain(self, flows: pl.DataFrame, fold: str) -> list[str | None]:
        """Top three features behind ``fold``'s score of each flow, as JSON text."""
        feature_set = choose_feature_set(flows.columns)
        names = FEATURE_SETS[feature_set]
        return self._explain_matrix(feature_matrix(flows, names), fold, feature_set, names)

    def _explain_matrix(self, matrix: np.ndarray, fold: str, feature_set: str,
                        names: tuple[str, ...]) -> list[str | None]:
        contrib = self._fold(fold, feature_set).contributions(matrix)
        if contrib is None:
            return [None] * matrix.shape[0]
        top = np.argsort(-contrib, axis=1)[:, :3]
        return [
            json.dumps([
                {"feature": names[k], "value": round(float(matrix[j, k]), 4),
                 "contribution": round(float(contrib[j, k]), 4)}
                for k in top[j]
            ])
            for j in range(matrix.shape[0])
        ]


def _distinct_flows(flows: pl.DataFrame, names: tuple[str, ...],
                    thresholds: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Index of one flow per group that the folds cannot tell apart, and the
    group of each flow: floods repeat the same rows, so each group is scored once.

    With ``thresholds`` rows are grouped by where each feature falls among the
    models' split thresholds (73k distinct rows of a flood are 3.5k such
    groups), else by their exact feature values.
    """
    keys = [_feature_key(_feature_column(flows, name), None if thresholds is None else
                         thresholds[j]) for j, name in enumerate(names)]
    return _distinct_keys(keys)


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a feature matrix and the index of each row among them."""
    keys = [np.ascontiguousarray(matrix[:, j]).view(np.uint64) for j in range(matrix.shape[1])]
    first, inverse = _distinct_keys(keys)
    return matrix[first], inverse


# LightGBM reads a value within this of zero as zero (kZeroThreshold, 1e-35f in
# include/LightGBM/meta.h): such a value must fall where 0 falls.
_LIGHTGBM_ZERO = float(np.float32(1e-35))

# Multiplier of the FNV-1a hash (64-bit), used to hash rows column by column.
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)


def _feature_column(flows: pl.DataFrame, name: str) -> np.ndarray:
    """One column as feature_matrix gives it: float64, null, NaN and Infinity 0."""
    values = flows.get_column(name).cast(pl.Float64).to_numpy()
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def _feature_key(values: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray:
    """Per row, the position of the value among the thresholds (or its bits)."""
    if thresholds is None:
        return np.ascontiguousarray(values).view(np.uint64)
    values = np.where(np.abs(values) <= _LIGHTGBM_ZERO, 0.0, values)
    # side="left" counts thresholds below the value: equal counts, equal decisions.
    position = np.searchsorted(thresholds, values, side="left")
    return position.astype(np.uint16 if thresholds.size < 2**16 else np.uint32)


def _distinct_keys(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """First index and group of each row of the key columns, exactly.

    Rows are grouped by a 64-bit hash, and each row is then checked against its
    group's first row; should two different rows share a hash, the rows are
    compared whole instead.
    """
    digest = np.full(keys[0].shape[0], _FNV_OFFSET, dtype=np.uint64)
    for key in keys:
        digest ^= key.astype(np.uint64, copy=False)
        digest *= _FNV_PRIME
    _, first, inverse = np.unique(digest, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if all(np.array_equal(key[first][inverse], key) for key in keys):
        return first, inverse
    log.info("two distinct feature rows share a hash; comparing rows whole")
    rows = np.ascontiguousarray(np.column_stack(keys))
    void = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(void, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def _shown_types(model: FoldClassifier, unique: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The attack type of each row whose score reaches the threshold, else None:
    below it the fold's type is never shown, and naming costs ten times the score."""
    types = np.full(unique.shape[0], None, dtype=object)
    shown = np.flatnonzero(scores >= FLOW_SCORE_THRESHOLD)
    if shown.size:
        types[shown] = model.attack_types(unique[shown])
    return types


def _spread(values: np.ndarray, inverse: np.ndarray) -> pl.Series:
    """Per-group text values out to every row of the group."""
    return pl.Series(values.tolist(), dtype=pl.Utf8).gather(inverse)


def _empty_predictions() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "scan_score": pl.Float64, "ddos_score": pl.Float64, "scan_type": pl.Utf8,
        "ddos_type": pl.Utf8, "verdict": pl.Utf8, "attack_type": pl.Utf8,
        "reasons": pl.Utf8, "feature_set": pl.Utf8,
    })


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def load_bundle(path: str | os.PathLike[str] | None = None) -> ModelBundle:
    """Load a bundle directory; None loads the shipped default bundle.

    Raises ModelError when the directory is not a bundle, a model file was
    changed after saving, or the bundle's feature list differs from the code.
    """
    path = Path(path) if path is not None else default_bundle_path()
    meta_path = path / "bundle.json"
    if not meta_path.exists():
        hint = " (train one with `twinai train`)" if path == default_bundle_path() else ""
        raise ModelError(f"{path}: not a model bundle: bundle.json missing{hint}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc}); the bundle is damaged, "
                         "train it again with `twinai train`") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{meta_path}: holds a {type(meta).__name__}, not a bundle's "
                         "description (a JSON object)")
    _check_features(path, meta)

    folds: dict[str, dict[str, FoldClassifier]] = {}
    for name, digest in meta.get("files", {}).items():
        file = path / name
        if not file.exists() or _sha256(file) != digest:
            raise ModelError(f"{file}: missing or changed since the bundle was saved")
        fold, _, feature_set = name.removesuffix(".joblib").partition("-")
        folds.setdefault(fold, {})[feature_set] = joblib.load(file)
    for fold in FOLDS:
        if fold not in folds:
            raise ModelError(f"{path}: bundle has no {fold} fold")
    _warn_on_library_drift(path, meta)
    return ModelBundle(folds=folds, meta=meta, path=path)


def _check_features(path: Path, meta: dict[str, Any]) -> None:
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{path}: bundle built for feature version {meta.get('feature_version')!r}, "
            f"this code computes {FEATURE_VERSION!r}; retrain it with `twinai train`")
    for name, expected in FEATURE_SETS.items():
        if meta.get("features", {}).get(name) != list(expected):
            raise ModelError(
                f"{path}: the bundle's {name} feature list differs from the code's; "
                "retrain it with `twinai train`")


def _warn_on_library_drift(path: Path, meta: dict[str, Any]) -> None:
    saved = meta.get("libraries", {})
    now = _library_versions()
    for lib in ("scikit-learn", "lightgbm"):
        if saved.get(lib) and saved.get(lib) != now.get(lib):
            log.warning("%s: saved with %s %s, running %s %s; scores may differ slightly",
                        path, lib, saved.get(lib), lib, now.get(lib))
