"""The lookup API on Faust's web server: routes, authentication, scope, errors, routing.

Every route is declared once in ``ROUTES`` (path, method, handler, parameters, who may call
it); the Faust views and the OpenAPI document (``app/api/openapi.py``) are both made from
that list, so they cannot disagree. Handlers are small: they check parameters
(``app/api/periods.py``), check scope (``app/api/auth.py``), and ask ``Lookups``.

Answers name what they show: next to a ``store_id`` its ``store_name``, next to a seller id
the seller's name, from the worker's reference catalogue (``app/reference.py``); a name the
catalogue lacks is the id itself (``app/api/names.py``).

A store's figures live on the worker that owns its partition. A request about a store this
worker does not own is passed to the owner (Faust's router, by the partition of ``sales``); a
seller's figures are summed over the stores they sold in, each asked of its owner.

Commission plans and pay (``docs/pay.md``): the plan routes read and save the store's plan
history (``agents/plans.py``, ``app/pay/editing.py``), the pay routes compute pay from the plan
in force and the same period figures the team table shows (``app/api/pay.py``).

Projections (``app/api/projections.py``): a store's or a seller's period end and today's total,
from forecasters rebuilt from the live tables' daily aggregates on the store's event clock.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from aiohttp import ClientError, ClientTimeout
from aiohttp.web import HTTPRequestEntityTooLarge
from faust.web import Request, Response, View
from yarl import URL

from agents.plans import PlanStore, PlansUnavailableError
from app.api.auth import Principal, TokenError, User, UserStore, issue_token, verify_token
from app.api.cross_sell import CrossSell
from app.api.lookups import ZERO, Figures, Lookups, add_figures
from app.api.names import display_name_of, seller_name, store_name_of
from app.api.pay import (
    Outlook,
    TeamSeller,
    in_force,
    month_end,
    month_to_date,
    parse_as_of,
    parse_period,
    period_head,
    plan_view,
    seller_pay,
    simulation,
    store_today,
    team_members,
    team_pay,
)
from app.api.periods import (
    GRANULARITIES,
    RANKINGS,
    BadParameter,
    DateRange,
    parse_choice,
    parse_limit,
    parse_range,
)
from app.history.client import HistoryUnavailableError
from app.insights.comparison import compare_store, team_rank
from app.insights.margins import ProductMargin, ProductSales, advise
from app.metrics import WorkerMetrics, render
from app.pay.editing import HistoryTooLarge, VersionConflict, draft_from_body, plan_to_save
from app.pay.plans import PlanError, to_json
from app.reference import ReferenceCatalogue
from app.settings import Settings
from tables.live import TablesNotReadyError
from tables.recent import PER_STORE

if TYPE_CHECKING:
    import faust

    from agents.aggregate import SalesAggregator
    from app.api.projections import ProjectionService
    from app.api.trending import TrendingService
    from app.ingest.pipeline import IngestSummary

log = logging.getLogger(__name__)

TOKEN_TTL_SECONDS = 8 * 3600
INTERNAL_TOKEN_SECONDS = 60
OWNER_TIMEOUT_SECONDS = 10.0
"""How long a worker waits for the owner of a store it asks."""
"""Life of the token a worker asks other workers with (the chain comparison)."""
MAX_INGEST_RECORDS = 10_000
MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest request body read (the worker's ``web_application_options``): room for
MAX_INGEST_RECORDS canonical lines (about 300 bytes each), where aiohttp's default (1 MiB)
stopped at about 3,500."""


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        """Extra members of the error object: ``field`` and ``reason`` of a refused plan."""


@dataclass
class ApiContext:
    """Everything the handlers share; built once by the worker."""

    app: faust.App
    settings: Settings
    users: UserStore
    lookups: Lookups
    aggregator: SalesAggregator
    metrics: WorkerMetrics
    history: Any
    sink: Any
    ingest: Callable[[list[Any], str], Awaitable[IngestSummary]]
    ready: Callable[[], dict[str, bool]]
    consumer_lag: Callable[[], dict[str, dict[int, int]]]
    token_key: bytes = field(default=b"")
    plans: PlanStore | None = None
    """The commission plans (``agents/plans.py``); None only where no worker runs them."""
    projections: ProjectionService | None = None
    """The projections (``app/api/projections.py``); None only where no worker runs them."""
    cross_sell: CrossSell | None = None
    """Bought together (``app/api/cross_sell.py``); None only where no worker counts it."""
    trending: TrendingService | None = None
    """Products trending up or down (``app/api/trending.py``); None where no worker runs it."""

    def today(self) -> date:
        return datetime.now(UTC).date()

    def store_today(self, store_id: str) -> date:
        """Today in the store's time zone: the pay routes' default day."""
        return store_today(self.catalogue, store_id, datetime.now(UTC))

    def live_start(self) -> date:
        return self.today() - timedelta(days=self.settings.live_days)

    def span(self, request: Request) -> DateRange:
        return parse_range(request.query, self.today(), self.settings.retention_days)

    @property
    def catalogue(self) -> ReferenceCatalogue:
        """The names of stores, sellers and products (one catalogue, the lookups')."""
        return self.lookups.catalogue


