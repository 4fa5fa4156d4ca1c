"""The lookup API of a real worker on a real broker: who may call what, what bad requests
get, whether any request at all can make it fail, whether its figures are right, and whether
two workers answer alike.

One small generated chain is ingested once for the whole module, and one worker serves it
(everything in its live tables: ``DATAAPP_LIVE_DAYS`` covers every date). Then:

a. the role matrix: every route of ``app.api.routes.ROUTES`` (iterated, so a new route gets
   cases of its own) x every kind of caller x own and foreign stores and sellers, each case
   with its exact status; every error a JSON object with ``error`` and ``message``;
b. fuzzing from the OpenAPI document the worker serves: no request ever gets a 5xx, every
   answer is JSON, and every 200 matches the documented schema;
c. the figures, against an independent recompute of the sales read back from the topic;
d. a second worker in the same consumer group: each store's owner answers, the other worker
   forwards, and both give the same figures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiokafka.partitioner import murmur2
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.api.auth import User, issue_token
from app.api.lookups import FIGURE_NAMES
from app.api.openapi import document
from app.api.routes import MAX_BODY_BYTES, MAX_INGEST_RECORDS, ROUTES, Route
from app.records import Sale
from tests.kafka_tools import read_topic
from tests.recompute import api_figures, naive_recompute
from tests.worker_tools import ApiAnswer, WorkerProcess, dataapp, segment, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

# Every date in the live tables, none from ClickHouse; and the default chDB under each
# worker's own data dir (one chDB folder per process), whatever the caller's environment says.
LIVE_FOREVER = {
    "DATAAPP_LIVE_DAYS": "100000",
    "DATAAPP_RETENTION_DAYS": "100000",
    "DATAAPP_CLICKHOUSE": "",
}
# A deployment's workers share the token key: a token a worker forwards must pass at the owner.
TOKEN_KEY = secrets.token_hex(32)
RANGE = ("2000-01-01", "2100-12-31")
FULL_RANGE = f"from={RANGE[0]}&to={RANGE[1]}"
SALES_MONTH = "from=2026-01-01&to=2026-01-31"
PASSWORD_SUFFIX = "-secret-pw"  # tests/worker_tools.py: WorkerProcess.add_user

# The plan every store of the chain gets at the start (so that the pay routes answer 200), and
# what the matrix saves again (a repeat: nothing changes) and simulates.
PLAN = {
    "plan_id": "api-test",
    "effective_from": "2026-01-01",
    "base_pay_cents": 150_000,
    "basis": "revenue",
    "tier_mode": "progressive",
    "tiers": [
        {"threshold_cents": 0, "rate": "0.01"},
        {"threshold_cents": 2_000_000, "rate": "0.02"},
    ],
    "quota_bonus": {"quota_cents": 3_000_000, "amount_cents": 20_000},
    "commission_cap_cents": 100_000,
    # From January, before the month the test runs in: saved as a correction.
    "correction": {"reason": "the test chain's plan, paying its sales from January"},
}
DRAFT = {**PLAN, "tiers": [{"threshold_cents": 0, "rate": "0.015"}]}
PLAN_ROUTE = ("PUT", "/api/v1/stores/{store_id}/plan")
SIMULATE_ROUTE = ("POST", "/api/v1/stores/{store_id}/plan/simulate")

WHO = ("none", "tampered", "expired", "admin", "manager_a", "manager_b", "seller_a")
"""Callers: no token, a token whose payload was rewritten (role admin) under its old
signature, an expired token signed with the right key, and one user of each role."""
USERNAMES = {
    "admin": "admin",
    "manager_a": "manager-a",
    "manager_b": "manager-b",
    "seller_a": "seller-a",
}


# --------------------------------------------------------------------------- plumbing


def send(
    worker: WorkerProcess,
    method: str,
    path: str,
    token: str | None = None,
    *,
    body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> ApiAnswer:
    """One request; ``path`` must already be percent-encoded. ``body`` is sent as JSON,
    ``data`` as is. Non-2xx answers are returned, not raised."""
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(worker.base_url + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, content_type = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, content_type = error.code, error.read(), error.headers
    kind = content_type.get("Content-Type", "")
    payload: Any = raw.decode(errors="replace")
    if "json" in kind:
        payload = json.loads(raw)
    return ApiAnswer(status, payload, kind)


def get_ok(worker: WorkerProcess, path: str, token: str) -> Any:
    answer = send(worker, "GET", path, token)
    assert answer.status == 200, f"GET {path}: {answer.status} {answer.body}"
    return answer.body


def assert_json_error(answer: ApiAnswer, status: int | None = None) -> None:
    if status is not None:
        assert answer.status == status, answer.body
    assert answer.content_type.startswith("application/json"), answer
    assert isinstance(answer.body, dict), answer.body
    # A refused plan also names the field at fault and the reason; no other error does.
    extra = {"field", "reason"} if answer.body.get("error") == "invalid_plan" else set()
    assert set(answer.body) == {"error", "message"} | extra, answer.body
    assert isinstance(answer.body["error"], str) and answer.body["error"]
    assert isinstance(answer.body["message"], str) and answer.body["message"]


def prometheus(worker: WorkerProcess) -> list[str]:
    answer = send(worker, "GET", "/metrics")
    assert answer.status == 200, answer.body
    return answer.body.splitlines()


def owned_partitions(worker: WorkerProcess, topic: str) -> set[int]:
    """The partitions of ``topic`` the worker's consumer holds (its lag series)."""
    pattern = re.compile(rf'^dataapp_consumer_lag{{topic="{re.escape(topic)}",partition="(\d+)"}}')
    return {int(m.group(1)) for line in prometheus(worker) if (m := pattern.match(line))}


# --------------------------------------------------------------------------- schema check


def resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = spec
    for token in ref.removeprefix("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _is_type(value: Any, kind: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }[kind]


def violations(
    value: Any, schema: dict[str, Any], spec: dict[str, Any], at: str = "$"
) -> list[str]:
    """Where ``value`` breaks ``schema``, for the JSON Schema keywords the document uses."""
    if "$ref" in schema:
        schema = resolve(spec, schema["$ref"])
    found: list[str] = []
    if "oneOf" in schema:
        matching = sum(not violations(value, option, spec, at) for option in schema["oneOf"])
        if matching != 1:
            found.append(f"{at}: matches {matching} of the oneOf alternatives")
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, kind) for kind in kinds):
            return [f"{at}: {value!r:.80} is not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{at}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{at}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        found += [f"{at}: no {name!r}" for name in schema.get("required", ()) if name not in value]
        for name, child in schema.get("properties", {}).items():
            if name in value:
                found += violations(value[name], child, spec, f"{at}.{name}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            found.append(f"{at}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{at}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                found += violations(item, schema["items"], spec, f"{at}[{index}]")
    return found


def assert_documented(
    answer: ApiAnswer, spec: dict[str, Any], path: str, method: str, where: str
) -> None:
    """The answer's status is one the operation documents, and its body the schema it
    documents for that status (errors: the Error object)."""
    responses = spec["paths"][path][method.lower()]["responses"]
    assert str(answer.status) in responses, f"{where}: undocumented status {answer.status}"
    content = responses[str(answer.status)]["content"]
    if "application/json" in content:
        assert answer.content_type.startswith("application/json"), f"{where}: {answer}"
        schema = content["application/json"]["schema"]
        problems = violations(answer.body, schema, spec)
        assert not problems, f"{where}: {problems[:5]}"
    else:
        assert answer.content_type.startswith("text/plain"), f"{where}: {answer.content_type}"


# --------------------------------------------------------------------------- the chain


@dataclass
class Chain:
    worker: WorkerProcess
    env: dict[str, str]
    bootstrap: str
    root: Path
    stores: list[str]
    sellers: dict[str, list[str]]
    """Store -> its sellers, from the generator's sellers.jsonl."""
    accepted: int
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return f"{self.env['DATAAPP_TOPIC_PREFIX']}sales"

    @property
    def store_a(self) -> str:
        return self.stores[0]

    @property
    def store_b(self) -> str:
        return self.stores[1]

    def ids(self) -> dict[str, str]:
        """The symbolic ids of the test cases, resolved."""
        return {
            "A": self.store_a,
            "B": self.store_b,
            "seller_a": self.sellers[self.store_a][0],
            "other_seller_a": self.sellers[self.store_a][1],
            "seller_b": self.sellers[self.store_b][0],
        }


def _api_lines(worker: WorkerProcess, token: str, stores: list[str]) -> int:
    return sum(
        get_ok(worker, f"/api/v1/stores/{segment(store)}/summary?{FULL_RANGE}", token)["lines"]
        for store in stores
    )


def wait_for_lines(worker: WorkerProcess, token: str, stores: list[str], lines: int) -> None:
    deadline = time.monotonic() + 180
    seen = -1
    while time.monotonic() < deadline:
        seen = _api_lines(worker, token, stores)
        if seen == lines:
            return
        assert seen < lines, f"the API counts {seen} lines, more than the {lines} expected"
        time.sleep(0.3)
    raise AssertionError(f"the API counts {seen} of {lines} lines\n{worker.tail()}")


@pytest.fixture(scope="module")
def chain(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("api")
    generated = root / "generated"
    env = worker_environment(
        kafka_bootstrap, root / "data", DATAAPP_TOKEN_KEY=TOKEN_KEY, **LIVE_FOREVER
    )
    dataapp(
        env,
        "generate",
        "--out",
        str(generated),
        "--days",
        "3",
        "--orders-per-day",
        "800",
        "--start",
        "2026-01-05",
        "--seed",
        "5",
    )
    sellers: dict[str, list[str]] = defaultdict(list)
    for line in (generated / "sellers.jsonl").read_text().splitlines():
        record = json.loads(line)
        sellers[record["store_id"]].append(record["seller_id"])
    stores = [
        json.loads(line)["store_id"]
        for line in (generated / "stores.jsonl").read_text().splitlines()
    ]
    stores.sort()
    summary = json.loads(
        dataapp(env, "ingest", str(generated / "sales.csv"), "--json", "--no-progress")
    )
    assert summary["accepted"] > 1000, summary

    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        chain = Chain(
            worker, env, kafka_bootstrap, root, stores, dict(sellers), summary["accepted"]
        )
        ids = chain.ids()
        assert len(sellers[chain.store_a]) >= 2 and sellers[chain.store_b]
        assert ids["seller_b"] not in sellers[chain.store_a], "seller ids must differ by store"
        chain.tokens["admin"] = worker.add_user(USERNAMES["admin"], "admin")
        chain.tokens["manager_a"] = worker.add_user(USERNAMES["manager_a"], "manager", ids["A"])
        chain.tokens["manager_b"] = worker.add_user(USERNAMES["manager_b"], "manager", ids["B"])
        chain.tokens["seller_a"] = worker.add_user(
            USERNAMES["seller_a"], "seller", ids["A"], ids["seller_a"]
        )
        key = TOKEN_KEY.encode()
        chain.tokens["expired"] = issue_token(
            User("admin", "admin", "unused"), key, int(time.time()) - 7200, ttl_seconds=3600
        )
        chain.tokens["tampered"] = forged(chain.tokens["seller_a"])
        for store in (ids["A"], ids["B"]):
            path = f"/api/v1/stores/{segment(store)}/plan"
            answer = send(worker, "PUT", path, chain.tokens["admin"], body=PLAN)
            assert answer.status == 200 and answer.body["created"], answer.body
        wait_for_lines(worker, chain.tokens["admin"], stores, chain.accepted)
        yield chain
    finally:
        worker.stop()


def forged(token: str) -> str:
    """The token with its payload rewritten to an admin's, the signature left as it was."""
    payload_b64, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    payload.update(role="admin", store=None, seller=None)
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


@pytest.fixture(scope="module")
def spec(chain: Chain) -> dict[str, Any]:
    """The OpenAPI document as the worker serves it, which must be the code's."""
    served = get_ok(chain.worker, "/api/v1/openapi.json", "")
    assert served == document(ROUTES)
    return served


# --------------------------------------------------------------------------- a. roles


def targets(route: Route) -> list[dict[str, str]]:
    """Path parameters of the cases of a route, symbolically: own and foreign stores, own
    and other sellers (resolved by ``Chain.ids``)."""
    names = re.findall(r"{(\w+)}", route.path)
    if not names:
        return [{}]
    if names == ["store_id"]:
        return [{"store_id": "A"}, {"store_id": "B"}]
    if names == ["store_id", "seller_id"]:
        return [
            {"store_id": "A", "seller_id": "seller_a"},
            {"store_id": "A", "seller_id": "other_seller_a"},
            {"store_id": "B", "seller_id": "seller_b"},
            {"store_id": "B", "seller_id": "seller_a"},
        ]
    if names == ["seller_id"]:
        return [{"seller_id": name} for name in ("seller_a", "other_seller_a", "seller_b")]
    raise AssertionError(f"{route.path}: no scope cases for path parameters {names}; add them")


TOKEN_ROUTE = ("POST", "/api/v1/auth/token")
INGEST_ROUTE = ("POST", "/api/v1/ingest/sales")
OWN_STORE = {"manager_a": "A", "manager_b": "B", "seller_a": "A"}
ADMIN_ONLY = {"/api/v1/cross-sell", "/api/v1/stores/{store_id}/cross-sell/counts"}
"""The whole chain's bought-together counts, and a store's raw parts of them."""


def expected_status(route: Route, who: str, target: dict[str, str]) -> int:
    """The scope rules of app/api/auth.py, restated for the cases of the matrix."""
    if (route.method, route.path) == TOKEN_ROUTE:
        return 401 if who == "none" else 200  # 'none' signs in with a wrong password
    if not route.auth:
        return 200  # whatever the Authorization header holds
    if who in ("none", "tampered", "expired"):
        return 401
    if (route.method, route.path) == INGEST_ROUTE:
        return 200 if who == "admin" else 403
    if who == "admin":
        return 200
    if route.path in ADMIN_ONLY:
        return 403
    store, seller = target.get("store_id"), target.get("seller_id")
    if route.tag == "suggestions" and seller is None:
        # A store's suggestions name products, not colleagues: every member of the store.
        return 200 if store == OWN_STORE[who] else 403
    if store is None and seller is None:
        return 200  # about the caller (me), or filtered to its scope (stores)
    if who.startswith("manager"):
        # A manager's seller lookups are about their own store (seller ids may repeat across
        # stores), so a seller-only path is always in scope: a foreign seller reads as zeros.
        return 200 if store in (None, OWN_STORE[who]) else 403
    if seller is None:
        return 403  # store totals would show colleagues' figures
    return 200 if seller == "seller_a" and store in (None, "A") else 403


def matrix() -> Iterator[Any]:
    for route in ROUTES:
        for target in targets(route):
            for who in WHO:
                label = ",".join(f"{k}={v}" for k, v in target.items())
                yield pytest.param(
                    route, who, target, id=f"{route.method} {route.path} [{label}] {who}"
                )


def test_the_matrix_covers_every_route() -> None:
    cases = list(matrix())
    assert {(case.values[0].method, case.values[0].path) for case in cases} == {
        (route.method, route.path) for route in ROUTES
    }


def ingest_batch(chain: Chain, order_id: str) -> list[dict[str, Any]]:
    """Two good sale lines of store A (one order) and one bad one, in the canonical layout."""
    ids = chain.ids()
    line = {
        "order_id": order_id,
        "store_id": ids["A"],
        "seller_id": ids["seller_a"],
        "customer_id": "api-customer-1",
        "event_time": "2026-01-06 10:15:00",
        "channel": "online",
        "unit_cost": "4.10",
        "discount": "0.50",
    }
    return [
        {
            **line,
            "sku": "API-00001",
            "product_name": "Via API",
            "quantity": 2,
            "unit_price": "10.00",
        },
        {
            **line,
            "sku": "API-00002",
            "product_name": "Via API",
            "quantity": 1,
            "unit_price": "3.99",
        },
        {**line, "sku": "API-00003", "quantity": "many", "unit_price": "1.00"},
    ]


@pytest.mark.parametrize(("route", "who", "target"), list(matrix()))
def test_role_matrix(
    chain: Chain, spec: dict[str, Any], route: Route, who: str, target: dict[str, str]
) -> None:
    ids = chain.ids()
    params = {name: ids[symbol] for name, symbol in target.items()}
    path = route.path.format(**{name: segment(value) for name, value in params.items()})
    if "from" in route.query:
        path += "?" + SALES_MONTH
    token = chain.tokens.get(who)
    body: Any = None
    if (route.method, route.path) == TOKEN_ROUTE:
        username = USERNAMES.get(who, "admin")
        password = "wrong-password" if who == "none" else username + PASSWORD_SUFFIX
        body = {"username": username, "password": password}
    elif (route.method, route.path) == INGEST_ROUTE:
        body = ingest_batch(chain, f"API-MATRIX-{who}")
    elif (route.method, route.path) == PLAN_ROUTE:
        body = PLAN
    elif (route.method, route.path) == SIMULATE_ROUTE:
        body = DRAFT

    answer = send(chain.worker, route.method, path, token, body=body)
    expected = expected_status(route, who, target)
    assert answer.status == expected, f"{who} {route.method} {path}: {answer.body}"
    assert_documented(answer, spec, route.path, route.method, f"{who} {path}")
    if expected != 200:
        assert_json_error(answer)
        assert answer.body["error"] == {401: "unauthorized", 403: "forbidden"}[expected]
        return

    # What a 200 says, beyond its schema.
    key = (route.method, route.path)
    own = ids.get(OWN_STORE.get(who, ""), None)
    if key == TOKEN_ROUTE:
        role = "admin" if who not in USERNAMES else who.split("_")[0]
        assert answer.body["role"] == role
        me = get_ok(chain.worker, "/api/v1/me", answer.body["access_token"])
        assert me["username"] == body["username"]
    elif key == INGEST_ROUTE:
        summary = answer.body
        assert (summary["read"], summary["accepted"], summary["rejected"]) == (3, 2, 1), summary
        assert summary["duplicates"] == 0 and summary["sales_messages"] == 1, summary
        assert summary["rejected_by_reason"] and summary["failures"] == [], summary
    elif route.path == "/api/v1/me":
        assert answer.body["username"] == USERNAMES[who]
        assert answer.body["role"] == who.split("_")[0]
        assert answer.body["store_id"] == own
        # No reference data is published here and no user has a name: ids stand in.
        assert answer.body["display_name"] == USERNAMES[who]
        assert answer.body["store_name"] == own
    elif route.path == "/api/v1/stores":
        stores = answer.body["stores"]
        if who == "admin":
            assert set(chain.stores) <= set(stores)
        else:
            assert stores == ([own] if who.startswith("manager") else [])
        assert answer.body["names"] == {store: store for store in stores}
    elif route.path == "/api/v1/openapi.json":
        assert answer.body == spec
    elif route.path == "/healthz":
        assert answer.body == {"status": "ok"}
    elif route.path == "/readyz":
        assert answer.body["status"] == "ready" and all(answer.body["checks"].values())
    elif route.path == "/metrics":
        assert "dataapp_lines_processed_total" in answer.body
    elif key == PLAN_ROUTE:
        # The plan the chain started with, again: a repeat changes nothing.
        assert (answer.body["created"], answer.body["saved"]["version"]) == (False, 1)
        assert [plan["plan_id"] for plan in answer.body["versions"]] == ["api-test"]
    elif key == SIMULATE_ROUTE:
        assert (
            answer.body["draft"]["version"] == 2 and answer.body["store_id"] == params["store_id"]
        )
        for row in answer.body["sellers"]:
            assert (
                row["change_cents"] == row["draft"]["total_cents"] - row["current"]["total_cents"]
            )
    else:
        if route.path.endswith("/pay") or route.path.endswith("/plan"):
            assert_pay_answer(answer.body)
        for name, value in params.items():
            assert answer.body[name] == value
        # Names fall back to the ids without reference data.
        if "store_id" in params:
            assert answer.body["store_name"] == params["store_id"]
        if "seller_id" in params:
            assert answer.body["seller_name"] == params["seller_id"]
        if "seller_id" in params and "store_id" not in params:
            if who.startswith("manager"):
                assert answer.body["stores"] == [own]
                if params["seller_id"] not in chain.sellers[own]:  # not theirs: nothing shown
                    figures = answer.body.get("points") or [answer.body]
                    assert all(point.get("lines", 0) == 0 for point in figures)
            elif who == "seller_a":
                assert answer.body["stores"] == [ids["A"]]


def assert_pay_answer(body: dict[str, Any]) -> None:
    """What every pay or plan answer says of itself, whatever the figures."""
    if "versions" in body:
        assert [plan["plan_id"] for plan in body["versions"]] == ["api-test"]
        assert body["in_force"] == body["versions"][0]
        return
    rows = body.get("sellers", [body])
    for row in rows:
        parts = row["base_cents"] + row["commission_cents"] + row["bonus_cents"]
        assert row["total_cents"] == parts and row["plan_id"] == "api-test", row
        projected = row["projected"]  # null where no projection could be asked
        if projected is not None:
            mid = row["base_cents"] + sum(
                projected[name]["mid"] for name in ("commission_cents", "bonus_cents")
            )
            assert projected["total_cents"]["mid"] == mid, row
    if "totals" in body:
        assert body["totals"]["total_cents"] == sum(row["total_cents"] for row in rows)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("", id="empty"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer ", id="scheme-space"),
        pytest.param("Bearer not-a-token", id="garbage"),
        pytest.param("Bearer a.b.c", id="three-parts"),
        pytest.param("Bearer " + "a" * 5000 + ".b", id="over-long"),
        pytest.param("Basic {admin}", id="wrong-scheme"),
        pytest.param("{admin}", id="no-scheme"),
        pytest.param("Bearer {admin}x", id="signature-appended"),
        pytest.param("Bearer {admin_flipped}", id="signature-flipped"),
        pytest.param("Bearer {other_key}", id="signed-with-another-key"),
        pytest.param("Bearer {expired}", id="expired"),
        pytest.param("Bearer {tampered}", id="payload-rewritten"),
    ],
)
def test_refused_tokens_get_401(chain: Chain, spec: dict[str, Any], authorization: str) -> None:
    admin = chain.tokens["admin"]
    flipped = admin[:-1] + ("A" if admin[-1] != "A" else "B")
    other_key = issue_token(User("admin", "admin", "x"), b"another key", int(time.time()))
    header = authorization.format(
        admin=admin,
        admin_flipped=flipped,
        other_key=other_key,
        expired=chain.tokens["expired"],
        tampered=chain.tokens["tampered"],
    )
    path = f"/api/v1/stores/{segment(chain.store_a)}/summary"
    answer = send(chain.worker, "GET", path, headers={"Authorization": header})
    assert_json_error(answer, 401)
    assert_documented(answer, spec, "/api/v1/stores/{store_id}/summary", "GET", header[:20])


def _bad(path: str, query: str, needle: str) -> Any:
    return pytest.param(path, query, needle, id=f"{path.split('/')[-1]}?{query}"[:60])


STORE = "/api/v1/stores/{A}"
SELLER = "/api/v1/sellers/{seller_a}"


@pytest.mark.parametrize(
    ("path", "query", "needle"),
    [
        _bad(f"{STORE}/summary", "from=2026-13-01", "'from'"),
        _bad(f"{STORE}/summary", "to=2026-02-30", "'to'"),
        _bad(f"{STORE}/summary", "from=2026-1-5", "'from'"),
        _bad(f"{STORE}/summary", "from=2026-W02-1", "'from'"),
        _bad(f"{STORE}/summary", "from=20260105", "'from'"),
        _bad(f"{STORE}/summary", "to=%D9%A2%D9%A0%D9%A2%D9%A6-01-05", "'to'"),
        _bad(f"{STORE}/summary", "from=yesterday", "'from'"),
        _bad(f"{STORE}/summary", "from=2026-01-10&to=2026-01-05", "after"),
        _bad(f"{STORE}/summary", "to=1700-01-01", "retention"),
        _bad(f"{STORE}/sellers", "from=2026-01-10&to=2026-01-09", "after"),
        _bad(f"{STORE}/sellers/{{seller_a}}/summary", "to=2026-00-10", "'to'"),
        _bad(f"{SELLER}/summary", "from=x", "'from'"),
        _bad(f"{SELLER}/summary", "from=2026-02-01&to=2026-01-31", "after"),
        _bad(f"{STORE}/timeseries", "granularity=minute", "'granularity'"),
        _bad(f"{STORE}/timeseries", "granularity=DAY", "'granularity'"),
        _bad(f"{STORE}/timeseries", "granularity=hour&from=2026-01-01&to=2026-04-04", "93 days"),
        _bad(f"{SELLER}/timeseries", "granularity=week", "'granularity'"),
        _bad(f"{SELLER}/timeseries", "granularity=hour&from=2025-01-01&to=2026-01-01", "93 days"),
        _bad(
            f"{STORE}/sellers/{{seller_a}}/timeseries",
            "granularity=hour&from=2026-01-01&to=2026-06-30",
            "93 days",
        ),
        _bad(f"{STORE}/products", "limit=0", "'limit'"),
        _bad(f"{STORE}/products", "limit=501", "'limit'"),
        _bad(f"{STORE}/products", "limit=-1", "'limit'"),
        _bad(f"{STORE}/products", "limit=1.5", "'limit'"),
        _bad(f"{STORE}/products", "limit=%C2%B2", "'limit'"),
        _bad(f"{STORE}/products", "limit=" + "9" * 5000, "'limit'"),
        _bad(f"{STORE}/products", "by=price", "'by'"),
    ],
)
def test_bad_parameters_get_400_with_a_message(
    chain: Chain, spec: dict[str, Any], path: str, query: str, needle: str
) -> None:
    ids = {name: segment(value) for name, value in chain.ids().items()}
    answer = send(chain.worker, "GET", f"{path.format(**ids)}?{query}", chain.tokens["admin"])
    assert_json_error(answer, 400)
    assert answer.body["error"] == "bad_parameter"
    assert needle in answer.body["message"], answer.body


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{STORE}/timeseries", "granularity=hour&from=2026-01-01&to=2026-04-03"),  # 93 days
        (f"{STORE}/products", "limit=500&by=margin"),
        (f"{STORE}/products", "limit=0001&by=units"),
        (f"{STORE}/summary", "from=&to="),  # empty means the default: today
        (f"{STORE}/summary", "to=9999-12-31&from=9999-11-30"),  # the last month there is
        (f"{STORE}/summary", "from=0001-01-01&to=9999-12-31"),
        (f"{SELLER}/summary", "to=9999-12-31"),
        (f"{STORE}/timeseries", "granularity=month&from=0001-01-01&to=9999-12-31"),
    ],
)
def test_limits_of_the_parameters_are_accepted(
    chain: Chain, spec: dict[str, Any], path: str, query: str
) -> None:
    ids = {name: segment(value) for name, value in chain.ids().items()}
    template = path.format(A="{store_id}", seller_a="{seller_id}")
    answer = send(chain.worker, "GET", f"{path.format(**ids)}?{query}", chain.tokens["admin"])
    assert answer.status == 200, answer.body
    assert_documented(answer, spec, template, "GET", query)


