"""``dataapp dashboard``: the Panel server for the dashboards, signed in with the API's users.

Pages: ``/login`` and ``/logout`` (``views/auth.py``), ``/`` (to the page of one's role),
``/manager`` (``views/manager.py``) and ``/seller`` (``views/seller.py``). Everything on
them comes from the lookup API at ``DATAAPP_API_URL``, called with the user's own token.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import panel as pn
from cryptography.fernet import Fernet
from tornado.httpclient import AsyncHTTPClient

from views import manager, seller
from views.auth import ApiAuthProvider, HomeHandler
from views.i18n import DEFAULT_LOCALE, text

DEFAULT_PORT = 5006
MAX_API_REQUESTS = 200


def serve(
    api_url: str,
    port: int = DEFAULT_PORT,
    address: str = "127.0.0.1",
    cookie_secret: str | None = None,
    encryption_key: str | None = None,
    show: bool = False,
) -> Any:
    """Serve the dashboards until stopped. The cookie secret signs the session cookies and
    the encryption key encrypts the API token inside them: several dashboard processes
    behind one address must share both (``DATAAPP_DASHBOARD_COOKIE_SECRET``,
    ``DATAAPP_DASHBOARD_ENCRYPTION_KEY``); by default each start makes new ones, which signs
    everyone out."""
    os.environ["DATAAPP_API_URL"] = api_url
    # Behind a reverse proxy, the browser's origin is the public name (host[:port]).
    allowed_origins = [
        origin.strip()
        for origin in os.environ.get("DATAAPP_DASHBOARD_ORIGINS", "").split(",")
        if origin.strip()
    ]
    pn.config.cookie_secret = cookie_secret or secrets.token_urlsafe(32)
    pn.config.oauth_encryption_key = (
        encryption_key.encode() if encryption_key else Fernet.generate_key()
    )
    pn.extension("tabulator", sizing_mode="stretch_width", notifications=False)
    # Every open page asks the API several things at once; tornado's default of 10 requests
    # in flight for the whole process would queue them into timeouts.
    AsyncHTTPClient.configure(None, max_clients=MAX_API_REQUESTS)
    return pn.serve(
        {"manager": manager.page, "seller": seller.page},
        port=port,
        address=address,
        websocket_origin=[
            f"{address}:{port}",
            f"localhost:{port}",
            f"127.0.0.1:{port}",
            *allowed_origins,
        ],
        auth_provider=ApiAuthProvider(api_url),
        cookie_secret=pn.config.cookie_secret,
        extra_patterns=[(r"/", HomeHandler)],
        show=show,
        title=text("app.title", DEFAULT_LOCALE),
        liveness=True,
    )
