"""The reference catalogue (``app/reference.py``), the follower's handling of one message
(``agents/reference.py``) and the names the API derives from them (``app/api/names.py``,
product rankings in ``app/api/lookups.py``), without a broker."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.reference import ReferenceFollower
from app.api.auth import Principal
from app.api.lookups import Lookups
from app.api.names import display_name_of, seller_name, store_name_of
from app.api.periods import DateRange
from app.metrics import WorkerMetrics, render
from app.records import Product, Rejection, Seller, Store
from app.reference import InvalidReference, Kind, ReferenceCatalogue, decode_reference
from app.topics import topic_set
from tests.unit.test_lookups import SALES, History, MemoryTables

STORE = Store("sp-paulista-01", "Loja Paulista – São Paulo", "São Paulo", "SP", "America/Sao_Paulo")
SELLER = Seller("s-0001", "sp-paulista-01", "Caio Simões", "plano-senior")
PRODUCT = Product("ELE-00001", "Webcam Full HD Premium", "Eletrônicos", 18862, 24999)
TOPICS = topic_set("t.")


def message(record: Store | Seller | Product, **changes: Any) -> bytes:
    return orjson.dumps({**record.to_dict(), **changes})


def key_of(record: Store | Seller | Product) -> bytes:
    ident = getattr(record, {Store: "store_id", Seller: "seller_id", Product: "sku"}[type(record)])
    return ident.encode()


# --------------------------------------------------------------------------- the catalogue


def test_records_are_applied_and_named() -> None:
    catalogue = ReferenceCatalogue()
    assert catalogue.apply("store", key_of(STORE), message(STORE)) == STORE.store_id
    catalogue.apply("seller", key_of(SELLER), message(SELLER))
    catalogue.apply("product", key_of(PRODUCT), message(PRODUCT))
    assert catalogue.stores == {STORE.store_id: STORE}
    assert catalogue.sellers == {SELLER.seller_id: SELLER}
    assert catalogue.products == {PRODUCT.sku: PRODUCT}
    assert catalogue.store_name("sp-paulista-01") == "Loja Paulista – São Paulo"
    assert catalogue.seller_name("s-0001") == "Caio Simões"
    assert catalogue.product_name("ELE-00001") == "Webcam Full HD Premium"
    assert catalogue.counts() == {"store": 1, "seller": 1, "product": 1}


def test_the_latest_value_of_a_key_wins() -> None:
    catalogue = ReferenceCatalogue()
    catalogue.apply("seller", b"s-0001", message(SELLER))
    catalogue.apply("seller", b"s-0001", message(SELLER, display_name="Caio S. Simões"))
    catalogue.apply("seller", b"s-0002", message(SELLER, seller_id="s-0002", display_name="Rita"))
    assert catalogue.seller_name("s-0001") == "Caio S. Simões"
    assert catalogue.seller_name("s-0002") == "Rita"


def test_a_tombstone_removes_the_key_and_the_name_falls_back_to_the_id() -> None:
    catalogue = ReferenceCatalogue()
    catalogue.apply("store", key_of(STORE), message(STORE))
    catalogue.apply("store", key_of(STORE), None)
    assert catalogue.stores == {}
    assert catalogue.store_name("sp-paulista-01") == "sp-paulista-01"
    catalogue.apply("product", b"never-seen", None)  # deleting what is not there is fine
    catalogue.apply("store", key_of(STORE), message(STORE))  # and a key may come back
    assert catalogue.store_name("sp-paulista-01") == STORE.name


def test_unknown_ids_fall_back_to_the_id() -> None:
    catalogue = ReferenceCatalogue()
    assert catalogue.store_name("rj-copacabana-01") == "rj-copacabana-01"
    assert catalogue.seller_name("s-0099") == "s-0099"
    # Products have a second source of names (sale lines), so the caller decides.
    assert catalogue.product_name("XYZ-1") is None
    assert catalogue.store_names(["a", "b"]) == {"a": "a", "b": "b"}


def _bad(kind: Kind, key: bytes | None, value: bytes, reason: str, label: str) -> Any:
    return pytest.param(kind, key, value, reason, id=label)


@pytest.mark.parametrize(
    ("kind", "key", "value", "reason"),
    [
        _bad("store", b"sp-paulista-01", b"{not json", "undecodable_message", "not-json"),
        _bad("store", b"sp-paulista-01", b"[1, 2]", "undecodable_message", "not-an-object"),
        _bad("store", b"sp-paulista-01", b"", "undecodable_message", "empty-value"),
        _bad("store", None, message(STORE), "missing_key", "no-key"),
        _bad("store", b"", message(STORE), "missing_key", "empty-key"),
        _bad("store", b"\xff\xfe", message(STORE), "invalid_key", "key-not-utf8"),
        _bad("store", b"a\x1fb", message(STORE), "invalid_key", "key-control-char"),
        _bad("store", b"rj-copacabana-01", message(STORE), "key_mismatch", "key-is-another-id"),
        _bad("store", b"sp-paulista-01", message(STORE, name=""), "invalid_record", "empty-name"),
        _bad("store", b"sp-paulista-01", message(STORE, name="  "), "invalid_record", "blank"),
        _bad("store", b"sp-paulista-01", message(STORE, name=7), "invalid_record", "name-int"),
        _bad("store", b"sp-paulista-01", message(STORE, name=None), "invalid_record", "null"),
        _bad("store", b"sp-paulista-01", message(STORE, name="L\nx"), "invalid_record", "ctrl"),
        _bad("store", b"sp-paulista-01", message(STORE, name="L" * 201), "invalid_record", "long"),
        _bad(
            "store", b"sp-paulista-01", message(STORE, time_zone="Mars/Olympus"),
            "invalid_record", "unknown-zone",
        ),
        _bad(
            "store", b"sp-paulista-01", message(SELLER, seller_id="sp-paulista-01"),
            "invalid_record", "a-seller-on-the-stores-topic",
        ),
        _bad("seller", b"s-0001", message(SELLER, display_name=[]), "invalid_record", "list"),
        _bad(
            "seller", b"s-0001",
            orjson.dumps({k: v for k, v in SELLER.to_dict().items() if k != "store_id"}),
            "invalid_record", "missing-field",
        ),
        _bad("product", b"ELE-00001", message(PRODUCT, price_cents="1"), "invalid_record", "str"),
        _bad("product", b"ELE-00001", message(PRODUCT, cost_cents=1.5), "invalid_record", "float"),
        _bad("product", b"ELE-00001", message(PRODUCT, cost_cents=True), "invalid_record", "bool"),
        _bad("product", b"ELE-00001", message(PRODUCT, cost_cents=-1), "invalid_record", "neg"),
    ],
)  # fmt: skip
def test_a_malformed_record_is_refused_with_a_reason_and_changes_nothing(
    kind: Kind, key: bytes | None, value: bytes, reason: str
) -> None:
    catalogue = ReferenceCatalogue()
    catalogue.apply("store", key_of(STORE), message(STORE))
    catalogue.apply("seller", key_of(SELLER), message(SELLER))
    catalogue.apply("product", key_of(PRODUCT), message(PRODUCT))
    before = (dict(catalogue.stores), dict(catalogue.sellers), dict(catalogue.products))
    with pytest.raises(InvalidReference) as refused:
        catalogue.apply(kind, key, value)
    assert refused.value.reason == reason, refused.value.detail
    assert refused.value.detail
    assert (catalogue.stores, catalogue.sellers, catalogue.products) == before


def test_extra_fields_are_ignored() -> None:
    """A newer producer may add fields: the record is still read."""
    ident, record = decode_reference("product", b"ELE-00001", message(PRODUCT, colour="red"))
    assert (ident, record) == ("ELE-00001", PRODUCT)


NAMES = st.sampled_from(["Ana", "Bia", "Caio", "Dora"])
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3"]), st.sampled_from(["put", "delete", "junk"]), NAMES
    ),
    max_size=30,
)


@given(operations=OPERATIONS)
def test_the_catalogue_is_the_latest_valid_value_per_key(
    operations: list[tuple[str, str, str]],
) -> None:
    """Against a plain dict: a put sets, a tombstone deletes, junk changes nothing."""
    catalogue, model = ReferenceCatalogue(), {}
    for ident, action, name in operations:
        if action == "put":
            catalogue.apply(
                "seller", ident.encode(), message(SELLER, seller_id=ident, display_name=name)
            )
            model[ident] = name
        elif action == "delete":
            catalogue.apply("seller", ident.encode(), None)
            model.pop(ident, None)
        else:
            with pytest.raises(InvalidReference):
                catalogue.apply("seller", ident.encode(), b'{"seller_id": 1}')
    assert {ident: s.display_name for ident, s in catalogue.sellers.items()} == model
    for ident in ("s1", "s2", "s3"):
        assert catalogue.seller_name(ident) == model.get(ident, ident)


# --------------------------------------------------------------------------- the follower


def follower() -> ReferenceFollower:
    return ReferenceFollower("127.0.0.1:1", TOPICS, ReferenceCatalogue(), WorkerMetrics())


def test_a_valid_message_is_applied_and_counted() -> None:
    follow = follower()
    assert follow.handle("t.ref.sellers", 0, 3, b"s-0001", message(SELLER)) is None
    assert follow.handle("t.ref.stores", 0, 0, b"sp-paulista-01", message(STORE)) is None
    assert follow.handle("t.ref.sellers", 0, 4, b"s-0001", None) is None  # a tombstone
    assert follow.catalogue.sellers == {} and follow.catalogue.stores == {STORE.store_id: STORE}
    assert follow.metrics.reference_records == {"t.ref.sellers": 2, "t.ref.stores": 1}
    assert follow.metrics.reference_invalid == {}


def test_a_malformed_message_is_logged_counted_and_dead_lettered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow = follower()
    follow.handle("t.ref.sellers", 0, 6, b"s-0001", message(SELLER))
    with caplog.at_level(logging.WARNING, logger="agents.reference"):
        letter = follow.handle("t.ref.sellers", 0, 7, b"s-0001", b"garbage")
        follow.handle("t.ref.sellers", 0, 8, b"s-0002", message(SELLER))  # key mismatch
    assert letter is not None
    key, value = letter
    rejection = Rejection.from_dict(orjson.loads(value))
    assert key == b"kafka:t.ref.sellers" == rejection.source.encode()
    assert rejection.rejection_id == "worker:t.ref.sellers:0:7"  # its position: sent once
    assert (rejection.line_number, rejection.reason) == (7, "undecodable_message")
    assert rejection.raw == "garbage" and "s-0001" in rejection.detail
    assert follow.metrics.reference_invalid == {
        ("t.ref.sellers", "undecodable_message"): 1,
        ("t.ref.sellers", "key_mismatch"): 1,
    }
    assert follow.catalogue.seller_name("s-0001") == "Caio Simões"  # the good one stays
    logged = [r.getMessage() for r in caplog.records]
    assert any("t.ref.sellers[0]@7" in text and "undecodable_message" in text for text in logged)
    assert any("t.ref.sellers[0]@8" in text and "key_mismatch" in text for text in logged)
    text = render(follow.metrics, {}, {}, None)
    assert 'dataapp_reference_invalid_total{topic="t.ref.sellers",reason="key_mismatch"} 1' in text
    assert 'dataapp_reference_records_total{topic="t.ref.sellers"} 1' in text


def test_a_failure_applying_a_message_is_refused_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong with one message, the follower goes on with the next."""
    follow = follower()

    def broken(*_: Any) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr("app.reference.decode_reference", broken)
    with caplog.at_level(logging.ERROR, logger="agents.reference"):
        letter = follow.handle("t.ref.products", 0, 1, b"ELE-00001", message(PRODUCT))
    assert letter is not None and b"RuntimeError: a bug" in letter[1]
    assert follow.metrics.reference_invalid == {("t.ref.products", "invalid_record"): 1}