@pytest.mark.parametrize("odd", ["loja{1}", "{store_id}", "}", "a/b", "..", ".", "%FF", "😀", " "])
def test_any_id_can_be_asked_for(chain: Chain, odd: str) -> None:
    """Path parameters take any character (encoded): an id is answered for, never routed
    elsewhere nor refused by the framework."""
    admin, store = chain.tokens["admin"], segment(chain.store_a)
    assert get_ok(chain.worker, f"/api/v1/stores/{segment(odd)}/summary", admin)["store_id"] == odd
    answer = get_ok(chain.worker, f"/api/v1/stores/{store}/sellers/{segment(odd)}/summary", admin)
    assert (answer["store_id"], answer["seller_id"], answer["lines"]) == (chain.store_a, odd, 0)
    assert get_ok(chain.worker, f"/api/v1/sellers/{segment(odd)}/timeseries", admin)["points"] == []
    # No plans for such a store: an empty history, and no pay (404, not a failure).
    plans = get_ok(chain.worker, f"/api/v1/stores/{segment(odd)}/plan", admin)
    assert (plans["store_id"], plans["versions"], plans["in_force"]) == (odd, [], None)
    answer = send(chain.worker, "GET", f"/api/v1/stores/{segment(odd)}/pay", admin)
    assert (answer.status, answer.body["error"]) == (404, "no_plan"), answer.body


