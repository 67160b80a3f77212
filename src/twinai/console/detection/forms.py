"""Input forms of the detection pages: one connection, a batch upload, filters."""

from __future__ import annotations

from django import forms

from twinai.console.detection.models import Source, Verdict

_COUNT = {"min_value": 0, "max_value": 10**12}


class ConnectionForm(forms.Form):
    """One connection's universal features, as a Zeek conn.log row gives them."""

    protocol = forms.ChoiceField(
        choices=[("tcp", "TCP"), ("udp", "UDP"), ("icmp", "ICMP")]
    )
    duration_s = forms.FloatField(min_value=0, max_value=10**7, label="Duration (s)")
    orig_pkts = forms.IntegerField(label="Packets sent by the source", **_COUNT)
    resp_pkts = forms.IntegerField(label="Packets sent back", **_COUNT)
    orig_bytes = forms.IntegerField(label="Payload bytes sent", **_COUNT)
    resp_bytes = forms.IntegerField(label="Payload bytes back", **_COUNT)
    orig_ip_bytes = forms.IntegerField(label="IP bytes sent", **_COUNT)
    resp_ip_bytes = forms.IntegerField(label="IP bytes back", **_COUNT)
    missed_bytes = forms.IntegerField(initial=0, label="Missed bytes", **_COUNT)
    src_ip = forms.GenericIPAddressField(
        required=False, label="Source address (optional)"
    )
    dst_ip = forms.GenericIPAddressField(
        required=False, label="Destination address (optional)"
    )
    dst_port = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=65535,
        label="Destination port (optional)",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        for payload, ip_bytes in (
            ("orig_bytes", "orig_ip_bytes"),
            ("resp_bytes", "resp_ip_bytes"),
        ):
            if payload in data and ip_bytes in data and data[ip_bytes] < data[payload]:
                self.add_error(
                    ip_bytes,
                    "IP bytes include headers: they cannot be below payload bytes.",
                )
        return data


class BatchForm(forms.Form):
    """A capture (pcap, pcapng), a flow CSV / Zeek log or a Parquet flow table."""

    file = forms.FileField(label="Capture or flow file")


class PredictionFilter(forms.Form):
    verdict = forms.ChoiceField(choices=[("", "any")] + Verdict.choices, required=False)
    attack_type = forms.CharField(max_length=100, required=False)
    user = forms.CharField(max_length=150, required=False)
    source = forms.ChoiceField(choices=[("", "any")] + Source.choices, required=False)
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
