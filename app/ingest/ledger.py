"""The ingest ledger: which line and rejection ids the topics already hold.

The topics are the truth; the ledger is a local index of them (RocksDB via rocksdict) so that
a re-run can tell a duplicate without reading the topics again. It records, per partition, the
offset up to which it has indexed the topic; :meth:`Ledger.catch_up` reads whatever lies beyond
(written by a run that crashed after producing and before recording, or by another machine)
and indexes it. Deleting the ledger is therefore always safe: it rebuilds from the topics.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from rocksdict import Options, Rdict, WriteBatch

LINE = b"l"
REJECTION = b"r"
OFFSET = b"o"


class LedgerBusyError(RuntimeError):
    pass


class Ledger:
    """One ledger per Kafka cluster, so a new broker never inherits another one's ids."""

    def __init__(self, folder: Path, cluster_id: str) -> None:
        self.path = folder / f"ledger-{cluster_id}"
        folder.mkdir(parents=True, exist_ok=True)
        # RocksDB's own lock error is cryptic; take a named lock first to explain it.
        self._lock_file = (folder / f"ledger-{cluster_id}.lock").open("w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise LedgerBusyError(
                f"another ingest is running against this data dir ({self.path}); "
                "wait for it to finish or use another DATAAPP_DATA_DIR"
            ) from None
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        self._db = self._open()

    def _open(self) -> Rdict:
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        return Rdict(str(self.path), options)

    def close(self) -> None:
        self._db.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def known(self, kind: bytes, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        keys = [kind + bytes.fromhex(item) for item in ids]
        found = self._db.get(keys)
        return {item for item, value in zip(ids, found, strict=True) if value is not None}

    def record(
        self,
        line_ids: Iterable[str],
        rejection_ids: Iterable[str] = (),
        offsets: dict[tuple[str, int], int] | None = None,
    ) -> None:
        """Index ids and, in the same atomic write, how far the topics are indexed."""
        batch = WriteBatch(raw_mode=True)
        for item in line_ids:
            batch.put(LINE + bytes.fromhex(item), b"")
        for item in rejection_ids:
            batch.put(REJECTION + bytes.fromhex(item), b"")
        for (topic, partition), offset in (offsets or {}).items():
            batch.put(_offset_key(topic, partition), offset.to_bytes(8, "big"))
        self._db.write(batch)

    def offset(self, topic: str, partition: int) -> int:
        value = self._db.get(_offset_key(topic, partition))
        return 0 if value is None else int.from_bytes(value, "big")

    def reset(self) -> None:
        """Forget everything (the topic was recreated): the next catch-up reads it all."""
        self._db.close()
        Rdict.destroy(str(self.path))
        self._db = self._open()


def _offset_key(topic: str, partition: int) -> bytes:
    return OFFSET + f"{topic}:{partition}".encode()
