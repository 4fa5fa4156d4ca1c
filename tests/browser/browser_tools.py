"""Helpers for the browser tests: window sizes, screenshots and the browser console."""

from __future__ import annotations

import re
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[2]
# Git-ignored (test-output/ in .gitignore): CI keeps it as an artifact, a clone never sees it.
SCREENSHOTS = REPO / "test-output" / "screenshots"

PHONE = (375, 812)
DESKTOP = (1440, 900)


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
