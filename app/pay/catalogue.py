"""Every store's commission plan history in memory, read from the plans topic (``ref.plans``,
key = store, value = the store's whole history): pure, no I/O. ``agents/plans.py`` follows the
topic into it; the API reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from app.pay.plans import PlanError, PlanHistory, parse_history
from app.reference import MAX_ID_LENGTH, InvalidReference


def decode_history(key: bytes | None, value: bytes | None) -> tuple[str, PlanHistory | None]:
    """The store a message of the plans topic is about and its history, or None for a
    tombstone. ``InvalidReference`` (the reference topics' refusal, with the same reason codes)
    for anything else than a valid history whose ``store_id`` is the key."""
    if not key:
        raise InvalidReference("missing_key", "a plan history needs its store id as the key")
    try:
        store_id = key.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidReference("invalid_key", "the key is not UTF-8") from None
    if not store_id.strip() or len(store_id) > MAX_ID_LENGTH:
        raise InvalidReference("invalid_key", f"the key is not a store id: {store_id[:100]!r}")
    if value is None:
        return store_id, None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise InvalidReference("undecodable_message", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidReference("undecodable_message", "not a JSON object")
    try:
        history = parse_history(data)
    except PlanError as error:
        raise InvalidReference("invalid_record", str(error)) from None
    if history.store_id != store_id:
        raise InvalidReference(
            "key_mismatch",
            f"the key {store_id!r} is not the history's store_id {history.store_id!r}",
        )
    return store_id, history


@dataclass(slots=True)
class PlanCatalogue:
    """Every store's plan history, as the plans topic holds it: the latest message per store
    wins, a tombstone removes the store's plans.

    A worker that saves a history applies it at once (``put_saved``, after the broker
    acknowledged it), so that its next answer shows it, before its follower reads the same
    message back. Until then the follower's older messages of that store are not applied
    (``apply`` compares offsets): the catalogue never goes back to a history older than one
    it showed.
    """

    histories: dict[str, PlanHistory] = field(default_factory=dict)
    _saved_at: dict[str, int] = field(default_factory=dict)
    """Offset of a history this worker saved and its follower has not read back yet."""

    def history(self, store_id: str) -> PlanHistory | None:
        """The store's history; None for a store without plans (any id may be asked for,
        including ones no history could have, such as ``" "``)."""
        return self.histories.get(store_id)

    def apply(self, key: bytes | None, value: bytes | None, offset: int) -> str:
        """Applies the message at ``offset``; returns the store it was about. Raises
        ``InvalidReference`` (and changes nothing) when it is not a plan history."""
        store_id, history = decode_history(key, value)
        saved_at = self._saved_at.get(store_id)
        if saved_at is not None:
            if offset < saved_at:
                return store_id  # older than what this worker saved and already shows
            del self._saved_at[store_id]
        self._put(store_id, history)
        return store_id

    def put_saved(self, history: PlanHistory, offset: int) -> None:
        """A history this worker wrote at ``offset`` and the broker acknowledged."""
        self._saved_at[history.store_id] = offset
        self._put(history.store_id, history)

    def _put(self, store_id: str, history: PlanHistory | None) -> None:
        if history is None:
            self.histories.pop(store_id, None)
        else:
            self.histories[store_id] = history

    def __len__(self) -> int:
        return len(self.histories)
