"""Which events of a batch the aggregation agent counts (``SourceTransactions.to_process``):
each once, from the committed offset on, only of the current consumer generation and of
partitions still owned."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types import TP

from agents.transactions import SourceTransactions

TOPIC = "sales"


def event(partition: int, offset: int, generation: int = 3) -> Any:
    message = SimpleNamespace(
        tp=TP(TOPIC, partition), offset=offset, generation_id=generation, partition=partition
    )
    return SimpleNamespace(message=message)


def transactions(
    committed: dict[int, int | None],
    assigned: set[int] | None = None,
    generation: int = 3,
) -> SourceTransactions:
    owned = {TP(TOPIC, p) for p in (assigned if assigned is not None else committed)}
    consumer = SimpleNamespace(
        assignment=lambda: owned,
        _committed_offset={TP(TOPIC, p): offset for p, offset in committed.items()},
    )
    app = SimpleNamespace(consumer=consumer, consumer_generation_id=generation)
    return SourceTransactions(app, TOPIC, "sales.rejected", lambda partition: 1)  # type: ignore[arg-type]


def kept(source: SourceTransactions, events: list[Any]) -> list[tuple[int, int]]:
    return [(e.message.partition, e.message.offset) for e in source.to_process(events)]


def test_events_from_the_committed_offset_on_are_kept_in_order() -> None:
    source = transactions({0: 10, 1: None})
    batch = [event(0, 9), event(0, 10), event(1, 0), event(0, 12), event(1, 1)]
    assert kept(source, batch) == [(0, 10), (1, 0), (0, 12), (1, 1)]


def test_a_second_copy_of_an_event_in_the_same_batch_is_dropped() -> None:
    # A seek back to the committed offset during a rebalance fetches 10..11 again while the
    # first copies are still in the batch buffer.
    source = transactions({0: 10})
    batch = [event(0, 10), event(0, 11), event(0, 10), event(0, 11), event(0, 12)]
    assert kept(source, batch) == [(0, 10), (0, 11), (0, 12)]


def test_events_fetched_in_an_earlier_generation_are_dropped() -> None:
    source = transactions({0: 10}, generation=4)
    batch = [event(0, 10, generation=3), event(0, 11, generation=3), event(0, 10, generation=4)]
    assert kept(source, batch) == [(0, 10)]


def test_events_of_partitions_no_longer_owned_are_dropped() -> None:
    source = transactions({0: 0, 1: 0}, assigned={1})
    assert kept(source, [event(0, 5), event(1, 5)]) == [(1, 5)]


def test_what_this_worker_committed_holds_while_faust_has_forgotten_it() -> None:
    # Faust drops its committed offsets at the start of a rebalance, until its seek.
    source = transactions({0: None})
    source.committed[0] = 20
    assert kept(source, [event(0, 19), event(0, 20)]) == [(0, 20)]


def test_an_offset_another_worker_committed_meanwhile_wins_over_ours() -> None:
    source = transactions({0: 50})
    source.committed[0] = 20
    assert kept(source, [event(0, 20), event(0, 49), event(0, 50)]) == [(0, 50)]
