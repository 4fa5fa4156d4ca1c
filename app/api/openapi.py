"""The OpenAPI 3.1 document of the lookup API, made from the route table in ``routes.py``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.api.periods import GRANULARITIES, RANKINGS
from app.insights.comparison import METRICS

if TYPE_CHECKING:
    from app.api.routes import Route

_INT = {"type": "integer"}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_FIGURES = {
    "revenue_cents": _INT,
    "cost_cents": _INT,
    "margin_cents": _INT,
    "uncosted_revenue_cents": _INT,
    "units": _INT,
    "returned_units": _INT,
    "lines": _INT,
    "orders": _INT,
    "customers": _INT,
}
_REQUIRED_FIGURES = ["revenue_cents", "cost_cents", "margin_cents", "units", "orders"]
_FALLBACK = " (the id itself while the reference data lacks it)"
_STORE_NAME = {
    "type": "string",
    "description": "The store's name from the reference topic ref.stores" + _FALLBACK + ".",
}
_SELLER_NAME = {
    "type": "string",
    "description": "The seller's display name from the reference topic ref.sellers"
    + _FALLBACK
    + "; for a seller id of the path, only when the caller may see that seller in their "
    "store of the reference data, else the id.",
}
_DISPLAY_NAME = {
    "type": "string",
    "description": "The seller's display name from ref.sellers" + _FALLBACK + ".",
}

_QUERY: dict[str, dict[str, Any]] = {
    "from": {
        "description": "First local date of the range, included (default: 'to').",
        "schema": _DATE,
    },
    "to": {
        "description": "Last local date of the range, included (default: today).",
        "schema": _DATE,
    },
    "granularity": {
        "description": "Bucket size of the series.",
        "schema": {"type": "string", "enum": list(GRANULARITIES), "default": "day"},
    },
    "by": {
        "description": "What products are ranked by.",
        "schema": {"type": "string", "enum": list(RANKINGS), "default": "revenue"},
    },
    "limit": {
        "description": "How many products.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
    },
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
    "Figures": {
        "type": "object",
        "description": "Money in integer cents; units net of returns.",
        "required": _REQUIRED_FIGURES,
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "stores": {
                "type": "array",
                "items": {"type": "string"},
                "description": "A seller's summary: the stores it adds up.",
            },
            "from": _DATE,
            "to": _DATE,
            **_FIGURES,
        },
    },
    "Series": {
        "type": "object",
        "required": ["granularity", "points"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": ["string", "null"]},
            "seller_name": _SELLER_NAME,
            "granularity": {"type": "string", "enum": list(GRANULARITIES)},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["bucket", *_REQUIRED_FIGURES],
                    "properties": {"bucket": {"type": "string"}, **_FIGURES},
                },
            },
        },
    },
    "Ranking": {
        "type": "object",
        "required": ["store_id", "store_name", "products"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "products": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rank", "sku", *_REQUIRED_FIGURES],
                    "properties": {
                        "rank": _INT,
                        "sku": {"type": "string"},
                        "product_name": {
                            "type": ["string", "null"],
                            "description": "The name in ref.products, else the latest a sale "
                            "line spelt, else null.",
                        },
                        **_FIGURES,
                    },
                },
            },
        },
    },
    "Team": {
        "type": "object",
        "required": ["store_id", "store_name", "sellers"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "sellers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["seller_id", "display_name", *_REQUIRED_FIGURES],
                    "properties": {
                        "seller_id": {"type": "string"},
                        "display_name": _DISPLAY_NAME,
                        **_FIGURES,
                    },
                },
            },
        },
    },
    "RecentSales": {
        "type": "object",
        "required": ["store_id", "store_name", "sales"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "sales": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "event_time",
                        "order_id",
                        "seller_id",
                        "seller_name",
                        "items",
                        "amount_cents",
                    ],
                    "properties": {
                        "event_time": {"type": "string", "format": "date-time"},
                        "order_id": {"type": "string"},
                        "seller_id": {"type": "string"},
                        "seller_name": _DISPLAY_NAME,
                        "items": _INT,
                        "amount_cents": _INT,
                    },
                },
            },
        },
    },
    "Comparison": {
        "type": "object",
        "description": "Rank 1 is the best; percentile is the share of the other stores this "
        "one is strictly above. No other store is named.",
        "required": ["store_id", "store_name", "stores", "weakest", "strongest", "metrics"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "from": _DATE,
            "to": _DATE,
            "stores": _INT,
            "weakest": {"type": ["string", "null"], "enum": [*METRICS, None]},
            "strongest": {"type": ["string", "null"], "enum": [*METRICS, None]},
            "metrics": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metric", "value", "rank", "count", "percentile"],
                    "properties": {
                        "metric": {"type": "string", "enum": list(METRICS)},
                        "value": {"type": "number"},
                        "rank": _INT,
                        "count": _INT,
                        "percentile": {"type": "number", "minimum": 0, "maximum": 1},
                        "chain_median": {
                            "type": ["number", "null"],
                            "description": "None below five stores: it would be a real "
                            "store's figure.",
                        },
                    },
                },
            },
        },
    },
    "TeamRank": {
        "type": "object",
        "description": "Rank 1 is the best by revenue; 0 when the seller has no sales in the "
        "range.",
        "required": ["store_id", "store_name", "seller_id", "seller_name", "rank", "sellers"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "from": _DATE,
            "to": _DATE,
            "rank": _INT,
            "sellers": _INT,
        },
    },
    "Stores": {
        "type": "object",
        "required": ["stores", "names"],
        "properties": {
            "stores": {"type": "array", "items": {"type": "string"}},
            "names": {
                "type": "object",
                "description": "Store id -> name, for every store listed: the name in "
                "ref.stores" + _FALLBACK + ".",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "Me": {
        "type": "object",
        "required": ["username", "role", "display_name", "store_name"],
        "properties": {
            "username": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "manager", "seller"]},
            "store_id": {"type": ["string", "null"]},
            "seller_id": {"type": ["string", "null"]},
            "display_name": {
                "type": "string",
                "description": "The user's own display name, else a seller's name in "
                "ref.sellers, else the username.",
            },
            "store_name": {
                "type": ["string", "null"],
                "description": "The name of the user's store in ref.stores"
                + _FALLBACK
                + "; null for a user without a store (an admin).",
            },
        },
    },
    "Credentials": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "const": "bearer"},
            "expires_in": _INT,
        },
    },
    "SaleLines": {
        "description": "Sale lines in the canonical layout (docs/schema.md), money in units.",
        "oneOf": [
            {"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": 10000},
            {"type": "object", "required": ["rows"], "properties": {"rows": {"type": "array"}}},
        ],
    },
    "IngestSummary": {"type": "object", "required": ["accepted", "rejected"]},
    "Status": {"type": "object", "required": ["status"]},
    "OpenAPI": {"type": "object"},
    "Metrics": {"type": "string"},
}

_ERRORS = {
    "400": "Bad parameters",
    "401": "No token, a token refused, or a wrong username or password",
    "403": "Outside the caller's scope",
    "413": "More sale lines than one request may carry",
    "503": "Not ready, or the owning worker cannot answer",
}
# Errors a route answers because of its request body, whether or not it needs a token.
_BODY_ERRORS = {"Credentials": {"401"}, "SaleLines": {"413"}}


def document(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": _operation_id(route),
            "tags": [route.tag],
            "parameters": [
                *(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                    for name in re.findall(r"{(\w+)}", route.path)
                ),
                *(
                    {"name": name, "in": "query", "required": False, **_QUERY[name]}
                    for name in route.query
                ),
            ],
            "responses": {"200": _response(route)},
        }
        if route.auth:
            operation["security"] = [{"bearer": []}]
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{route.body}"}}
                },
            }
        body_errors = _BODY_ERRORS.get(route.body or "", set())
        for status, text in _ERRORS.items():
            if status in {"401", "403"} and not route.auth and status not in body_errors:
                continue
            if status == "413" and status not in body_errors:
                continue
            operation["responses"][status] = {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DataApp lookup API",
            "version": "1",
            "description": "Live and historical sales figures of a retail chain. Money is in "
            "integer cents; dates are the store's local dates; ranges are closed.",
        },
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _response(route: Route) -> dict[str, Any]:
    if route.raw:
        return {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "description": "OK",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{route.response}"}}
        },
    }


def _operation_id(route: Route) -> str:
    path = re.sub(r"[{}]", "", route.path).strip("/")
    words = re.sub(r"[/.-]", "_", path)
    return f"{route.method.lower()}_{words}"
