"""Reference data (stores, sellers, products): published onto its compacted topics, keyed by id,
and read back into a ``ReferenceCatalogue``, the names the API shows instead of codes.

The catalogue is plain and pure: it holds the latest record per key, applies one message at a
time and says why a message is not a reference record (``InvalidReference``). Reading the
topics is ``agents/reference.py``; this module does no I/O beyond ``publish_reference``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from aiokafka import AIOKafkaProducer

from app.records import Product, Seller, Store
from app.topics import TopicSet

Kind = Literal["store", "seller", "product"]
KINDS: tuple[Kind, ...] = ("store", "seller", "product")

MAX_NAME_LENGTH = 200
"""Longer names are refused: a person reads them on a phone, and nothing real is that long."""
MAX_ID_LENGTH = 200
# Ids are table-key parts elsewhere (agents/decode.py refuses the same characters in sales);
# names with control characters would break the screens that show them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_ID_FIELD: dict[Kind, str] = {"store": "store_id", "seller": "seller_id", "product": "sku"}
_TEXT_FIELDS: dict[Kind, tuple[str, ...]] = {
    "store": ("store_id", "name", "city", "state", "time_zone"),
    "seller": ("seller_id", "store_id", "display_name", "commission_plan_id"),
    "product": ("sku", "name", "category"),
}
_NAME_FIELD: dict[Kind, str] = {"store": "name", "seller": "display_name", "product": "name"}

Reference = Store | Seller | Product


async def publish_reference(
    bootstrap: str,
    topics: TopicSet,
    stores: Iterable[Store],
    sellers: Iterable[Seller],
    products: Iterable[Product],
) -> int:
    """Idempotent by construction: compaction keeps the latest value per key."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    count = 0
    try:
        batches = (
            (topics.stores.name, ((s.store_id, s.to_dict()) for s in stores)),
            (topics.sellers.name, ((s.seller_id, s.to_dict()) for s in sellers)),
            (topics.products.name, ((p.sku, p.to_dict()) for p in products)),
        )
        for topic, records in batches:
            for key, value in records:
                await producer.send(topic, orjson.dumps(value), key=key.encode())
                count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count


# -- reading it back -----------------------------------------------------------------------


class InvalidReference(ValueError):
    """A message of a reference topic that is not a valid record. ``reason`` is a code from
    the dead-letter vocabulary (``docs/schema.md``), ``detail`` says what, for a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_reference(
    kind: Kind, key: bytes | None, value: bytes | None
) -> tuple[str, Reference | None]:
    """The id a message is about and its record, or None for a tombstone (a null value: the
    key was deleted). Raises ``InvalidReference`` for anything else than a record of ``kind``
    whose id is the message key."""
    if not key:
        raise InvalidReference("missing_key", "a reference record needs its id as the key")
    try:
        ident = key.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidReference("invalid_key", "the key is not UTF-8") from None
    _check_text("key", ident, MAX_ID_LENGTH, "invalid_key")
    if value is None:
        return ident, None
    try:
        data: Any = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise InvalidReference("undecodable_message", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidReference("undecodable_message", "not a JSON object")
    for name in _TEXT_FIELDS[kind]:
        if name not in data:
            raise InvalidReference("invalid_record", f"no {name!r}")
        limit = MAX_NAME_LENGTH if name == _NAME_FIELD[kind] else MAX_ID_LENGTH
        _check_text(name, data[name], limit, "invalid_record")
    record: Reference
    if kind == "store":
        try:
            ZoneInfo(data["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise InvalidReference(
                "invalid_record", f"unknown time zone {data['time_zone']!r}"
            ) from None
        record = Store.from_dict(data)
    elif kind == "seller":
        record = Seller.from_dict(data)
    else:
        for name in ("cost_cents", "price_cents"):
            amount = data.get(name)
            # from_dict would take "12" or 12.9 for cents: the contract says integers.
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise InvalidReference("invalid_record", f"{name} is not a whole number >= 0")
        record = Product.from_dict(data)
    if getattr(record, _ID_FIELD[kind]) != ident:
        raise InvalidReference(
            "key_mismatch",
            f"the key {ident!r} is not the record's {_ID_FIELD[kind]} "
            f"{getattr(record, _ID_FIELD[kind])!r}",
        )
    return ident, record


def _check_text(name: str, text: object, limit: int, reason: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(reason, f"{name} is not a non-empty string")
    if len(text) > limit:
        raise InvalidReference(reason, f"{name} is longer than {limit} characters")
    if _CONTROL.search(text):
        raise InvalidReference(reason, f"{name} has control characters")


@dataclass(slots=True)
class ReferenceCatalogue:
    """Stores, sellers and products by id: the latest record per key, a tombstone removes.

    Names fall back to the id when the catalogue lacks the entry (not published yet, or
    deleted), so an answer always has something to show. Sellers are keyed by seller id alone,
    as their topic is: a seller's name is the same in every store they sold in.
    """

    stores: dict[str, Store] = field(default_factory=dict)
    sellers: dict[str, Seller] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)

    def apply(self, kind: Kind, key: bytes | None, value: bytes | None) -> str:
        """Applies one message of the ``kind`` topic and returns the id it was about; raises
        ``InvalidReference`` (and changes nothing) when it is not a reference record."""
        ident, record = decode_reference(kind, key, value)
        self.put(kind, ident, record)
        return ident

    def put(self, kind: Kind, ident: str, record: Reference | None) -> None:
        """Sets (or with None removes) one entry, already decoded."""
        entries: dict[str, Any] = self._entries(kind)
        if record is None:
            entries.pop(ident, None)
        else:
            entries[ident] = record

    def _entries(self, kind: Kind) -> dict[str, Any]:
        return {"store": self.stores, "seller": self.sellers, "product": self.products}[kind]

    def counts(self) -> dict[Kind, int]:
        return {kind: len(self._entries(kind)) for kind in KINDS}

    def store_name(self, store_id: str) -> str:
        store = self.stores.get(store_id)
        return store.name if store is not None else store_id

    def seller_name(self, seller_id: str) -> str:
        seller = self.sellers.get(seller_id)
        return seller.display_name if seller is not None else seller_id

    def product_name(self, sku: str) -> str | None:
        """The catalogue's name, or None: products have a second source of names (the sale
        lines), which the caller falls back to before the SKU."""
        product = self.products.get(sku)
        return product.name if product is not None else None

    def store_names(self, store_ids: Iterable[str]) -> dict[str, str]:
        return {store_id: self.store_name(store_id) for store_id in store_ids}
