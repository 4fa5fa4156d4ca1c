"""When the live tables keep a partition's databases and when they restore it from its
changelogs (``LiveTables.on_assigned``): kept only from one consumer generation to the next;
the changelog replay itself is replaced by a recorder here (the integration tests replay real
changelogs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import tables.live
from tables.live import LiveTables


class Replays:
    def __init__(self) -> None:
        self.partitions: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, bootstrap: str, wanted: Any, handle: Any) -> int:
        self.partitions.append(sorted({tp.partition for tp in wanted}))
        await self.release.wait()
        return 0


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> Replays:
    recorder = Replays()
    monkeypatch.setattr(tables.live, "replay_to_end", recorder)
    return recorder


def live(tmp_path: Path) -> LiveTables:
    return LiveTables(tmp_path / "tables", "t.dataapp-worker-", 4, "127.0.0.1:1")


async def test_partitions_owned_in_consecutive_generations_are_kept(
    tmp_path: Path, replays: Replays
) -> None:
    tables = live(tmp_path)
    tables.on_assigned({0, 1, 2}, generation=1)
    await tables.wait_ready(lambda: 1)
    first = {p: tables._folders[p] for p in (0, 1, 2)}
    tables.on_assigned({1, 2, 3}, generation=2)
    assert await tables.wait_ready(lambda: 2)
    assert replays.partitions == [[0, 1, 2], [3]]
    assert tables.restored
    assert set(tables._dbs) == {1, 2, 3}
    assert tables._folders[1] == first[1] and tables._folders[2] == first[2]  # kept as they were
    assert not first[0].exists()  # the partition that left is gone from disk
    tables.close()


async def test_a_missed_generation_means_every_partition_is_restored_again(
    tmp_path: Path, replays: Replays
) -> None:
    # Generation 3 happened without this worker (frozen past its session timeout): another
    # worker may have written partitions 0 and 1 meanwhile.
    tables = live(tmp_path)
    tables.on_assigned({0, 1}, generation=2)
    await tables.wait_ready(lambda: 2)
    tables.on_assigned({0, 1}, generation=4)
    await tables.wait_ready(lambda: 4)
    assert replays.partitions == [[0, 1], [0, 1]]
    tables.close()


async def test_nothing_is_ready_before_the_current_generation_is_restored(
    tmp_path: Path, replays: Replays
) -> None:
    tables = live(tmp_path)
    tables.on_assigned({0}, generation=1)
    await tables.wait_ready(lambda: 1)
    replays.release.clear()
    tables.on_assigned({0, 1}, generation=2)
    assert not tables.restored
    waiting = asyncio.ensure_future(tables.wait_ready(lambda: 2))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    replays.release.set()
    await asyncio.wait_for(waiting, timeout=5)
    assert tables.restored
    tables.close()


async def test_the_agent_waits_for_an_assignment_the_consumer_already_knows_of(
    tmp_path: Path, replays: Replays
) -> None:
    # The consumer's generation changes before the assignment reaches on_assigned.
    tables = live(tmp_path)
    tables.on_assigned({0}, generation=1)
    waiting = asyncio.ensure_future(tables.wait_ready(lambda: 2))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    tables.on_assigned({0}, generation=2)
    await asyncio.wait_for(waiting, timeout=5)
    tables.close()


async def test_a_newer_assignment_replaces_a_restore_under_way(
    tmp_path: Path, replays: Replays
) -> None:
    tables = live(tmp_path)
    replays.release.clear()
    tables.on_assigned({0, 1}, generation=1)
    await asyncio.sleep(0.01)
    tables.on_assigned({1, 2}, generation=2)  # the first restore never finished: both again
    replays.release.set()
    await asyncio.wait_for(tables.wait_ready(lambda: 2), timeout=5)
    assert replays.partitions == [[0, 1], [1, 2]]
    assert set(tables._dbs) == {1, 2}
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == [
        "partition-1-generation-2",
        "partition-2-generation-2",
    ]  # the cancelled restore cleaned up after itself
    tables.close()


async def test_a_rebalance_lets_a_batch_waiting_for_the_restore_go(
    tmp_path: Path, replays: Replays
) -> None:
    # The group's rebalance waits for the batch in hand: it must not wait for a restore.
    tables = live(tmp_path)
    replays.release.clear()
    tables.on_assigned({0, 1}, generation=1)
    waiting = asyncio.ensure_future(tables.wait_ready(lambda: 1))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    tables.on_revoked()
    assert await asyncio.wait_for(waiting, timeout=5) is False
    assert not tables.restored
    tables.on_assigned({0, 1}, generation=2)
    replays.release.set()
    assert await asyncio.wait_for(tables.wait_ready(lambda: 2), timeout=5)
    assert replays.partitions == [[0, 1], [0, 1]]
    tables.close()


async def test_a_failed_restore_is_not_ready_and_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broker_gone(bootstrap: str, wanted: Any, handle: Any) -> int:
        raise ConnectionError("no broker")

    monkeypatch.setattr(tables.live, "replay_to_end", broker_gone)
    failures: list[BaseException] = []
    live_tables = live(tmp_path)
    live_tables.on_restore_failure = failures.append
    live_tables.on_assigned({0}, generation=1)
    with pytest.raises(ConnectionError):
        await live_tables.wait_ready(lambda: 1)
    assert not live_tables.restored
    assert [type(error) for error in failures] == [ConnectionError]
    with pytest.raises(tables.live.TablesNotReadyError):
        live_tables.get(f"{store_in(live_tables, 0)}\x1fT\x1fd\x1f2026-11-29\x1f")
    live_tables.close()


def store_in(live_tables: LiveTables, partition: int) -> str:
    """A store id whose sales go to ``partition``."""
    return next(
        store
        for store in (f"store-{n}" for n in range(1000))
        if live_tables.partition_of(store) == partition
    )
