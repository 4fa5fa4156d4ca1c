"""The plan and pay API's pure parts, without a broker: how a request body becomes the version
saved (``app/pay/editing.py``), the plan catalogue and its follower's handling of one message
(``app/pay/catalogue.py``, ``agents/plans.py``), and the answers' parameters and JSON
(``app/api/pay.py``), against the OpenAPI document.

Expected pay figures are worked out by hand in the tests (integer arithmetic in the comments),
not with ``app/pay/compute.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from agents.plans import PlanFollower, PlanStore
from app.api.openapi import document
from app.api.pay import (
    Outlook,
    TeamSeller,
    draft_applies,
    month_end,
    month_to_date,
    parse_as_of,
    parse_period,
    plan_view,
    projected_json,
    seller_pay,
    share,
    simulation,
    store_today,
    team_members,
    team_pay,
)
from app.api.periods import BadParameter, DateRange
from app.api.routes import ROUTES, _event_today, _outlooks
from app.metrics import WorkerMetrics, render
from app.pay.catalogue import PlanCatalogue, decode_history
from app.pay.editing import (
    MAX_HISTORY_BYTES,
    HistoryTooLarge,
    VersionConflict,
    check_not_back_dated,
    draft_from_body,
    encode_history,
    plan_to_save,
)
from app.pay.plans import (
    Correction,
    PlanError,
    PlanHistory,
    add_version,
    history_to_json,
    parse_plan,
    to_json,
)
from app.records import Rejection, Seller, Store
from app.reference import InvalidReference, ReferenceCatalogue
from app.topics import topic_set

STORE = "loja-001"
TODAY = date(2026, 3, 18)
"""The store's day in the saves below: the body's effective_from (2026-03-01) is this month."""
TOPICS = topic_set("t.")
DOC = document(ROUTES)
SCHEMAS = DOC["components"]["schemas"]


def body(**changes: Any) -> dict[str, Any]:
    """The plan of docs/pay.md as an editor sends it: no version, no store."""
    plan: dict[str, Any] = {
        "plan_id": "padrao",
        "effective_from": "2026-03-01",
        "base_pay_cents": 180_000,
        "basis": "revenue",
        "tier_mode": "progressive",
        "tiers": [
            {"threshold_cents": 0, "rate": "0.01"},
            {"threshold_cents": 3_000_000, "rate": "0.02"},
        ],
        "quota_bonus": {"quota_cents": 4_000_000, "amount_cents": 30_000},
        "commission_cap_cents": 150_000,
    }
    plan.update(changes)
    return {key: value for key, value in plan.items() if value is not ...}


def saved(*bodies: dict[str, Any]) -> PlanHistory:
    history = PlanHistory(STORE)
    for item in bodies:
        history = add_version(history, plan_to_save(history, item, STORE, store_today=TODAY))
    return history


# --------------------------------------------------------------------------- saving


def test_the_server_numbers_versions_and_fills_the_store() -> None:
    history = PlanHistory(STORE)
    first = plan_to_save(history, body(), STORE, store_today=TODAY)
    assert (first.version, first.store_id, first.seller_id) == (1, STORE, None)
    history = add_version(history, first)
    second = plan_to_save(history, body(base_pay_cents=190_000), STORE, store_today=TODAY)
    assert second.version == 2
    # A null version or store is the same as none.
    assert (
        plan_to_save(
            history, body(version=None, store_id=None, base_pay_cents=1), STORE, store_today=TODAY
        ).version
        == 2
    )
    other = plan_to_save(history, body(plan_id="outro"), STORE, store_today=TODAY)
    assert other.version == 1, "versions are numbered per plan_id"


def test_a_given_version_must_be_the_next_one() -> None:
    history = saved(body(), body(base_pay_cents=190_000))
    assert (
        plan_to_save(
            history, body(version=3, base_pay_cents=200_000), STORE, store_today=TODAY
        ).version
        == 3
    )
    with pytest.raises(VersionConflict) as conflict:
        plan_to_save(history, body(version=2, base_pay_cents=200_000), STORE, store_today=TODAY)
    assert (conflict.value.version, conflict.value.expected) == (2, 3)
    assert "version 3" in str(conflict.value)
    with pytest.raises(PlanError) as gap:
        plan_to_save(history, body(version=5), STORE, store_today=TODAY)
    assert gap.value.field == "version" and "must be 3" in gap.value.reason
    # A new plan_id starts at 1.
    assert (
        plan_to_save(history, body(plan_id="novo", version=1), STORE, store_today=TODAY).version
        == 1
    )
    with pytest.raises(PlanError) as gap:
        plan_to_save(history, body(plan_id="novo", version=2), STORE, store_today=TODAY)
    assert gap.value.field == "version" and "must be 1" in gap.value.reason


def test_saving_what_is_saved_changes_nothing() -> None:
    history = saved(body(), body(base_pay_cents=190_000))
    latest = history.versions[-1]
    # The same version again (a retried request with its number) ...
    again = plan_to_save(history, body(version=2, base_pay_cents=190_000), STORE, store_today=TODAY)
    assert again == latest and add_version(history, again) is history
    # ... or the latest terms again without a number.
    again = plan_to_save(history, body(base_pay_cents=190_000), STORE, store_today=TODAY)
    assert again == latest and add_version(history, again) is history
    # The terms of an older version, unnumbered, are a new version: going back is a change.
    back = plan_to_save(history, body(), STORE, store_today=TODAY)
    assert back.version == 3 and back.base_pay_cents == 180_000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"store_id": "loja-002"}, "store_id"),
        ({"tiers": [{"threshold_cents": 0, "rate": "1.5"}]}, "tiers[0].rate"),
        ({"tiers": [{"threshold_cents": 0, "rate": 0.01}]}, "tiers[0].rate"),
        ({"comission_cap_cents": 1}, "comission_cap_cents"),
        ({"effective_from": "2026-03-15"}, "effective_from"),
        ({"plan_id": ""}, "plan_id"),
        ({"plan_id": 7}, "plan_id"),
        ({"base_pay_cents": "180000"}, "base_pay_cents"),
        ({"version": 0}, "version"),
        ({"tiers": ...}, "tiers"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanError) as refused:
        plan_to_save(PlanHistory(STORE), body(**changes), STORE, store_today=TODAY)
    assert refused.value.field == field


@pytest.mark.parametrize("data", [None, [], "plan", 3])
def test_a_body_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(PlanError) as refused:
        plan_to_save(PlanHistory(STORE), data, STORE, store_today=TODAY)
    assert refused.value.field == "plan"


def test_a_plan_id_keeps_its_scope() -> None:
    history = saved(body())
    with pytest.raises(PlanError) as refused:
        plan_to_save(history, body(seller_id="s-0001"), STORE, store_today=TODAY)
    assert refused.value.field == "seller_id"
    override = plan_to_save(
        history, body(plan_id="ana", seller_id="s-0001"), STORE, store_today=TODAY
    )
    assert (override.seller_id, override.version) == ("s-0001", 1)


def test_a_draft_is_numbered_but_not_checked_against_the_history() -> None:
    history = saved(body())
    draft = draft_from_body(body(base_pay_cents=1), STORE, history)
    assert draft.version == 2 and draft.base_pay_cents == 1
    # A what-if of a saved version number is no conflict: nothing will be saved.
    assert draft_from_body(body(version=1, base_pay_cents=1), STORE, history).version == 1


def test_a_history_past_one_message_is_refused() -> None:
    history = saved(body())
    assert orjson.loads(encode_history(history)) == history_to_json(history)
    tiers = [{"threshold_cents": 100 * n, "rate": "0.123456"} for n in range(20)]
    one = plan_to_save(
        PlanHistory(STORE), body(plan_id="p" * 200, tiers=tiers), STORE, store_today=TODAY
    )
    size = len(orjson.dumps(to_json(one)))
    count = MAX_HISTORY_BYTES // size + 1
    versions = [replace(one, version=n) for n in range(1, count + 1)]
    assert len(encode_history(PlanHistory(STORE, tuple(versions[:-20])))) <= MAX_HISTORY_BYTES
    with pytest.raises(HistoryTooLarge, match="plan history of"):
        encode_history(PlanHistory(STORE, tuple(versions)))


# --------------------------------------------------------------------------- back-dated saves


def draft(effective_from: str, correction: Correction | None = None) -> Any:
    plan = draft_from_body(body(effective_from=effective_from), STORE, None)
    return replace(plan, correction=correction)


@pytest.mark.parametrize(
    ("today", "effective_from", "accepted"),
    [
        # The current month's first day is accepted, on any day of the month ...
        (date(2026, 3, 1), "2026-03-01", True),
        (date(2026, 3, 18), "2026-03-01", True),
        (date(2026, 3, 31), "2026-03-01", True),
        # ... and so is any later month ...
        (date(2026, 3, 31), "2026-04-01", True),
        (date(2026, 3, 18), "2027-01-01", True),
        # ... but the previous month's first day (a version's date is always a first) is not,
        # not even on the current month's first day.
        (date(2026, 3, 1), "2026-02-01", False),
        (date(2026, 3, 18), "2026-02-01", False),
        (date(2026, 3, 31), "2025-03-01", False),
        (date(2026, 1, 5), "2025-12-01", False),
    ],
)
def test_a_version_may_not_start_before_the_stores_current_month(
    today: date, effective_from: str, accepted: bool
) -> None:
    plan = draft(effective_from)
    if accepted:
        check_not_back_dated(plan, today)
    else:
        with pytest.raises(PlanError) as refused:
            check_not_back_dated(plan, today)
        assert refused.value.field == "effective_from"
        first = today.replace(day=1).isoformat()
        assert refused.value.reason.startswith(f"must not be before {first}, "), refused.value
        assert '"correction": {"reason"' in refused.value.reason
        assert refused.value.reason.endswith(f"got {effective_from!r}")
    # A correction is accepted either way: back-dated on purpose, or read from another clock.
    check_not_back_dated(draft(effective_from, Correction("acordo de fevereiro")), today)


def test_a_back_dated_save_needs_a_correction_with_a_reason() -> None:
    history = saved(body())
    later = date(2026, 5, 10)
    with pytest.raises(PlanError) as refused:
        plan_to_save(history, body(base_pay_cents=190_000), STORE, store_today=later)
    assert refused.value.field == "effective_from"
    # Numbered or not, for a new plan_id or an override too.
    for changes in (
        {"version": 2, "base_pay_cents": 190_000},
        {"plan_id": "novo"},
        {"plan_id": "ana", "seller_id": "s-ana"},
    ):
        with pytest.raises(PlanError) as refused:
            plan_to_save(history, body(**changes), STORE, store_today=later)
        assert refused.value.field == "effective_from", changes
    reason = "Março pagou 1 % acima de R$ 30.000; o acordo era 2 %"
    corrected = plan_to_save(
        history,
        body(base_pay_cents=190_000, correction={"reason": reason}),
        STORE,
        store_today=later,
    )
    assert corrected.version == 2 and corrected.correction == Correction(reason)
    history = add_version(history, corrected)
    assert history_to_json(history)["versions"][1]["correction"] == {"reason": reason}
    assert history_to_json(history)["versions"][0]["correction"] is None
    # The same correction again is a retry: answered as saved, nothing added.
    again = plan_to_save(
        history,
        body(base_pay_cents=190_000, correction={"reason": reason}),
        STORE,
        store_today=later,
    )
    assert again == corrected and add_version(history, again) is history


@pytest.mark.parametrize(
    ("correction", "field"),
    [
        ({"reason": ""}, "correction.reason"),
        ({"reason": "   "}, "correction.reason"),
        ({"reason": None}, "correction.reason"),
        ({"reason": 7}, "correction.reason"),
        ({"reason": "x" * 501}, "correction.reason"),
        ({"reason": "tab\there"}, "correction.reason"),
        ({}, "correction.reason"),
        ({"reason": "ok", "by": "gerente"}, "correction.by"),
        ("acordo", "correction"),
        ([], "correction"),
    ],
)
def test_a_correction_without_a_proper_reason_is_refused(correction: Any, field: str) -> None:
    with pytest.raises(PlanError) as refused:
        plan_to_save(
            saved(body()),
            body(effective_from="2026-01-01", correction=correction),
            STORE,
            store_today=TODAY,
        )
    assert refused.value.field == field


def test_a_saved_version_repeated_after_its_month_is_no_new_save() -> None:
    """A retry that arrives once the month has turned changes nothing, as before; only new
    versions are judged on the date."""
    history = saved(body(), body(base_pay_cents=190_000))
    april = date(2026, 4, 1)
    latest = history.versions[-1]
    assert plan_to_save(history, body(base_pay_cents=190_000), STORE, store_today=april) == latest
    numbered = body(version=2, base_pay_cents=190_000)
    assert plan_to_save(history, numbered, STORE, store_today=april) == latest
    # Going back to version 1's terms is a new version, from a month now past: refused.
    with pytest.raises(PlanError) as refused:
        plan_to_save(history, body(), STORE, store_today=april)
    assert refused.value.field == "effective_from"
    # From April on it is a plain change.
    assert plan_to_save(history, body(effective_from="2026-04-01"), STORE, store_today=april)


def test_a_save_reads_the_stores_event_clock_else_the_wall_clock() -> None:
    wall = date(2026, 12, 4)

    def ctx(projections: FakeProjections | None) -> Any:
        return SimpleNamespace(projections=projections, store_today=lambda store_id: wall)

    # The store's latest sale is on November 30th (its clock lags the wall clock): November.
    assert _event_today(ctx(FakeProjections(date(2026, 11, 30), None)), STORE) == date(2026, 11, 30)
    # No sale yet, or no projections on this worker: the wall clock in the store's zone.
    assert _event_today(ctx(FakeProjections(None, None)), STORE) == wall
    assert _event_today(ctx(None), STORE) == wall


# --------------------------------------------------------------------------- the catalogue


def history_message(history: PlanHistory) -> bytes:
    return orjson.dumps(history_to_json(history))


def test_histories_are_applied_latest_wins_and_tombstones_remove() -> None:
    catalogue = PlanCatalogue()
    one, two = saved(body()), saved(body(), body(base_pay_cents=1))
    assert catalogue.apply(STORE.encode(), history_message(one), 0) == STORE
    assert catalogue.history(STORE) == one
    catalogue.apply(STORE.encode(), history_message(two), 1)
    assert catalogue.history(STORE) == two and len(catalogue) == 1
    catalogue.apply(STORE.encode(), None, 2)
    assert catalogue.history(STORE) is None and len(catalogue) == 0


def test_a_saved_history_is_not_overtaken_by_an_older_message() -> None:
    """Read-your-writes: the worker that saved shows its history at once, and the follower,
    still behind, does not bring an older one back."""
    catalogue = PlanCatalogue()
    one, two, three = saved(body()), saved(body(), body(base_pay_cents=1)), None
    catalogue.apply(STORE.encode(), history_message(one), 3)
    catalogue.put_saved(two, 7)
    catalogue.apply(STORE.encode(), history_message(one), 5)  # older than the save: ignored
    assert catalogue.history(STORE) == two
    catalogue.apply(STORE.encode(), history_message(two), 7)  # the save read back
    three = saved(body(), body(base_pay_cents=1), body(base_pay_cents=2))
    catalogue.apply(STORE.encode(), history_message(three), 9)
    assert catalogue.history(STORE) == three


@pytest.mark.parametrize(
    ("key", "value", "reason", "detail"),
    [
        (None, b"{}", "missing_key", "store id"),
        (b"\xff", b"{}", "invalid_key", "UTF-8"),
        (b" ", b"{}", "invalid_key", "store id"),
        (STORE.encode(), b"{not json", "undecodable_message", "not JSON"),
        (STORE.encode(), b"[1]", "undecodable_message", "object"),
        (STORE.encode(), b'{"store_id": "loja-001"}', "invalid_record", "versions: is required"),
        (
            STORE.encode(),
            orjson.dumps(
                {
                    "store_id": STORE,
                    "versions": [
                        {
                            **to_json(parse_plan({**body(), "version": 1, "store_id": STORE})),
                            "tiers": [],
                        }
                    ],
                }
            ),
            "invalid_record",
            "versions[0].tiers",
        ),
        (
            b"loja-002",
            orjson.dumps({"store_id": STORE, "versions": []}),
            "key_mismatch",
            "loja-002",
        ),
    ],
)
def test_what_is_not_a_plan_history_is_refused_with_a_reason(
    key: bytes | None, value: bytes, reason: str, detail: str
) -> None:
    with pytest.raises(InvalidReference) as refused:
        decode_history(key, value)
    assert refused.value.reason == reason and detail in refused.value.detail


def follower() -> PlanFollower:
    return PlanFollower("127.0.0.1:1", TOPICS, PlanCatalogue(), WorkerMetrics())


def test_the_follower_applies_counts_and_dead_letters(caplog: pytest.LogCaptureFixture) -> None:
    follow = follower()
    history = saved(body())
    assert follow.handle(0, 0, STORE.encode(), history_message(history)) is None
    with caplog.at_level(logging.WARNING, logger="agents.plans"):
        letter = follow.handle(0, 1, STORE.encode(), b'{"store_id": "loja-001", "versions": 3}')
    assert letter is not None
    key, value = letter
    rejection = Rejection.from_dict(orjson.loads(value))
    assert key == b"kafka:t.ref.plans" == rejection.source.encode()
    assert rejection.rejection_id == "worker:t.ref.plans:0:1"
    assert (rejection.reason, rejection.line_number) == ("invalid_record", 1)
    assert "versions: must be a list" in rejection.detail and STORE in rejection.detail
    assert follow.catalogue.history(STORE) == history, "a bad message changes nothing"
    assert follow.metrics.reference_records == {"t.ref.plans": 1}
    assert follow.metrics.reference_invalid == {("t.ref.plans", "invalid_record"): 1}
    assert any("t.ref.plans[0]@1" in r.getMessage() for r in caplog.records)
    text = render(follow.metrics, {}, {}, None)
    assert 'dataapp_reference_invalid_total{topic="t.ref.plans",reason="invalid_record"} 1' in text


def test_a_failure_applying_a_message_is_refused_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    follow = follower()

    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("app.pay.catalogue.decode_history", broken)
    letter = follow.handle(0, 4, STORE.encode(), b"{}")
    assert letter is not None and b"RuntimeError: a bug" in letter[1]
    assert follow.metrics.reference_invalid == {("t.ref.plans", "invalid_record"): 1}


def test_every_store_saves_under_its_own_transactional_id() -> None:
    store = PlanStore("127.0.0.1:1", TOPICS, PlanCatalogue(), follower())
    ids = {store.transactional_id(name) for name in ("loja-001", "loja-002", "a/b", "😀")}
    assert len(ids) == 4
    assert store.transactional_id("loja-001") == store.transactional_id("loja-001")
    assert all(ident.startswith("dataapp-plans-t.ref.plans-") for ident in ids)
    other = PlanStore("127.0.0.1:1", topic_set("u."), PlanCatalogue(), follower())
    assert other.transactional_id("loja-001") != store.transactional_id("loja-001")


# --------------------------------------------------------------------------- parameters


def test_today_is_the_stores() -> None:
    catalogue = ReferenceCatalogue()
    catalogue.stores["ac"] = Store("ac", "Rio Branco", "Rio Branco", "AC", "America/Rio_Branco")
    late = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # 1 March in UTC, still February in Brazil
    assert store_today(catalogue, "ac", late) == date(2026, 2, 28)  # UTC-5
    assert store_today(catalogue, "unknown", late) == date(2026, 2, 28)  # São Paulo, UTC-3
    later = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    assert store_today(catalogue, "unknown", later) == date(2026, 3, 1)
    assert store_today(catalogue, "ac", later) == date(2026, 2, 28)


def test_as_of_defaults_to_today_and_stays_within_the_history() -> None:
    today = date(2026, 12, 4)
    assert parse_as_of({}, today, 1825) == today
    assert parse_as_of({"as_of": ""}, today, 1825) == today
    assert parse_as_of({"as_of": "2026-01-31"}, today, 1825) == date(2026, 1, 31)
    for text, needle in (
        ("2026-12-05", "after today"),
        ("2020-01-01", "retention"),
        ("2026-02-30", "'as_of'"),
        ("2026-W02-1", "'as_of'"),
        ("hoje", "'as_of'"),
    ):
        with pytest.raises(BadParameter, match=needle):
            parse_as_of({"as_of": text}, today, 1825)
    assert parse_period({}) == "month" == parse_period({"period": "month"})
    with pytest.raises(BadParameter, match="'period'"):
        parse_period({"period": "week"})


def test_the_period_is_the_month_up_to_as_of() -> None:
    assert month_to_date(date(2026, 2, 28)) == DateRange(date(2026, 2, 1), date(2026, 2, 28))
    assert month_to_date(date(2026, 3, 1)) == DateRange(date(2026, 3, 1), date(2026, 3, 1))


def test_shares_are_half_even_decimal_strings() -> None:
    assert share(475_000, 7_000_000) == "0.067857"  # 0.0678571428...
    assert share(1, 8_000_000) == "0.000000"  # 0.000000125: half-even down to even 0
    assert share(3, 8_000_000) == "0.000000"  # 0.000000375: below half a millionth
    assert share(5, 8_000_000) == "0.000001"  # 0.000000625
    assert share(1, 2_000_000) == "0.000000"  # exactly half: to the even 0
    assert share(3, 2_000_000) == "0.000002"  # exactly 1.5 millionths: to the even 2
    assert share(2, 1) == "2.000000"
    assert share(1, 0) is None and share(1, -5) is None


# --------------------------------------------------------------------------- answers


def figures(revenue: int, margin: int, lines: int = 1) -> dict[str, int]:
    return {"revenue_cents": revenue, "margin_cents": margin, "lines": lines}


def test_a_sellers_pay_row_has_every_documented_figure() -> None:
    plan = parse_plan({**body(), "version": 1, "store_id": STORE})
    row = seller_pay(plan, figures(2_850_000, 1_000_000))
    # R$ 28.500: 1 % of 2,850,000 = 28,500 cents of commission; base 180,000; no bonus.
    # The next tier at 3,000,000: 150,000 more adds 1 % of it, 1,500 cents.
    assert {
        k: row[k] for k in ("base_cents", "commission_cents", "bonus_cents", "total_cents")
    } == {
        "base_cents": 180_000,
        "commission_cents": 28_500,
        "bonus_cents": 0,
        "total_cents": 208_500,
    }
    assert (row["basis"], row["basis_cents"], row["plan_scope"]) == ("revenue", 2_850_000, "store")
    assert (row["plan_id"], row["plan_version"], row["tier_index"]) == ("padrao", 1, 0)
    assert (row["capped"], row["quota_met"], row["quota_missing_cents"]) == (
        False,
        False,
        1_150_000,
    )
    assert row["next_tier"] == {
        "tier_index": 1,
        "threshold_cents": 3_000_000,
        "rate": "0.02",
        "missing_cents": 150_000,
        "adds_cents": 1_500,
    }
    assert row["projected"] is None
    schema = SCHEMAS["PayFigures"]
    assert set(schema["properties"]) == set(row) - {"revenue_cents", "margin_cents"}
    assert set(schema["required"]) == set(schema["properties"])
    assert set(SCHEMAS["Pay"]["properties"]) - set(row) == {
        "store_id",
        "store_name",
        "seller_id",
        "seller_name",
        "period",
        "from",
        "to",
        "as_of",
    }


def test_the_plan_schemas_are_the_plan_format() -> None:
    plan = to_json(parse_plan({**body(), "version": 1, "store_id": STORE}))
    assert (
        set(SCHEMAS["SavedPlan"]["properties"])
        == set(plan)
        == set(SCHEMAS["SavedPlan"]["required"])
    )
    assert set(SCHEMAS["Plan"]["properties"]) == set(plan)
    view = plan_view(saved(body()), date(2026, 4, 2))
    assert set(SCHEMAS["PlanHistory"]["properties"]) == set(view) | {"store_id", "store_name"}


def test_the_plan_view_shows_what_is_in_force_today() -> None:
    history = saved(
        body(),
        body(effective_from="2026-05-01", base_pay_cents=190_000),
        body(plan_id="ana", seller_id="s-ana", effective_from="2026-04-01", base_pay_cents=1),
        body(plan_id="bia", seller_id="s-bia", effective_from="2026-06-01"),
    )
    view = plan_view(history, date(2026, 4, 30))
    assert [v["version"] for v in view["versions"]] == [1, 2, 1, 1]
    assert view["in_force"]["version"] == 1 and view["today"] == "2026-04-30"
    assert [p["seller_id"] for p in view["overrides_in_force"]] == ["s-ana"]
    assert plan_view(history, date(2026, 5, 1))["in_force"]["version"] == 2
    assert plan_view(PlanHistory(STORE), date(2026, 5, 1))["in_force"] is None
    # Any id may be asked for, even one no history could have: no plans.
    assert plan_view(None, date(2026, 5, 1)) == {
        "today": "2026-05-01",
        "versions": [],
        "in_force": None,
        "overrides_in_force": [],
    }
    assert PlanCatalogue().history(" ") is None
    with pytest.raises(PlanError) as refused:
        draft_from_body(body(), " ", None)
    assert refused.value.field == "store_id"


def test_the_team_is_the_sellers_with_sales_and_the_stores_listed_ones() -> None:
    found = {
        "s-1": figures(100, 40),
        "s-2": figures(0, 0, lines=0),  # sold in the store once, not this month
        "s-3": figures(-500, -200, lines=1),  # only a return this month: still on the team
    }
    team = team_members(found, {"s-1": "Ana"}, listed=["s-4"])
    assert [(m.seller_id, m.display_name) for m in team] == [
        ("s-1", "Ana"),
        ("s-3", "s-3"),
        ("s-4", "s-4"),
    ]
    assert team[2].figures["revenue_cents"] == 0


def test_team_totals_add_up_the_rows() -> None:
    history = saved(body(), body(plan_id="ana", seller_id="s-1", basis="margin", base_pay_cents=0))
    members = [
        TeamSeller("s-1", "Ana", figures(4_500_000, 1_800_000)),
        TeamSeller("s-2", "Bruno", figures(2_500_000, 1_000_000)),
        TeamSeller("s-3", "Caio", figures(-10_000, -4_000)),
    ]
    answer = team_pay(history, members, date(2026, 3, 31))
    rows = {row["seller_id"]: row for row in answer["sellers"]}
    # Ana's override pays on margin: 1 % of 1,800,000 = 18,000; no base; quota not met.
    assert (rows["s-1"]["plan_scope"], rows["s-1"]["total_cents"]) == ("seller", 18_000)
    # Bruno: 180,000 + 1 % of 2,500,000 = 205,000.
    assert rows["s-2"]["total_cents"] == 205_000
    # Caio returned more than he sold: the base only, no negative commission.
    assert (rows["s-3"]["commission_cents"], rows["s-3"]["total_cents"]) == (0, 180_000)
    totals = answer["totals"]
    assert (
        totals["total_cents"]
        == 18_000 + 205_000 + 180_000
        == sum(totals[k] for k in ("base_cents", "commission_cents", "bonus_cents"))
    )
    assert (totals["revenue_cents"], totals["margin_cents"]) == (6_990_000, 2_796_000)
    assert totals["of_revenue"] == "0.057654"  # 403,000 / 6,990,000 = 0.0576537...
    assert totals["of_margin"] == "0.144134"  # 403,000 / 2,796,000 = 0.1441345...
    assert totals["sellers"] == 3 and totals["projected"] is None
    assert set(SCHEMAS["TeamPay"]["properties"]["totals"]["properties"]) == set(totals)


def test_a_draft_applies_to_whom_it_would_apply_once_saved() -> None:
    store = parse_plan({**body(), "version": 1, "store_id": STORE})
    ana = parse_plan({**body(plan_id="ana", seller_id="s-1"), "version": 1, "store_id": STORE})
    assert draft_applies(store, "s-2", store) and draft_applies(store, "s-2", None)
    assert not draft_applies(store, "s-1", ana), "an override stays in force"
    assert draft_applies(ana, "s-1", store) and not draft_applies(ana, "s-2", store)


def test_a_simulation_compares_the_plans_and_saves_nothing() -> None:
    """The docs/pay.md example: a draft paying 3 % instead of 2 % above R$ 30.000."""
    history = saved(body())
    before = history_to_json(history)
    draft = draft_from_body(
        body(
            tiers=[
                {"threshold_cents": 0, "rate": "0.01"},
                {"threshold_cents": 3_000_000, "rate": "0.03"},
            ]
        ),
        STORE,
        history,
    )
    members = [
        TeamSeller("s-ana", "Ana", figures(4_500_000, 1_800_000)),
        TeamSeller("s-bruno", "Bruno", figures(2_500_000, 1_000_000)),
    ]
    answer = simulation(history, draft, members, date(2026, 3, 31))
    assert history_to_json(history) == before
    rows = {row["seller_id"]: row for row in answer["sellers"]}
    # Ana: 1 % of 3,000,000 + 2 % of 1,500,000 = 60,000; bonus 30,000: 270,000.
    # Under the draft 3 % of 1,500,000 = 45,000 above: 30,000 + 45,000 + 30,000 + 180,000.
    assert (rows["s-ana"]["current"]["total_cents"], rows["s-ana"]["draft"]["total_cents"]) == (
        270_000,
        285_000,
    )
    assert rows["s-ana"]["change_cents"] == 15_000
    assert (
        rows["s-bruno"]["current"]["total_cents"]
        == rows["s-bruno"]["draft"]["total_cents"]
        == 205_000
    )
    assert rows["s-ana"]["draft"]["plan_version"] == 2 and answer["draft"]["version"] == 2
    totals = answer["totals"]
    assert totals["current"] == {
        "pay_cents": 475_000,
        "of_revenue": "0.067857",
        "of_margin": "0.169643",
    }
    assert totals["draft"] == {
        "pay_cents": 490_000,
        "of_revenue": "0.070000",
        "of_margin": "0.175000",
    }
    assert totals["change_cents"] == 15_000 and answer["projected"] is None
    schema = SCHEMAS["Simulation"]["properties"]
    assert set(schema["totals"]["properties"]) == set(totals)
    assert set(schema["sellers"]["items"]["properties"]) == set(answer["sellers"][0])


def test_a_first_plan_can_be_simulated_before_any_is_saved() -> None:
    draft = draft_from_body(body(), STORE, PlanHistory(STORE))
    answer = simulation(
        PlanHistory(STORE), draft, [TeamSeller("s-1", "s-1", figures(0, 0, 0))], date(2026, 3, 5)
    )
    row = answer["sellers"][0]
    assert row["current"] is None and row["change_cents"] is None
    assert row["draft"]["total_cents"] == 180_000
    assert answer["totals"]["current"] is None and answer["totals"]["draft"]["pay_cents"] == 180_000
    assert answer["totals"]["draft"]["of_revenue"] is None  # no revenue: no share


def test_sellers_of_the_reference_data_are_named() -> None:
    catalogue = ReferenceCatalogue()
    catalogue.sellers["s-1"] = Seller("s-1", STORE, "Ana Lima", "plano")
    team = team_members({}, {"s-1": catalogue.seller_name("s-1")}, ["s-1"])
    assert team == [
        TeamSeller("s-1", "Ana Lima", {"revenue_cents": 0, "margin_cents": 0, "lines": 0})
    ]


# --------------------------------------------------------------------------- projected pay
# The plan of docs/pay.md (base 180,000; 1 % to 3,000,000, 2 % above; 30,000 from 4,000,000;
# commission capped at 150,000), worked out by hand at each end.


def forecast(mid: int, low: int, high: int) -> Outlook:
    return Outlook("forecast", mid, low, high)


def test_the_projected_pay_is_the_pay_at_each_end_of_the_projection() -> None:
    plan = parse_plan({**body(), "version": 1, "store_id": STORE})
    # To date: 2,000,000 of revenue, 800,000 of margin (a 40 % margin rate).
    row = seller_pay(plan, figures(2_000_000, 800_000), forecast(4_500_000, 3_500_000, 5_500_000))
    assert row["total_cents"] == 180_000 + 20_000  # the pay to date is unchanged
    projected = row["projected"]
    assert (projected["method"], projected["band"]) == ("forecast", "80%")
    assert projected["revenue_cents"] == {"mid": 4_500_000, "low": 3_500_000, "high": 5_500_000}
    # The margin at the rate to date: 40 % of each.
    assert projected["margin_cents"] == {"mid": 1_800_000, "low": 1_400_000, "high": 2_200_000}
    # Mid: 1 % x 3,000,000 + 2 % x 1,500,000 = 60,000, the quota met: 180,000 + 60,000 + 30,000.
    # Low: 30,000 + 2 % x 500,000 = 40,000, no bonus. High: 30,000 + 2 % x 2,500,000 = 80,000.
    assert projected["commission_cents"] == {"mid": 60_000, "low": 40_000, "high": 80_000}
    assert projected["bonus_cents"] == {"mid": 30_000, "low": 0, "high": 30_000}
    assert projected["total_cents"] == {"mid": 270_000, "low": 220_000, "high": 290_000}
    # Tier 0 to date, tier 1 at the mid.
    assert (projected["next_tier_reached"], projected["quota_met"]) == (True, True)
    schema = SCHEMAS["PayFigures"]["properties"]["projected"]["oneOf"][0]
    assert set(schema["properties"]) == set(projected) == set(schema["required"])
    assert set(schema["properties"]["total_cents"]["properties"]) == set(projected["total_cents"])


def test_a_margin_plan_projects_the_margin_at_the_rate_to_date() -> None:
    plan = parse_plan(
        {
            **body(basis="margin", base_pay_cents=100_000, quota_bonus=None),
            "tiers": [{"threshold_cents": 0, "rate": "0.1"}],
            "commission_cap_cents": None,
            "version": 1,
            "store_id": STORE,
        }
    )
    projected = projected_json(plan, figures(300_000, 100_001), forecast(450_000, 300_001, 600_000))
    # 100,001 x 450,000 / 300,000 = 150,001.5: half-even to 150,002;
    # 100,001 x 300,001 / 300,000 = 100,001.33 -> 100,001; 100,001 x 2 = 200,002.
    assert projected["margin_cents"] == {"mid": 150_002, "low": 100_001, "high": 200_002}
    # 10 % of each: 15,000.2 -> 15,000; 10,000.1 -> 10,000; 20,000.2 -> 20,000.
    assert projected["commission_cents"] == {"mid": 15_000, "low": 10_000, "high": 20_000}
    assert projected["total_cents"] == {"mid": 115_000, "low": 110_000, "high": 120_000}
    assert (projected["next_tier_reached"], projected["quota_met"]) == (False, False)
    # Without revenue to date there is no rate: the margin to date.
    none_yet = projected_json(plan, figures(0, 0), forecast(450_000, 300_000, 600_000))
    assert none_yet["margin_cents"] == {"mid": 0, "low": 0, "high": 0}
    assert none_yet["total_cents"]["mid"] == 100_000


def test_an_outlook_is_read_from_the_projection_of_the_month() -> None:
    answer = {
        "period_end": {
            "revenue": {
                "mid": 27_379_515,
                "low80": 19_483_365,
                "high80": 35_275_665,
                "low95": 15_028_435,
                "high95": 39_730_596,
            },
            "units": {},
        }
    }
    so_far = figures(1_299_566, 500_000)
    assert Outlook.of_projection(answer, so_far) == Outlook(
        "forecast", 27_379_515, 19_483_365, 35_275_665
    )
    # No forecast (no sale in the year before): nothing more expected than the actual.
    assert Outlook.of_projection({"period_end": None}, so_far) == Outlook(
        "no_history", 1_299_566, 1_299_566, 1_299_566
    )
    assert Outlook.final(so_far) == Outlook("final", 1_299_566, 1_299_566, 1_299_566)
    plan = parse_plan({**body(), "version": 1, "store_id": STORE})
    row = seller_pay(plan, so_far, Outlook.final(so_far))
    # A month over: the projected pay is the pay, at every end.
    assert row["projected"]["total_cents"] == dict.fromkeys(("mid", "low", "high"), 192_996)
    assert row["total_cents"] == 180_000 + 12_996  # 1 % of 1,299,566 = 12,995.66 -> 12,996
    assert row["projected"]["next_tier_reached"] is False


def test_the_months_last_day() -> None:
    assert month_end(date(2026, 2, 10)) == date(2026, 2, 28)
    assert month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert month_end(date(2026, 12, 31)) == date(2026, 12, 31)
    assert month_end(date(2026, 4, 30)) == date(2026, 4, 30)


def test_the_teams_projected_totals_are_the_sums_of_the_mids() -> None:
    history = saved(body())
    members = [
        TeamSeller("s-ana", "Ana", figures(2_000_000, 800_000)),
        TeamSeller("s-bruno", "Bruno", figures(1_000_000, 400_000)),
    ]
    outlooks = {
        "s-ana": forecast(4_500_000, 3_500_000, 5_500_000),
        "s-bruno": forecast(2_500_000, 2_000_000, 3_000_000),
    }
    answer = team_pay(history, members, date(2026, 3, 15), outlooks)
    rows = {row["seller_id"]: row for row in answer["sellers"]}
    # Bruno at 2,500,000: 1 % = 25,000, no bonus: 205,000; at 2,000,000 and 3,000,000:
    # 200,000 and 210,000.
    assert rows["s-bruno"]["projected"]["total_cents"] == {
        "mid": 205_000,
        "low": 200_000,
        "high": 210_000,
    }
    # The docs/pay.md what-if's figures: 270,000 + 205,000 over 7,000,000 and 2,800,000.
    assert answer["totals"]["projected"] == {
        "revenue_cents": 7_000_000,
        "margin_cents": 2_800_000,
        "commission_cents": 60_000 + 25_000,
        "bonus_cents": 30_000,
        "total_cents": 475_000,
        "of_revenue": "0.067857",
        "of_margin": "0.169643",
    }
    schema = SCHEMAS["TeamPay"]["properties"]["totals"]["properties"]["projected"]["oneOf"][0]
    assert set(schema["properties"]) == set(answer["totals"]["projected"])
    # A seller without a projection: theirs is null, and so are the team's.
    partial = team_pay(history, members, date(2026, 3, 15), {"s-ana": outlooks["s-ana"]})
    assert [row["projected"] is None for row in partial["sellers"]] == [False, True]
    assert partial["totals"]["projected"] is None


def test_a_simulation_projects_both_plans_side_by_side() -> None:
    history = saved(body())
    draft = draft_from_body(
        body(
            tiers=[
                {"threshold_cents": 0, "rate": "0.01"},
                {"threshold_cents": 3_000_000, "rate": "0.03"},
            ]
        ),
        STORE,
        history,
    )
    members = [
        TeamSeller("s-ana", "Ana", figures(2_000_000, 800_000)),
        TeamSeller("s-bruno", "Bruno", figures(1_000_000, 400_000)),
    ]
    outlooks = {
        "s-ana": forecast(4_500_000, 3_500_000, 5_500_000),
        "s-bruno": forecast(2_500_000, 2_000_000, 3_000_000),
    }
    answer = simulation(history, draft, members, date(2026, 3, 15), outlooks)
    ana = answer["sellers"][0]
    assert ana["current"]["projected"]["total_cents"] == {
        "mid": 270_000,
        "low": 220_000,
        "high": 290_000,
    }
    # The draft: 30,000 + 3 % x 1,500,000 = 75,000 (+ 30,000 + 180,000); at 3,500,000:
    # 30,000 + 15,000 (no bonus); at 5,500,000: 30,000 + 75,000 (+ 30,000 + 180,000).
    assert ana["draft"]["projected"]["total_cents"] == {
        "mid": 285_000,
        "low": 225_000,
        "high": 315_000,
    }
    # To date (2,000,000: tier 0) the draft changes nothing.
    assert ana["change_cents"] == 0
    assert answer["projected"] == {
        "revenue_cents": 7_000_000,
        "margin_cents": 2_800_000,
        "current": {"pay_cents": 475_000, "of_revenue": "0.067857", "of_margin": "0.169643"},
        "draft": {"pay_cents": 490_000, "of_revenue": "0.070000", "of_margin": "0.175000"},
        "change_cents": 15_000,
    }
    schema = SCHEMAS["Simulation"]["properties"]["projected"]["oneOf"][0]
    assert set(schema["properties"]) == set(answer["projected"]) == set(schema["required"])
    # Before any plan is saved: no current side, the draft's alone.
    first = simulation(
        PlanHistory(STORE),
        draft_from_body(body(), STORE, PlanHistory(STORE)),
        members[1:],
        date(2026, 3, 15),
        {"s-bruno": outlooks["s-bruno"]},
    )
    assert first["projected"]["current"] is None and first["projected"]["change_cents"] is None
    assert first["projected"]["draft"]["pay_cents"] == 205_000
    # Without projections: null, as before.
    assert simulation(history, draft, members, date(2026, 3, 15))["projected"] is None


class FakeProjections:
    """The two things ``_outlooks`` asks of ``ProjectionService``."""

    def __init__(self, clock_day: date | None, period_end: dict[str, Any] | None) -> None:
        self.clock_day = clock_day
        self.period_end = period_end
        self.asked: list[tuple[str | None, dict[str, str]]] = []

    def clock(self, store_id: str) -> Any:
        if self.clock_day is None:
            return None
        return SimpleNamespace(
            day=self.clock_day, last_closed_day=date.fromordinal(self.clock_day.toordinal() - 1)
        )

    async def answer(
        self, store_id: str, seller_id: str | None, query: dict[str, str], fallback: date
    ) -> dict[str, Any]:
        self.asked.append((seller_id, dict(query)))
        if seller_id == "s-far":
            raise BadParameter("'to' is too far to forecast")
        return {"period_end": self.period_end}


def outlooks_of(
    service: FakeProjections | None, as_of: date, today: date = date(2026, 3, 20)
) -> dict[str, Outlook] | None:
    ctx = SimpleNamespace(projections=service, store_today=lambda store_id: today)
    members = [
        TeamSeller("s-ana", "Ana", figures(700, 300)),
        TeamSeller("s-far", "F", figures(0, 0)),
    ]
    return asyncio.run(_outlooks(ctx, STORE, month_to_date(as_of), members))  # type: ignore[arg-type]


def test_the_projection_asked_follows_as_of_and_the_event_clock() -> None:
    end = {"revenue": {"mid": 900, "low80": 800, "high80": 1_000}}
    # as_of a closed day (the clock is on the 20th, the 19th closed): as of that day.
    service = FakeProjections(date(2026, 3, 20), end)
    found = outlooks_of(service, date(2026, 3, 12))
    assert found == {"s-ana": Outlook("forecast", 900, 800, 1_000)}  # s-far: none
    assert service.asked[0] == (
        "s-ana",
        {"from": "2026-03-01", "to": "2026-03-31", "as_of": "2026-03-12"},
    )
    # as_of the day in progress: the live projection.
    service = FakeProjections(date(2026, 3, 20), end)
    outlooks_of(service, date(2026, 3, 20))
    assert service.asked[0] == ("s-ana", {"from": "2026-03-01", "to": "2026-03-31"})
    # A month over by as_of: the actual, nothing asked.
    service = FakeProjections(date(2026, 3, 20), end)
    assert outlooks_of(service, date(2026, 2, 28)) == {
        "s-ana": Outlook("final", 700, 700, 700),
        "s-far": Outlook("final", 0, 0, 0),
    }
    assert service.asked == []
    # ... but the month's last day while it is today is still projected.
    service = FakeProjections(date(2026, 3, 31), end)
    outlooks_of(service, date(2026, 3, 31), today=date(2026, 3, 31))
    assert service.asked[0] == ("s-ana", {"from": "2026-03-01", "to": "2026-03-31"})
    # A store without a sale yet, and a worker without projections.
    assert outlooks_of(FakeProjections(None, None), date(2026, 3, 12)) == {
        "s-ana": Outlook("no_history", 700, 700, 700)
    }
    assert outlooks_of(None, date(2026, 3, 12)) is None