def test_a_message_of_another_topic_is_refused() -> None:
    follow = follower()
    letter = follow.handle("t.sales", 0, 1, b"x", b"{}")
    assert letter is not None
    assert follow.metrics.reference_invalid == {("t.sales", "unknown_topic"): 1}


# --------------------------------------------------------------------------- API names


def catalogue() -> ReferenceCatalogue:
    named = ReferenceCatalogue()
    named.put("store", STORE.store_id, STORE)
    named.put("seller", SELLER.seller_id, SELLER)
    named.put("seller", "s-0009", Seller("s-0009", "rj-copacabana-01", "Rita Lima", "p"))
    return named


def test_me_prefers_the_users_own_name_then_the_sellers_then_the_username() -> None:
    seller = Principal("caio", "seller", "sp-paulista-01", "s-0001")
    manager = Principal("gerente", "manager", "sp-paulista-01")
    admin = Principal("admin", "admin")
    assert display_name_of(seller, "Caio da Loja", catalogue()) == "Caio da Loja"
    assert display_name_of(seller, None, catalogue()) == "Caio Simões"
    assert display_name_of(seller, None, ReferenceCatalogue()) == "caio"
    assert display_name_of(manager, None, catalogue()) == "gerente"
    assert display_name_of(manager, "Marta Souza", catalogue()) == "Marta Souza"
    assert store_name_of(manager, catalogue()) == "Loja Paulista – São Paulo"
    assert store_name_of(manager, ReferenceCatalogue()) == "sp-paulista-01"
    assert store_name_of(admin, catalogue()) is None