@pytest.mark.parametrize(
    ("route", "data", "status"),
    [
        (TOKEN_ROUTE, b"not json", 400),
        (TOKEN_ROUTE, b"", 400),
        (TOKEN_ROUTE, b"[]", 400),
        (TOKEN_ROUTE, b'{"username": "admin"}', 400),
        (TOKEN_ROUTE, b'{"username": "admin", "password": 12345678}', 400),
        (TOKEN_ROUTE, b'{"username": "admin", "password": "wrong-password"}', 401),
        (TOKEN_ROUTE, b'{"username": "nobody-here", "password": "whatever-pw"}', 401),
        (INGEST_ROUTE, b"not json", 400),
        (INGEST_ROUTE, b"{}", 400),
        (INGEST_ROUTE, b"[]", 400),
        (INGEST_ROUTE, b'{"rows": {}}', 400),
        (INGEST_ROUTE, b'"rows"', 400),
        (INGEST_ROUTE, b"[" + b",".join([b"{}"] * (MAX_INGEST_RECORDS + 1)) + b"]", 413),
        # Over the body limit: a JSON 413, not aiohttp's exception escaping as a 500.
        (INGEST_ROUTE, b"[" + b" " * MAX_BODY_BYTES + b"]", 413),
    ],
    ids=lambda value: value[1] if isinstance(value, tuple) else repr(value)[:30],
)
def test_bad_bodies_get_json_errors(
    chain: Chain, route: tuple[str, str], data: bytes, status: int
) -> None:
    answer = send(chain.worker, route[0], route[1], chain.tokens["admin"], data=data)
    assert_json_error(answer, status)


def test_unknown_paths_and_methods_are_not_answered_with_html(chain: Chain) -> None:
    """Outside the route table the web framework answers; still never an HTML page."""
    for method, path in (
        ("GET", "/api/v1/nothing-here"),
        ("GET", "/api/v2/stores"),
        ("DELETE", "/api/v1/me"),
        ("POST", "/api/v1/stores"),
        ("GET", "/api/v1/ingest/sales"),
    ):
        answer = send(chain.worker, method, path, chain.tokens["admin"], data=b"{}")
        assert answer.status in (404, 405), (method, path, answer)
        assert "html" not in answer.content_type.lower(), (method, path, answer)
        assert "<html" not in str(answer.body).lower(), (method, path, answer)


# --------------------------------------------------------------------------- b. fuzzing

SPEC = document(ROUTES)
GET_OPERATIONS = sorted(
    operation["operationId"]
    for item in SPEC["paths"].values()
    for method, operation in item.items()
    if method == "get"
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "+1",
        "00",
        "1e309",
        "NaN",
        "null",
        "true",
        "[]",
        "%",
        "%00",
        "\x00",
        "'; DROP TABLE sale_lines; --",
        "\\",
        "\u202e",
        "😀",
        "٣",
        "²",
        "0x10",
        "9" * 400,
        "a" * 1000,
    ]
)
ODD_DATES = st.sampled_from(
    [
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "0000-01-01",
        "0001-01-01",
        "1752-09-03",
        "9999-12-31",
        "2026-W02-1",
        "2026-006",
        "20260105",
        "2026-01-05T00:00:00",
        "2026-01-05 ",
        "+2026-01-05",
        "2026/01/05",
        "05/01/2026",
        "२०२६-०१-०५",
    ]
)


