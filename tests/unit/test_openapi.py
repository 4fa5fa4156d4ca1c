"""The OpenAPI document (``app/api/openapi.py``) is a well-formed OpenAPI 3.1 document that
describes every route of ``app.api.routes.ROUTES``, and nothing else.

No OpenAPI or JSON Schema validator is installed (and none is added for this), so the checks
are structural: the shapes the 3.1 specification requires of the objects the document uses,
every ``$ref`` resolving, operation ids unique, parameters matching the path templates, and
the schemas themselves internally consistent (required properties declared, defaults allowed
by their own enum and bounds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from app.api.openapi import document
from app.api.periods import GRANULARITIES, RANKINGS
from app.api.routes import ROUTES, Route

DOC = document(ROUTES)

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Fixed fields of the OpenAPI 3.1 objects the document uses (specification section 4.8).
OPENAPI_FIELDS = {
    "openapi",
    "info",
    "jsonSchemaDialect",
    "servers",
    "paths",
    "webhooks",
    "components",
    "security",
    "tags",
    "externalDocs",
}
INFO_FIELDS = {"title", "summary", "description", "termsOfService", "contact", "license", "version"}
PATH_ITEM_FIELDS = {"$ref", "summary", "description", "servers", "parameters", *HTTP_METHODS}
OPERATION_FIELDS = {
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
}
PARAMETER_FIELDS = {
    "name",
    "in",
    "description",
    "required",
    "deprecated",
    "allowEmptyValue",
    "style",
    "explode",
    "allowReserved",
    "schema",
    "example",
    "examples",
    "content",
}
RESPONSE_FIELDS = {"description", "headers", "content", "links"}
COMPONENT_FIELDS = {
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
}
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    """Every (JSON pointer, value) of the document, depth first."""
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from walk(value, f"{where}/{escaped}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), f"only local references are expected: {pointer}"
    node: Any = DOC
    for token in pointer[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{pointer} does not resolve"
        node = node[token]
    return node


def schemas_in(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON Schema object under ``node`` (a schema), itself included."""
    if not isinstance(node, dict):
        return
    yield where, node
    for key in ("properties", "patternProperties", "$defs"):
        for name, child in node.get(key, {}).items():
            yield from schemas_in(child, f"{where}/{key}/{name}")
    for key in ("items", "additionalProperties", "not", "contains"):
        if isinstance(node.get(key), dict):
            yield from schemas_in(node[key], f"{where}/{key}")
    for key in ("oneOf", "anyOf", "allOf", "prefixItems"):
        for index, child in enumerate(node.get(key, [])):
            yield from schemas_in(child, f"{where}/{key}/{index}")


def all_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in DOC["components"]["schemas"].items():
        yield from schemas_in(schema, f"#/components/schemas/{name}")
    for path, method, operation in operations():
        for parameter in operation["parameters"]:
            yield from schemas_in(parameter["schema"], f"{method} {path} {parameter['name']}")


# --------------------------------------------------------------------------- top level


def test_the_document_is_openapi_3_1_and_plain_json() -> None:
    assert DOC["openapi"] == "3.1.0"
    assert set(DOC) <= OPENAPI_FIELDS
    assert set(DOC["info"]) <= INFO_FIELDS
    assert isinstance(DOC["info"]["title"], str) and DOC["info"]["title"]
    assert isinstance(DOC["info"]["version"], str) and DOC["info"]["version"]
    assert set(DOC["components"]) <= COMPONENT_FIELDS
    # What the API serves is this document through orjson: it must round-trip unchanged
    # (no tuples, sets or non-string keys that JSON would alter).
    assert orjson.loads(orjson.dumps(DOC)) == DOC


def test_the_document_is_built_afresh_each_time() -> None:
    """Two calls give equal, independent documents: serving one never alters the next."""
    first, second = document(ROUTES), document(ROUTES)
    assert first == second
    first["paths"].clear()
    assert document(ROUTES) == second


# --------------------------------------------------------------------------- paths


def test_every_route_is_documented_and_nothing_else() -> None:
    documented = {(method.upper(), path) for path, method, _ in operations()}
    routed = {(route.method, route.path) for route in ROUTES}
    assert documented == routed
    assert len(routed) == len(ROUTES), "two routes share a method and path"


