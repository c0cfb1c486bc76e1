"""End-to-end flows in a real browser: Debian's headless Chromium, driven by Selenium, against
the app on a real HTTP server over the ingested corpus. Slow (a few seconds each): kept few."""
from __future__ import annotations

import csv
import io
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser_support import chromium, copy_data_dir, serve_app, wait_for

pytestmark = pytest.mark.browser
QUESTION = "coordination entre SSIAD et infirmiers libéraux"


@pytest.fixture(scope="module")
def base_url(ingested, tmp_path_factory):
    with serve_app({"data_dir": copy_data_dir(ingested, tmp_path_factory.mktemp("e2e"))}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url):
    with chromium() as driver:
        yield driver


def resources_outside(driver, base_url) -> list[str]:
    """Everything the page loaded from elsewhere than this server (must stay empty)."""
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith(base_url)]


def test_search_filter_orientation_actor(browser, base_url):
    from selenium.webdriver.common.by import By

    d = browser
    d.get(base_url + "/")
    assert d.execute_script("return document.documentElement.lang") == "fr"
    box = d.find_element(By.NAME, "q")
    box.send_keys(QUESTION)
    box.submit()
    wait_for(d, "ol.hits")
    assert "coordination entre SSIAD" in d.title
    hits_before = len(d.find_elements(By.CSS_SELECTOR, "ol.hits > li"))
    assert hits_before >= 2 and d.find_elements(By.CSS_SELECTOR, "ol.hits mark")

    # filter by an actor facet: the page reloads filtered, the value shown as active
    facet = d.find_elements(By.CSS_SELECTOR, "a.facet-value[data-facet='actor']")[0]
    label = facet.get_attribute("data-label")
    facet.click()
    wait_for(d, ".active-filters")
    assert "actor=" in d.current_url
    assert d.find_elements(By.CSS_SELECTOR, "a.facet-value.on[data-facet='actor']")
    assert label in d.find_element(By.CSS_SELECTOR, ".active-filters").text
    hits = d.find_elements(By.CSS_SELECTOR, "ol.hits > li")
    assert 1 <= len(hits) <= hits_before

    # open the first orientation: its title, breadcrumb and marked mentions
    link = d.find_element(By.CSS_SELECTOR, "ol.hits > li h2 a")
    title = link.text
    link.click()
    wait_for(d, "article.orientation")
    orientation_path = urlparse(d.current_url).path
    assert orientation_path.startswith("/orientation/")
    assert d.find_element(By.TAG_NAME, "h1").text.endswith(title.split(" ", 1)[-1])
    assert d.find_elements(By.CSS_SELECTOR, "nav.breadcrumb li a")
    assert d.find_elements(By.CSS_SELECTOR, ".section-text a.mention.m-actor")

    # then an actor it mentions: the entity page lists this orientation and draws the graph
    chip = d.find_element(By.CSS_SELECTOR, ".entity-groups a.chip-actor")
    chip.click()
    wait_for(d, "figure.graph svg")
    assert urlparse(d.current_url).path.startswith("/entite/actor/")
    assert "(acteur)" in d.title
    listed = [urlparse(a.get_attribute("href")).path
              for a in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby='orientations'] a")]
    assert orientation_path in listed
    assert len(d.find_elements(By.CSS_SELECTOR, "figure.graph svg a")) >= 3
    assert resources_outside(d, base_url) == []


def test_sparql_editor_runs_a_named_query(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(base_url + "/sparql")
    wait_for(d, ".yasqe_queryButton")
    Select(d.find_element(By.ID, "named-query")).select_by_value("ui_plan_nodes")
    assert "ui_plan_nodes" in d.execute_script("return window.hpkgYasgui.getTab().getQuery()")
    d.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    wait_for(d, ".yasr table tbody tr")
    rows = d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr")
    assert len(rows) >= 15  # plan, scheme and every section
    assert "Projet régional de santé 2012-2016" in d.find_element(By.CSS_SELECTOR, ".yasr table").text

    # the CSV link follows the editor and the server answers it in CSV
    href = d.find_element(By.ID, "csv-link").get_attribute("href")
    assert "ui_plan_nodes" in parse_qs(urlparse(href).query)["query"][0]
    with urllib.request.urlopen(href, timeout=30) as answer:
        assert answer.headers.get_content_type() == "text/csv"
        table = list(csv.reader(io.StringIO(answer.read().decode("utf-8"))))
    assert table[0][:2] == ["node", "kind"] and len(table) == len(rows) + 1
    assert resources_outside(d, base_url) == []


def test_phone_width_keyboard_and_french_404(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d = browser
    d.set_window_size(390, 844)
    try:
        d.get(f"{base_url}/search?q={QUESTION}")
        wait_for(d, "ol.hits")
        assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        # keyboard: the first Tab reaches the skip link, which is then visible and focused
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        focused = d.switch_to.active_element
        assert focused.get_attribute("class") == "skip" and focused.is_displayed()
        assert d.execute_script("return getComputedStyle(document.activeElement).outlineStyle") != "none"
        d.get(base_url + "/plan")
        summary = d.find_element(By.CSS_SELECTOR, "ul.tree details:not([open]) > summary")
        summary.send_keys(Keys.ENTER)  # <details> opens from the keyboard, no script needed
        assert summary.find_element(By.XPATH, "..").get_attribute("open") is not None
        d.get(base_url + "/pas-de-page-ici")
        assert d.title.startswith("Page introuvable")
        assert "Cette adresse ne correspond à aucune page" in d.find_element(By.TAG_NAME, "main").text
    finally:
        d.set_window_size(1280, 900)