def _date_strategy() -> st.SearchStrategy[str]:
    from datetime import date

    near = st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 2, 28)).map(str)
    anywhere = st.dates().map(lambda day: f"{day.year:04d}-{day.month:02d}-{day.day:02d}")
    shaped = st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
    return st.one_of(near, near, anywhere, shaped, ODD_DATES, ODD_STRINGS, TEXT)


def value_strategy(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """Query values for a parameter's schema: valid ones, nearly valid ones and junk."""
    if schema.get("format") == "date":
        return _date_strategy()
    if "enum" in schema:
        choices = [str(choice) for choice in schema["enum"]]
        variants = [c.upper() for c in choices] + [c + " " for c in choices] + ["week", "year"]
        return st.one_of(st.sampled_from(choices), st.sampled_from(variants), ODD_STRINGS, TEXT)
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.one_of(
            st.integers(low, high).map(str),
            st.integers().map(str),
            st.integers(-(2**200), 2**200).map(str),
            st.integers(low, high).map(lambda n: f"{n:07d}"),
            ODD_STRINGS,
            TEXT,
        )
    return st.one_of(ODD_STRINGS, TEXT)


def path_strategy(chain: Chain, name: str) -> st.SearchStrategy[str]:
    """Path parameter values, already encoded: real ids, junk, and raw escapes that are not
    UTF-8 (sent as they are)."""
    real = {
        "store_id": list(chain.stores),
        "seller_id": [seller for sellers in chain.sellers.values() for seller in sellers],
    }.get(name, ["x"])
    decoded = st.one_of(
        st.sampled_from(real),
        st.sampled_from(real).map(str.upper),
        TEXT.filter(bool),
        ODD_STRINGS.filter(bool),
        st.sampled_from([".", "..", "a/b", "../summary", "?x=1", "#", "{x}", "}", "a\x1fT"]),
    ).map(segment)
    raw = st.sampled_from(["%FF", "%C0%AF", "%ED%A0%80", "%2", "%zz", "%25", "%00"])
    return st.one_of(decoded, decoded, decoded, raw)


def query_strategy(operation: dict[str, Any]) -> st.SearchStrategy[str]:
    pairs: list[st.SearchStrategy[list[tuple[str, str]]]] = []
    for parameter in operation["parameters"]:
        if parameter["in"] != "query":
            continue
        one = value_strategy(parameter["schema"]).map(
            lambda value, name=parameter["name"]: [(name, value)]
        )
        pairs.append(
            st.one_of(
                st.just([]),
                one,
                st.lists(one, min_size=2, max_size=2).map(lambda twice: twice[0] + twice[1]),
            )
        )
    pairs.append(
        st.one_of(
            st.just([]),
            st.tuples(TEXT, TEXT).map(lambda pair: [pair]),  # parameters nobody asked for
        )
    )
    return st.tuples(*pairs).map(lambda groups: urlencode([p for g in groups for p in g]))


def _operation(spec: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if operation["operationId"] == operation_id:
                return path, method, operation
    raise AssertionError(f"the served document has no operation {operation_id}")


def assert_sound(
    answer: ApiAnswer, spec: dict[str, Any], path: str, method: str, sent: str
) -> None:
    event(f"status {answer.status}")  # the mix shows with --hypothesis-show-statistics
    if answer.status == 200 and isinstance(answer.body, dict) and "accepted" in answer.body:
        event(f"lines accepted: {min(answer.body['accepted'], 1)}+")
    assert answer.status < 500, f"{method.upper()} {sent}: {answer.status} {answer.body}"
    assert answer.content_type.startswith(("application/json", "text/plain")), sent
    if answer.status != 200:
        assert_json_error(answer)
    assert_documented(answer, spec, path, method, sent)


@pytest.mark.parametrize("operation_id", GET_OPERATIONS)
def test_fuzz_get_operations(chain: Chain, spec: dict[str, Any], operation_id: str) -> None:
    path, method, operation = _operation(spec, operation_id)
    names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
    tokens = st.sampled_from(["admin", "admin", "admin", "manager_a", "seller_a", "none"])

    @FUZZ
    @given(
        values=st.fixed_dictionaries({name: path_strategy(chain, name) for name in names}),
        query=query_strategy(operation),
        who=tokens,
    )
    def run(values: dict[str, str], query: str, who: str) -> None:
        sent = path.format(**values) + (f"?{query}" if query else "")
        answer = send(chain.worker, "GET", sent, chain.tokens.get(who))
        assert_sound(answer, spec, path, method, sent)

    run()
    assert send(chain.worker, "GET", "/readyz").status == 200, chain.worker.tail()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def test_fuzz_sign_in(chain: Chain, spec: dict[str, Any]) -> None:
    username = st.one_of(st.sampled_from(list(USERNAMES.values())), TEXT, JSON_VALUES)
    bodies = st.one_of(
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries({"username": username, "password": TEXT | JSON_VALUES}).map(
            lambda value: json.dumps(value).encode()
        ),
        st.binary(max_size=64),
    )

    @FUZZ
    @given(data=bodies)
    def run(data: bytes) -> None:
        answer = send(chain.worker, *TOKEN_ROUTE, data=data)
        assert_sound(answer, spec, TOKEN_ROUTE[1], "post", repr(data[:80]))
        assert answer.status in (400, 401), answer.body

    run()


FUZZ_STORE = "zz-fuzz-01"
CANONICAL_ROW = {
    "order_id": "FUZZ-1",
    "store_id": FUZZ_STORE,
    "seller_id": "s-fuzz",
    "customer_id": "fuzz-customer",
    "event_time": "2026-01-06 12:00:00",
    "time_zone": "America/Sao_Paulo",
    "channel": "loja",
    "sku": "FUZ-00001",
    "product_name": "Fuzz",
    "quantity": 1,
    "unit_price": "1.00",
    "unit_cost": "0.50",
    "discount": "0",
}


def _nearly_valid_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Canonical rows with one field replaced by junk (or dropped), so some are accepted and
    the rest are rejected for every reason there is. The store is never fuzzed: accepted junk
    stays in the fuzz store, whose figures part c checks like any other store's."""
    fuzzed = [name for name in CANONICAL_ROW if name != "store_id"]
    row = st.tuples(
        st.sampled_from(fuzzed), st.one_of(JSON_VALUES, ODD_STRINGS, ODD_DATES), st.booleans()
    ).map(
        lambda change: (
            {k: v for k, v in CANONICAL_ROW.items() if k != change[0]}
            if change[2]
            else {**CANONICAL_ROW, change[0]: change[1]}
        )
    )
    return st.lists(row, min_size=1, max_size=5)


def test_fuzz_ingest(chain: Chain, spec: dict[str, Any]) -> None:
    bodies = st.one_of(
        _nearly_valid_rows().map(lambda rows: json.dumps(rows).encode()),
        _nearly_valid_rows().map(lambda rows: json.dumps({"rows": rows}).encode()),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.lists(st.dictionaries(TEXT, JSON_VALUES, max_size=5), min_size=1, max_size=3).map(
            lambda value: json.dumps(value).encode()
        ),
        st.binary(max_size=64),
    )

    @FUZZ
    @given(data=bodies)
    def run(data: bytes) -> None:
        answer = send(chain.worker, *INGEST_ROUTE, chain.tokens["admin"], data=data)
        assert_sound(answer, spec, INGEST_ROUTE[1], "post", repr(data[:200]))
        if answer.status == 200:
            summary = answer.body
            counts = [summary[name] for name in ("read", "accepted", "duplicates", "rejected")]
            assert all(isinstance(count, int) and count >= 0 for count in counts), summary
            assert summary["read"] == sum(counts[1:]), summary
        else:
            assert answer.status == 400, answer.body

    run()


def _plan_bodies() -> st.SearchStrategy[bytes]:
    """The chain's plan with one field replaced by junk (or dropped, or one added), so that
    some are saved and the rest refused for every reason there is; and any JSON or bytes."""
    fields = [*PLAN, "version", "store_id", "seller_id", "period", "comission_cap_cents"]
    junk = st.one_of(JSON_VALUES, ODD_STRINGS, ODD_DATES, st.integers(-5, 5))
    plans = st.tuples(st.sampled_from(fields), junk, st.booleans()).map(
        lambda change: (
            {k: v for k, v in PLAN.items() if k != change[0]}
            if change[2]
            else {**PLAN, change[0]: change[1]}
        )
    )
    return st.one_of(
        plans.map(lambda value: json.dumps(value).encode()),
        plans.map(lambda value: json.dumps(value).encode()),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=64),
    )


def test_fuzz_plan_bodies(chain: Chain, spec: dict[str, Any]) -> None:
    """Saving and simulating whatever a client sends: a save, a refusal naming the field (or a
    version conflict), never a failure; and the store's history stays readable."""
    store = "zz-fuzz-plans"
    base = f"/api/v1/stores/{segment(store)}/plan"

    @FUZZ
    @given(data=_plan_bodies())
    def run(data: bytes) -> None:
        for method, path, template, allowed in (
            ("PUT", base, PLAN_ROUTE[1], {200, 400, 409}),
            ("POST", f"{base}/simulate", SIMULATE_ROUTE[1], {200, 400}),
        ):
            answer = send(chain.worker, method, path, chain.tokens["admin"], data=data)
            assert_sound(answer, spec, template, method, f"{method} {data[:200]!r}")
            assert answer.status in allowed, answer.body
            if answer.body.get("error") == "invalid_plan":
                assert answer.body["message"].startswith(answer.body["field"] + ": ")

    run()
    history = get_ok(chain.worker, base, chain.tokens["admin"])
    numbers: dict[str, list[int]] = defaultdict(list)
    for plan in history["versions"]:
        numbers[plan["plan_id"]].append(plan["version"])
    assert numbers, "some of the bodies were valid plans"
    assert all(found == list(range(1, len(found) + 1)) for found in numbers.values()), (
        "the versions of each plan_id are numbered one after the other",
        numbers,
    )
    assert send(chain.worker, "GET", "/readyz").status == 200, chain.worker.tail()


# --------------------------------------------------------------------------- c. figures

FIGURES = FIGURE_NAMES


def figures_of(counters: list[tuple[int, ...]]) -> dict[str, int | None]:
    """API figures from recompute counters (``tests.recompute.Expected.figures``) of
    buckets that do not overlap. Distinct customers only add up within one bucket."""
    sums = [sum(counter[index] for counter in counters) for index in range(7)]
    customers = None if len(counters) > 1 else counters[0][7] if counters else 0
    return api_figures(sums, customers)


def add(left: dict[str, int | None], right: dict[str, int | None]) -> dict[str, int | None]:
    """What the API does across stores: every figure summed (customers too)."""
    return {
        name: None if left[name] is None or right[name] is None else left[name] + right[name]  # type: ignore[operator]
        for name in FIGURES
    }


def differences(got: dict[str, Any], want: dict[str, int | None]) -> dict[str, tuple]:
    return {
        name: (got.get(name), value)
        for name, value in want.items()
        if value is not None and got.get(name) != value
    }


@dataclass
class Expected:
    """The recompute, indexed the way the API is asked."""

    lines: int
    stores: set[str]
    table: dict[str, tuple[int, ...]]
    by_store: dict[str, dict[tuple[str, str, str], tuple[int, ...]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def __post_init__(self) -> None:
        for key, counters in self.table.items():
            store, dimension, grain, label, member = key.split("\x1f")
            self.by_store[store][(dimension + grain, label, member)] = counters

    def buckets(self, store: str, kind: str, member: str = "") -> dict[str, tuple[int, ...]]:
        """Label -> counters of one store, ``kind`` = dimension + grain (``Tm``, ``Sd``, ...)."""
        return {
            label: counters
            for (found, label, who), counters in self.by_store[store].items()
            if found == kind and who == member and RANGE[0][:7] <= label[:7] <= RANGE[1][:7]
        }

    def summary(self, store: str, seller: str | None = None) -> dict[str, int | None]:
        kind, member = ("Tm", "") if seller is None else ("Sm", seller)
        return figures_of(list(self.buckets(store, kind, member).values()))

    def sellers(self, store: str) -> set[str]:
        return {who for (kind, _, who) in self.by_store[store] if kind == "Sm"}

    def stores_of(self, seller: str) -> list[str]:
        return sorted(store for store in self.stores if seller in self.sellers(store))

    def products(self, store: str) -> dict[str, dict[str, int | None]]:
        months: dict[str, list[tuple[int, ...]]] = defaultdict(list)
        for (kind, label, sku), counters in self.by_store[store].items():
            if kind == "Pm" and RANGE[0][:7] <= label <= RANGE[1][:7]:
                months[sku].append(counters)
        return {sku: figures_of(counters) for sku, counters in months.items()}


def recompute(chain: Chain) -> Expected:
    """The figures the sales topic implies, once the worker has counted all of it."""
    sales = [Sale.from_dict(data) for data in asyncio.run(read_topic(chain.bootstrap, chain.topic))]
    expected = Expected(
        lines=sum(len(sale.lines) for sale in sales),
        stores={sale.store_id for sale in sales},
        table=naive_recompute(sales),
    )
    assert set(chain.stores) <= expected.stores
    wait_for_lines(chain.worker, chain.tokens["admin"], sorted(expected.stores), expected.lines)
    return expected


@pytest.fixture(scope="module")
def expected(chain: Chain) -> Expected:
    return recompute(chain)


def test_store_figures_equal_the_recompute(chain: Chain, expected: Expected) -> None:
    admin = chain.tokens["admin"]
    assert expected.lines > chain.accepted, "the lines ingested through the API are counted"
    wrong = {}
    for store in sorted(expected.stores):
        got = get_ok(chain.worker, f"/api/v1/stores/{segment(store)}/summary?{FULL_RANGE}", admin)
        if diff := differences(got, expected.summary(store)):
            wrong[store] = diff
    assert not wrong, wrong
    assert all(expected.summary(store)["customers"] is not None for store in chain.stores)


def test_seller_figures_equal_the_recompute(chain: Chain, expected: Expected) -> None:
    admin = chain.tokens["admin"]
    wrong: dict[str, Any] = {}
    everyone: set[str] = set()
    for store in sorted(expected.stores):
        sellers = expected.sellers(store)
        everyone |= sellers
        team = get_ok(chain.worker, f"/api/v1/stores/{segment(store)}/sellers?{FULL_RANGE}", admin)
        rows = {row["seller_id"]: row for row in team["sellers"]}
        if set(rows) != sellers:
            wrong[f"team {store}"] = (sorted(rows), sorted(sellers))
        revenues = [row["revenue_cents"] for row in team["sellers"]]
        assert revenues == sorted(revenues, reverse=True), "the team table is ranked by revenue"
        for seller in sorted(sellers):
            want = expected.summary(store, seller)
            one = get_ok(
                chain.worker,
                f"/api/v1/stores/{segment(store)}/sellers/{segment(seller)}/summary?{FULL_RANGE}",
                admin,
            )
            for label, got in (("store-seller", one), ("team", rows.get(seller, {}))):
                if diff := differences(got, want):
                    wrong[f"{label} {store}/{seller}"] = diff
    for seller in sorted(everyone):
        stores = expected.stores_of(seller)
        want = expected.summary(stores[0], seller)
        for store in stores[1:]:
            want = add(want, expected.summary(store, seller))
        got = get_ok(chain.worker, f"/api/v1/sellers/{segment(seller)}/summary?{FULL_RANGE}", admin)
        if got["stores"] != stores or (diff := differences(got, want)):
            wrong[f"seller {seller}"] = (got["stores"], stores, differences(got, want))
    assert not wrong, dict(list(wrong.items())[:10])


def test_comparison_and_team_rank_follow_the_recompute(chain: Chain, expected: Expected) -> None:
    """The store comparison a manager sees is the pure comparison of every store's recomputed
    figures, and a seller's rank is their place by revenue in the team."""
    from app.insights.comparison import compare_store, team_rank

    manager = chain.tokens["manager_a"]
    store = chain.store_a
    everyone = {name: expected.summary(name) for name in sorted(expected.stores)}
    want = compare_store(everyone[store], list(everyone.values()))
    got = get_ok(chain.worker, f"/api/v1/stores/{segment(store)}/comparison?{FULL_RANGE}", manager)
    assert got["stores"] == len(everyone) > 1
    assert (got["weakest"], got["strongest"]) == (want.weakest, want.strongest)
    assert [(m["metric"], m["rank"], m["count"]) for m in got["metrics"]] == [
        (s.metric, s.rank, s.count) for s in want.standings
    ]
    revenue = got["metrics"][0]
    assert revenue["value"] == everyone[store]["revenue_cents"]
    assert [m["percentile"] for m in got["metrics"]] == [s.percentile for s in want.standings]
    medians = [m["chain_median"] for m in got["metrics"]]
    if len(everyone) < 5:  # a median of so few stores would be one of them: not shown
        assert medians == [None] * len(medians)
    else:
        assert medians[0] == int(want.standings[0].chain_median or 0)
    assert not [other for other in everyone if other != store and other in str(got)]
    sellers = expected.sellers(store)
    revenues = {seller: expected.summary(store, seller)["revenue_cents"] for seller in sellers}
    seller = chain.ids()["seller_a"]
    rank = get_ok(
        chain.worker,
        f"/api/v1/stores/{segment(store)}/sellers/{segment(seller)}/rank?{FULL_RANGE}",
        chain.tokens["seller_a"],
    )
    assert (rank["rank"], rank["sellers"]) == (
        team_rank(seller, revenues).rank,
        len(revenues),
    )


def test_recent_sales_are_the_latest_accepted_sales_of_the_store(chain: Chain) -> None:
    store = chain.store_a
    got = get_ok(
        chain.worker,
        f"/api/v1/stores/{segment(store)}/recent-sales?limit=5",
        chain.tokens["manager_a"],
    )["sales"]
    assert 0 < len(got) <= 5
    times = [sale["event_time"] for sale in got]
    assert times == sorted(times, reverse=True)
    assert all(sale["amount_cents"] != 0 or sale["items"] == 0 for sale in got)
    seller = got[0]["seller_id"]
    own = get_ok(
        chain.worker,
        f"/api/v1/stores/{segment(store)}/sellers/{segment(seller)}/recent-sales?limit=3",
        chain.tokens["admin"],
    )["sales"]
    assert own and all(sale["seller_id"] == seller for sale in own)
    assert own[0] == got[0]
    assert all(sale["seller_name"] == sale["seller_id"] for sale in got)  # no reference data


def _series_differences(
    points: list[dict[str, Any]], buckets: dict[str, tuple[int, ...]]
) -> dict[str, Any]:
    got = {point["bucket"]: point for point in points}
    if list(got) != sorted(got):
        return {"order": list(got)}
    if set(got) != set(buckets):
        return {"buckets": (sorted(set(got) ^ set(buckets)))[:5]}
    return {
        bucket: diff
        for bucket, counters in buckets.items()
        if (diff := differences(got[bucket], figures_of([counters])))
    }


def test_timeseries_equal_the_recompute(chain: Chain, expected: Expected) -> None:
    admin = chain.tokens["admin"]
    wrong: dict[str, Any] = {}
    for store in sorted(expected.stores):
        base = f"/api/v1/stores/{segment(store)}"
        for granularity, kind in (("day", "Td"), ("month", "Tm")):
            series = get_ok(
                chain.worker, f"{base}/timeseries?granularity={granularity}&{FULL_RANGE}", admin
            )
            if diff := _series_differences(series["points"], expected.buckets(store, kind)):
                wrong[f"{store} {granularity}"] = diff
        hours = expected.buckets(store, "Th")
        first, last = min(hours)[:10], max(hours)[:10]
        series = get_ok(
            chain.worker, f"{base}/timeseries?granularity=hour&from={first}&to={last}", admin
        )
        if diff := _series_differences(series["points"], hours):
            wrong[f"{store} hour"] = diff
        for seller in sorted(expected.sellers(store)):
            days = expected.buckets(store, "Sd", seller)
            series = get_ok(
                chain.worker,
                f"{base}/sellers/{segment(seller)}/timeseries?granularity=day&{FULL_RANGE}",
                admin,
            )
            if diff := _series_differences(series["points"], days):
                wrong[f"{store}/{seller} day"] = diff
            if expected.stores_of(seller) == [store]:
                series = get_ok(
                    chain.worker,
                    f"/api/v1/sellers/{segment(seller)}/timeseries?granularity=day&{FULL_RANGE}",
                    admin,
                )
                if diff := _series_differences(series["points"], days):
                    wrong[f"seller {seller} day"] = diff
    assert not wrong, dict(list(wrong.items())[:10])


def test_product_rankings_equal_the_recompute(chain: Chain, expected: Expected) -> None:
    admin = chain.tokens["admin"]
    field_of = {"revenue": "revenue_cents", "units": "units", "margin": "margin_cents"}
    for store in chain.stores:
        products = expected.products(store)
        for by, name in field_of.items():
            ranking = get_ok(
                chain.worker,
                f"/api/v1/stores/{segment(store)}/products?by={by}&limit=500&{FULL_RANGE}",
                admin,
            )["products"]
            assert [row["rank"] for row in ranking] == list(range(1, len(ranking) + 1))
            assert {row["sku"] for row in ranking} == set(products), (store, by)
            order = sorted(products, key=lambda sku: (-products[sku][name], sku))  # type: ignore[operator]
            assert [row["sku"] for row in ranking] == order, (store, by)
            wrong = {
                row["sku"]: diff
                for row in ranking
                if (diff := differences(row, products[row["sku"]]))
            }
            assert not wrong, (store, by, wrong)
        top = get_ok(
            chain.worker, f"/api/v1/stores/{segment(store)}/products?limit=3&{FULL_RANGE}", admin
        )["products"]
        assert len(top) == min(3, len(products)) and all(row["rank"] <= 3 for row in top)


# --------------------------------------------------------------------------- d. two workers


def partition_of(store: str, partitions: int = 8) -> int:
    return (murmur2(store.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class Pair:
    first: WorkerProcess
    second: WorkerProcess
    owner: dict[str, WorkerProcess]
    """Store -> the worker that owns its partition."""


@pytest.fixture(scope="module")
def pair(chain: Chain, expected: Expected) -> Iterator[Pair]:
    """A second worker in the same group (same prefix and broker, its own data dir, port and
    chDB), started once the first has counted everything, and stopped at the end."""
    env = worker_environment(
        chain.bootstrap,
        chain.root / "data-second",
        prefix=chain.env["DATAAPP_TOPIC_PREFIX"],
        DATAAPP_TOKEN_KEY=TOKEN_KEY,
        **LIVE_FOREVER,
    )
    second = WorkerProcess(env, chain.root / "worker-second.log")
    second.start()
    try:
        deadline = time.monotonic() + 180
        split: tuple[set[int], set[int]] = (set(), set())
        while time.monotonic() < deadline:
            second.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
            chain.worker.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
            split = (
                owned_partitions(chain.worker, chain.topic),
                owned_partitions(second, chain.topic),
            )
            if all(split) and not split[0] & split[1] and len(split[0] | split[1]) == 8:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"partitions never split: {split}\n{second.tail()}")
        owner = {
            store: chain.worker if partition_of(store) in split[0] else second
            for store in expected.stores
        }
        assert {id(worker) for worker in owner.values()} == {id(chain.worker), id(second)}, (
            f"one worker owns every store ({split}): nothing would be forwarded"
        )
        yield Pair(chain.worker, second, owner)
    finally:
        second.stop()
        chain.worker.wait_ready()


def test_every_store_answers_the_same_from_both_workers(
    chain: Chain, expected: Expected, pair: Pair
) -> None:
    admin = chain.tokens["admin"]
    wrong: dict[str, Any] = {}
    for store in sorted(expected.stores):
        base = f"/api/v1/stores/{segment(store)}"
        for path in (
            f"{base}/summary?{FULL_RANGE}",
            f"{base}/sellers?{FULL_RANGE}",
            f"{base}/timeseries?granularity=day&{FULL_RANGE}",
            f"{base}/products?by=margin&{FULL_RANGE}",
        ):
            answers = [get_ok(worker, path, admin) for worker in (pair.first, pair.second)]
            if answers[0] != answers[1]:
                wrong[path] = answers
        summary = get_ok(pair.second, f"{base}/summary?{FULL_RANGE}", admin)
        if diff := differences(summary, expected.summary(store)):
            wrong[f"{store} summary"] = diff
        team = get_ok(pair.second, f"{base}/sellers?{FULL_RANGE}", admin)["sellers"]
        if {row["seller_id"] for row in team} != expected.sellers(store):
            wrong[f"{store} team"] = sorted(row["seller_id"] for row in team)
        for seller in sorted(expected.sellers(store)):
            path = f"{base}/sellers/{segment(seller)}/summary?{FULL_RANGE}"
            answers = [get_ok(worker, path, admin) for worker in (pair.first, pair.second)]
            if answers[0] != answers[1] or differences(answers[0], expected.summary(store, seller)):
                wrong[path] = answers
    assert not wrong, dict(list(wrong.items())[:6])


def test_seller_summaries_from_the_worker_with_the_whole_history(
    chain: Chain, expected: Expected, pair: Pair
) -> None:
    """The first worker counted every sale and its chDB holds them all: for every seller it
    finds every store, asks each store's owner (itself or the other worker), and sums."""
    admin = chain.tokens["admin"]
    wrong: dict[str, Any] = {}
    sellers = sorted({seller for store in expected.stores for seller in expected.sellers(store)})
    for seller in sellers:
        stores = expected.stores_of(seller)
        want = expected.summary(stores[0], seller)
        for store in stores[1:]:
            want = add(want, expected.summary(store, seller))
        got = get_ok(pair.first, f"/api/v1/sellers/{segment(seller)}/summary?{FULL_RANGE}", admin)
        if got["stores"] != stores or differences(got, want):
            wrong[seller] = (got, stores, want)
        # The second worker knows fewer stores (see the xfail below), never wrong figures.
        other = get_ok(
            pair.second, f"/api/v1/sellers/{segment(seller)}/summary?{FULL_RANGE}", admin
        )
        assert set(other["stores"]) <= set(stores), (seller, other)
        partial: dict[str, int | None] = figures_of([])
        for store in other["stores"]:
            partial = add(partial, expected.summary(store, seller))
        assert not differences(other, partial), (seller, other, partial)
    assert not wrong, dict(list(wrong.items())[:5])


def test_a_plan_saved_through_either_worker_is_saved_by_the_owner(chain: Chain, pair: Pair) -> None:
    """A save reaching the worker that does not own the store is passed on with its body;
    both workers then answer the same history, the new version in it."""
    admin = chain.tokens["admin"]
    first = owned_partitions(pair.first, chain.topic)
    owned_by = {}
    for number in range(200):
        store = f"zz-plans-{number}"
        owned_by.setdefault(partition_of(store) in first, store)
        if len(owned_by) == 2:
            break
    for base_pay in (100_000, 110_000):
        for worker in (pair.first, pair.second):
            for store in owned_by.values():
                path = f"/api/v1/stores/{segment(store)}/plan"
                body = {**PLAN, "base_pay_cents": base_pay + (worker is pair.second)}
                answer = send(worker, "PUT", path, admin, body=body)
                assert answer.status == 200 and answer.body["created"], answer.body
                saved = answer.body["saved"]
                answers = [get_ok(other, path, admin) for other in (pair.first, pair.second)]
                assert answers[0] == answers[1] and answers[0]["versions"][-1] == saved
    for store in owned_by.values():
        history = get_ok(pair.second, f"/api/v1/stores/{segment(store)}/plan", admin)
        assert [p["base_pay_cents"] for p in history["versions"]] == [
            100_000,
            100_001,
            110_000,
            110_001,
        ]


@pytest.mark.xfail(
    strict=True,
    reason="the directory of stores and of each seller's stores comes from this worker's own "
    "counting since it started and from its ClickHouse; with one chDB per worker (no shared "
    "ClickHouse server, as production has) a worker that joined later knows only the stores "
    "its own history sink wrote, so /api/v1/stores and /api/v1/sellers/{id}/* miss the rest",
)
def test_a_worker_that_joined_later_knows_every_store_and_seller(
    chain: Chain, expected: Expected, pair: Pair
) -> None:
    admin = chain.tokens["admin"]
    assert set(get_ok(pair.second, "/api/v1/stores", admin)["stores"]) == expected.stores
    for store in chain.stores:
        for seller in sorted(expected.sellers(store)):
            got = get_ok(
                pair.second, f"/api/v1/sellers/{segment(seller)}/summary?{FULL_RANGE}", admin
            )
            assert got["stores"] == expected.stores_of(seller), seller


def test_scoped_callers_get_the_same_from_both_workers(
    chain: Chain, expected: Expected, pair: Pair
) -> None:
    """Forwarded requests carry the caller's token: the owner applies the same scope, and its
    refusals come back as they were sent."""
    ids = chain.ids()
    a, seller = segment(ids["A"]), segment(ids["seller_a"])
    cases = [
        ("manager_a", f"/api/v1/stores/{a}/summary?{FULL_RANGE}", 200),
        ("manager_a", f"/api/v1/stores/{a}/sellers?{FULL_RANGE}", 200),
        ("manager_a", f"/api/v1/sellers/{seller}/summary?{FULL_RANGE}", 200),
        ("manager_b", f"/api/v1/stores/{a}/summary?{FULL_RANGE}", 403),
        ("manager_b", f"/api/v1/stores/{a}/sellers/{seller}/summary?{FULL_RANGE}", 403),
        ("seller_a", f"/api/v1/stores/{a}/sellers/{seller}/summary?{FULL_RANGE}", 200),
        ("seller_a", f"/api/v1/sellers/{seller}/summary?{FULL_RANGE}", 200),
        ("seller_a", f"/api/v1/sellers/{seller}/timeseries?{FULL_RANGE}", 200),
        ("seller_a", f"/api/v1/stores/{a}/summary?{FULL_RANGE}", 403),
        ("tampered", f"/api/v1/stores/{a}/summary?{FULL_RANGE}", 401),
        ("manager_a", f"/api/v1/sellers/{segment('a/../b')}/summary?{FULL_RANGE}", 200),
        ("manager_a", f"/api/v1/sellers/{segment('..')}/timeseries?{FULL_RANGE}", 200),
    ]
    for who, path, status in cases:
        answers = [
            send(worker, "GET", path, chain.tokens[who]) for worker in (pair.first, pair.second)
        ]
        for answer in answers:
            assert answer.status == status, (who, path, answer)
            assert answer.content_type.startswith("application/json"), (who, path, answer)
            if status != 200:
                assert_json_error(answer)
        assert answers[0].body == answers[1].body, (who, path, answers)
    store_a = ids["A"]
    other = pair.second if pair.owner[store_a] is pair.first else pair.first
    for worker in (pair.first, pair.second):
        mine = get_ok(
            worker, f"/api/v1/sellers/{seller}/summary?{FULL_RANGE}", chain.tokens["seller_a"]
        )
        assert mine["stores"] == [store_a]
        assert not differences(mine, expected.summary(store_a, ids["seller_a"]))
    # Seller ids that are path syntax, asked of the worker that does not own the store (so
    # passed on to the owner): nothing, neither another route's answer nor an error.
    for odd in ("..", "a/b", "../../summary", "x?y=1", "%2F", "{seller_id}"):
        answer = get_ok(
            other, f"/api/v1/sellers/{segment(odd)}/summary?{FULL_RANGE}", chain.tokens["manager_a"]
        )
        assert answer["seller_id"] == odd and answer["lines"] == 0, answer
