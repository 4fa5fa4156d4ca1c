"""Faust agents: the stream processors between the ``sales`` topic and everything downstream.

Aggregation (per seller, store and product), the ClickHouse sink and the alert agents arrive
with the live-aggregates issue; ingestion, which feeds them, lives in ``app.ingest``.
"""
