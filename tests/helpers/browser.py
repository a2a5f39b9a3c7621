"""Headless Chromium for the console's browser tests: Debian's `chromium` driven by its
`chromedriver` through Selenium (nothing downloaded). Every wait is bounded; the browser's
console is collected so a test can require a page to load without errors.

Credentials ride on every request the page makes (navigation, scripts, fetch) as an
Authorization header set through the DevTools protocol, as a proxy or a password manager
would send them; a browser with no credentials sends none.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.support import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)  # a common phone's CSS viewport
WAIT_SECONDS = 20.0
LONGEST_SHOT = 1800  # CSS px: a full-page screenshot stops here (about two phone screens)
SCREENSHOTS_ENV = "TGWEBHOOK_SCREENSHOTS"


@dataclass
class Browser:
    driver: webdriver.Chrome
    base_url: str
    name: str  # for screenshot file names: desktop / phone

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.wait_for(lambda: self.script("return document.readyState") == "complete", "load")

    def find(self, css: str, timeout: float = WAIT_SECONDS) -> WebElement:
        found = self.wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, css), css, timeout)
        return found[0]

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)

    def wait_for(
        self, predicate: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS
    ) -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda _: predicate()
            )
        except TimeoutException:
            raise AssertionError(f"{what}: not seen within {timeout} s") from None

    def console_errors(self) -> list[str]:
        """Errors the browser logged since the last call (a failed load, a CSP violation, an
        uncaught exception), one message each."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        """The whole page (up to LONGEST_SHOT px) as `<name>-<browser>.png` in the screenshot
        folder: $TGWEBHOOK_SCREENSHOTS when set, else a temporary one."""
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "scale": 1}
        clip["height"] = min(size["height"], LONGEST_SHOT)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path = screenshot_dir() / f"{name}-{self.name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def screenshot_dir() -> Path:
    folder = os.environ.get(SCREENSHOTS_ENV) or os.path.join(
        tempfile.gettempdir(), "tgwebhook-screenshots"
    )
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_options(size: tuple[int, int], phone: bool) -> Options:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    if phone:  # the page's viewport meta applies, as on a phone
        metrics = {"width": size[0], "height": size[1], "pixelRatio": 2.0, "mobile": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@contextmanager
def open_browser(
    base_url: str, authorization: str | None = None, size: tuple[int, int] = DESKTOP
) -> Iterator[Browser]:
    """A headless Chromium (quit at exit) whose every request carries `authorization`."""
    phone = size == PHONE
    service = Service(CHROMEDRIVER, port=free_port())
    driver = webdriver.Chrome(options=chromium_options(size, phone), service=service)
    try:
        driver.set_page_load_timeout(WAIT_SECONDS)
        driver.set_script_timeout(WAIT_SECONDS)
        if authorization:
            driver.execute_cdp_cmd("Network.enable", {})
            headers = {"headers": {"Authorization": authorization}}
            driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", headers)
        yield Browser(driver, base_url.rstrip("/"), "phone" if phone else "desktop")
    finally:
        driver.quit()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
