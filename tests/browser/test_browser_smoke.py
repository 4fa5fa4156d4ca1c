"""The browser infrastructure itself: a page served locally, read, and shot at both sizes."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.browser_tools import (
    DESKTOP,
    PHONE,
    console_errors,
    contrast_failures,
    png_size,
    screenshot,
    set_desktop,
    set_phone,
    unlabelled_controls,
    viewport_size,
)

pytestmark = pytest.mark.browser

HEADING = "Painel de vendas — teste"
PAGE = f"""<!doctype html>
<html lang="pt-BR">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>DataApp</title>
  <style>body {{ margin: 0; font-family: sans-serif; }} h1 {{ margin: 1rem; }}</style>
</head>
<body><h1 id="heading">{HEADING}</h1></body>
</html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no access log in test output
        pass


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[str]:
    """PAGE served by http.server on a free port, in a thread, for this test only."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_page_read_and_shot_at_phone_and_desktop_size(browser: WebDriver, page_url: str) -> None:
    browser.get(page_url)
    assert browser.find_element(By.ID, "heading").text == HEADING

    # set_phone/set_desktop size the viewport, not the window (headless keeps 143 px of
    # height for UI it does not draw); with device scale factor 1 a screenshot is the viewport.
    set_phone(browser)
    assert viewport_size(browser) == PHONE
    phone = screenshot(browser, "smoke-phone")
    set_desktop(browser)
    assert viewport_size(browser) == DESKTOP
    desktop = screenshot(browser, "smoke-desktop")

    assert phone.is_file() and desktop.is_file()
    assert png_size(phone) == PHONE
    assert png_size(desktop) == DESKTOP
    assert console_errors(browser) == []

    # The check above is not vacuous: a page's console error does show up.
    browser.execute_script("console.error('erro de propósito')")
    assert any("erro de propósito" in message for message in console_errors(browser))


def test_the_contrast_and_label_checks_catch_what_they_should(
    browser: WebDriver, page_url: str
) -> None:
    browser.get(page_url)
    assert contrast_failures(browser) == []
    assert unlabelled_controls(browser) == []
    browser.execute_script(
        "const faint = document.createElement('p'); faint.textContent = 'quase invisível';"
        "faint.style.color = '#bbbbbb'; document.body.appendChild(faint);"
        "const host = document.createElement('div'); document.body.appendChild(host);"
        "host.attachShadow({mode: 'open'}).innerHTML = '<input type=\"text\">';"
    )
    assert any("quase invisível" in failure for failure in contrast_failures(browser))
    assert len(unlabelled_controls(browser)) == 1  # found inside a shadow root
