"""How a plan sent to the API becomes the version saved: pure, no I/O (``agents/plans.py``
writes the topic around it, ``app/api/routes.py`` answers with it).

The rules of a save (``PUT /api/v1/stores/{store}/plan``, ``docs/pay.md``, "Editing"):

- the body is one plan version in its JSON form (``parse_plan``); ``store_id`` may be left
  out (the path's store), ``version`` too: the server numbers it (``next_version``);
- a version number given must be the next one of its ``plan_id``: a number already taken by a
  different plan is a conflict (another edit saved first; HTTP 409), a number further on is
  refused (``version``);
- saving what is already saved changes nothing: the same version again (a retried request),
  or, without a version, the same plan as the latest version of its ``plan_id``;
- a new version may not start in a month already past in the store unless it says it is a
  correction (``check_not_back_dated``): pay already earned is not rewritten by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import orjson

from app.pay.plans import (
    PlanError,
    PlanHistory,
    PlanVersion,
    add_version,
    history_to_json,
    next_version,
    parse_plan,
)

MAX_HISTORY_BYTES = 900_000
"""The most a store's history may weigh on the topic: under the broker's default message
limit (1 MiB), with room for the record's overhead. About 500 versions of a 20-tier plan."""


class VersionConflict(Exception):
    """A version number another save took first, with a different plan (HTTP 409)."""

    def __init__(self, plan_id: str, version: int, expected: int) -> None:
        super().__init__(
            f"version {version} of plan {plan_id!r} is already saved with other terms (another "
            f"edit saved first); reload the plan and save again, as version {expected}, or "
            "without a version"
        )
        self.plan_id = plan_id
        self.version = version
        self.expected = expected


class HistoryTooLarge(ValueError):
    """The store's history would no longer fit in one message of the plans topic."""


def draft_from_body(body: object, store_id: str, history: PlanHistory | None) -> PlanVersion:
    """The plan a request body describes, for the store of the path: ``store_id`` filled in
    when absent or null, ``version`` numbered when absent or null. ``PlanError`` names the
    field at fault, as ``parse_plan`` does."""
    if not isinstance(body, Mapping):
        return parse_plan(body)  # refused, with parse_plan's own words
    data: dict[str, Any] = dict(body)
    if data.get("store_id") is None:
        data["store_id"] = store_id
    elif data["store_id"] != store_id:
        raise PlanError(
            "store_id",
            f"must be the store of the path {store_id!r} (or left out), got {data['store_id']!r}",
        )
    if data.get("version") is None:
        plan_id = data.get("plan_id")
        if history is not None and isinstance(plan_id, str):
            data["version"] = next_version(history, plan_id)
        else:
            # A first plan; or a bad plan_id, which parse_plan reports before the version.
            data["version"] = 1
    return parse_plan(data)


def check_not_back_dated(plan: PlanVersion, store_today: date) -> None:
    """Refuses a new version that would rewrite pay already earned by accident.

    ``store_today`` is the store's own today, the caller's to give: the local day of the
    store's latest sale (its event clock, as the projections read it), or the wall-clock date
    in the store's time zone while the store has no sales yet. A version whose
    ``effective_from`` is before the first day of that day's month governs months already
    past: it is refused (``PlanError`` on ``effective_from``) unless it carries a
    ``correction`` with its reason. The first day of the current month itself is accepted
    (the month is still being earned), as is any later month. A correction on a version that
    is not back-dated is accepted as it is: the sender may read the month from another clock.
    """
    current_month = store_today.replace(day=1)
    if plan.effective_from >= current_month or plan.correction is not None:
        return
    raise PlanError(
        "effective_from",
        f"must not be before {current_month.isoformat()}, the first day of the store's current "
        "month, unless the version is a correction (it would change pay already earned; to "
        'correct past months on purpose, send "correction": {"reason": "<why>"} with it), got '
        f"{plan.effective_from.isoformat()!r}",
    )


def plan_to_save(
    history: PlanHistory, body: object, store_id: str, *, store_today: date
) -> PlanVersion:
    """The version a save of ``body`` adds to ``history`` (or the saved version it repeats),
    on the store's ``store_today`` (``check_not_back_dated`` says which day that is).

    Raises ``PlanError`` for a malformed plan, a back-dated one that is no correction, or one
    the history refuses (``add_version``'s rules), ``VersionConflict`` for a version number
    taken by another plan. A repeat of a saved version is answered as saved even once its
    month is past: it changes nothing.
    """
    explicit = isinstance(body, Mapping) and body.get("version") is not None
    plan = draft_from_body(body, store_id, history)
    same = [saved for saved in history.versions if saved.plan_id == plan.plan_id]
    if plan in history.versions:
        return plan  # the same version again: a retried request
    if same and not explicit:
        latest = max(same, key=lambda saved: saved.version)
        if replace(plan, version=latest.version) == latest:
            return latest  # the latest terms again, unnumbered: a retried request
    if explicit:
        expected = next_version(history, plan.plan_id)  # 1 for a new plan_id
        if plan.version < expected:
            raise VersionConflict(plan.plan_id, plan.version, expected)
        if plan.version > expected:
            raise PlanError(
                "version",
                f"must be {expected}, the next version of plan {plan.plan_id!r} (or left out: "
                f"the server numbers it), got {plan.version}",
            )
    check_not_back_dated(plan, store_today)
    add_version(history, plan)  # its refusals (another scope, ...) before anything is written
    return plan


def encode_history(history: PlanHistory) -> bytes:
    """The message value of a store's history; ``HistoryTooLarge`` past the topic's limit."""
    value = orjson.dumps(history_to_json(history))
    if len(value) > MAX_HISTORY_BYTES:
        raise HistoryTooLarge(
            f"store {history.store_id!r} would have a plan history of {len(value):,} bytes, over "
            f"the {MAX_HISTORY_BYTES:,} one message of the plans topic holds"
        )
    return value
