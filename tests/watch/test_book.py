"""The alert book: one alert per host and fold, re-emitted only as it grows."""

from __future__ import annotations

from dataclasses import replace

from twinai.alerts.rollup import Alert
from twinai.live import AlertBook


def _scan(flows: int, *, attack_type: str = "tcp-syn", alert_us: int = 1_000) -> Alert:
    return Alert(fold="prevention", attack_type=attack_type, src_ip="203.0.113.9",
                 dest_ip="192.168.1.10", src_port=40000, dest_port=23, protocol=6,
                 direction="inbound", score=0.9, first_seen_us=500, last_seen_us=500 + flows,
                 alert_us=alert_us, flows=flows, packets=flows, flow_id=7,
                 probes_before_alert=3)


def test_new_alert_then_records_only_when_evidence_doubles() -> None:
    book = AlertBook()
    emitted = []
    for flows in (3, 4, 5, 6, 7, 12, 13):
        new, grown = book.update([_scan(flows)])
        for held in new + grown:
            emitted.append(held.record("m")["twinai"]["flows"])

    assert emitted == [3, 6, 12]
    assert len(book) == 1


def test_changing_attack_type_keeps_one_alert_and_its_first_firing() -> None:
    book = AlertBook()
    book.update([_scan(3, attack_type="timing-t3-normal", alert_us=1_000)])
    new, _ = book.update([_scan(50, attack_type="timing-t4-aggressive", alert_us=9_999)])
    held = next(iter(book.alerts.values()))

    assert new == []
    assert held.alert.attack_type == "timing-t4-aggressive"
    assert held.alert.alert_us == 1_000
    assert held.alert.probes_before_alert == 3


def test_counts_never_shrink_when_old_flows_age_out() -> None:
    book = AlertBook()
    book.update([_scan(40)])
    book.update([_scan(10)])
    assert next(iter(book.alerts.values())).alert.flows == 40


def test_outbound_alert_is_linked_to_an_earlier_scan_of_the_device() -> None:
    book = AlertBook()
    book.update([_scan(5)])
    sweep = replace(_scan(9, alert_us=5_000), src_ip="192.168.1.10", dest_ip="198.18.0.1",
                    direction="outbound")
    new, _ = book.update([sweep])

    assert new[0].alert.compromised is not None
    assert new[0].alert.compromised["scanned_by"] == "203.0.113.9"
    assert new[0].record("m")["twinai"]["probes_before_block"] is None
