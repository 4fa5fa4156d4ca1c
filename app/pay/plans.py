"""Commission plans: a store's versioned plan history, per-seller overrides, and their JSON.

A ``PlanVersion`` that exists is valid: every check runs when one is built, whether by
``parse_plan`` (the API, the plans topic) or by code (a test, the what-if's draft), so the pay
functions never meet a plan they cannot compute. A refused plan raises ``PlanError``, whose
message starts with the path of the field at fault (``tiers[2].rate: ...``): the plan editor
shows it next to that field. The JSON form and the rules are documented in ``docs/pay.md``.

Money is integer cents; rates are ``Decimal`` and travel as JSON strings (``"0.03"``),
because a JSON number is a float to most readers and 0.03 is not a float.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

from app.json_fields import decimal_text as _decimal_text
from app.json_fields import show as _show

Basis = Literal["revenue", "margin"]
TierMode = Literal["progressive", "retroactive"]
Period = Literal["month"]

BASES: tuple[Basis, ...] = ("revenue", "margin")
TIER_MODES: tuple[TierMode, ...] = ("progressive", "retroactive")
PERIODS: tuple[Period, ...] = ("month",)
"""Only the month for now: stores pay monthly, and a weekly plan would need week-aligned
effective dates and weekly projections that nothing asks for yet."""

MAX_CENTS = 2**53 - 1
"""Browsers read JSON numbers as doubles: beyond this a dashboard would show another amount."""
MAX_RATE_PLACES = 6
"""A millionth (0.0001 %) is finer than any plan needs, and it keeps every product of a rate
and an amount exact in ``app.pay.compute``."""
MAX_TIERS = 20
MAX_VERSION = 2**31 - 1
MAX_ID_LENGTH = 200
MAX_REASON_LENGTH = 500
"""A correction's reason: a sentence or two, for whoever reads the history later."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# Free text may span lines; other control characters and lone surrogates are refused.
_TEXT_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# Digits, an optional dot and digits: no exponent, sign, spaces, "NaN" or "Infinity", so the
# text a manager typed is the number stored.
_RATE_TEXT = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?", re.ASCII)

_PLAN_REQUIRED = (
    "plan_id",
    "version",
    "effective_from",
    "store_id",
    "base_pay_cents",
    "basis",
    "tier_mode",
    "tiers",
)
_PLAN_OPTIONAL = ("seller_id", "period", "quota_bonus", "commission_cap_cents", "correction")
_TIER_FIELDS = ("threshold_cents", "rate")
_BONUS_FIELDS = ("quota_cents", "amount_cents", "rate_of_base")
_CORRECTION_FIELDS = ("reason",)
_HISTORY_FIELDS = ("store_id", "versions")

_Choice = TypeVar("_Choice", bound=str)


