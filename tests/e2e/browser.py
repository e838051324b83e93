"""A real headless Chromium (Debian's `chromium` + `chromedriver` packages) driven by Selenium.

Nothing is downloaded: the browser and its driver are the system's. Without them the browser tests skip,
naming the packages to install (CI installs them in .ci/run).
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
ROOT = Path(__file__).resolve().parents[2]
WIDTH = 1280


def require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.skip(f"no headless browser: {', '.join(missing)} not found; install with `{INSTALL}`")


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium session, closed afterwards."""
    require_chromium()
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDTH},900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = start_driver(options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def start_driver(options: webdriver.ChromeOptions, attempts: int = 3) -> WebDriver:
    """Start Chromium, again if it fails to come up: its first start on a fresh machine (profile and
    font caches being built) can outlast ChromeDriver's wait for it."""
    for attempt in range(1, attempts + 1):
        try:
            return webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
        except WebDriverException:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def screenshot_folder(default: Path) -> Path:
    """B24_UI_SCREENSHOTS (relative to the repository, e.g. docs/ui) when set, else `default`."""
    chosen = os.environ.get("B24_UI_SCREENSHOTS")
    folder = (ROOT / chosen) if chosen else default
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def full_page_screenshot(driver: WebDriver, path: Path) -> Path:
    """The whole page, not only the window (Chromium's DevTools capture beyond the viewport)."""
    assert isinstance(driver, webdriver.Chrome)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def submit(driver: WebDriver, button: WebElement, timeout: float = 30) -> None:
    """Click a button that loads a new page and wait until that page has replaced this one.

    A click returns as soon as the browser has dispatched it; a form POST whose handler calls the
    portal (restore, replay) may still be running, and reading the page at once finds the old one.
    """
    old_page = driver.find_element(By.TAG_NAME, "html")
    button.click()

    def replaced(_: WebDriver) -> bool:
        try:
            old_page.tag_name  # noqa: B018 (asked only to see whether the old page is still there)
        except WebDriverException:  # stale, or (mid-navigation, in ChromeDriver) "node … does not belong
            return True  # to the document": either way the old page is gone
        return False

    WebDriverWait(driver, timeout).until(replaced)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
