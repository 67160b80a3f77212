"""The benign-only anomaly detector on real captures: attacks it never saw score high."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from twinai.flows.meter import meter_files
from twinai.folds.bundle import FEATURE_SETS, feature_matrix
from twinai.models.anomaly import BENIGN_QUANTILE, BenignAnomalyDetector, mark_unknown

_BENIGN_TRAIN = ("ndpi/iphone.pcap", "ndpi/android.pcap", "ndpi/alexa-app.pcapng")
_BENIGN_HELD_OUT = ("ndpi/ssh.pcap", "ndpi/mqtt.pcap", "ndpi/dns.pcap", "ndpi/http.pcapng")


def _matrix(shared_data: Path, names: tuple[str, ...], side: str | None = None,
            host: str | None = None) -> np.ndarray:
    # One meter per capture: each capture has its own clock (alexa-app.pcapng
    # is from 2017, iphone.pcap from 2020), and one stream over all of them
    # would stamp the older capture's packets at the newer one's time.
    flows = pl.concat([meter_files([shared_data / name]) for name in names])
    if side is not None:
        flows = flows.filter(pl.col(side) == host)
    return feature_matrix(flows, FEATURE_SETS["capture"])


@pytest.fixture(scope="module")
def detector(shared_data: Path) -> BenignAnomalyDetector:
    return BenignAnomalyDetector().fit(_matrix(shared_data, _BENIGN_TRAIN))


def test_unseen_scan_and_flood_score_above_held_out_benign(shared_data: Path,
                                                           detector: BenignAnomalyDetector) -> None:
    benign = detector.score_samples(_matrix(shared_data, _BENIGN_HELD_OUT))
    scan = detector.score_samples(_matrix(shared_data, ("ndpi/synscan.pcap",), "src_ip", "172.16.0.8"))
    flood = detector.score_samples(
        _matrix(shared_data, ("stopddos/pkt.TCP.synflood.spoofed.pcap",), "dst_ip", "10.10.10.10"))

    for attack in (scan, flood):
        truth = np.r_[np.zeros(benign.size), np.ones(attack.size)]
        assert roc_auc_score(truth, np.r_[benign, attack]) > 0.85
    assert (scan > detector.threshold_).mean() > 0.9


def test_threshold_is_the_named_quantile_of_benign_training_scores(
        shared_data: Path, detector: BenignAnomalyDetector) -> None:
    scores = detector.score_samples(_matrix(shared_data, _BENIGN_TRAIN))

    assert detector.threshold_ == pytest.approx(np.quantile(scores, BENIGN_QUANTILE))
    # Interpolation between order statistics allows one flow of rounding.
    assert (scores > detector.threshold_).sum() <= np.ceil(scores.size * (1 - BENIGN_QUANTILE))


def test_labels_restrict_fitting_to_benign_rows() -> None:
    rng = np.random.default_rng(0)
    benign = rng.normal(5.0, 0.5, size=(300, 3))
    attacks = np.full((300, 3), 1e5)
    X = np.vstack([benign, attacks])
    y = np.array(["benign"] * 300 + ["ddos/udp"] * 300)

    with_labels = BenignAnomalyDetector().fit(X, y)

    assert with_labels.is_anomalous(attacks).all()
    assert with_labels.is_anomalous(benign).mean() < 0.05


def test_mark_unknown_only_relabels_benign_verdicts() -> None:
    verdict = np.array(["benign", "benign", "scan", "ddos"])
    flagged = np.array([True, False, True, True])

    assert mark_unknown(verdict, flagged).tolist() == ["unknown", "benign", "scan", "ddos"]


def test_no_benign_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="needs benign flows"):
        BenignAnomalyDetector().fit(np.ones((5, 2)), np.array(["scan/x"] * 5))