def test_a_seller_is_named_only_to_callers_who_may_see_them() -> None:
    names = catalogue()
    manager = Principal("gerente", "manager", "sp-paulista-01")
    assert seller_name(names, manager, "s-0001") == "Caio Simões"
    assert seller_name(names, manager, "s-0009") == "s-0009"  # a seller of another store
    assert seller_name(names, Principal("admin", "admin"), "s-0009") == "Rita Lima"
    assert seller_name(names, None, "s-0009") == "Rita Lima"  # the workers' internal calls
    me = Principal("caio", "seller", "sp-paulista-01", "s-0001")
    assert seller_name(names, me, "s-0001") == "Caio Simões"
    assert seller_name(names, me, "s-0009") == "s-0009"
    assert seller_name(names, manager, "s-0404") == "s-0404"  # unknown: the id


async def test_product_names_come_from_the_catalogue_first() -> None:
    names = ReferenceCatalogue()
    names.put("product", "A", Product("A", "Arroz Integral", "Alimentos", 1, 2))
    lookups = Lookups(MemoryTables(SALES), History(), {"C": "name on the sale line"}, names)  # type: ignore[arg-type]
    ranking = await lookups.product_ranking(
        "s1", DateRange(date(2026, 3, 1), date(2026, 3, 31)), date(2026, 1, 1), "revenue", 10
    )
    assert {row["sku"]: row["product_name"] for row in ranking} == {
        "A": "Arroz Integral",  # the catalogue
        "B": "name of B",  # neither: the history's
        "C": "name on the sale line",  # not in the catalogue: the sale line's
    }


async def test_the_follower_outlives_broker_trouble() -> None:
    """Any error while following (the broker down, a topic missing) is retried with a growing
    backoff, for as long as it takes; stopping ends it at once."""
    waits: list[float] = []
    attempts = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    follow = ReferenceFollower(
        "127.0.0.1:1", TOPICS, ReferenceCatalogue(), WorkerMetrics(), sleep=sleep
    )

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise ConnectionError("broker down")
        await asyncio.Event().wait()  # connected: follows until stopped

    follow._follow = failing  # type: ignore[method-assign]
    await follow.start()
    for _ in range(100):
        if attempts == 4:
            break
        await asyncio.sleep(0.01)
    assert attempts == 4 and len(waits) == 3
    assert waits[0] < waits[2]  # the backoff grows (0.1-0.2 s, then 0.4-0.8 s)
    await follow.stop()
    assert follow._task is None
