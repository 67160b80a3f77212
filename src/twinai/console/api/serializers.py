"""Request and answer shapes of the API; the OpenAPI schema is built from these."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

_FLAGS = ("is_tcp", "is_udp", "is_icmp")


# The same bounds as the web form: far above any real flow, and inside the
# 64-bit columns the flow table keeps.
_MAX_COUNT = 10**12
_MAX_SECONDS = 10**7


class FlowSerializer(serializers.Serializer):
    """One flow: the universal (Zeek conn.log) columns, identity optional."""

    duration_s = serializers.FloatField(min_value=0, max_value=_MAX_SECONDS)
    orig_pkts = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    resp_pkts = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    orig_bytes = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    resp_bytes = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    orig_ip_bytes = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    resp_ip_bytes = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT)
    missed_bytes = serializers.IntegerField(min_value=0, max_value=_MAX_COUNT, default=0)
    pkt_ratio = serializers.FloatField(min_value=0, max_value=_MAX_COUNT)
    is_tcp = serializers.IntegerField(min_value=0, max_value=1)
    is_udp = serializers.IntegerField(min_value=0, max_value=1)
    is_icmp = serializers.IntegerField(min_value=0, max_value=1)
    src_ip = serializers.IPAddressField(required=False)
    dst_ip = serializers.IPAddressField(required=False)
    src_port = serializers.IntegerField(required=False, min_value=0, max_value=65535)
    dst_port = serializers.IntegerField(required=False, min_value=0, max_value=65535)
    protocol = serializers.IntegerField(required=False, min_value=0, max_value=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if sum(attrs[f] for f in _FLAGS) > 1:
            raise serializers.ValidationError(
                "at most one of is_tcp, is_udp, is_icmp may be 1"
            )
        return attrs


class PredictRequestSerializer(serializers.Serializer):
    flows = FlowSerializer(many=True, allow_empty=False)

    def validate_flows(self, flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(flows) > settings.API_MAX_FLOWS:
            raise serializers.ValidationError(
                f"{len(flows)} flows in one request; the limit is {settings.API_MAX_FLOWS}"
            )
        return flows


class VerdictSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=["benign", "scan", "ddos"])
    attack_type = serializers.CharField(allow_blank=True)
    scan_score = serializers.FloatField()
    ddos_score = serializers.FloatField()
    reasons = serializers.JSONField()


class PredictResponseSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    bundle = serializers.CharField()
    results = VerdictSerializer(many=True)


class BundleSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    path = serializers.CharField()
    serving = serializers.BooleanField()
    created = serializers.DateTimeField(allow_null=True)
