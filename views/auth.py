"""Signing in to the dashboards with the API's own users, through Panel's authentication.

The login form posts to ``ApiLoginHandler``, which asks the lookup API for a token with the
credentials (``POST /api/v1/auth/token``): there is one set of users, and the password never
stays in the dashboard. The token goes into Panel's signed, http-only ``access_token``
cookie, encrypted (``pn.state.encryption``, a Fernet key), and each dashboard session reads it
with ``pn.state.access_token`` to call the API as that user. ``/`` sends a signed-in user to
the page of their role.

OAuth/OIDC in production: Panel's ``oauth_provider`` (e.g. ``generic`` with an OIDC issuer)
signs users in against the company's identity provider; the API then has to accept that
provider's tokens instead of its own (not built: see docs/dashboards.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from jinja2 import Template
from panel.auth import BasicAuthProvider, BasicLoginHandler, LogoutHandler
from panel.config import config
from panel.io.state import state

from views.api import ApiClient, ApiProblem, sign_in
from views.i18n import LOCALES, resolve_locale, text

LANGUAGE_COOKIE = "dataapp_lang"
TEMPLATES = Path(__file__).parent / "templates"
PAGE_OF_ROLE = {"admin": "/manager", "manager": "/manager", "seller": "/seller"}


def request_locale(handler: tornado.web.RequestHandler) -> str:
    """``?lang=`` if given, else the language cookie, else Brazilian Portuguese (whatever
    the browser says: the stores' language comes first)."""
    return resolve_locale(handler.get_argument("lang", None) or handler.get_cookie(LANGUAGE_COOKIE))


def is_local_path(url: str) -> bool:
    """A path on this server, safe to redirect to after sign-in: no scheme, no host, and
    nothing a browser would read as one ("//host", "/\\host", control characters)."""
    if not url.startswith("/") or "\\" in url or any(ord(c) < 0x20 for c in url):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def _encrypted(value: str) -> bytes:
    if state.encryption is None:
        return value.encode()
    return state.encryption.encrypt(value.encode())


class ApiLoginHandler(BasicLoginHandler):
    """The login page and form: credentials checked by the API, token kept in a cookie."""

    api_url = ""
    _template = Template((TEMPLATES / "login.html").read_text(encoding="utf-8"))

    def get(self) -> None:
        locale = request_locale(self)
        self.set_cookie(LANGUAGE_COOKIE, locale, path="/", samesite="Lax")
        next_url = self.get_argument("next", "")
        if is_local_path(next_url):
            self.set_cookie("next_url", next_url, path="/", samesite="Lax")
        error = self.get_argument("error", "")
        messages = {
            "credentials": "auth.wrong_credentials",
            "unavailable": "error.service_unavailable",
            "expired": "auth.session_expired",
        }
        self.write(
            self._template.render(
                lang=locale.replace("_", "-"),
                locale=locale,
                locales=LOCALES,
                t=lambda key, **params: text(key, locale, **params),
                error=text(messages[error], locale) if error in messages else "",
                login_endpoint=self._login_endpoint,
            )
        )

    async def post(self) -> None:  # type: ignore[override]
        username = self.get_argument("username", "")
        password = self.get_argument("password", "")
        try:
            answer = await sign_in(self.api_url, username, password)
        except ApiProblem as problem:
            reason = "credentials" if problem.status in (400, 401) else "unavailable"
            self.redirect(f"{self._login_endpoint}?error={reason}")
            return
        self.set_current_user(username)
        self.set_secure_cookie(
            "access_token",
            _encrypted(answer["access_token"]),
            expires_days=config.oauth_expiry,
            httponly=True,
            samesite="Lax",
            path="/",
        )
        target = self.get_cookie("next_url", "") or "/"
        self.clear_cookie("next_url", path="/")
        self.redirect(target if is_local_path(target) else "/")


class ApiLogoutHandler(LogoutHandler):
    def get(self) -> None:
        for name in ("user", "id_token", "access_token", "is_guest"):
            self.clear_cookie(name, path="/")
        self.redirect("/login")


class HomeHandler(tornado.web.RequestHandler):
    """``/``: the page of the signed-in user's role, or the login form."""

    api_url = ""

    async def get(self) -> None:
        token = _token_of(self)
        if token is None:
            self.redirect("/login")
            return
        try:
            me = await ApiClient(self.api_url, token).get("/api/v1/me")
        except ApiProblem as problem:
            reason = "expired" if problem.status == 401 else "unavailable"
            self.redirect(f"/login?error={reason}")
            return
        self.redirect(PAGE_OF_ROLE.get(me.get("role", ""), "/login"))


def _token_of(handler: tornado.web.RequestHandler) -> str | None:
    raw = handler.get_secure_cookie("access_token", max_age_days=config.oauth_expiry)
    if raw is None:
        return None
    if state.encryption is not None:
        raw = state.encryption.decrypt(raw)
    return raw.decode()


class ApiAuthProvider(BasicAuthProvider):
    """Panel's basic provider, with the API as the judge of passwords."""

    def __init__(self, api_url: str, **kwargs: Any) -> None:
        super().__init__(login_endpoint="/login", logout_endpoint="/logout", **kwargs)
        ApiLoginHandler.api_url = api_url
        HomeHandler.api_url = api_url

    @property
    def login_handler(self) -> type[ApiLoginHandler]:
        ApiLoginHandler._login_endpoint = self._login_endpoint
        return ApiLoginHandler

    @property
    def logout_handler(self) -> type[ApiLogoutHandler]:
        return ApiLogoutHandler


def session_token() -> str | None:
    """The API token of the user of the current Panel session."""
    return state.access_token
