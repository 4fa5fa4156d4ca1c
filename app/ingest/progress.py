"""A progress bar over bytes read, on stderr, only where a person is watching (a terminal)."""

from __future__ import annotations

import sys
from types import TracebackType

from tqdm import tqdm


class ByteProgress:
    def __init__(self, total_bytes: int, disabled: bool = False) -> None:
        self._bar = tqdm(
            total=total_bytes or None,
            unit="B",
            unit_scale=True,
            desc="ingest",
            file=sys.stderr,
            disable=disabled or not sys.stderr.isatty(),
            leave=False,
        )

    def add(self, read_bytes: int) -> None:
        self._bar.update(read_bytes)

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.close()
