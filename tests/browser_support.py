"""Real-browser helpers shared by tests/test_e2e_browser.py and scripts/screenshots.py:
the app on a real HTTP server (127.0.0.1, free port, in a thread) and Debian's headless
Chromium driven by Selenium. Never downloads a browser or a driver."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = os.environ.get("HPKG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HPKG_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--lang=fr-FR", "--force-device-scale-factor=1",
)


def missing_browser() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} is missing: run `make sysdeps` (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def serve(app):
    """Run `app` on a real HTTP server at a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hpkg-e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    """A headless Chromium (Debian's) with a fresh profile, closed and cleaned up after use."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hpkg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def copy_data_dir(settings: dict, dest: Path) -> str:
    """A private copy of an ingested data directory: the embedded store allows one opener per
    process, and other tests may hold the original open. Returns the copy's path."""
    target = Path(dest) / "data"
    shutil.copytree(settings["data_dir"], target)
    return str(target)


@contextmanager
def serve_app(config: dict):
    """`create_app(config)` on a real HTTP server; yields its base URL. The app's store is
    closed at the end, while the (temporary) data directory still exists."""
    from search_api import create_app
    from search_api.resources import get_store

    problem = missing_browser()
    if problem:
        raise RuntimeError(problem)
    app = create_app(config)
    try:
        with serve(app) as url:
            yield url
    finally:
        with app.app_context():
            if "store" in app.extensions["hpkg"]:
                get_store().close()


def wait_for(driver, css: str, timeout: float = 60):
    """The first element matching `css`, once it is present (TimeoutException after `timeout`)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))