Handler = Callable[[ApiContext, Request, Principal | None, dict[str, str]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: bool = True
    query: tuple[str, ...] = ()
    body: str | None = None
    """Name of the request body schema in the OpenAPI document."""
    response: str = "Figures"
    tag: str = "lookups"
    raw: bool = False
    """The handler returns a ready Response (metrics text), not JSON data."""
    errors: tuple[str, ...] = ()
    """Error statuses of this route beyond the common ones (OpenAPI): 404, 409, 413."""


# -- scope -------------------------------------------------------------------------------


def require_store(principal: Principal | None, store_id: str) -> None:
    if principal is not None and not principal.can_read_store(store_id):
        raise ApiError(403, "forbidden", f"your role cannot see store {store_id!r}")


def require_member(principal: Principal | None, store_id: str) -> None:
    """The store's suggestions (bought together, trends, margins of its products): for its
    manager and every seller of it, as they name products, not colleagues."""
    if principal is None or principal.role == "admin" or principal.store_id == store_id:
        return
    raise ApiError(403, "forbidden", f"your role cannot see store {store_id!r}")


def require_seller(principal: Principal | None, seller_id: str, store_id: str | None) -> None:
    if principal is None:
        return
    if principal.role == "admin":
        return
    if principal.role == "manager" and store_id is None:
        store_id = principal.store_id
    if store_id is None or not principal.can_read_seller(seller_id, store_id):
        raise ApiError(403, "forbidden", f"your role cannot see seller {seller_id!r}")


# -- handlers ----------------------------------------------------------------------------


async def token(ctx: ApiContext, request: Request, _: Principal | None, __: dict[str, str]) -> Any:
    body = await _json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(400, "bad_request", "send JSON with string fields username and password")
    user = ctx.users.authenticate(username, password)
    if user is None:
        raise ApiError(401, "unauthorized", "wrong username or password")
    now = int(time.time())
    return {
        "access_token": issue_token(user, ctx.token_key, now, TOKEN_TTL_SECONDS),
        "token_type": "bearer",
        "expires_in": TOKEN_TTL_SECONDS,
        "role": user.role,
        "store_id": user.store_id,
        "seller_id": user.seller_id,
    }


async def store_summary(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id = params["store_id"]
    require_store(principal, store_id)
    span = ctx.span(request)
    figures = await ctx.lookups.summary(store_id, None, span, ctx.live_start())
    return _with_span(_store_head(ctx, store_id), span, figures)


async def store_timeseries(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id = params["store_id"]
    require_store(principal, store_id)
    return await _series(ctx, request, store_id, None)


async def store_products(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id = params["store_id"]
    require_store(principal, store_id)
    span = ctx.span(request)
    by = parse_choice(request.query, "by", RANKINGS, "revenue")
    limit = parse_limit(request.query)
    products = await ctx.lookups.product_ranking(store_id, span, ctx.live_start(), by, limit)  # type: ignore[arg-type]
    return {
        **_store_head(ctx, store_id),
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "by": by,
        "products": products,
    }


async def store_sellers(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The team table: every seller of the store with figures over the range."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    span = ctx.span(request)
    sellers = sorted(await _sellers_of_store(ctx, store_id))
    rows = []
    for seller_id in sellers:
        figures = await ctx.lookups.summary(store_id, seller_id, span, ctx.live_start())
        # Every seller listed sold in this store: their name is the store's to see.
        name = ctx.catalogue.seller_name(seller_id)
        rows.append({"seller_id": seller_id, "display_name": name, **figures})
    rows.sort(key=lambda row: (-row["revenue_cents"], row["seller_id"]))
    return {
        **_store_head(ctx, store_id),
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "sellers": rows,
    }


async def store_seller_summary(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    span = ctx.span(request)
    figures = await ctx.lookups.summary(store_id, seller_id, span, ctx.live_start())
    head = {**_store_head(ctx, store_id), **_seller_head(ctx, principal, seller_id)}
    return _with_span(head, span, figures)


async def store_seller_timeseries(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    series = await _series(ctx, request, store_id, seller_id)
    return {**series, **_seller_head(ctx, principal, seller_id)}


async def seller_summary(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    seller_id = params["seller_id"]
    stores = await _stores_of_seller(ctx, principal, seller_id)
    span = ctx.span(request)
    total: Figures = dict(ZERO)
    for store_id in stores:
        part = await _from_owner(
            ctx,
            request,
            store_id,
            f"/api/v1/stores/{_segment(store_id)}/sellers/{_segment(seller_id)}/summary",
            lambda store_id=store_id: ctx.lookups.summary(
                store_id, seller_id, span, ctx.live_start()
            ),
        )
        total = add_figures(total, part)
    head = {**_seller_head(ctx, principal, seller_id), "stores": stores}
    return _with_span(head, span, total)


async def seller_timeseries(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    seller_id = params["seller_id"]
    stores = await _stores_of_seller(ctx, principal, seller_id)
    granularity = parse_choice(request.query, "granularity", GRANULARITIES, "day")
    span = ctx.span(request)
    series: dict[str, Figures] = {}
    for store_id in stores:
        part = await _from_owner(
            ctx,
            request,
            store_id,
            f"/api/v1/stores/{_segment(store_id)}/sellers/{_segment(seller_id)}/timeseries",
            lambda store_id=store_id: _series(ctx, request, store_id, seller_id),
        )
        for point in part["points"]:
            series[point["bucket"]] = add_figures(series.get(point["bucket"], ZERO), point)
    return {
        **_seller_head(ctx, principal, seller_id),
        "stores": stores,
        "granularity": granularity,
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "points": [{"bucket": bucket, **series[bucket]} for bucket in sorted(series)],
    }


async def list_stores(
    ctx: ApiContext, request: Request, principal: Principal | None, _: dict[str, str]
) -> Any:
    known = set(await ctx.history.store_ids()) | ctx.lookups.tables.stores()
    visible = sorted(s for s in known if principal is None or principal.can_read_store(s))
    return {"stores": visible, "names": ctx.catalogue.store_names(visible)}


async def me(ctx: ApiContext, request: Request, principal: Principal | None, _: Any) -> Any:
    assert principal is not None
    # The users file, not the token: a name given after sign-in shows at once. A user
    # removed since (or the workers' internal caller) has none.
    user = ctx.users.get(principal.username)
    return {
        "username": principal.username,
        "role": principal.role,
        "store_id": principal.store_id,
        "seller_id": principal.seller_id,
        "display_name": display_name_of(
            principal, user.display_name if user is not None else None, ctx.catalogue
        ),
        "store_name": store_name_of(principal, ctx.catalogue),
        # The dashboards' "today" and "this hour" are the store's, as the API's buckets are.
        "store_time_zone": _store_zone(ctx, principal.store_id),
    }


def _store_zone(ctx: ApiContext, store_id: str | None) -> str | None:
    store = ctx.catalogue.stores.get(store_id) if store_id else None
    return store.time_zone if store is not None else None


async def ingest_sales(
    ctx: ApiContext, request: Request, principal: Principal | None, _: dict[str, str]
) -> Any:
    if principal is not None and not principal.can_ingest():
        raise ApiError(403, "forbidden", "only an admin may ingest sales")
    body = await _json_body(request, allow_list=True)
    records = body if isinstance(body, list) else body.get("rows")
    if not isinstance(records, list) or not records:
        raise ApiError(400, "bad_request", "send a JSON array of sale lines, or {'rows': [...]}")
    if not all(isinstance(record, dict) for record in records):
        raise ApiError(400, "bad_request", "every sale line must be a JSON object")
    if len(records) > MAX_INGEST_RECORDS:
        raise ApiError(
            413, "too_large", f"at most {MAX_INGEST_RECORDS} lines a request; split the batch"
        )
    source = f"api:{principal.username if principal else 'anonymous'}"
    summary = await ctx.ingest(records, source)
    return summary.to_dict()


async def healthz(ctx: ApiContext, request: Request, _: Any, __: Any) -> Any:
    return {"status": "ok"}


async def readyz(ctx: ApiContext, request: Request, _: Any, __: Any) -> Any:
    checks = ctx.ready()
    if not all(checks.values()):
        raise ApiError(
            503, "not_ready", "not ready: " + ", ".join(k for k, v in checks.items() if not v)
        )
    return {"status": "ready", "checks": checks}


async def metrics(ctx: ApiContext, request: Request, _: Any, __: Any) -> Any:
    health = ctx.sink.health()
    sink_counters = {
        "healthy": 1.0 if health.healthy else 0.0,
        "lines_written_total": health.lines_written,
        "rejections_written_total": health.rejections_written,
        "duplicates_skipped_total": health.duplicates_skipped,
        "batches_total": health.batches,
        "caught_up": 1.0 if await ctx.sink.caught_up() else 0.0,
    }
    ctx.metrics.rebalances = ctx.app.rebalancing_count
    return render(ctx.metrics, ctx.consumer_lag(), sink_counters, health.latency)


async def openapi(ctx: ApiContext, request: Request, _: Any, __: Any) -> Any:
    from app.api.openapi import document

    return document(ROUTES)


# -- plans and pay -------------------------------------------------------------------------


async def store_plan(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's plan history and what is in force today (an empty history without one)."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    history = _plans(ctx).history(store_id)
    return {**_store_head(ctx, store_id), **plan_view(history, ctx.store_today(store_id))}


async def put_store_plan(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """Saves one plan version (``app/pay/editing.py``'s rules) and answers the new history.
    This worker owns the store (the view forwarded the request otherwise), so saves of one
    store are serialised here; ``agents/plans.py`` says how they stay so across workers.
    A back-dated version is judged on the store's event clock (``_event_today``)."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    body = await _json_body(request)
    if isinstance(body, dict) and isinstance(body.get("seller_id"), str):
        _refuse_another_stores_seller(ctx, store_id, body["seller_id"])
    try:
        saved = await _plans(ctx).save(
            store_id,
            lambda history: plan_to_save(
                history, body, store_id, store_today=_event_today(ctx, store_id)
            ),
        )
    except PlanError as error:
        raise _invalid_plan(error) from None
    except VersionConflict as error:
        raise ApiError(409, "version_conflict", str(error)) from None
    except HistoryTooLarge as error:
        raise ApiError(413, "too_large", str(error)) from None
    except PlansUnavailableError as error:
        raise ApiError(503, "unavailable", str(error)) from None
    return {
        **_store_head(ctx, store_id),
        "saved": to_json(saved.plan),
        "created": saved.created,
        **plan_view(saved.history, ctx.store_today(store_id)),
    }


def _event_today(ctx: ApiContext, store_id: str) -> date:
    """The store's today on its event clock, for a plan save (``check_not_back_dated``) and
    the windows of the suggestions: the local day of its latest sale, the clock the
    projections read from this worker's live tables (the owner's: store routes run there);
    the wall-clock date in the store's time zone only while the store has no sales here
    yet, or where this worker computes no projections."""
    clock = ctx.projections.clock(store_id) if ctx.projections is not None else None
    return clock.day if clock is not None else ctx.store_today(store_id)


async def simulate_store_plan(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The team's pay for the period to date under the plan in force and under a draft."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    body = await _json_body(request)
    period = parse_period(request.query)
    span = _pay_span(ctx, request, store_id)
    history = _plans(ctx).history(store_id)
    try:
        draft = draft_from_body(body, store_id, history)
    except PlanError as error:
        raise _invalid_plan(error) from None
    if draft.seller_id is not None:
        _refuse_another_stores_seller(ctx, store_id, draft.seller_id)
    extra = [draft.seller_id] if draft.seller_id is not None else []
    team = await _pay_team(ctx, store_id, span, extra)
    outlooks = await _outlooks(ctx, store_id, span, team)
    return {
        **_store_head(ctx, store_id),
        **period_head(period, span),
        **simulation(history, draft, team, span.last, outlooks),
    }


async def store_seller_pay(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    period = parse_period(request.query)
    span = _pay_span(ctx, request, store_id)
    plan = in_force(_plans(ctx).history(store_id), seller_id, span.last)
    if plan is None:
        raise _no_plan(store_id, span.last)
    figures = await ctx.lookups.summary(store_id, seller_id, span, ctx.live_start())
    outlooks = await _outlooks(ctx, store_id, span, [TeamSeller(seller_id, seller_id, figures)])
    return {
        **_store_head(ctx, store_id),
        **_seller_head(ctx, principal, seller_id),
        **period_head(period, span),
        **seller_pay(plan, figures, (outlooks or {}).get(seller_id)),
    }


async def store_pay(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id = params["store_id"]
    require_store(principal, store_id)
    period = parse_period(request.query)
    span = _pay_span(ctx, request, store_id)
    history = _plans(ctx).history(store_id)
    # Without the store's own plan some sellers would have none: the team is not payable.
    if history is None or in_force(history, None, span.last) is None:
        raise _no_plan(store_id, span.last)
    team = await _pay_team(ctx, store_id, span)
    outlooks = await _outlooks(ctx, store_id, span, team)
    return {
        **_store_head(ctx, store_id),
        **period_head(period, span),
        **team_pay(history, team, span.last, outlooks),
    }


def _plans(ctx: ApiContext) -> PlanStore:
    if ctx.plans is None:
        raise ApiError(503, "not_ready", "this worker keeps no commission plans")
    return ctx.plans


def _pay_span(ctx: ApiContext, request: Request, store_id: str) -> DateRange:
    today = ctx.store_today(store_id)
    return month_to_date(parse_as_of(request.query, today, ctx.settings.retention_days))


async def _pay_team(
    ctx: ApiContext, store_id: str, span: DateRange, extra: list[str] | None = None
) -> list[TeamSeller]:
    """Every seller with sales of the store in ``span``, and the store's sellers in the
    reference data (and ``extra``), with their figures over ``span``."""
    listed = {s.seller_id for s in ctx.catalogue.sellers.values() if s.store_id == store_id}
    listed |= set(extra or ())
    candidates = await _sellers_of_store(ctx, store_id) | listed
    ordered = sorted(candidates)
    answers = await asyncio.gather(
        *(ctx.lookups.summary(store_id, seller, span, ctx.live_start()) for seller in ordered)
    )
    figures = dict(zip(ordered, answers, strict=True))
    # Everyone listed sold in the store or works there: their names are the store's to see.
    names = {seller: ctx.catalogue.seller_name(seller) for seller in figures}
    return team_members(figures, names, listed)


async def _outlooks(
    ctx: ApiContext, store_id: str, span: DateRange, members: Sequence[TeamSeller]
) -> dict[str, Outlook] | None:
    """Each member's revenue at the end of ``span``'s month, for the projected pay
    (``docs/api.md``, "Pay"). A month over by ``as_of`` (its last day, past in the store's
    time zone): the actual. Else the seller's projection of the whole month, the answer of
    ``GET .../sellers/{seller}/projection?from=<first>&to=<last>``, with ``as_of`` when
    ``as_of`` is a closed day of the store's event clock and live otherwise (``as_of`` is the
    day in progress). The members' projections are asked concurrently; their forecasters
    come from the service's cache (one replay per seller and closed day). A member whose
    projection cannot be asked (its range too far from the store's clock) has none; so has
    everyone where this worker computes no projections (None)."""
    service = ctx.projections
    if service is None:
        return None
    last = month_end(span.first)
    today = ctx.store_today(store_id)
    if span.last == last and span.last < today:
        return {member.seller_id: Outlook.final(member.figures) for member in members}
    clock = service.clock(store_id)
    query = {"from": span.first.isoformat(), "to": last.isoformat()}
    if clock is not None and span.last <= clock.last_closed_day:
        query["as_of"] = span.last.isoformat()

    async def outlook(member: TeamSeller) -> Outlook | None:
        try:
            answer = await service.answer(store_id, member.seller_id, query, today)
        except BadParameter as error:
            log.info("no projected pay for %s/%s: %s", store_id, member.seller_id, error)
            return None
        return Outlook.of_projection(answer, member.figures)

    found = await asyncio.gather(*(outlook(member) for member in members))
    return {
        member.seller_id: result
        for member, result in zip(members, found, strict=True)
        if result is not None
    }


def _refuse_another_stores_seller(ctx: ApiContext, store_id: str, seller_id: str) -> None:
    """An override for a seller the reference data puts in another store is refused: the
    store's manager has no say on that seller's pay, and the answer would name them."""
    seller = ctx.catalogue.sellers.get(seller_id)
    if seller is not None and seller.store_id != store_id:
        reason = "is a seller of another store"
        raise ApiError(
            400,
            "invalid_plan",
            f"seller_id: {reason}",
            {"field": "seller_id", "reason": reason},
        )


def _invalid_plan(error: PlanError) -> ApiError:
    return ApiError(400, "invalid_plan", str(error), {"field": error.field, "reason": error.reason})


def _no_plan(store_id: str, day: date) -> ApiError:
    return ApiError(
        404,
        "no_plan",
        f"store {store_id!r} has no commission plan in force on {day.isoformat()}; its manager "
        f"saves one with PUT /api/v1/stores/{{store}}/plan",
    )


# -- projections ---------------------------------------------------------------------------


async def store_projection(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's sales over ``from``/``to``: actual to date, today, the period end."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    answer = await _projections(ctx).answer(
        store_id, None, request.query, ctx.store_today(store_id)
    )
    return {**_store_head(ctx, store_id), **answer}


async def store_seller_projection(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The same for one seller in the store (on the store's event clock)."""
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    answer = await _projections(ctx).answer(
        store_id, seller_id, request.query, ctx.store_today(store_id)
    )
    return {**_store_head(ctx, store_id), **_seller_head(ctx, principal, seller_id), **answer}


# -- suggestions ---------------------------------------------------------------------------


async def store_cross_sell(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """A product's bought-together rules, or the store's strongest pairs. Counts of baskets
    only: a seller sees them for their own store, and they name no seller."""
    store_id = params["store_id"]
    require_member(principal, store_id)
    answer = _cross_sell(ctx).answer(store_id, request.query)
    return {**_store_head(ctx, store_id), **await _named_products(ctx, store_id, answer)}


async def store_trending(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's rising products to promote (``direction=up``) or its falling ones that
    sold well before (``down``), with their evidence, as of its last closed day. Product
    figures only: a seller sees them for their own store, and they name no seller."""
    store_id = params["store_id"]
    require_member(principal, store_id)
    if ctx.trending is None:
        raise ApiError(503, "not_ready", "this worker computes no trends")
    answer = await ctx.trending.answer(store_id, request.query)
    return {**_store_head(ctx, store_id), **await _named_products(ctx, store_id, answer)}


async def store_cross_sell_counts(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's raw bought-together counts over its window: what the chain's answer adds
    up. Admin only (the chain's route asks each store's owner with a worker token)."""
    store_id = params["store_id"]
    _require_admin(principal)
    return {**_store_head(ctx, store_id), **_cross_sell(ctx).counts(store_id, request.query)}


async def chain_cross_sell(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """Bought together over the whole chain: each store's counts over its own window, from
    its owner, added up (a basket is one store's order, so the chain's counts are sums)."""
    _require_admin(principal)
    cross_sell = _cross_sell(ctx)
    by_store = await _from_every_owner(
        ctx,
        request,
        "cross-sell/counts",
        lambda store: _async(cross_sell.counts(store, request.query)),
    )
    parts = list(by_store.values())
    answer = cross_sell.chain_answer(parts, request.query)
    return await _named_products(ctx, min(by_store), answer) if by_store else answer


async def _async(value: Any) -> Any:
    return value


def _require_admin(principal: Principal | None) -> None:
    if principal is not None and principal.role != "admin":
        raise ApiError(403, "forbidden", "only an administrator sees the whole chain")


def _cross_sell(ctx: ApiContext) -> CrossSell:
    if ctx.cross_sell is None:
        raise ApiError(503, "not_ready", "this worker counts no baskets")
    return ctx.cross_sell


async def _named_products(ctx: ApiContext, store_id: str, answer: Any) -> Any:
    """``answer`` with the names its services left null (no catalogue entry, no sale line
    seen by this worker since it started) taken from the store's history."""
    unnamed: set[str] = set()
    _walk_names(answer, lambda sku: unnamed.add(sku))
    if not unnamed:
        return answer
    found = await ctx.lookups.missing_names(store_id, unnamed)
    return _walk_names(answer, found.get)


_NAME_FIELDS = {
    "product": "product_name",
    "antecedent": "antecedent_name",
    "consequent": "consequent_name",
    "sku": "product_name",
}


def _walk_names(value: Any, name_of: Callable[[str], Any]) -> Any:
    """Calls ``name_of`` for every product named null in ``value`` (rules, pairs, products)
    and fills in what it returns."""
    if isinstance(value, list):
        return [_walk_names(item, name_of) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _walk_names(item, name_of) for key, item in value.items()}
    for id_field, name_field in _NAME_FIELDS.items():
        if name_field in out and out[name_field] is None and isinstance(out.get(id_field), str):
            out[name_field] = name_of(out[id_field])
    if "products" in out and "names" in out and isinstance(out["names"], list):
        out["names"] = [
            name if name is not None else name_of(sku)
            for sku, name in zip(out["products"], out["names"], strict=True)
        ]
    return out


MARGIN_DAYS = 30
"""The window of ``/margin-products`` unless ``days`` says otherwise."""


async def store_seller_margin_products(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's products with the highest margin over the last days, the seller's part
    of each, and the opportunities for them (``app/insights/margins.py``). From the history
    (line by line: a seller's part of a product is no live aggregate), up to the store's day
    in progress on its event clock, as far as the history sink has written it."""
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    days = _days_parameter(request.query, MARGIN_DAYS)
    limit = parse_limit(request.query, default=10)
    last = _event_today(ctx, store_id)
    first = last - timedelta(days=days - 1)
    rows = await ctx.history.product_sales_with_seller(store_id, seller_id, first, last)
    products = [
        ProductSales(
            sku=row[0],
            name=ctx.catalogue.product_name(row[0]) or row[1] or None,
            revenue_cents=int(row[2]),
            units=int(row[3]),
            costed_revenue_cents=int(row[4]),
            costed_units=int(row[5]),
            cost_cents=int(row[6]),
            seller_revenue_cents=int(row[7]),
            seller_units=int(row[8]),
        )
        for row in rows
    ]
    advice = advise(products, limit)
    return {
        **_store_head(ctx, store_id),
        **_seller_head(ctx, principal, seller_id),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "seller_share_of_store": float(advice.seller_share_of_store),
        "by_unit_margin": [_margin_json(m) for m in advice.by_unit_margin],
        "by_margin_rate": [_margin_json(m) for m in advice.by_margin_rate],
        "opportunities": [_margin_json(m) for m in advice.opportunities],
        "without_cost": [_product_sales_json(p) for p in advice.without_cost],
    }


def _margin_json(margin: ProductMargin) -> dict[str, Any]:
    return {
        **_product_sales_json(margin.sales),
        "margin_cents": margin.margin_cents,
        "margin_rate": float(margin.margin_rate),
        "unit_margin_cents": margin.unit_margin_cents,
        "seller_share": float(margin.seller_share),
    }


def _product_sales_json(product: ProductSales) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "product_name": product.name,
        "store_revenue_cents": product.revenue_cents,
        "store_units": product.units,
        "seller_revenue_cents": product.seller_revenue_cents,
        "seller_units": product.seller_units,
    }


def _days_parameter(query: Mapping[str, str], default: int, maximum: int = 92) -> int:
    text = query.get("days")
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or not 1 <= int(text) <= maximum:
        raise BadParameter(f"'days' must be a whole number from 1 to {maximum}, got {text!r}")
    return int(text)


def _projections(ctx: ApiContext) -> ProjectionService:
    if ctx.projections is None:
        raise ApiError(503, "not_ready", "this worker computes no projections")
    return ctx.projections


# -- helpers -----------------------------------------------------------------------------


async def _series(
    ctx: ApiContext, request: Request, store_id: str, seller_id: str | None
) -> dict[str, Any]:
    granularity = parse_choice(request.query, "granularity", GRANULARITIES, "day")
    span = ctx.span(request)
    if granularity == "hour" and span.days > 93:
        raise BadParameter("hourly series cover at most 93 days; ask by day or month")
    points = await ctx.lookups.timeseries(
        store_id,
        seller_id,
        granularity,
        span,
        ctx.live_start(),  # type: ignore[arg-type]
    )
    return {
        **_store_head(ctx, store_id),
        "seller_id": seller_id,
        "granularity": granularity,
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "points": points,
    }


def _with_span(head: dict[str, Any], span: DateRange, figures: Figures) -> dict[str, Any]:
    return {**head, "from": span.first.isoformat(), "to": span.last.isoformat(), **figures}


def _store_head(ctx: ApiContext, store_id: str) -> dict[str, str]:
    """The head of an answer about one store the caller may see (scope checked before)."""
    return {"store_id": store_id, "store_name": ctx.catalogue.store_name(store_id)}


def _seller_head(ctx: ApiContext, principal: Principal | None, seller_id: str) -> dict[str, str]:
    return {"seller_id": seller_id, "seller_name": seller_name(ctx.catalogue, principal, seller_id)}


def _named_sales(ctx: ApiContext, latest: list[Any]) -> list[dict[str, Any]]:
    """The feed's sales with their seller's name: sales of the store the caller may see."""
    return [
        {**sale.to_dict(), "seller_name": ctx.catalogue.seller_name(sale.seller_id)}
        for sale in latest
    ]


async def store_recent_sales(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store's latest sales, newest first: the dashboards' live feed."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    limit = parse_limit(request.query, maximum=PER_STORE)
    latest = ctx.aggregator.recent_sales.latest(store_id, limit)
    return {**_store_head(ctx, store_id), "sales": _named_sales(ctx, latest)}


async def store_seller_recent_sales(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    limit = parse_limit(request.query, maximum=PER_STORE)
    latest = ctx.aggregator.recent_sales.latest(store_id, limit, seller_id)
    return {
        **_store_head(ctx, store_id),
        **_seller_head(ctx, principal, seller_id),
        "sales": _named_sales(ctx, latest),
    }


async def store_comparison(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """The store against every store of the chain, metric by metric, without naming them."""
    store_id = params["store_id"]
    require_store(principal, store_id)
    span = ctx.span(request)
    chain = await _chain_summaries(ctx, request, span)
    own = chain.get(store_id) or await ctx.lookups.summary(store_id, None, span, ctx.live_start())
    chain[store_id] = own
    result = compare_store(own, list(chain.values()))
    return {
        # The caller's own store only: no other store is named, by id or by name.
        **_store_head(ctx, store_id),
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "stores": len(chain),
        "weakest": result.weakest,
        "strongest": result.strongest,
        "metrics": [
            {
                "metric": s.metric,
                "value": _number(s.value),
                "rank": s.rank,
                "count": s.count,
                "percentile": s.percentile,
                "chain_median": _number(s.chain_median),
            }
            for s in result.standings
        ],
    }


async def store_seller_rank(
    ctx: ApiContext, request: Request, principal: Principal | None, params: dict[str, str]
) -> Any:
    """A seller's rank by revenue in the store's team, without the others' figures."""
    store_id, seller_id = params["store_id"], params["seller_id"]
    require_seller(principal, seller_id, store_id)
    span = ctx.span(request)
    revenue = {}
    for other in await _sellers_of_store(ctx, store_id):
        figures = await ctx.lookups.summary(store_id, other, span, ctx.live_start())
        if figures["lines"]:
            revenue[other] = figures["revenue_cents"]
    rank = team_rank(seller_id, revenue)
    return {
        **_store_head(ctx, store_id),
        **_seller_head(ctx, principal, seller_id),
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "rank": rank.rank,
        "sellers": rank.count,
    }


async def _chain_summaries(
    ctx: ApiContext, request: Request, span: DateRange
) -> dict[str, Figures]:
    """Every known store's figures over ``span``, each from its owner."""
    return await _from_every_owner(
        ctx,
        request,
        "summary",
        lambda store: ctx.lookups.summary(store, None, span, ctx.live_start()),
    )


async def _from_every_owner(
    ctx: ApiContext,
    request: Request,
    route: str,
    local: Callable[[str], Awaitable[Any]],
) -> dict[str, Any]:
    """Every known store's answer of ``/api/v1/stores/{store}/{route}``, each from its owner
    (``local(store)`` where that is this worker). Asked with a short-lived token of the
    worker's own: the caller may see only their store, and what the route makes of the
    answers (a comparison, the chain's sums) reveals no other store's name or figures."""
    internal = User(username="dataapp-worker", role="admin", password_hash="")
    token = issue_token(internal, ctx.token_key, int(time.time()), INTERNAL_TOKEN_SECONDS)
    stores = sorted(set(await ctx.history.store_ids()) | ctx.lookups.tables.stores())
    answers = await asyncio.gather(
        *(
            _from_owner(
                ctx,
                request,
                store,
                f"/api/v1/stores/{_segment(store)}/{route}",
                lambda store=store: local(store),
                authorization=f"Bearer {token}",
            )
            for store in stores
        )
    )
    return dict(zip(stores, answers, strict=True))


def _number(value: Decimal | None) -> int | float | None:
    """Whole values (cents, counts) as integers, rates as floats."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


async def _stores_of_seller(
    ctx: ApiContext, principal: Principal | None, seller_id: str
) -> list[str]:
    if principal is not None and principal.role != "admin":
        store_id = principal.store_id
        require_seller(principal, seller_id, store_id)
        return [store_id] if store_id else []
    local = {
        store for store, sellers in ctx.aggregator.sellers_by_store.items() if seller_id in sellers
    }
    return sorted(local | set(await ctx.history.seller_stores(seller_id)))


async def _sellers_of_store(ctx: ApiContext, store_id: str) -> set[str]:
    sellers = set(ctx.aggregator.sellers_by_store.get(store_id, ()))
    # The live tables too: a worker that took the store over (rebalance, restart) has seen
    # none of its sales yet, and its ClickHouse may not hold them all (chDB is per worker).
    sellers |= ctx.lookups.live_sellers(store_id)
    sellers |= set(await ctx.history.store_sellers(store_id))
    return sellers


async def _from_owner(
    ctx: ApiContext,
    request: Request,
    store_id: str,
    path: str,
    local: Callable[[], Awaitable[Any]],
    authorization: str | None = None,
) -> Any:
    """The answer for one store: computed here if this worker owns it, else asked of the
    owner with the caller's own token (or ``authorization``). ``path`` is percent-encoded
    (``_segment``)."""
    url = _owner_url(ctx, store_id)
    if _same_node(ctx, url):
        return await local()
    target = url.with_path(path, encoded=True).with_query(request.query)
    headers = {"Authorization": authorization or request.headers.get("Authorization", "")}
    try:
        async with ctx.app.http_client.get(
            target, headers=headers, timeout=ClientTimeout(total=OWNER_TIMEOUT_SECONDS)
        ) as response:
            payload = await response.json(loads=orjson.loads, content_type=None)
    except (ClientError, TimeoutError, ValueError) as error:
        raise ApiError(
            503, "unavailable", f"the worker owning store {store_id!r} cannot answer: {error}"
        ) from None
    if not isinstance(payload, dict):
        raise ApiError(503, "unavailable", f"the worker owning store {store_id!r} answered badly")
    if response.status != 200:
        raise ApiError(
            response.status, payload.get("error", "upstream"), payload.get("message", "")
        )
    return payload


async def _forward_to_owner(
    ctx: ApiContext, view: View, request: Request, store_id: str
) -> Response | None:
    """The owner's answer when another worker owns the store; None when this one does."""
    url = _owner_url(ctx, store_id)
    if _same_node(ctx, url):
        return None
    routed = request.url.with_host(url.host).with_port(url.port)
    # The body too (a plan to save or simulate); the headers that describe this hop's
    # connection and body framing are the client's to set again for the next hop.
    body = await request.read() if request.method in ("POST", "PUT") else None
    headers = [
        (name, value) for name, value in request.headers.items() if name.lower() not in _HOP_HEADERS
    ]
    try:
        async with ctx.app.http_client.request(
            method=request.method, headers=headers, url=routed, data=body
        ) as response:
            return view.web.text(
                await response.text(),
                content_type=response.content_type,
                status=response.status,
            )
    except Exception as error:  # owner unreachable
        raise ApiError(
            503, "unavailable", f"the worker owning this store cannot answer: {error}"
        ) from None


_HOP_HEADERS = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade")
)


def _owner_url(ctx: ApiContext, store_id: str) -> URL:
    """The web address of the worker that owns the store's partition of ``sales``, as the
    group's last assignment says (every member publishes its address in it)."""
    partition = ctx.lookups.tables.partition_of(store_id)
    topic = ctx.settings.topics.sales.name
    for url, partitions in ctx.app.router.external_topics_metadata().items():
        if partition in partitions.get(topic, ()):
            return URL(url)
    raise ApiError(503, "unavailable", "partitions are being assigned; try again")


def _segment(value: str) -> str:
    """One path segment, percent-encoded for ``_from_owner``'s already-encoded paths: an id
    holding '/' or '..' must reach the owner's route for that id, not another route."""
    return quote(value, safe="", errors="surrogateescape").replace(".", "%2E")


def _same_node(ctx: ApiContext, url: Any) -> bool:
    own = ctx.app.conf.canonical_url
    return (url.host, url.port) == (own.host, own.port)


async def _json_body(request: Request, allow_list: bool = False) -> Any:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    except HTTPRequestEntityTooLarge:
        raise ApiError(
            413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes; split the request"
        ) from None
    if isinstance(body, dict) or (allow_list and isinstance(body, list)):
        return body
    raise ApiError(400, "bad_request", "the body must be a JSON object")


# -- the route table ---------------------------------------------------------------------

_RANGE = ("from", "to")
_PAY = ("period", "as_of")
_PROJECTION = (*_RANGE, "as_of")
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/api/v1/auth/token",
        token,
        "Sign in: a bearer token for username and password",
        auth=False,
        body="Credentials",
        response="Token",
        tag="auth",
    ),
    Route("GET", "/api/v1/me", me, "Who the token belongs to", response="Me", tag="auth"),
    Route("GET", "/api/v1/stores", list_stores, "Stores the caller may see", response="Stores"),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/summary",
        store_summary,
        "A store's figures over a closed date range (store's local dates)",
        query=_RANGE,
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/timeseries",
        store_timeseries,
        "A store's figures by hour, day or month",
        query=(*_RANGE, "granularity"),
        response="Series",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/products",
        store_products,
        "Products of a store ranked by revenue, units or margin",
        query=(*_RANGE, "by", "limit"),
        response="Ranking",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers",
        store_sellers,
        "Every seller of a store with their figures (the team table)",
        query=_RANGE,
        response="Team",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/recent-sales",
        store_recent_sales,
        "A store's latest sales, newest first (the live feed)",
        query=("limit",),
        response="RecentSales",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/comparison",
        store_comparison,
        "The store against the chain's stores: rank, percentile and median per metric",
        query=_RANGE,
        response="Comparison",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/recent-sales",
        store_seller_recent_sales,
        "A seller's latest sales in one store, newest first",
        query=("limit",),
        response="RecentSales",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/rank",
        store_seller_rank,
        "A seller's rank by revenue in the store's team",
        query=_RANGE,
        response="TeamRank",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/summary",
        store_seller_summary,
        "A seller's figures in one store",
        query=_RANGE,
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/timeseries",
        store_seller_timeseries,
        "A seller's figures in one store by hour, day or month",
        query=(*_RANGE, "granularity"),
        response="Series",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/projection",
        store_projection,
        "A store's sales over a range: actual to date, today's projection, the projected end",
        query=_PROJECTION,
        response="Projection",
        tag="projections",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/projection",
        store_seller_projection,
        "A seller's sales in one store over a range: actual, today, the projected end",
        query=_PROJECTION,
        response="Projection",
        tag="projections",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/cross-sell",
        store_cross_sell,
        "Bought together: a product's rules, or the store's strongest pairs, over recent days",
        query=(*_RANGE, "product", "min_count", "min_support", "sort", "limit"),
        response="CrossSell",
        tag="suggestions",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/trending",
        store_trending,
        "Products trending: rising ones to promote (good margin first), or falling best sellers",
        query=("direction", "limit"),
        response="Trending",
        tag="suggestions",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/cross-sell/counts",
        store_cross_sell_counts,
        "A store's raw bought-together counts over its window (admin: the chain's parts)",
        query=(*_RANGE, "product"),
        response="CrossSellCounts",
        tag="suggestions",
    ),
    Route(
        "GET",
        "/api/v1/cross-sell",
        chain_cross_sell,
        "Bought together over the whole chain (admin): every store's counts added up",
        query=("product", "min_count", "min_support", "sort", "limit"),
        response="ChainCrossSell",
        tag="suggestions",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/margin-products",
        store_seller_margin_products,
        "The store's highest-margin products with the seller's share, and their opportunities",
        query=("days", "limit"),
        response="MarginProducts",
        tag="suggestions",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/plan",
        store_plan,
        "The store's commission plan history and the versions in force today",
        response="PlanHistory",
        tag="plans",
    ),
    Route(
        "PUT",
        "/api/v1/stores/{store_id}/plan",
        put_store_plan,
        "Save a new version of the store's plan, or of one seller's override",
        body="Plan",
        response="PlanSaved",
        tag="plans",
        errors=("409", "413"),
    ),
    Route(
        "POST",
        "/api/v1/stores/{store_id}/plan/simulate",
        simulate_store_plan,
        "The team's pay this period under the plan in force and under a draft; saves nothing",
        query=_PAY,
        body="Plan",
        response="Simulation",
        tag="pay",
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/pay",
        store_pay,
        "The team's pay for the month up to a day, seller by seller, and its totals",
        query=_PAY,
        response="TeamPay",
        tag="pay",
        errors=("404",),
    ),
    Route(
        "GET",
        "/api/v1/stores/{store_id}/sellers/{seller_id}/pay",
        store_seller_pay,
        "A seller's pay for the month up to a day: base, commission, bonus, next tier",
        query=_PAY,
        response="Pay",
        tag="pay",
        errors=("404",),
    ),
    Route(
        "GET",
        "/api/v1/sellers/{seller_id}/summary",
        seller_summary,
        "A seller's figures over a closed date range, over every store they sold in",
        query=_RANGE,
    ),
    Route(
        "GET",
        "/api/v1/sellers/{seller_id}/timeseries",
        seller_timeseries,
        "A seller's figures by hour, day or month",
        query=(*_RANGE, "granularity"),
        response="Series",
    ),
    Route(
        "POST",
        "/api/v1/ingest/sales",
        ingest_sales,
        "Ingest sale lines (canonical layout) through the validation pipeline",
        body="SaleLines",
        response="IngestSummary",
        tag="ingest",
    ),
    Route(
        "GET",
        "/api/v1/openapi.json",
        openapi,
        "This document",
        auth=False,
        response="OpenAPI",
        tag="meta",
    ),
    Route("GET", "/healthz", healthz, "Liveness", auth=False, response="Status", tag="meta"),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Readiness: tables recovered and history sink healthy",
        auth=False,
        response="Status",
        tag="meta",
    ),
    Route(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics",
        auth=False,
        response="Metrics",
        tag="meta",
        raw=True,
    ),
)


# -- Faust views -------------------------------------------------------------------------


def _error(
    view: View, status: int, code: str, message: str, details: dict[str, str] | None = None
) -> Response:
    return view.bytes(
        orjson.dumps({"error": code, "message": message, **(details or {})}),
        content_type="application/json",
        status=status,
    )


def _principal(ctx: ApiContext, request: Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        raise ApiError(
            401, "unauthorized", "send 'Authorization: Bearer <token>' (POST /api/v1/auth/token)"
        )
    try:
        return verify_token(credentials.strip(), ctx.token_key, int(time.time()))
    except TokenError as error:
        raise ApiError(401, "unauthorized", f"token refused: {error.reason}") from None


def _view_for(ctx: ApiContext, path: str, routes: list[Route]) -> type[View]:
    def method(route: Route) -> Callable[..., Awaitable[Response]]:
        async def serve(self: View, request: Request, **params: str) -> Response:
            started = time.perf_counter()
            status = 200
            try:
                principal = _principal(ctx, request) if route.auth else None
                if (
                    route.tag in ("lookups", "pay", "projections", "suggestions")
                    and not ctx.ready()["tables_recovered"]
                ):
                    raise ApiError(
                        503, "not_ready", "the live tables are being restored; try again soon"
                    )
                # Pay from a plan overtaken, or a save on top of one, would be wrong answers.
                if route.tag in ("plans", "pay") and not ctx.ready().get("plans_loaded", True):
                    raise ApiError(
                        503, "not_ready", "the commission plans are being read; try again soon"
                    )
                if "store_id" in params:
                    forwarded = await _forward_to_owner(ctx, self, request, params["store_id"])
                    if forwarded is not None:
                        return forwarded
                result = await route.handler(ctx, request, principal, params)
                if route.raw:
                    response = self.text(result, content_type="text/plain; version=0.0.4")
                else:
                    response = self.bytes(orjson.dumps(result), content_type="application/json")
            except ApiError as error:
                status = error.status
                response = _error(self, error.status, error.code, error.message, error.details)
            except BadParameter as error:
                status = 400
                response = _error(self, 400, "bad_parameter", str(error))
            except TablesNotReadyError:
                status = 503
                response = _error(
                    self, 503, "not_ready", "the live tables are being restored; try again soon"
                )
            except HistoryUnavailableError as error:
                status = 503
                response = _error(
                    self, 503, "history_unavailable", f"older figures cannot be read now: {error}"
                )
            except Exception:
                log.exception("%s %s failed", route.method, path)
                status = 500
                response = _error(self, 500, "internal", "the server failed; see its log")
            ctx.metrics.note_request(route.path, status, time.perf_counter() - started)
            return response

        return serve

    namespace = {route.method.lower(): method(route) for route in routes}
    return type(f"View{abs(hash(path))}", (View,), namespace)


def register(app: faust.App, ctx: ApiContext) -> None:
    by_path: dict[str, list[Route]] = {}
    for route in ROUTES:
        by_path.setdefault(route.path, []).append(route)
    for path, routes in by_path.items():
        # A path parameter takes anything but '/': aiohttp's default also refuses '{' and '}',
        # which would leave ids holding them unreachable (a plain-text 404, not our JSON).
        pattern = re.sub(r"{(\w+)}", r"{\1:[^/]+}", path)
        app.page(pattern, name=path)(_view_for(ctx, path, routes))
