"""Flows: packets metered into bidirectional flows, and the flow table schema.

Public entry points: :func:`twinai.flows.meter.meter_files` (captures to the
flow table) and :func:`twinai.flows.io.write_table` / ``read_table``.
"""