class PlanError(ValueError):
    """A plan (or plan history) refused; ``field`` is the path of the field at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def within(self, prefix: str) -> PlanError:
        """The same error seen from an enclosing object (``versions[3]`` + ``tiers[0].rate``)."""
        return PlanError(f"{prefix}.{self.field}", self.reason)


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``threshold_cents`` of basis on (inclusive), ``rate`` applies."""

    threshold_cents: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class QuotaBonus:
    """Paid once the period's basis reaches ``quota_cents`` (inclusive): either a fixed
    ``amount_cents`` or ``rate_of_base`` times the plan's base pay, exactly one of the two."""

    quota_cents: int
    amount_cents: int | None = None
    rate_of_base: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """Marks a version that changes pay already earned, on purpose: its ``effective_from`` is
    before the store's current month when it is saved (``app.pay.editing``,
    ``check_not_back_dated``). ``reason`` is kept with the version, so the history says why
    the past was rewritten. It changes no pay figure."""

    reason: str

    def __post_init__(self) -> None:
        _check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of a store's plan, or of one seller's override when ``seller_id`` is set.

    ``commission_cap_cents`` caps the commission alone: the quota bonus is paid on top
    (``docs/pay.md``, "Cap"). ``effective_from`` is the first day of a month, so one version
    governs a whole period. ``correction`` is set on a version saved with an
    ``effective_from`` in a month already past (``Correction``).
    """

    plan_id: str
    version: int
    effective_from: date
    store_id: str
    base_pay_cents: int
    basis: Basis
    tier_mode: TierMode
    tiers: tuple[Tier, ...]
    seller_id: str | None = None
    period: Period = "month"
    quota_bonus: QuotaBonus | None = None
    commission_cap_cents: int | None = None
    correction: Correction | None = None

    def __post_init__(self) -> None:
        # A list given by code would make the plan unhashable and mutable through it.
        if isinstance(self.tiers, list):
            object.__setattr__(self, "tiers", tuple(self.tiers))
        _check_plan(self)


@dataclass(frozen=True, slots=True)
class PlanHistory:
    """Every version of a store's plans (the store's and its sellers' overrides), in the order
    they were saved. Versions are never removed nor changed: a change is a new version."""

    store_id: str
    versions: tuple[PlanVersion, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.versions, list):
            object.__setattr__(self, "versions", tuple(self.versions))
        _check_id("store_id", self.store_id)
        if not isinstance(self.versions, tuple):
            raise PlanError("versions", f"must be a list of plans, got {_show(self.versions)}")
        for index, plan in enumerate(self.versions):
            if not isinstance(plan, PlanVersion):
                raise PlanError(f"versions[{index}]", f"must be a plan, got {_show(plan)}")
            try:
                _check_addition(self.store_id, self.versions[:index], plan)
            except PlanError as error:
                raise error.within(f"versions[{index}]") from None


# ---------------------------------------------------------------------------------------------
# The history: adding versions and choosing the one in force.


def add_version(history: PlanHistory, plan: PlanVersion) -> PlanHistory:
    """The history with ``plan`` saved after the versions it has.

    Saving a version already there, identical, changes nothing (a retried request); a
    different plan under a saved ``(plan_id, version)`` is refused, as is a version number not
    above the plan's latest or a plan that would change store or seller.
    """
    if plan in history.versions:
        return history
    _check_addition(history.store_id, history.versions, plan)
    return PlanHistory(history.store_id, (*history.versions, plan))


def next_version(history: PlanHistory, plan_id: str) -> int:
    """The version number the next save of ``plan_id`` takes (1 for a new plan)."""
    return 1 + max((p.version for p in history.versions if p.plan_id == plan_id), default=0)


def plan_for(history: PlanHistory, seller_id: str | None, day: date) -> PlanVersion | None:
    """The version in force for ``seller_id`` on ``day``: the seller's override if one is in
    force, else the store's plan (``seller_id=None`` asks for the store's plan). Among the
    versions in force, the latest ``effective_from`` wins, then the highest version, then the
    one saved last. None when no version is in force yet."""
    scopes: list[str | None] = [seller_id, None] if seller_id is not None else [None]
    for scope in scopes:
        candidates = [
            (plan.effective_from, plan.version, position, plan)
            for position, plan in enumerate(history.versions)
            if plan.seller_id == scope and plan.effective_from <= day
        ]
        if candidates:
            return max(candidates, key=lambda candidate: candidate[:3])[3]
    return None


def _check_addition(store_id: str, saved: Sequence[PlanVersion], plan: PlanVersion) -> None:
    if plan.store_id != store_id:
        raise PlanError(
            "store_id", f"must be the store of the history {store_id!r}, got {plan.store_id!r}"
        )
    same_plan = [p for p in saved if p.plan_id == plan.plan_id]
    if not same_plan:
        return
    latest = max(p.version for p in same_plan)
    if plan in same_plan:  # only a history built by hand can hold one version twice
        raise PlanError("version", f"plan {plan.plan_id!r} has version {plan.version} twice")
    if any(p.version == plan.version for p in same_plan):
        raise PlanError(
            "version",
            f"plan {plan.plan_id!r} already has a different version {plan.version}; a saved "
            f"version never changes, save version {latest + 1} instead",
        )
    if plan.version < latest:
        raise PlanError(
            "version",
            f"must be above {latest}, the latest version of plan {plan.plan_id!r}, "
            f"got {plan.version}",
        )
    # One plan_id, one scope: otherwise "version 3 of plan X" would mean different people's pay.
    first = same_plan[0]
    if plan.seller_id != first.seller_id:
        raise PlanError(
            "seller_id",
            f"plan {plan.plan_id!r} is {_scope(first.seller_id)}; {_scope(plan.seller_id)} "
            f"needs a plan_id of its own",
        )


def _scope(seller_id: str | None) -> str:
    return "the store's plan" if seller_id is None else f"the override of seller {seller_id!r}"


# ---------------------------------------------------------------------------------------------
# JSON.


def parse_plan(data: object) -> PlanVersion:
    """A plan from its JSON form (``docs/pay.md``); ``PlanError`` names the first bad field."""
    fields = _fields("plan", data, _PLAN_REQUIRED, _PLAN_OPTIONAL, prefix="")
    # In documented field order, so that a plan with several faults reports the first one.
    plan_id = _check_id("plan_id", fields["plan_id"])
    version = _check_version(fields["version"])
    effective_from = _parse_date("effective_from", fields["effective_from"])
    store_id = _check_id("store_id", fields["store_id"])
    seller_id = fields.get("seller_id")
    if seller_id is not None:
        _check_id("seller_id", seller_id)
    period = _check_choice("period", fields.get("period", "month"), PERIODS)
    base_pay_cents = _check_cents("base_pay_cents", fields["base_pay_cents"])
    basis = _check_choice("basis", fields["basis"], BASES)
    tier_mode = _check_choice("tier_mode", fields["tier_mode"], TIER_MODES)
    tiers = _parse_tiers(fields["tiers"])
    _check_tiers(tiers, tier_mode)
    quota_bonus = _parse_bonus(fields.get("quota_bonus"))
    if quota_bonus is not None:
        _check_bonus(quota_bonus)
    cap = fields.get("commission_cap_cents")
    if cap is not None:
        _check_cents("commission_cap_cents", cap)
    # Checked here, before the correction is: PlanVersion would check them only after it.
    correction = _parse_correction(fields.get("correction"))
    return PlanVersion(
        plan_id=plan_id,
        version=version,
        effective_from=effective_from,
        store_id=store_id,
        seller_id=seller_id,
        period=period,
        base_pay_cents=base_pay_cents,
        basis=basis,
        tier_mode=tier_mode,
        tiers=tiers,
        quota_bonus=quota_bonus,
        commission_cap_cents=cap,
        correction=correction,
    )


def to_json(plan: PlanVersion) -> dict[str, Any]:
    """The plan's JSON form: every field, absent optional ones as null, rates as strings."""
    bonus = plan.quota_bonus
    return {
        "plan_id": plan.plan_id,
        "version": plan.version,
        "effective_from": plan.effective_from.isoformat(),
        "store_id": plan.store_id,
        "seller_id": plan.seller_id,
        "period": plan.period,
        "base_pay_cents": plan.base_pay_cents,
        "basis": plan.basis,
        "tier_mode": plan.tier_mode,
        "tiers": [
            {"threshold_cents": tier.threshold_cents, "rate": _decimal_text(tier.rate)}
            for tier in plan.tiers
        ],
        "quota_bonus": None
        if bonus is None
        else {
            "quota_cents": bonus.quota_cents,
            "amount_cents": bonus.amount_cents,
            "rate_of_base": None
            if bonus.rate_of_base is None
            else _decimal_text(bonus.rate_of_base),
        },
        "commission_cap_cents": plan.commission_cap_cents,
        "correction": None if plan.correction is None else {"reason": plan.correction.reason},
    }


