"""A real headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium.

Where the browser is absent the browser tests skip, except under CI=true, where they fail:
CI must not pass by silently testing nothing. `make test` installs it where it can.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.browser.browser_tools import (
    DESKTOP,
    console_errors,
    png_size,
    screenshot,
    set_desktop,
    set_phone,
    set_viewport,
    viewport_size,
)

__all__ = [
    "console_errors",
    "png_size",
    "screenshot",
    "set_desktop",
    "set_phone",
    "set_viewport",
    "viewport_size",
]


@dataclass(frozen=True)
class BrowserBinaries:
    chromium: str
    chromedriver: str


@pytest.fixture(scope="session")
def browser_binaries() -> BrowserBinaries:
    """The system chromium and chromedriver, or a skip (a failure under CI=true)."""
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium and chromedriver:
        return BrowserBinaries(chromium, chromedriver)
    missing = [
        name for name, path in (("chromium", chromium), ("chromedriver", chromedriver)) if not path
    ]
    message = (
        f"browser tests need headless Chromium, but {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not on PATH: "
        "install it with `apt-get install chromium chromium-driver`, or run `make test` as root"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: a missing browser is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def browser(browser_binaries: BrowserBinaries) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium per test, with a 1440×900 viewport and console logs kept."""
    options = webdriver.ChromeOptions()
    options.binary_location = browser_binaries.chromium
    options.add_argument("--headless=new")
    # Containers run as root without user namespaces, and their /dev/shm is often tiny.
    options.add_argument("--no-sandbox")
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--lang=pt-BR")
    # One CSS pixel per screenshot pixel, whatever the host's display says.
    options.add_argument("--force-device-scale-factor=1")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(browser_binaries.chromedriver))
    try:
        set_desktop(driver)
        yield driver
    finally:
        driver.quit()
