"""The store comparison, the team rank and the recent-sales feed: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.insights.comparison import METRICS, compare_store, metric_values, team_rank
from app.records import Sale, SaleLine
from tables.recent import RecentSales


def figures(revenue: int, margin: int, orders: int, units: int) -> dict[str, int]:
    return {"revenue_cents": revenue, "margin_cents": margin, "orders": orders, "units": units}


def test_metric_values_are_exact() -> None:
    values = metric_values(figures(1000, 250, 3, 7))
    assert values["average_ticket_cents"] == Decimal(333)  # 333.33… rounded half-even
    assert values["margin_rate"] == Decimal("0.25")
    assert metric_values(figures(0, 0, 0, 0))["average_ticket_cents"] == 0


def test_a_store_sees_its_rank_percentile_and_weakest_metric() -> None:
    own = figures(50_000, 20_000, 10, 40)  # ticket 5,000; margin rate 40%
    chain = [
        own,
        figures(90_000, 18_000, 30, 90),  # ticket 3,000; 20%
        figures(30_000, 6_000, 20, 30),  # ticket 1,500; 20%
        figures(70_000, 14_000, 14, 50),  # ticket 5,000; 20%
    ]
    result = compare_store(own, chain)
    by_metric = {s.metric: s for s in result.standings}
    assert [s.metric for s in result.standings] == list(METRICS)
    assert (by_metric["revenue_cents"].rank, by_metric["revenue_cents"].count) == (3, 4)
    assert by_metric["revenue_cents"].percentile == 1 / 3
    assert by_metric["orders"].rank == 4 and by_metric["orders"].percentile == 0.0
    # Tied with another store on average ticket: both first.
    assert by_metric["average_ticket_cents"].rank == 1
    assert by_metric["margin_rate"].rank == 1 and by_metric["margin_rate"].percentile == 1.0
    assert by_metric["revenue_cents"].chain_median is None  # 4 stores: it would be a real one
    assert result.weakest == "orders"
    assert result.strongest == "margin_cents"


def test_a_store_alone_has_no_weakest_metric() -> None:
    own = figures(10, 5, 1, 1)
    result = compare_store(own, [own])
    assert result.weakest is None and result.strongest is None
    assert all(s.rank == 1 and s.percentile == 1.0 for s in result.standings)


def test_a_store_first_everywhere_has_no_weakest_metric() -> None:
    own = figures(100, 90, 10, 10)
    result = compare_store(own, [own, figures(10, 1, 1, 1)])
    assert result.weakest is None
    assert result.strongest == "revenue_cents"


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30), st.data())
def test_ranks_are_consistent_with_percentiles(revenues: list[int], data: st.DataObject) -> None:
    chain = [figures(r, r // 2, 1, 1) for r in revenues]
    own = data.draw(st.sampled_from(chain))
    standing = compare_store(own, chain).standings[0]
    assert 1 <= standing.rank <= len(chain)
    strictly_above = sum(1 for r in revenues if r > own["revenue_cents"])
    assert standing.rank == strictly_above + 1
    assert 0.0 <= standing.percentile <= 1.0


def test_team_rank() -> None:
    team = {"ana": 500, "bia": 900, "caio": 500}
    assert (team_rank("bia", team).rank, team_rank("bia", team).count) == (1, 3)
    assert team_rank("ana", team).rank == 2 and team_rank("caio", team).rank == 2
    assert team_rank("davi", team).rank == 0


def sale(order: str, seller: str, minute: int, quantity: int = 1, store: str = "s1") -> Sale:
    return Sale(
        order_id=order,
        store_id=store,
        seller_id=seller,
        event_time=datetime(2026, 11, 29, 12, tzinfo=UTC) + timedelta(minutes=minute),
        source_time_zone="America/Sao_Paulo",
        channel="store",
        lines=(SaleLine(f"{order}-1", "SKU", quantity, 1250),),
    )


def test_recent_sales_are_newest_first_bounded_and_by_store() -> None:
    recent = RecentSales(per_store=3)
    recent.add([sale("o1", "ana", 1), sale("o3", "bia", 3), sale("o2", "ana", 2, quantity=2)])
    recent.add([sale("o4", "ana", 4), sale("x1", "ana", 9, store="s2")])
    latest = recent.latest("s1", limit=10)
    assert [r.order_id for r in latest] == ["o4", "o3", "o2"]  # o1 fell out of the window
    assert latest[2].items == 2 and latest[2].amount_cents == 2500
    assert [r.order_id for r in recent.latest("s1", limit=10, seller_id="ana")] == ["o4", "o2"]
    assert [r.order_id for r in recent.latest("s1", limit=1)] == ["o4"]
    assert recent.latest("nowhere", limit=5) == []
    assert latest[0].to_dict()["event_time"] == "2026-11-29T12:04:00+00:00"


def test_the_chain_median_shows_from_five_stores() -> None:
    chain = [figures(revenue, 0, 1, 1) for revenue in (10, 20, 30, 40, 50)]
    standing = compare_store(chain[0], chain).standings[0]
    assert standing.chain_median == Decimal(30)
    assert compare_store(chain[0], chain[:4]).standings[0].chain_median is None
