"""Ingestion: raw files and records -> validated canonical sales on Kafka, dead letters beside.

Flow: ``readers`` (bytes -> rows) -> ``mapping`` (rows -> parsed lines, via the pure parsers
in ``normalize``) -> ``pipeline`` (batches, dedupe, grouping into orders) -> a sink
(``kafka_sink`` with its ``ledger``, or ``memory`` for dry runs).
"""