def test_paths_and_path_items_have_the_required_shape() -> None:
    for path, item in DOC["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= PATH_ITEM_FIELDS, (path, set(item) - PATH_ITEM_FIELDS)
        assert item, f"{path} has no operation"
    # Templated paths that differ only in parameter names are ambiguous (3.1, 4.8.8).
    shapes = [re.sub(r"{[^}]+}", "{}", path) for path in DOC["paths"]]
    assert len(shapes) == len(set(shapes))


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_operation_has_the_required_shape(route: Route) -> None:
    operation = DOC["paths"][route.path][route.method.lower()]
    assert set(operation) <= OPERATION_FIELDS, set(operation) - OPERATION_FIELDS
    assert operation["summary"] == route.summary
    assert operation["tags"] == [route.tag]

    responses = operation["responses"]
    assert responses, "an operation needs at least one response"
    assert "200" in responses
    for status, response in responses.items():
        assert re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", status), status
        assert set(response) <= RESPONSE_FIELDS
        assert isinstance(response["description"], str) and response["description"]
        for media_type, content in response.get("content", {}).items():
            assert re.fullmatch(r"[\w.+-]+/[\w.+-]+", media_type), media_type
            assert "schema" in content
    expected_type = "text/plain" if route.raw else "application/json"
    assert set(responses["200"]["content"]) == {expected_type}
    # Every error is the JSON Error object, never something else.
    for status, response in responses.items():
        if status != "200":
            assert response["content"] == {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            }
    assert {"400", "503"} <= set(responses)
    if route.auth:
        assert {"401", "403"} <= set(responses)
    else:
        assert "403" not in responses
        # Open routes answer 401 only to a sign-in refused (wrong username or password).
        assert ("401" in responses) == (route.body == "Credentials")
    # What a request body can earn: too many lines at once (or a plan history too large);
    # no plan in force, a version taken: only the routes that say so.
    assert ("413" in responses) == (route.body == "SaleLines" or "413" in route.errors)
    assert ("404" in responses) == ("404" in route.errors)
    assert ("409" in responses) == ("409" in route.errors)


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_parameters_match_the_path_template_and_the_route(route: Route) -> None:
    operation = DOC["paths"][route.path][route.method.lower()]
    parameters = operation["parameters"]
    for parameter in parameters:
        assert set(parameter) <= PARAMETER_FIELDS
        assert parameter["in"] in {"query", "header", "path", "cookie"}
        assert isinstance(parameter["name"], str) and parameter["name"]
        # A parameter has a schema or a content map, not both (3.1, 4.8.12.4).
        assert ("schema" in parameter) != ("content" in parameter)
    keys = [(parameter["name"], parameter["in"]) for parameter in parameters]
    assert len(keys) == len(set(keys)), "a parameter is listed twice"

    templated = re.findall(r"{([^}]+)}", route.path)
    in_path = [parameter for parameter in parameters if parameter["in"] == "path"]
    assert [parameter["name"] for parameter in in_path] == templated
    assert all(parameter["required"] is True for parameter in in_path)
    in_query = [parameter for parameter in parameters if parameter["in"] == "query"]
    assert tuple(parameter["name"] for parameter in in_query) == route.query
    assert all(parameter.get("required", False) is False for parameter in in_query)


def test_query_parameters_offer_what_the_handlers_accept() -> None:
    seen: dict[str, dict[str, Any]] = {}
    for _, _, operation in operations():
        for parameter in operation["parameters"]:
            if parameter["in"] == "query":
                seen[parameter["name"]] = parameter["schema"]
    assert seen["granularity"]["enum"] == list(GRANULARITIES)
    assert seen["granularity"]["default"] == "day"
    assert seen["by"]["enum"] == list(RANKINGS)
    assert seen["by"]["default"] == "revenue"
    assert (seen["limit"]["minimum"], seen["limit"]["maximum"]) == (1, 500)
    assert seen["period"]["enum"] == ["month"] and seen["period"]["default"] == "month"
    for name in ("from", "to", "as_of"):
        assert seen[name]["format"] == "date"
        assert re.fullmatch(seen[name]["pattern"], "2026-01-05")
        assert not re.search(seen[name]["pattern"], "2026-1-5")


def test_operation_ids_are_unique_and_well_formed() -> None:
    ids = [operation["operationId"] for _, _, operation in operations()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", operation_id), operation_id


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_security_follows_the_route(route: Route) -> None:
    operation = DOC["paths"][route.path][route.method.lower()]
    schemes = DOC["components"]["securitySchemes"]
    if route.auth:
        assert operation["security"] == [{"bearer": []}]
    else:
        assert "security" not in operation
    assert "security" not in DOC, "a global requirement would also cover the open routes"
    for requirement in operation.get("security", []):
        for name, scopes in requirement.items():
            assert name in schemes
            assert scopes == []  # http schemes take no scopes
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_request_bodies_follow_the_route(route: Route) -> None:
    operation = DOC["paths"][route.path][route.method.lower()]
    if route.body is None:
        assert "requestBody" not in operation
        assert route.method == "GET"
        return
    body = operation["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/json"}
    assert body["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{route.body}"
    }


# --------------------------------------------------------------------------- schemas


def test_every_ref_resolves_to_a_component_schema() -> None:
    refs = [
        (where, node["$ref"])
        for where, node in walk(DOC)
        if isinstance(node, dict) and "$ref" in node
    ]
    assert refs, "the document uses references"
    for where, ref in refs:
        assert isinstance(ref, str), where
        assert ref.startswith("#/components/schemas/"), (where, ref)
        target = resolve(ref)
        assert isinstance(target, dict), (where, ref)


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_the_schemas_a_route_names_exist(route: Route) -> None:
    schemas = DOC["components"]["schemas"]
    assert route.response in schemas
    if route.body is not None:
        assert route.body in schemas
    if not route.raw:
        content = DOC["paths"][route.path][route.method.lower()]["responses"]["200"]["content"]
        assert content["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{route.response}"
        }


def test_schemas_are_consistent() -> None:
    for where, schema in all_schemas():
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            assert types and set(types) <= JSON_TYPES, where
            assert len(types) == len(set(types)), where
        if "required" in schema:
            required = schema["required"]
            assert isinstance(required, list) and len(required) == len(set(required)), where
            if "properties" in schema:
                missing = set(required) - set(schema["properties"])
                assert not missing, f"{where}: required but not declared: {missing}"
        if "enum" in schema:
            assert isinstance(schema["enum"], list) and schema["enum"], where
            assert len(schema["enum"]) == len(set(map(repr, schema["enum"]))), where
        if "default" in schema:
            default = schema["default"]
            if "enum" in schema:
                assert default in schema["enum"], where
            if "minimum" in schema:
                assert default >= schema["minimum"], where
            if "maximum" in schema:
                assert default <= schema["maximum"], where
        if "minimum" in schema and "maximum" in schema:
            assert schema["minimum"] <= schema["maximum"], where
        if "minItems" in schema and "maxItems" in schema:
            assert schema["minItems"] <= schema["maxItems"], where
        if "pattern" in schema:
            re.compile(schema["pattern"])
        for key in ("oneOf", "anyOf", "allOf"):
            if key in schema:
                assert isinstance(schema[key], list) and schema[key], where


def test_the_error_schema_is_what_the_api_sends() -> None:
    error = DOC["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message"]
    properties = error["properties"]
    assert (properties["error"], properties["message"]) == ({"type": "string"},) * 2
    # A refused plan adds the field at fault and the reason; no other error has them.
    assert set(properties) == {"error", "message", "field", "reason"}
    assert all(properties[name]["type"] == "string" for name in ("field", "reason"))


def test_the_figures_schema_names_every_figure_the_api_sends() -> None:
    from app.api.lookups import FIGURE_NAMES

    figures = DOC["components"]["schemas"]["Figures"]["properties"]
    assert set(FIGURE_NAMES) <= set(figures)
    assert all(figures[name] == {"type": "integer"} for name in FIGURE_NAMES)
    point = DOC["components"]["schemas"]["Series"]["properties"]["points"]["items"]
    assert set(FIGURE_NAMES) <= set(point["properties"])
