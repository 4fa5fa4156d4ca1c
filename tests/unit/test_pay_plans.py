"""Commission plans (``app.pay.plans``): the JSON form, its refusals, the versioned history."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.pay.plans import (
    MAX_CENTS,
    MAX_REASON_LENGTH,
    Correction,
    PlanError,
    PlanHistory,
    PlanVersion,
    QuotaBonus,
    Tier,
    add_version,
    history_to_json,
    next_version,
    parse_history,
    parse_plan,
    plan_for,
    to_json,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "pay.md"


def valid() -> dict[str, Any]:
    return {
        "plan_id": "padrao-loja-001",
        "version": 1,
        "effective_from": "2026-03-01",
        "store_id": "loja-001",
        "base_pay_cents": 180_000,
        "basis": "revenue",
        "tier_mode": "progressive",
        "tiers": [
            {"threshold_cents": 0, "rate": "0.01"},
            {"threshold_cents": 3_000_000, "rate": "0.02"},
            {"threshold_cents": 6_000_000, "rate": "0.025"},
        ],
        "quota_bonus": {"quota_cents": 4_000_000, "amount_cents": 30_000},
        "commission_cap_cents": 150_000,
    }


def store_plan(**changes: Any) -> PlanVersion:
    plan = PlanVersion(
        plan_id="padrao",
        version=1,
        effective_from=date(2026, 1, 1),
        store_id="loja-001",
        base_pay_cents=180_000,
        basis="revenue",
        tier_mode="progressive",
        tiers=(Tier(0, Decimal("0.01")),),
    )
    return replace(plan, **changes)


# --- JSON -----------------------------------------------------------------------------------


def test_a_valid_plan_parses_with_its_defaults() -> None:
    data = valid()
    plan = parse_plan(data)
    assert plan.period == "month" and plan.seller_id is None
    assert plan.tiers[2] == Tier(6_000_000, Decimal("0.025"))
    assert plan.quota_bonus == QuotaBonus(4_000_000, amount_cents=30_000)
    assert data == valid(), "parsing must not change its input"


def test_the_documented_example_is_a_valid_plan() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    plan = parse_plan(json.loads(blocks[0]))
    assert plan.base_pay_cents == 180_000 and plan.commission_cap_cents == 150_000
    assert to_json(plan) == json.loads(blocks[0]), "the example is in the canonical form"


def test_to_json_is_json_and_round_trips() -> None:
    plan = parse_plan(valid() | {"seller_id": "v-7", "quota_bonus": None})
    text = json.dumps(to_json(plan))
    assert parse_plan(json.loads(text)) == plan
    assert to_json(plan)["quota_bonus"] is None and to_json(plan)["seller_id"] == "v-7"


def test_a_correction_round_trips_and_its_absence_is_null() -> None:
    reason = "Fevereiro: o acordo era 2 %,\nnão 1 %"  # a line break is allowed
    plan = parse_plan(valid() | {"correction": {"reason": reason}})
    assert plan.correction == Correction(reason)
    assert to_json(plan)["correction"] == {"reason": reason}
    assert parse_plan(json.loads(json.dumps(to_json(plan)))) == plan
    # Absent or null: no correction, written as null.
    assert parse_plan(valid()).correction is None
    assert parse_plan(valid() | {"correction": None}) == parse_plan(valid())
    assert to_json(parse_plan(valid()))["correction"] is None
    # Part of the version: the same terms with another reason are another version.
    assert plan != replace(plan, correction=Correction("outro motivo"))


def test_a_history_saved_before_corrections_existed_still_loads() -> None:
    """A value of the plans topic written before ``correction`` was a field: no such key."""
    old = valid()
    assert "correction" not in old
    history = parse_history({"store_id": "loja-001", "versions": [old]})
    assert history.versions[0].correction is None
    assert history_to_json(history)["versions"][0] == {
        **old,
        "seller_id": None,
        "period": "month",
        "correction": None,
        "quota_bonus": {**old["quota_bonus"], "rate_of_base": None},
    }


def test_a_bonus_as_a_share_of_base_round_trips() -> None:
    plan = parse_plan(valid() | {"quota_bonus": {"quota_cents": 1, "rate_of_base": "0.15"}})
    assert plan.quota_bonus == QuotaBonus(1, rate_of_base=Decimal("0.15"))
    assert parse_plan(to_json(plan)) == plan


def test_a_rate_keeps_the_digits_it_was_written_with() -> None:
    data = valid()
    data["tiers"][0]["rate"] = "0.0100"
    assert to_json(parse_plan(data))["tiers"][0]["rate"] == "0.0100"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = _steps(path)
        target: Any = data
        for step in parents:
            target = target[step]
        target[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = _steps(path)
        target: Any = data
        for step in parents:
            target = target[step]
        del target[last]

    return mutate


def _steps(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.split(r"[.\[\]]+", path) if part]


CENTS = "must be a whole number of cents, got"
REASON = (
    "must say why the past is corrected: a text of 1 to 500 characters, not only spaces, "
    "without control characters (line breaks allowed), got"
)
RATE = "must be a decimal between 0 and 1, got"
RATE_TEXT = 'must be a decimal written with digits and a dot, such as "0.03", got'
ID = (
    "must be a non-empty text of at most 200 characters, without control characters or "
    "surrounding spaces, got"
)

REFUSALS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown key", _set("comission_cap_cents", 1), "comission_cap_cents: unknown field"),
    ("unknown tier key", _set("tiers[1].from", 1), "tiers[1].from: unknown field"),
    ("unknown bonus key", _set("quota_bonus.extra", 1), "quota_bonus.extra: unknown field"),
    ("missing plan_id", _delete("plan_id"), "plan_id: is required"),
    ("missing version", _delete("version"), "version: is required"),
    ("missing effective_from", _delete("effective_from"), "effective_from: is required"),
    ("missing store_id", _delete("store_id"), "store_id: is required"),
    ("missing base", _delete("base_pay_cents"), "base_pay_cents: is required"),
    ("missing basis", _delete("basis"), "basis: is required"),
    ("missing tier_mode", _delete("tier_mode"), "tier_mode: is required"),
    ("missing tiers", _delete("tiers"), "tiers: is required"),
    ("missing rate", _delete("tiers[1].rate"), "tiers[1].rate: is required"),
    (
        "missing threshold",
        _delete("tiers[0].threshold_cents"),
        "tiers[0].threshold_cents: is required",
    ),
    ("missing quota", _delete("quota_bonus.quota_cents"), "quota_bonus.quota_cents: is required"),
    ("empty plan_id", _set("plan_id", ""), f"plan_id: {ID} ''"),
    ("padded plan_id", _set("plan_id", " p"), f"plan_id: {ID} ' p'"),
    ("control in store_id", _set("store_id", "a\nb"), f"store_id: {ID} 'a\\nb'"),
    ("numeric store_id", _set("store_id", 7), f"store_id: {ID} 7"),
    ("long seller_id", _set("seller_id", "x" * 201), f"seller_id: {ID} '{'x' * 56}..."),
    (
        "version 0",
        _set("version", 0),
        "version: must be a whole number from 1 to 2147483647, got 0",
    ),
    (
        "version text",
        _set("version", "2"),
        "version: must be a whole number from 1 to 2147483647, got '2'",
    ),
    (
        "version bool",
        _set("version", True),
        "version: must be a whole number from 1 to 2147483647, got true",
    ),
    (
        "date format",
        _set("effective_from", "01/03/2026"),
        "effective_from: must be a date written YYYY-MM-DD, got '01/03/2026'",
    ),
    (
        "date time",
        _set("effective_from", "2026-03-01T00:00"),
        "effective_from: must be a date written YYYY-MM-DD, got '2026-03-01T00:00'",
    ),
    (
        "date number",
        _set("effective_from", 20260301),
        "effective_from: must be a date written YYYY-MM-DD, got 20260301",
    ),
    (
        "not a date",
        _set("effective_from", "2026-02-30"),
        "effective_from: is not a date of the calendar, got '2026-02-30'",
    ),
    (
        "mid-month",
        _set("effective_from", "2026-03-15"),
        "effective_from: must be the first day of a month (a plan changes between monthly "
        "periods), got '2026-03-15'",
    ),
    ("week period", _set("period", "week"), "period: must be one of 'month', got 'week'"),
    ("null period", _set("period", None), "period: must be one of 'month', got null"),
    (
        "negative base",
        _set("base_pay_cents", -1),
        "base_pay_cents: must be 0 or more cents, got -1",
    ),
    ("float base", _set("base_pay_cents", 1800.0), f"base_pay_cents: {CENTS} 1800.0"),
    ("fractional base", _set("base_pay_cents", 1800.5), f"base_pay_cents: {CENTS} 1800.5"),
    ("text base", _set("base_pay_cents", "180000"), f"base_pay_cents: {CENTS} '180000'"),
    ("bool base", _set("base_pay_cents", True), f"base_pay_cents: {CENTS} true"),
    ("NaN base", _set("base_pay_cents", float("nan")), f"base_pay_cents: {CENTS} NaN"),
    ("inf base", _set("base_pay_cents", float("inf")), f"base_pay_cents: {CENTS} Infinity"),
    (
        "huge base",
        _set("base_pay_cents", MAX_CENTS + 1),
        f"base_pay_cents: must be at most {MAX_CENTS} cents, got {MAX_CENTS + 1}",
    ),
    ("basis", _set("basis", "sales"), "basis: must be one of 'revenue', 'margin', got 'sales'"),
    (
        "tier mode",
        _set("tier_mode", "flat"),
        "tier_mode: must be one of 'progressive', 'retroactive', got 'flat'",
    ),
    (
        "tiers not a list",
        _set("tiers", {"threshold_cents": 0}),
        'tiers: must be a list of tiers, got {"threshold_cents": 0}',
    ),
    ("no tiers", _set("tiers", []), "tiers: must list at least one tier, got []"),
    (
        "too many tiers",
        _set("tiers", [{"threshold_cents": i, "rate": "0"} for i in range(21)]),
        "tiers: must list at most 20 tiers, got 21",
    ),
    ("tier not an object", _set("tiers[1]", "0.02"), "tiers[1]: must be an object, got '0.02'"),
    ("rate above 1", _set("tiers[2].rate", "1.5"), f"tiers[2].rate: {RATE} '1.5'"),
    (
        "rate float",
        _set("tiers[0].rate", 0.01),
        'tiers[0].rate: must be a decimal in a string, such as "0.03", not the JSON number 0.01',
    ),
    (
        "rate int",
        _set("tiers[0].rate", 1),
        'tiers[0].rate: must be a decimal in a string, such as "0.03", not the JSON number 1',
    ),
    ("rate negative", _set("tiers[0].rate", "-0.01"), f"tiers[0].rate: {RATE_TEXT} '-0.01'"),
    ("rate NaN", _set("tiers[0].rate", "NaN"), f"tiers[0].rate: {RATE_TEXT} 'NaN'"),
    ("rate inf", _set("tiers[0].rate", "Infinity"), f"tiers[0].rate: {RATE_TEXT} 'Infinity'"),
    ("rate exponent", _set("tiers[0].rate", "1e-2"), f"tiers[0].rate: {RATE_TEXT} '1e-2'"),
    ("rate comma", _set("tiers[0].rate", "0,01"), f"tiers[0].rate: {RATE_TEXT} '0,01'"),
    ("rate percent", _set("tiers[0].rate", "1%"), f"tiers[0].rate: {RATE_TEXT} '1%'"),
    ("rate null", _set("tiers[0].rate", None), f"tiers[0].rate: {RATE_TEXT} null"),
    (
        "rate too fine",
        _set("tiers[0].rate", "0.0000001"),
        "tiers[0].rate: must have at most 6 decimal places, got '0.0000001'",
    ),
    (
        "first threshold",
        _set("tiers[0].threshold_cents", 100),
        "tiers[0].threshold_cents: the first tier must start at 0, got 100",
    ),
    (
        "equal thresholds",
        _set("tiers[2].threshold_cents", 3_000_000),
        "tiers[2].threshold_cents: must be above the previous tier's 3000000, got 3000000",
    ),
    (
        "decreasing thresholds",
        _set("tiers[2].threshold_cents", 2_999_999),
        "tiers[2].threshold_cents: must be above the previous tier's 3000000, got 2999999",
    ),
    (
        "float threshold",
        _set("tiers[1].threshold_cents", 3e6),
        f"tiers[1].threshold_cents: {CENTS} 3000000.0",
    ),
    (
        "negative threshold",
        _set("tiers[1].threshold_cents", -5),
        "tiers[1].threshold_cents: must be 0 or more cents, got -5",
    ),
    (
        "bonus not an object",
        _set("quota_bonus", 30_000),
        "quota_bonus: must be an object, got 30000",
    ),
    (
        "bonus both amounts",
        _set("quota_bonus.rate_of_base", "0.1"),
        "quota_bonus: must give exactly one of amount_cents and rate_of_base",
    ),
    (
        "bonus no amount",
        _delete("quota_bonus.amount_cents"),
        "quota_bonus: must give exactly one of amount_cents and rate_of_base",
    ),
    (
        "bonus zero quota",
        _set("quota_bonus.quota_cents", 0),
        "quota_bonus.quota_cents: must be at least 1 cents, got 0",
    ),
    (
        "bonus float quota",
        _set("quota_bonus.quota_cents", 4e6),
        f"quota_bonus.quota_cents: {CENTS} 4000000.0",
    ),
    (
        "bonus negative amount",
        _set("quota_bonus.amount_cents", -1),
        "quota_bonus.amount_cents: must be 0 or more cents, got -1",
    ),
    (
        "bonus text amount",
        _set("quota_bonus.amount_cents", "300,00"),
        f"quota_bonus.amount_cents: {CENTS} '300,00'",
    ),
    (
        "bonus rate",
        _set("quota_bonus", {"quota_cents": 1, "rate_of_base": "2"}),
        f"quota_bonus.rate_of_base: {RATE} '2'",
    ),
    (
        "bonus rate float",
        _set("quota_bonus", {"quota_cents": 1, "rate_of_base": 0.1}),
        'quota_bonus.rate_of_base: must be a decimal in a string, such as "0.03", '
        "not the JSON number 0.1",
    ),
    (
        "negative cap",
        _set("commission_cap_cents", -1),
        "commission_cap_cents: must be 0 or more cents, got -1",
    ),
    ("float cap", _set("commission_cap_cents", 1500.0), f"commission_cap_cents: {CENTS} 1500.0"),
    ("correction not an object", _set("correction", "ajuste"), "correction: must be an object"),
    ("correction without reason", _set("correction", {}), "correction.reason: is required"),
    (
        "correction unknown field",
        _set("correction", {"reason": "ajuste", "por": "gerente"}),
        "correction.por: unknown field (known: reason)",
    ),
    ("empty reason", _set("correction", {"reason": ""}), f"correction.reason: {REASON} ''"),
    ("blank reason", _set("correction", {"reason": " \n "}), f"correction.reason: {REASON}"),
    ("reason not text", _set("correction", {"reason": 1}), f"correction.reason: {REASON} 1"),
    ("null reason", _set("correction", {"reason": None}), f"correction.reason: {REASON} null"),
    (
        "long reason",
        _set("correction", {"reason": "x" * (MAX_REASON_LENGTH + 1)}),
        f"correction.reason: {REASON}",
    ),
    (
        "reason with a control character",
        _set("correction", {"reason": "a\x00b"}),
        f"correction.reason: {REASON}",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(mutate, message, id=name) for name, mutate, message in REFUSALS],
)
def test_a_malformed_plan_is_refused_naming_the_field(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = copy.deepcopy(valid())
    mutate(data)
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert str(caught.value).startswith(message), str(caught.value)
    assert caught.value.field == message.split(":")[0]


def test_the_unknown_field_message_lists_the_known_ones() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(valid() | {"cap": 1})
    assert str(caught.value) == (
        "cap: unknown field (known: plan_id, version, effective_from, store_id, base_pay_cents,"
        " basis, tier_mode, tiers, seller_id, period, quota_bonus, commission_cap_cents,"
        " correction)"
    )


@pytest.mark.parametrize("data", [None, [], "plan", 3])
def test_a_plan_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(PlanError, match=r"^plan: must be an object"):
        parse_plan(data)


def test_a_retroactive_plan_may_not_lower_its_rate() -> None:
    """Retroactively, a lower rate above a threshold would pay less for selling more."""
    data = valid() | {"tier_mode": "retroactive"}
    data["tiers"][2]["rate"] = "0.015"
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert str(caught.value) == (
        "tiers[2].rate: in a retroactive plan must not be below the previous tier's '0.02' "
        "(reaching the tier would lower the pay), got '0.015'"
    )
    # Progressively the same rates are a plain degressive plan: allowed.
    assert parse_plan(data | {"tier_mode": "progressive"}).tiers[2].rate == Decimal("0.015")


def test_the_first_error_in_field_order_is_reported() -> None:
    data = valid() | {"version": 0, "base_pay_cents": -1}
    data["tiers"][0]["rate"] = "2"
    with pytest.raises(PlanError, match=r"^version: "):
        parse_plan(data)


def test_the_correction_is_checked_after_every_other_field() -> None:
    bad_reason = {"correction": {"reason": ""}}
    for field, value in (
        ("quota_bonus", {"quota_cents": 1, "amount_cents": 1, "rate_of_base": "0.1"}),
        ("commission_cap_cents", -1),
    ):
        with pytest.raises(PlanError) as caught:
            parse_plan(valid() | bad_reason | {field: value})
        assert caught.value.field == field


def test_plans_built_by_code_are_checked_too() -> None:
    with pytest.raises(
        PlanError, match=r"^tiers\[0\]\.rate: must be a decimal between 0 and 1, got 0.01"
    ):
        store_plan(tiers=(Tier(0, 0.01),))  # type: ignore[arg-type]
    with pytest.raises(PlanError, match=r"^tiers\[0\]\.rate: .* got 'NaN'"):
        store_plan(tiers=(Tier(0, Decimal("NaN")),))
    with pytest.raises(PlanError, match=r"^base_pay_cents: must be a whole number of cents"):
        store_plan(base_pay_cents=Decimal(180_000))
    with pytest.raises(PlanError, match=r"^effective_from: must be a date"):
        store_plan(effective_from="2026-01-01")
    with pytest.raises(PlanError, match=r"^quota_bonus: must give exactly one"):
        store_plan(quota_bonus=QuotaBonus(100))
    with pytest.raises(PlanError, match=r"^correction\.reason: must say why"):
        store_plan(correction=Correction("  "))
    with pytest.raises(PlanError, match=r"^correction: must be a correction"):
        store_plan(correction="ajuste")
    # A list of tiers is accepted and kept as a tuple, so the plan stays a hashable value.
    plan = store_plan(tiers=[Tier(0, Decimal("0.01"))])
    assert isinstance(plan.tiers, tuple) and hash(plan) == hash(store_plan())


# --- round trip, on generated plans ---------------------------------------------------------

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
).filter(lambda text: text == text.strip())
cents = st.integers(0, MAX_CENTS)
reasons = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.just("\n"),
    min_size=1,
    max_size=MAX_REASON_LENGTH,
).filter(lambda text: text.strip() != "")
rates = st.integers(0, 6).flatmap(
    lambda places: st.integers(0, 10**places).map(lambda n: Decimal(n).scaleb(-places))
)


@st.composite
def plans(draw: st.DrawFn) -> PlanVersion:
    mode = draw(st.sampled_from(("progressive", "retroactive")))
    thresholds = sorted(draw(st.sets(st.integers(1, MAX_CENTS), max_size=6)))
    tier_rates = draw(st.lists(rates, min_size=len(thresholds) + 1, max_size=len(thresholds) + 1))
    if mode == "retroactive":
        tier_rates.sort()
    bonus = draw(
        st.none()
        | st.builds(QuotaBonus, st.integers(1, MAX_CENTS), amount_cents=cents)
        | st.builds(QuotaBonus, st.integers(1, MAX_CENTS), rate_of_base=rates)
    )
    return PlanVersion(
        plan_id=draw(texts),
        version=draw(st.integers(1, 2**31 - 1)),
        effective_from=draw(st.dates()).replace(day=1),
        store_id=draw(texts),
        seller_id=draw(st.none() | texts),
        base_pay_cents=draw(cents),
        basis=draw(st.sampled_from(("revenue", "margin"))),
        tier_mode=mode,
        tiers=tuple(Tier(t, r) for t, r in zip([0, *thresholds], tier_rates, strict=True)),
        quota_bonus=bonus,
        commission_cap_cents=draw(st.none() | cents),
        correction=draw(st.none() | st.builds(Correction, reasons)),
    )


@SETTINGS
@given(plans())
def test_every_plan_round_trips_through_json(plan: PlanVersion) -> None:
    data = to_json(plan)
    assert parse_plan(data) == plan
    assert parse_plan(json.loads(json.dumps(data))) == plan
    assert to_json(parse_plan(data)) == data


# --- the history ----------------------------------------------------------------------------


def test_plan_for_picks_the_version_in_force() -> None:
    january = store_plan()
    march = store_plan(version=2, effective_from=date(2026, 3, 1), base_pay_cents=190_000)
    override = store_plan(
        plan_id="ana", seller_id="ana", effective_from=date(2026, 2, 1), base_pay_cents=1
    )
    history = PlanHistory("loja-001")
    for plan in (january, march, override):
        history = add_version(history, plan)
    assert plan_for(history, None, date(2025, 12, 31)) is None
    assert plan_for(history, "ana", date(2025, 12, 31)) is None
    assert plan_for(history, None, date(2026, 1, 1)) == january
    assert plan_for(history, None, date(2026, 2, 28)) == january
    assert plan_for(history, None, date(2026, 3, 1)) == march
    assert plan_for(history, "bruno", date(2026, 3, 31)) == march  # no override: the store's
    assert plan_for(history, "ana", date(2026, 1, 31)) == january  # override not yet in force
    assert plan_for(history, "ana", date(2026, 2, 1)) == override
    assert plan_for(history, "ana", date(2026, 4, 1)) == override  # the override comes first


def test_ties_on_effective_from_go_to_the_highest_version() -> None:
    first = store_plan(effective_from=date(2026, 3, 1))
    correction = store_plan(version=2, effective_from=date(2026, 3, 1), base_pay_cents=1)
    history = add_version(add_version(PlanHistory("loja-001"), first), correction)
    assert plan_for(history, None, date(2026, 3, 10)) == correction
    # A later version back-dated before another one corrects the past, not the present.
    backdated = store_plan(version=3, effective_from=date(2026, 1, 1), base_pay_cents=2)
    history = add_version(history, backdated)
    assert plan_for(history, None, date(2026, 2, 1)) == backdated
    assert plan_for(history, None, date(2026, 3, 1)) == correction


def test_saving_keeps_every_version_and_is_idempotent() -> None:
    history = add_version(PlanHistory("loja-001"), store_plan())
    assert next_version(history, "padrao") == 2 and next_version(history, "novo") == 1
    assert add_version(history, store_plan()) is history  # a retried save
    second = add_version(history, store_plan(version=2, base_pay_cents=200_000))
    assert second.versions == (store_plan(), store_plan(version=2, base_pay_cents=200_000))
    assert history.versions == (store_plan(),), "the old history is a value, unchanged"


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            store_plan(base_pay_cents=1),
            "version: plan 'padrao' already has a different version 1; a saved version never"
            " changes, save version 3 instead",
        ),
        (
            store_plan(version=1, plan_id="other", store_id="loja-002"),
            "store_id: must be the store of the history 'loja-001', got 'loja-002'",
        ),
        (
            store_plan(version=3, seller_id="ana"),
            "seller_id: plan 'padrao' is the store's plan; the override of seller 'ana' needs a"
            " plan_id of its own",
        ),
    ],
)
def test_a_version_that_would_rewrite_the_history_is_refused(
    plan: PlanVersion, message: str
) -> None:
    history = add_version(add_version(PlanHistory("loja-001"), store_plan()), store_plan(version=2))
    with pytest.raises(PlanError) as caught:
        add_version(history, plan)
    assert str(caught.value) == message


def test_a_version_below_the_latest_is_refused() -> None:
    history = add_version(PlanHistory("loja-001"), store_plan(version=5))
    with pytest.raises(PlanError, match=r"^version: must be above 5, the latest version"):
        add_version(history, store_plan(version=4))


def test_the_history_round_trips_and_names_the_faulty_version() -> None:
    history = add_version(
        add_version(PlanHistory("loja-001"), store_plan()),
        store_plan(plan_id="ana", seller_id="ana"),
    )
    data = json.loads(json.dumps(history_to_json(history)))
    assert parse_history(data) == history
    data["versions"][1]["tiers"][0]["rate"] = "1.5"
    with pytest.raises(PlanError) as caught:
        parse_history(data)
    assert (
        str(caught.value)
        == "versions[1].tiers[0].rate: must be a decimal between 0 and 1, got '1.5'"
    )
    data["versions"][1] = "plan"
    with pytest.raises(PlanError, match=r"^versions\[1\]: must be an object, got 'plan'"):
        parse_history(data)
    other_store = history_to_json(history) | {"store_id": "loja-002"}
    with pytest.raises(PlanError, match=r"^versions\[0\]\.store_id: must be the store"):
        parse_history(other_store)
    twice = history_to_json(history)
    twice["versions"].append(twice["versions"][0])
    with pytest.raises(
        PlanError, match=r"^versions\[2\]\.version: plan 'padrao' has version 1 twice"
    ):
        parse_history(twice)
    with pytest.raises(PlanError, match=r"^versions: must be a list"):
        parse_history({"store_id": "loja-001", "versions": {}})


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "ana", "bruno"]),
            st.dates(date(2025, 1, 1), date(2027, 12, 31)),
        ),
        max_size=12,
    ),
    st.dates(date(2024, 12, 1), date(2028, 1, 31)),
)
def test_a_new_version_changes_nothing_before_its_date(
    saves: list[tuple[str | None, date]], day: date
) -> None:
    history = PlanHistory("loja-001")
    for seller, effective in saves:
        plan_id = seller or "loja"
        plan = store_plan(
            plan_id=plan_id,
            seller_id=seller,
            version=next_version(history, plan_id),
            effective_from=effective.replace(day=1),
        )
        before = history
        history = add_version(history, plan)
        assert history.versions[: len(before.versions)] == before.versions, "nothing lost"
        for who in (None, "ana", "bruno"):
            if day < plan.effective_from:
                assert plan_for(history, who, day) == plan_for(before, who, day)
            chosen = plan_for(history, who, day)
            # In force, and of the right scope: the seller's own or the store's.
            assert chosen is None or (
                chosen.effective_from <= day and chosen.seller_id in (who, None)
            )


def test_rates_are_written_positionally_whatever_their_exponent() -> None:
    plan = store_plan(
        tiers=(Tier(0, Decimal("0E+3")), Tier(10, Decimal("1E-6")), Tier(20, Decimal("1.0")))
    )
    assert [tier["rate"] for tier in to_json(plan)["tiers"]] == ["0", "0.000001", "1.0"]
    assert parse_plan(to_json(plan)) == plan
