"""The dashboards' only source of data: the lookup API, called with the signed-in user's own
token, so the API's roles apply unchanged (a seller's dashboard cannot show what the
seller's token cannot read)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

TIMEOUT_SECONDS = 10.0


class ApiProblem(Exception):
    """An answer other than 200: ``status`` 0 when the API could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def unavailable(self) -> bool:
        return self.status in (0, 502, 503, 504, 599)


@dataclass(frozen=True, slots=True)
class ApiClient:
    base_url: str
    token: str

    async def get(self, path: str, **query: str | int) -> Any:
        url = self.base_url.rstrip("/") + path
        if query:
            url += "?" + urlencode({k: str(v) for k, v in query.items()})
        request = HTTPRequest(
            url,
            headers={"Authorization": f"Bearer {self.token}"},
            request_timeout=TIMEOUT_SECONDS,
        )
        return await _fetch(request)

    async def post(self, path: str, body: Any) -> Any:
        return await self._send("POST", path, body)

    async def put(self, path: str, body: Any) -> Any:
        return await self._send("PUT", path, body)

    async def _send(self, method: str, path: str, body: Any) -> Any:
        request = HTTPRequest(
            self.base_url.rstrip("/") + path,
            method=method,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            request_timeout=TIMEOUT_SECONDS,
        )
        return await _fetch(request)


async def sign_in(base_url: str, username: str, password: str) -> dict[str, Any]:
    """The API's token answer for these credentials (``access_token``, ``role``, ...)."""
    request = HTTPRequest(
        base_url.rstrip("/") + "/api/v1/auth/token",
        method="POST",
        body=json.dumps({"username": username, "password": password}),
        headers={"Content-Type": "application/json"},
        request_timeout=TIMEOUT_SECONDS,
    )
    return await _fetch(request)


def segment(value: str) -> str:
    """An id as one path segment."""
    return quote(value, safe="")


async def _fetch(request: HTTPRequest) -> Any:
    try:
        response = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as error:
        message = ""
        if error.response is not None and error.response.body:
            try:
                message = json.loads(error.response.body).get("message", "")
            except ValueError:
                message = error.response.body.decode(errors="replace")[:200]
        raise ApiProblem(error.code, message or str(error)) from None
    except OSError as error:  # refused, unreachable, timeout
        raise ApiProblem(0, str(error)) from None
    return json.loads(response.body)
