"""Synthetic, seed-deterministic data for DataApp: a Brazilian retail chain and its orders.

``build_chain(seed)`` gives the reference data (stores in real cities and IANA zones,
sellers, a priced catalogue, commission plans) plus the hidden truth the orders are drawn
from (affinities, trends, under-performers). ``SalesGenerator(chain, seed)`` turns it into
raw order rows in the canonical flat layout (``CANONICAL_COLUMNS``), historical or live, with
returns, discounts and a small share of deliberately malformed rows (``BAD_ROW_KINDS``,
reported per row in ``GeneratedOrder.defects``).
"""

from app.generator.chain import (
    CATEGORIES,
    CITIES,
    COMMISSION_PLANS,
    Chain,
    CommissionPlan,
    build_chain,
)
from app.generator.sales import (
    BAD_ROW_KINDS,
    CANONICAL_COLUMNS,
    CHANNELS,
    GeneratedOrder,
    SalesGenerator,
    format_cents,
    write_csv,
    write_reference_jsonl,
)

__all__ = [
    "BAD_ROW_KINDS",
    "CANONICAL_COLUMNS",
    "CATEGORIES",
    "CHANNELS",
    "CITIES",
    "COMMISSION_PLANS",
    "Chain",
    "CommissionPlan",
    "GeneratedOrder",
    "SalesGenerator",
    "build_chain",
    "format_cents",
    "write_csv",
    "write_reference_jsonl",
]
