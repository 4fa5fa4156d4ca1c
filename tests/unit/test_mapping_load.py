"""A wrong mapping is refused when it is loaded, with a message that says what to change;
it never gets as far as crashing on the first row."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.ingest.mapping import MappingError, load_mapping, mapping_from_dict, shipped_mappings
from app.ingest.memory import MemorySink
from app.ingest.pipeline import IngestPipeline
from app.ingest.readers import Source
from app.records import CANONICAL_COLUMNS

FIELDS = {
    "order_id": "o",
    "store_id": "s",
    "seller_id": "v",
    "event_time": "t",
    "channel": {"value": "loja"},
    "sku": "k",
    "quantity": "q",
    "unit_price": "p",
}


def mapping(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "test", "fields": dict(FIELDS)}
    for key, value in overrides.items():
        if key.startswith("field_"):
            base["fields"][key.removeprefix("field_")] = value
        else:
            base[key] = value
    return base


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (mapping(colour="blue"), "unknown keys ['colour']"),
        (mapping(source={"encodng": "utf-8"}), "source: unknown keys ['encodng']"),
        (mapping(source={"encoding": "rot13"}), "is not a known text encoding"),
        (mapping(source={"encoding": "utf-16"}), "keeps ASCII as is"),
        (mapping(source={"encoding": "no-such"}), "source.encoding"),
        (mapping(source={"date_formats": "%Y"}), "source.date_formats takes a list"),
        (mapping(source={"time_zone": "Mars/Olympus"}), "source.time_zone"),
        (mapping(source={"decimal_separator": ";"}), "decimal_separator must be"),
        (mapping(returns={"flag_column": "tipo"}), "needs returns.flag_values"),
        (mapping(returns={"flag_column": "tipo", "flag_values": "YES"}), "takes a list"),
        (mapping(returns={"prefix": "C"}), "returns: unknown keys ['prefix']"),
        (mapping(field_store_id={"column": "s", "required": False}), "give it a default"),
        (mapping(field_colour="c"), "unknown fields ['colour']"),
        (mapping(field_sku={"column": "k", "value": "x"}), "use one of column, value"),
        (mapping(field_sku={"column": "k", "case": "shout"}), "case must be one of"),
        (mapping(field_sku={"column": "k", "transform": "rot13"}), "transform must be one of"),
        (mapping(field_channel={"value": "x" * 80}), "channel has 80 characters"),
        (mapping(field_channel={"default": "lo\x07ja"}), "control characters"),
        (mapping(skip=[{"field": "sku", "in": "POST", "reason": "fees"}]), "takes a list"),
        (mapping(skip=[{"field": "sku", "equal": "x", "reason": "fees"}]), "unknown keys"),
        (mapping(skip=[{"field": "unit_price_cents", "equals": "zero", "reason": "z"}]), "cents"),
        (mapping(skip=[{"field": "sku", "matches": "(", "reason": "x"}]), "bad regular"),
        (mapping(skip=[{"field": "sku", "in": ["a"], "reason": "Not Snake"}]), "snake_case"),
        (mapping(dedupe="sometimes"), "dedupe must be"),
        (mapping(field_channel={"value": False}), "quote it if it is a text"),
        (
            mapping(returns={"flag_column": "t", "flag_values": [True]}),
            "quote yes/no/on/off",
        ),
        (mapping(skip=[{"field": "unit_price_cents", "equals": 1.9, "reason": "z"}]), "cents"),
        (mapping(skip=[{"field": "sku", "equals": True, "reason": "z"}]), "quote it"),
        ({"name": "x"}, "'fields' must map"),
        ("just text", "a mapping is a YAML object"),
    ],
)
def test_wrong_mappings_are_refused_at_load(spec: Any, message: str) -> None:
    with pytest.raises(MappingError) as raised:
        mapping_from_dict(spec, "test.yaml")
    assert message in str(raised.value)
    assert str(raised.value).startswith("test.yaml")


def test_shipped_mappings_load() -> None:
    assert set(shipped_mappings()) == {"canonical", "online-retail"}
    for name in shipped_mappings():
        assert load_mapping(name).name == name


def test_the_canonical_mapping_reads_the_canonical_columns() -> None:
    assert load_mapping("canonical").columns() == frozenset(CANONICAL_COLUMNS)


def test_a_default_only_field_is_a_constant_and_text_equals_compares_text() -> None:
    spec = mapping(
        field_seller_id={"default": "online"},
        skip=[{"field": "sku", "equals": "POST", "reason": "postage"}],
    )
    parsed = mapping_from_dict(spec)
    data = (
        b"o,s,t,k,q,p\n"
        b"O1,loja,2026-11-02 10:00:00,POST,1,1.00\n"
        b"O2,loja,2026-11-02 10:00:00,A,1,1.00\n"
    )
    sink = MemorySink()
    summary = asyncio.run(IngestPipeline(parsed, sink, b"k").ingest([Source("x.csv", data=data)]))
    assert summary.rejected_by_reason == {"postage": 1}
    assert [sale.seller_id for sale in sink.sales] == ["online"]


def test_returns_prefix_given_as_a_number_works() -> None:
    spec = mapping(returns={"order_id_prefix": 9})
    data = b"o,s,v,t,k,q,p\n9001,loja,v,2026-11-02 10:00:00,A,2,1.00\n"
    sink = MemorySink()
    summary = asyncio.run(
        IngestPipeline(mapping_from_dict(spec), sink, b"k").ingest([Source("x.csv", data=data)])
    )
    assert summary.accepted == 1
    assert sink.sales[0].lines[0].quantity == -2
