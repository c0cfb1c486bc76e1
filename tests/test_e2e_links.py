"""Project linking in a real browser (Debian's headless Chromium via Selenium) over the ingested
corpus: log in, create a project (its title an XSS payload), confirm two suggestions, reject one,
see the project on the axis page."""
from __future__ import annotations

import pytest

from tests.browser_support import chromium, copy_data_dir, serve_app, wait_for

pytestmark = pytest.mark.browser
PASSWORD = "mot de passe solide"
XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


@pytest.fixture(scope="module")
def base_url(ingested, tmp_path_factory):
    from kg.users import UserStore

    data_dir = copy_data_dir(ingested, tmp_path_factory.mktemp("e2e-links"))
    UserStore(data_dir).add("alice", PASSWORD, role="editor")
    with serve_app({"data_dir": data_dir, "secret_key": "e2e-links"}) as url:
        yield url


def decide(driver, status: str) -> str:
    """Click Confirmer / Rejeter on the first pending suggestion; returns its section IRI."""
    from selenium.webdriver.common.by import By

    item = driver.find_element(By.CSS_SELECTOR, "#liens-suggested > li")
    section = item.get_attribute("data-section")
    item.find_element(By.CSS_SELECTOR, f"button.{status}").click()
    wait_for(driver, f"#liens-{status} > li[data-section='{section}']")
    return section


def test_login_create_confirm_reject_axis(base_url):
    from selenium.webdriver.common.by import By

    with chromium() as d:
        d.get(base_url + "/projets/nouveau")  # a protected page sends to the login form first
        wait_for(d, "input#password")
        d.find_element(By.ID, "name").send_keys("alice")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        wait_for(d, "form#projet-form")

        d.find_element(By.ID, "title").send_keys(XSS)
        d.find_element(By.ID, "description").send_keys(
            "Convention entre un SSIAD et les infirmières libérales du canton pour organiser les tournées "
            "au domicile des personnes âgées, avec un GCSMS pour mutualiser les moyens.")
        d.find_element(By.ID, "territories").send_keys("84")
        d.find_element(By.CSS_SELECTOR, "form#projet-form button[type=submit]").click()
        title = wait_for(d, "h1#titre-projet")

        # the payload is text: shown verbatim, never run, no element injected
        assert title.text == XSS
        assert d.title.startswith(XSS)  # the payload would have set it to "pwned"
        assert not d.find_elements(By.CSS_SELECTOR, "h1#titre-projet img, h1#titre-projet script")
        assert len(d.find_elements(By.CSS_SELECTOR, "#liens-suggested > li")) >= 3
        assert "comme cette orientation" in d.find_element(By.CSS_SELECTOR, "#liens-suggested").text

        confirmed = [decide(d, "confirmed"), decide(d, "confirmed")]
        decide(d, "rejected")
        assert len(d.find_elements(By.CSS_SELECTOR, "#liens-confirmed > li")) == 2
        assert len(d.find_elements(By.CSS_SELECTOR, "#liens-rejected > li")) == 1
        assert "alice" in d.find_element(By.CSS_SELECTOR, "#liens-confirmed").text

        # the axis page of a confirmed section lists the project (as text again)
        d.find_element(By.CSS_SELECTOR, f"#liens-confirmed > li[data-section='{confirmed[0]}'] a").click()
        listed = wait_for(d, "#projets-confirmes")
        assert XSS in listed.text and "confirmé par alice" in listed.text
        assert d.title != "pwned" and listed.find_elements(By.CSS_SELECTOR, "img, script") == []