def parse_history(data: object) -> PlanHistory:
    """A store's plan history from its JSON form (the value on the plans topic)."""
    fields = _fields("history", data, _HISTORY_FIELDS, (), prefix="")
    store_id = _check_id("store_id", fields["store_id"])
    versions = fields["versions"]
    if not isinstance(versions, list):
        raise PlanError("versions", f"must be a list of plans, got {_show(versions)}")
    parsed: list[PlanVersion] = []
    for index, item in enumerate(versions):
        try:
            parsed.append(parse_plan(item))
        except PlanError as error:
            if error.field == "plan":  # the item itself is not an object
                raise PlanError(f"versions[{index}]", error.reason) from None
            raise error.within(f"versions[{index}]") from None
    return PlanHistory(store_id, tuple(parsed))


def history_to_json(history: PlanHistory) -> dict[str, Any]:
    return {"store_id": history.store_id, "versions": [to_json(p) for p in history.versions]}


def _fields(
    name: str,
    data: object,
    required: Sequence[str],
    optional: Sequence[str],
    prefix: str,
) -> Mapping[str, Any]:
    where = prefix or name
    if not isinstance(data, Mapping):
        raise PlanError(where, f"must be an object, got {_show(data)}")
    known = (*required, *optional)
    for key in data:
        if key not in known:
            raise PlanError(_path(prefix, str(key)), f"unknown field (known: {', '.join(known)})")
    for key in required:
        if key not in data:
            raise PlanError(_path(prefix, key), "is required")
    return data


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _parse_tiers(data: object) -> tuple[Tier, ...]:
    if not isinstance(data, list):
        raise PlanError("tiers", f"must be a list of tiers, got {_show(data)}")
    tiers: list[Tier] = []
    for index, item in enumerate(data):
        where = f"tiers[{index}]"
        fields = _fields(where, item, _TIER_FIELDS, (), prefix=where)
        threshold = _check_cents(f"{where}.threshold_cents", fields["threshold_cents"])
        rate = _parse_rate(f"{where}.rate", fields["rate"])
        tiers.append(Tier(threshold, rate))
    return tuple(tiers)


