"""XSS through every user field that is stored or echoed (project fields, link reasons, CSV
import cells, login name, search query and filters, `next`, error messages, SPARQL text on the
error page): the payload is text in every HTML page (no element, attribute or javascript: URL
comes from it), data in JSON; CSV exports neutralise formulas; security headers on every
response; one check in real Chromium (no dialog, text shown literally, YASGUI runs under the CSP)."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import lxml.html
import pytest

from tests.hostile_support import close_app, login, make_app

XSS = ('<script>alert(1)</script>"><img src=x onerror=alert(1)></textarea><svg onload=alert(1)>'
       "'><a href=javascript:alert(1)>x</a>")
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1;2)", "-2+3", "@SUM(A1)", "\t=1+1"]
# <script> elements the templates write themselves (all on /sparql): src or JSON data.
OWN_SCRIPTS = re.compile(r"^/static/(sparql\.js|vendor/yasgui/yasgui\.min\.js)$")


@pytest.fixture(scope="module")
def app(ingested, tmp_path_factory):
    app = make_app(ingested, tmp_path_factory.mktemp("hostile-xss"))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def stored(app):
    """A logged-in client and a project whose every free field holds the payload, with a link
    whose reason holds it too."""
    client = app.test_client()
    token = login(client)
    headers = {"X-CSRF-Token": token}
    created = client.post("/api/projects", headers=headers, json={
        "title": XSS[:200], "description": "Maison de santé " + XSS, "promoter": XSS})
    assert created.status_code == 201, created.data
    project = created.get_json()
    section = project["alignments"][0]["section"]
    decided = client.post(f"/api/projects/{project['id']}/links", headers=headers,
                          json={"section": section, "status": "confirmed", "reasons": [XSS]})
    assert decided.status_code == 200, decided.data
    return {"client": client, "token": token, "project": project, "section": section}


def assert_inert(html: str, where: str) -> lxml.html.HtmlElement:
    """No element, event attribute or javascript: URL made from the payload."""
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html, where
    page = lxml.html.fromstring(html)
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("img", "iframe", "object", "embed"), (where, element.tag)
        if element.tag == "script":
            assert OWN_SCRIPTS.match(element.get("src", "")) or element.get("type") == "application/json", where
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (where, element.tag, name)
            if name in ("href", "src", "action", "formaction"):
                assert not value.strip().lower().startswith(("javascript:", "data:text")), (where, value)
    return page


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def html_of(response) -> str:
    assert response.mimetype == "text/html", (response.status_code, response.mimetype)
    return response.get_data(as_text=True)


def test_stored_payload_is_text_on_every_page(stored):
    client, project, section = stored["client"], stored["project"], stored["section"]
    pages = [f"/projets/{project['id']}", "/projets", f"/projets/{project['id']}/modifier",
             "/couverture", f"/axe?iri={quote(section, safe='')}",
             "/orientation/" + section.split("/id/section/", 1)[1]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = assert_inert(html_of(response), url)
        if url.startswith("/projets/") and not url.endswith("modifier"):
            text = page.text_content()
            assert XSS[:200] in text and "Maison de santé " + XSS in text, url
    form = lxml.html.fromstring(html_of(client.get(f"/projets/{project['id']}/modifier")))
    assert form.get_element_by_id("promoter").get("value") == XSS  # an attribute value, intact
    assert form.get_element_by_id("description").text_content() == "Maison de santé " + XSS


def test_json_gives_the_payload_back_as_data(stored):
    client, project = stored["client"], stored["project"]
    response = client.get(f"/api/projects/{project['id']}")
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["promoter"] == XSS and body["alignments"][0]["reasons"] == [XSS]
    for url in (f"/entite.json?iri={quote(XSS, safe='')}", f"/api/projects/{quote(XSS, safe='')}"):
        error = client.get(url)
        assert error.status_code in (400, 404) and error.mimetype == "application/json", url
        assert "<script>alert(1)</script>" in error.get_json()["error"] or error.status_code == 404


def test_echoed_input_is_text(stored):
    """Search query and filters, error messages, rejected form values, CSV import cells,
    login name and `next`, SPARQL text on the browser error page."""
    client, token, project = stored["client"], stored["token"], stored["project"]
    echoes = {
        "search": client.get("/search", query_string={"q": XSS}),
        "search filter": client.get("/search", query_string={"q": "santé", "actor": "http://x/" + XSS}),
        "bad page": client.get("/search", query_string={"q": "santé", "page": XSS}),
        "entity iri": client.get("/entite", query_string={"iri": XSS}),
        "unknown entity": client.get("/entite", query_string={"iri": "http://x/" + quote(XSS)}),
        "orientation path": client.get("/orientation/" + quote(XSS)),
        "project id": client.get("/projets/" + quote(XSS, safe="")),
        "project search": client.get(f"/projets/{project['id']}", query_string={"q": XSS}),
        "axis": client.get("/axe", query_string={"iri": XSS}),
        "export format": client.get("/projets/export." + quote(XSS, safe="")),
        "sparql error": client.get("/sparql", query_string={"query": "SELECT * WHERE { " + XSS},
                                   headers={"Accept": "text/html"}),
        "form errors": client.post("/projets/nouveau", data={
            "csrf_token": token, "title": XSS, "territories": XSS, "populations": XSS, "status": XSS}),
        "import errors": client.post("/projets/import", content_type="multipart/form-data", data={
            "csrf_token": token, "file": (io.BytesIO(
                _csv([["title", "territories", "sections"], [XSS, XSS, XSS]]).encode()), "p.csv")}),
        "login next": client.get("/connexion", query_string={"next": '"><script>alert(1)</script>'}),
    }
    for name, response in echoes.items():
        assert response.status_code < 500, name
        page = assert_inert(html_of(response), name)
        if name in ("search", "form errors", "import errors", "entity iri", "sparql error"):
            assert "<script>alert(1)</script>" in page.text_content(), name  # shown, as text
    anonymous = stored["client"].application.test_client()
    token = anonymous.get("/api/session").get_json()["csrf_token"]
    failed = anonymous.post("/connexion", data={"csrf_token": token, "name": XSS, "password": "x"})
    assert failed.status_code == 401
    assert_inert(html_of(failed), "login name")


def test_csv_import_cells_are_stored_as_text_and_shown_inert(stored):
    client, token = stored["client"], stored["token"]
    text = _csv([["title", "description", "promoter"], ["Import " + XSS[:100], XSS, XSS]])
    response = client.post("/api/projects/import", data=text.encode(), content_type="text/csv",
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 201, response.data
    project_id = response.get_json()["projects"][0]
    assert client.get(f"/api/projects/{project_id}").get_json()["promoter"] == XSS
    assert_inert(html_of(client.get(f"/projets/{project_id}")), "imported project")


def test_csv_exports_neutralise_formulas_and_import_round_trips(stored):
    client, token = stored["client"], stored["token"]
    headers = {"X-CSRF-Token": token}
    description = FORMULAS[1] + " convergence tarifaire des EHPAD"  # a formula, and a project with axes
    created = client.post("/api/projects", headers=headers, json={
        "title": "Formules", "description": description, "promoter": FORMULAS[0]}).get_json()
    decided = client.post(f"/api/projects/{created['id']}/links", headers=headers, json={
        "section": created["alignments"][0]["section"], "status": "confirmed", "reasons": FORMULAS[2:]})
    assert decided.status_code == 200
    for url in ("/projets/export.csv", "/projets/export.links.csv", "/api/projects/export.csv"):
        response = client.get(url)
        assert response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (url, cell)
    rows = list(csv.DictReader(io.StringIO(client.get("/projets/export.csv").get_data(as_text=True))))
    mine = next(r for r in rows if r["id"] == created["id"])
    assert mine["promoter"] == "'" + FORMULAS[0] and mine["description"] == "'" + description
    links = list(csv.DictReader(io.StringIO(client.get("/projets/export.links.csv").get_data(as_text=True))))
    assert any(r["reasons"] == "'" + " | ".join(sorted(FORMULAS[2:])) for r in links)
    # the import takes the apostrophe off again: the exported row comes back as it was
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["title", "description", "promoter"])
    writer.writeheader()
    writer.writerow({k: mine[k] for k in ("title", "description", "promoter")})
    again = client.post("/api/projects/import", data=out.getvalue().encode(), content_type="text/csv", headers=headers)
    assert again.status_code == 201, again.data
    copy = client.get(f"/api/projects/{again.get_json()['projects'][0]}").get_json()
    assert (copy["promoter"], copy["description"]) == (FORMULAS[0], description)


HTML_PAGES = ["/", "/search?q=sant%C3%A9", "/plan", "/projets", "/connexion", "/couverture", "/entite?iri=x",
              "/page-inconnue"]


@pytest.mark.parametrize("url", HTML_PAGES + ["/sparql", "/api/projects", "/static/style.css", "/index.json"])
def test_security_headers(app, url):
    headers = {"Accept": "text/html"} if url == "/sparql" else {}
    response = app.test_client().get(url, headers=headers)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "default-src 'self'" in csp and "unsafe-eval" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_open_redirect_after_login_is_refused(app):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    from tests.hostile_support import EDITOR, PASSWORD

    for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)"):
        response = client.post("/connexion", query_string={"next": target},
                               data={"csrf_token": token, "name": EDITOR, "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/projets", target
        token = client.get("/api/session").get_json()["csrf_token"]


# ---------------------------------------------------------------- real browser
CSP_PROBE = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.mark.browser
def test_payload_in_chromium_shows_text_fires_nothing_and_yasgui_runs_under_csp(ingested, tmp_path_factory):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from kg.users import UserStore
    from tests.browser_support import chromium, copy_data_dir, missing_browser, serve_app, wait_for
    from tests.hostile_support import EDITOR, PASSWORD

    if missing_browser():
        pytest.fail(missing_browser())
    import requests

    data_dir = copy_data_dir(ingested, tmp_path_factory.mktemp("hostile-browser"))
    UserStore(data_dir).add(EDITOR, PASSWORD, role="editor")
    with serve_app({"data_dir": data_dir, "secret_key": "hostile-browser"}) as url, chromium() as d:
        http = requests.Session()
        token = http.get(url + "/api/session").json()["csrf_token"]
        token = http.post(url + "/api/login", json={"name": EDITOR, "password": PASSWORD},
                          headers={"X-CSRF-Token": token}).json()["csrf_token"]
        project = http.post(url + "/api/projects", headers={"X-CSRF-Token": token}, json={
            "title": "Projet piégé", "description": "Maison de santé " + XSS, "promoter": XSS}).json()
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})

        def no_dialog(page: str) -> None:
            try:
                WebDriverWait(d, 1).until(EC.alert_is_present())
            except TimeoutException:
                return
            pytest.fail(f"{page}: a dialog opened: {d.switch_to.alert.text}")

        d.get(f"{url}/projets/{project['id']}")
        wait_for(d, "h1#titre-projet")
        no_dialog("project page")
        assert XSS in d.find_element(By.TAG_NAME, "main").text
        assert d.find_elements(By.CSS_SELECTOR, "main img, main svg[onload], main a[href^='javascript']") == []

        d.get(f"{url}/search?q={quote(XSS, safe='')}")
        wait_for(d, "main")
        no_dialog("search page")
        assert d.find_element(By.NAME, "q").get_attribute("value") == XSS
        assert d.execute_script("return window.__csp") == []

        d.get(url + "/sparql")
        wait_for(d, ".yasqe_queryButton")
        no_dialog("sparql page")
        d.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
        wait_for(d, ".yasr table tbody tr")
        assert d.execute_script("return window.__csp") == [], "YASGUI must run under the CSP"
