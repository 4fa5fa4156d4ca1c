"""Helpers for the browser tests: window sizes, screenshots and the browser console."""

from __future__ import annotations

import re
import time
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[2]
# Git-ignored (test-output/ in .gitignore): CI keeps it as an artifact, a clone never sees it.
SCREENSHOTS = REPO / "test-output" / "screenshots"

PHONE = (375, 812)
DESKTOP = (1440, 900)
PHONE_WIDTHS = (360, 375, 414)
"""Common phone widths in CSS pixels: small Android, iPhone X-13 mini, large iPhone."""
PHONE_HEIGHT = 800
MOBILE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Make the page's viewport (window.innerWidth × innerHeight) exactly width × height.

    A window size is not a viewport size, even headless: Chromium 156's new headless mode
    reserves 143 px of height for browser UI it does not draw (a 375×812 window gives a
    375×669 viewport). So size the window, measure what the page got, and grow the window by
    the difference; screenshots then have the viewport's size in pixels too.
    """
    driver.set_window_size(width, height)
    inner_width, inner_height = viewport_size(driver)
    if (inner_width, inner_height) != (width, height):
        driver.set_window_size(width + width - inner_width, height + height - inner_height)


def set_phone(driver: WebDriver) -> None:
    """A phone-sized viewport: 375×812 CSS pixels (an iPhone X / 11 Pro / 12 mini)."""
    set_viewport(driver, *PHONE)


def set_desktop(driver: WebDriver) -> None:
    """A desktop-sized viewport: 1440×900 CSS pixels."""
    set_viewport(driver, *DESKTOP)


def emulate_phone(driver: WebDriver, width: int, height: int = PHONE_HEIGHT) -> None:
    """Real mobile emulation, as Chrome's device mode does it: a mobile viewport (which
    honours or lacks the page's ``<meta name="viewport">``, unlike a narrow desktop window),
    a phone's user agent, and touch. Reload the page afterwards."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )
    driver.execute_cdp_cmd(
        "Emulation.setUserAgentOverride",
        {"userAgent": MOBILE_USER_AGENT, "platform": "Android"},
    )
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})


def stop_emulation(driver: WebDriver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": ""})


def is_touch_phone(driver: WebDriver) -> bool:
    """What the page itself believes: a coarse pointer and a mobile user agent."""
    return bool(
        driver.execute_script(
            "return matchMedia('(pointer: coarse)').matches && /Mobile/.test(navigator.userAgent)"
            " && navigator.maxTouchPoints > 0;"
        )
    )


def overflowing_text(driver: WebDriver) -> list[str]:
    """Text that spills out of its KPI card, and a page wider than the viewport."""
    return driver.execute_script((_HERE / "overflow.js").read_text(encoding="utf-8"))


def viewport_size(driver: WebDriver) -> tuple[int, int]:
    """The page's CSS viewport as the page itself sees it (what media queries match)."""
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    return int(width), int(height)


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the visible viewport as test-output/screenshots/<name>.png and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "screenshot"
    path = SCREENSHOTS / f"{stem.removesuffix('.png')}.png"
    path.write_bytes(driver.get_screenshot_as_png())
    return path


def full_page_screenshot(driver: WebDriver, name: str, mobile: bool = False) -> Path:
    """The whole page, top to bottom, at the current viewport's width, for a person to read
    it as a user scrolling through it would. Panel's template scrolls its main area rather
    than the document, so the viewport is made as tall as that content for the shot."""
    width, height = viewport_size(driver)
    total = driver.execute_script(
        "const m = document.querySelector('#main');"
        "return Math.max(document.documentElement.scrollHeight,"
        " m ? m.scrollHeight + m.getBoundingClientRect().top : 0);"
    )
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": int(total)})
    time.sleep(1)  # the charts resize to the new viewport
    path = screenshot(driver, f"{name}-full")
    if mobile:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16-24, big-endian)."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG: {path}")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def console_errors(driver: WebDriver) -> list[str]:
    """SEVERE browser-console entries since the last call (reading drains Chrome's buffer).

    A missing favicon is the browser's own request, not the page's, so its 404 is ignored.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry.get("level") == "SEVERE" and "favicon.ico" not in entry.get("message", "")
    ]


_HERE = Path(__file__).parent


def contrast_failures(driver: WebDriver) -> list[str]:
    """Visible text whose contrast with its background is under WCAG 2's AA minimum (4.5:1,
    3:1 for large text), across shadow roots; disabled controls are exempt, as in WCAG."""
    return driver.execute_script((_HERE / "contrast.js").read_text(encoding="utf-8"))


def unlabelled_controls(driver: WebDriver) -> list[str]:
    """Visible inputs, selects, text areas and buttons with no accessible name."""
    return driver.execute_script((_HERE / "labels.js").read_text(encoding="utf-8"))
