"""A small labelled flow table and a bundle trained on it, shared by fold tests.

The table comes from shared public captures labelled with their truth.json
attackers and victims: enough for the folds to learn a SYN scan, a SYN flood
and benign traffic apart. It tests mechanics, not the shipped model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from twinai.flows.meter import meter_files
from twinai.folds.bundle import ModelBundle, load_bundle
from twinai.folds.train import train_bundle

_CAPTURES = {
    "ndpi/synscan.pcap": ("scan/tcp-syn", "src", "172.16.0.8"),
    "stopddos/pkt.TCP.synflood.spoofed.pcap": ("ddos/tcp-syn", "dst", "10.10.10.10"),
    "stopddos/amp.UDP.snmp.src161.pcapng": ("ddos/udp-amplification", "dst", "10.10.10.10"),
    "ndpi/iphone.pcap": ("benign", None, None),
    "ndpi/android.pcap": ("benign", None, None),
    "ndpi/alexa-app.pcapng": ("benign", None, None),
    "ndpi/ssh.pcap": ("benign", None, None),
}


def _labelled(shared_data: Path, name: str, label: str, side: str | None,
              host: str | None) -> pl.DataFrame:
    flows = meter_files([shared_data / name])
    if side is None:
        column = pl.lit("benign")
    else:
        match = pl.col("src_ip" if side == "src" else "dst_ip") == host
        column = pl.when(match).then(pl.lit(label)).otherwise(pl.lit("benign"))
    return flows.with_columns(column.alias("label"), pl.lit(name).alias("run_id"))


@pytest.fixture(scope="session")
def labelled_flows(shared_data: Path) -> pl.DataFrame:
    parts = [_labelled(shared_data, name, *spec) for name, spec in _CAPTURES.items()]
    return pl.concat(parts, how="diagonal_relaxed")


@pytest.fixture(scope="session")
def trained_bundle(labelled_flows: pl.DataFrame, tmp_path_factory: Any) -> ModelBundle:
    out = tmp_path_factory.mktemp("bundle") / "test-bundle"
    train_bundle(labelled_flows, out, split="random")
    return load_bundle(out)