def _parse_bonus(data: object) -> QuotaBonus | None:
    if data is None:
        return None
    fields = _fields("quota_bonus", data, ("quota_cents",), _BONUS_FIELDS[1:], "quota_bonus")
    rate = fields.get("rate_of_base")
    return QuotaBonus(
        quota_cents=fields["quota_cents"],
        amount_cents=fields.get("amount_cents"),
        rate_of_base=None if rate is None else _parse_rate("quota_bonus.rate_of_base", rate),
    )


def _parse_correction(data: object) -> Correction | None:
    if data is None:
        return None
    fields = _fields("correction", data, _CORRECTION_FIELDS, (), "correction")
    return Correction(_check_reason(fields["reason"]))


def _parse_rate(field: str, value: object) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PlanError(
            field,
            f'must be a decimal in a string, such as "0.03", not the JSON number {_show(value)}'
            " (a JSON number is a float to most readers, and floats are not exact)",
        )
    if not isinstance(value, str) or not _RATE_TEXT.fullmatch(value):
        raise PlanError(
            field,
            f'must be a decimal written with digits and a dot, such as "0.03", got {_show(value)}',
        )
    return _check_rate(field, Decimal(value))


def _parse_date(field: str, value: object) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PlanError(field, f"must be a date written YYYY-MM-DD, got {_show(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PlanError(field, f"is not a date of the calendar, got {_show(value)}") from None


# ---------------------------------------------------------------------------------------------
# Checks shared by the parser and the dataclasses.


def _check_plan(plan: PlanVersion) -> None:
    _check_id("plan_id", plan.plan_id)
    _check_version(plan.version)
    if not isinstance(plan.effective_from, date):
        raise PlanError("effective_from", f"must be a date, got {_show(plan.effective_from)}")
    if plan.effective_from.day != 1:
        raise PlanError(
            "effective_from",
            "must be the first day of a month (a plan changes between monthly periods), "
            f"got {_show(plan.effective_from.isoformat())}",
        )
    _check_id("store_id", plan.store_id)
    if plan.seller_id is not None:
        _check_id("seller_id", plan.seller_id)
    _check_choice("period", plan.period, PERIODS)
    _check_cents("base_pay_cents", plan.base_pay_cents)
    _check_choice("basis", plan.basis, BASES)
    _check_choice("tier_mode", plan.tier_mode, TIER_MODES)
    _check_tiers(plan.tiers, plan.tier_mode)
    if plan.quota_bonus is not None:
        _check_bonus(plan.quota_bonus)
    if plan.commission_cap_cents is not None:
        _check_cents("commission_cap_cents", plan.commission_cap_cents)
    if plan.correction is not None and not isinstance(plan.correction, Correction):
        raise PlanError("correction", f"must be a correction, got {_show(plan.correction)}")


def _check_tiers(tiers: object, tier_mode: TierMode) -> None:
    if not isinstance(tiers, tuple) or not tiers:
        raise PlanError("tiers", f"must list at least one tier, got {_show(tiers)}")
    if len(tiers) > MAX_TIERS:
        raise PlanError("tiers", f"must list at most {MAX_TIERS} tiers, got {len(tiers)}")
    previous: Tier | None = None
    for index, tier in enumerate(tiers):
        where = f"tiers[{index}]"
        if not isinstance(tier, Tier):
            raise PlanError(where, f"must be a tier, got {_show(tier)}")
        _check_cents(f"{where}.threshold_cents", tier.threshold_cents)
        _check_rate(f"{where}.rate", tier.rate)
        if previous is None:
            if tier.threshold_cents != 0:
                raise PlanError(
                    f"{where}.threshold_cents",
                    f"the first tier must start at 0, got {tier.threshold_cents}",
                )
        else:
            if tier.threshold_cents <= previous.threshold_cents:
                raise PlanError(
                    f"{where}.threshold_cents",
                    f"must be above the previous tier's {previous.threshold_cents}, "
                    f"got {tier.threshold_cents}",
                )
            # Retroactively, a lower rate would cut the pay of a seller who sells more.
            if tier_mode == "retroactive" and tier.rate < previous.rate:
                raise PlanError(
                    f"{where}.rate",
                    f"in a retroactive plan must not be below the previous tier's "
                    f"{_decimal_text(previous.rate)!r} (reaching the tier would lower the pay), "
                    f"got {_decimal_text(tier.rate)!r}",
                )
        previous = tier


def _check_bonus(bonus: object) -> None:
    if not isinstance(bonus, QuotaBonus):
        raise PlanError("quota_bonus", f"must be a quota bonus, got {_show(bonus)}")
    _check_cents("quota_bonus.quota_cents", bonus.quota_cents, minimum=1)
    if (bonus.amount_cents is None) == (bonus.rate_of_base is None):
        raise PlanError("quota_bonus", "must give exactly one of amount_cents and rate_of_base")
    if bonus.amount_cents is not None:
        _check_cents("quota_bonus.amount_cents", bonus.amount_cents)
    if bonus.rate_of_base is not None:
        _check_rate("quota_bonus.rate_of_base", bonus.rate_of_base)


def _check_cents(field: str, value: object, minimum: int = 0) -> int:
    # type() rather than isinstance(): True is an int, and 1800.0 is a float even if whole.
    if type(value) is not int:
        raise PlanError(field, f"must be a whole number of cents, got {_show(value)}")
    if value < minimum:
        least = "0 or more" if minimum == 0 else f"at least {minimum}"
        raise PlanError(field, f"must be {least} cents, got {value}")
    if value > MAX_CENTS:
        raise PlanError(field, f"must be at most {MAX_CENTS} cents, got {value}")
    return value


def _check_rate(field: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 1:
        raise PlanError(field, f"must be a decimal between 0 and 1, got {_show(value)}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_PLACES:
        raise PlanError(
            field, f"must have at most {MAX_RATE_PLACES} decimal places, got {_show(value)}"
        )
    return value


def _check_id(field: str, value: object) -> str:
    if (
        not isinstance(value, str)
        or not value
        or value != value.strip()
        or len(value) > MAX_ID_LENGTH
        or _CONTROL.search(value)
    ):
        raise PlanError(
            field,
            f"must be a non-empty text of at most {MAX_ID_LENGTH} characters, without control "
            f"characters or surrounding spaces, got {_show(value)}",
        )
    return value


def _check_reason(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_REASON_LENGTH
        or _TEXT_CONTROL.search(value)
    ):
        raise PlanError(
            "correction.reason",
            f"must say why the past is corrected: a text of 1 to {MAX_REASON_LENGTH} characters, "
            f"not only spaces, without control characters (line breaks allowed), got "
            f"{_show(value)}",
        )
    return value


def _check_version(value: object) -> int:
    if type(value) is not int or not 1 <= value <= MAX_VERSION:
        raise PlanError(
            "version", f"must be a whole number from 1 to {MAX_VERSION}, got {_show(value)}"
        )
    return value


def _check_choice(field: str, value: object, choices: tuple[_Choice, ...]) -> _Choice:
    for choice in choices:
        if value == choice and isinstance(value, str):
            return choice
    listed = ", ".join(repr(choice) for choice in choices)
    raise PlanError(field, f"must be one of {listed}, got {_show(value)}")
