"""Screenshots of the main web UI pages, taken in Debian's headless Chromium.

    .venv/bin/python scripts/screenshots.py [--data-dir DIR] [--out docs/screenshots]

Serves the app over DIR (ingesting corpus/ into it first when it holds no graph yet), then
opens home, search results, an orientation, an actor, the plan and the SPARQL editor (after
running a query), and saves one PNG each, plus the results page at phone width.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

QUESTION = "coordination entre SSIAD et infirmiers libéraux"
MAX_HEIGHT = 3400


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("HPKG_DATA_DIR", "data"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)

    from tests.browser_support import chromium, missing_browser, serve

    problem = missing_browser()
    if problem:
        print(f"screenshots: {problem}", file=sys.stderr)
        return 1
    app = _app(args.data_dir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with serve(app) as base, chromium() as driver:
        for name, shoot in _pages(base):
            shoot(driver)
            _save(driver, out / f"{name}.png")
        driver.set_window_size(390, 900)
        driver.get(f"{base}/search?q={QUESTION}")
        _save(driver, out / "results-phone.png", width=390)
    return 0


def _app(data_dir: str):
    from kg.browse import overview
    from search_api import create_app
    from search_api.resources import get_store
    from search_api.settings import load_settings

    settings = load_settings({"data_dir": data_dir})
    app = create_app({"data_dir": data_dir})
    with app.app_context():
        empty = overview(get_store())["sections"] == 0
        if empty:
            from pipeline.build import ingest_paths

            print(f"screenshots: {data_dir} holds no graph; ingesting corpus/ first", file=sys.stderr)
            ingest_paths([ROOT / "corpus"], settings, build_index=True)
        from kg.index import open_index

        open_index(get_store(), settings)  # built now if missing, not during the first search
    return app


def _pages(base: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    def home(d):
        d.get(base + "/")

    def results(d):
        d.get(base + "/")
        box = d.find_element(By.NAME, "q")
        box.send_keys(QUESTION)
        box.submit()
        WebDriverWait(d, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "ol.hits, .empty")))

    def orientation(d):
        d.get(f"{base}/search?q={QUESTION}")
        d.find_element(By.CSS_SELECTOR, "ol.hits h2 a").click()
        WebDriverWait(d, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.orientation")))

    def entity(d):
        orientation(d)
        d.find_element(By.CSS_SELECTOR, ".entity-groups a.chip-actor").click()
        WebDriverWait(d, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "figure.graph svg")))

    def plan(d):
        d.get(base + "/plan")
        d.execute_script("document.querySelectorAll('ul.tree details').forEach(x => x.open = true)")

    def sparql(d):
        d.get(base + "/sparql")
        WebDriverWait(d, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".yasqe_queryButton"))).click()
        WebDriverWait(d, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".yasr table tbody tr")))

    return [("home", home), ("results", results), ("orientation", orientation), ("entity", entity),
            ("plan", plan), ("sparql", sparql)]


def _save(driver, path: Path, width: int = 1280) -> None:
    """A full-page PNG: the window is grown to the page height (capped) before the shot."""
    height = driver.execute_script(  # the footer's bottom: hidden editor parts may inflate scrollHeight
        "const f = document.querySelector('footer'); "
        "return Math.ceil(f ? f.getBoundingClientRect().bottom + window.scrollY + 90 : document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(max(height, 700), MAX_HEIGHT))
    time.sleep(0.3)  # let the layout settle after the resize
    driver.save_screenshot(str(path))
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
