"""Blueprint `links` through Flask's in-process client: auth, CSRF, rate limit, flows, 409, XSS."""
from __future__ import annotations

import io
import re

import pytest

from kg.index import ensure_index
from kg.store import open_store
from kg.users import UserStore
from ontology.namespaces import HPID
from search_api import create_app
from search_api.settings import load_settings
from tests.test_link_projects import DOC, plan_graph, section_iri

PASSWORD = "mot de passe solide"


def make_data_dir(path):
    """A data dir holding the small plan of test_link_projects and two editors."""
    with open_store(path, backend="oxigraph") as store:
        store.replace_graph(HPID[f"graph/{DOC}"], plan_graph())
        ensure_index(store, load_settings({"data_dir": str(path)}))  # as `hpkg ingest` does
    users = UserStore(path)
    users.add("alice", PASSWORD, role="editor")
    users.add("bob", PASSWORD, role="admin")
    return path


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """One app for the module: the search index of the small plan is built once."""
    app = create_app({"data_dir": str(make_data_dir(tmp_path_factory.mktemp("links"))), "secret_key": "test-key"})
    app.config["TESTING"] = True
    yield app
    store = app.extensions["hpkg"].get("store")
    if store is not None:
        store.close()


@pytest.fixture
def app(shared_app):
    """The shared app with no project and no failed login yet."""
    from kg.projects import GRAPH
    from search_api.resources import get_store

    with shared_app.app_context():
        get_store().remove_graph(GRAPH)
    shared_app.extensions["hpkg_auth"]["failures"].clear()
    return shared_app


def login(client, name="alice", password=PASSWORD):
    token = client.get("/api/session").get_json()["csrf_token"]
    response = client.post("/api/login", json={"name": name, "password": password}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["csrf_token"]


def create(client, token, **fields):
    body = {"title": "Maison de santé du Luberon",
            "description": "Coordination des infirmières libérales et du SSIAD ; mutualisation des moyens "
                           "avec un GCSMS ; évaluation externe et système d'information partagé.",
            "territories": "84"} | fields
    response = client.post("/api/projects", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    login(client)
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_flow_create_suggest_confirm_reject_axis(app):
    client = app.test_client()
    token = login(client)
    project = create(client, token)
    assert project["creator"] == "alice" and project["version"] == 1
    suggested = [a for a in project["alignments"] if a["status"] == "suggested"]
    assert len(suggested) == 3 and all(a["who"] == "linker" and a["reasons"] for a in suggested)
    assert suggested[0]["section"] == str(section_iri("Optimiser l’offre médico-sociale"))

    decisions = {str(section_iri("Optimiser l’offre médico-sociale")): "confirmed",
                 str(section_iri("2.8.2")): "confirmed", str(section_iri("2.8.3")): "rejected"}
    for section, status in decisions.items():
        version = next(a["version"] for a in suggested if a["section"] == section)
        response = client.post(f"/api/projects/{project['id']}/links", json={"section": section, "status": status,
                               "version": version}, headers={"X-CSRF-Token": token})
        assert response.status_code == 200, response.get_json()
        assert (response.get_json()["status"], response.get_json()["who"]) == (status, "alice")

    stored = client.get(f"/api/projects/{project['id']}").get_json()
    assert {a["section"]: a["status"] for a in stored["alignments"]} == decisions
    axis = client.get("/api/axis", query_string={"iri": str(section_iri("2.8.2"))}).get_json()
    assert axis["section"]["section"] == "2.8.2"
    assert [(p["id"], p["status"], p["who"]) for p in axis["projects"]] == [(project["id"], "confirmed", "alice")]
    rejected = client.get("/api/axis", query_string={"iri": str(section_iri("2.8.3"))}).get_json()
    assert [p["status"] for p in rejected["projects"]] == ["rejected"]
    # reading is public: a fresh client without login sees the same
    page = app.test_client().get("/axe", query_string={"iri": str(section_iri("2.8.2"))})
    assert page.status_code == 200 and "Maison de santé du Luberon" in page.get_data(as_text=True)
    coverage = client.get("/api/coverage").get_json()
    assert {s["section"]: s["projects"] for s in coverage["sections"]}["2.8.3"] == 0


def test_html_form_flow(app):
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/connexion?next=/projets/nouveau", data={"name": "bob", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/projets/nouveau")
    form = client.get("/projets/nouveau").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/projets/nouveau", data={"title": "GCSMS de trois EHPAD", "description": "mutualisation",
                                                       "status": "draft", "csrf_token": token})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "GCSMS de trois EHPAD" in page and "Orientations suggérées" in page and "Confirmer" in page
    project_id = response.headers["Location"].rsplit("/", 1)[-1]
    response = client.post(f"/projets/{project_id}/liens", data={"section": str(section_iri("2.8.2")),
                           "status": "confirmed", "csrf_token": token})
    assert response.status_code == 302
    project = client.get(f"/api/projects/{project_id}").get_json()
    assert [a["who"] for a in project["alignments"] if a["status"] == "confirmed"] == ["bob"]
    # a stale edit form gets 409 with a French message, the stored project is unchanged
    client.post(f"/projets/{project_id}/modifier", data={"title": "Nouveau titre", "version": "1", "csrf_token": token})
    stale = client.post(f"/projets/{project_id}/modifier", data={"title": "Écrasé", "version": "1", "csrf_token": token})
    assert stale.status_code == 409 and "modifié par bob" in stale.get_data(as_text=True)
    assert client.get(f"/api/projects/{project_id}").get_json()["title"] == "Nouveau titre"


def test_conflict_between_two_editors(app):
    alice, bob = app.test_client(), app.test_client()
    alice_token, bob_token = login(alice, "alice"), login(bob, "bob")
    project = create(alice, alice_token)
    seen = bob.get(f"/api/projects/{project['id']}")
    assert seen.headers["ETag"] == '"1"'
    first = alice.patch(f"/api/projects/{project['id']}", json={"promoter": "Association A", "version": 1},
                        headers={"X-CSRF-Token": alice_token})
    assert first.status_code == 200 and first.get_json()["version"] == 2
    second = bob.patch(f"/api/projects/{project['id']}", json={"promoter": "Association B"},
                       headers={"X-CSRF-Token": bob_token, "If-Match": seen.headers["ETag"]})
    assert second.status_code == 409
    body = second.get_json()
    assert body["ok"] is False and body["status"] == 409
    assert "modifié par alice" in body["error"] and "version 2, vous aviez la version 1" in body["error"]
    assert alice.get(f"/api/projects/{project['id']}").get_json()["promoter"] == "Association A"
    # without any version the edit is refused, not applied blindly
    blind = bob.patch(f"/api/projects/{project['id']}", json={"promoter": "C"}, headers={"X-CSRF-Token": bob_token})
    assert blind.status_code == 400 and "version" in blind.get_json()["error"]


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_xss_title_is_escaped(app):
    client = app.test_client()
    token = login(client)
    project = create(client, token, title=XSS, promoter=XSS)
    for path in (f"/projets/{project['id']}", "/projets"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_csrf_missing_or_wrong_is_403(app):
    client = app.test_client()
    token = login(client)
    assert client.post("/api/projects", json={"title": "X"}).status_code == 403
    response = client.post("/api/projects", json={"title": "X"}, headers={"X-CSRF-Token": "0" * len(token)})
    assert response.status_code == 403 and "CSRF" in response.get_json()["error"]
    assert client.post("/projets/nouveau", data={"title": "X"}).status_code == 403
    assert client.get("/api/projects").get_json()["projects"] == []


def test_unauthenticated_writes_are_refused(app):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    response = client.post("/api/projects", json={"title": "X"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 401 and response.get_json()["ok"] is False
    page = client.get("/projets/nouveau")
    assert page.status_code == 302 and "/connexion?next=" in page.headers["Location"]
    assert client.post("/projets/x/liens", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/projects").get_json()["projects"] == []


def test_login_is_rate_limited(app):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    for _ in range(5):
        wrong = client.post("/api/login", json={"name": "alice", "password": "faux"}, headers={"X-CSRF-Token": token})
        assert wrong.status_code == 401
    blocked = client.post("/api/login", json={"name": "alice", "password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert blocked.status_code == 429 and "Trop de tentatives" in blocked.get_json()["error"]
    # another account from the same address is not locked out
    assert client.post("/api/login", json={"name": "bob", "password": PASSWORD},
                       headers={"X-CSRF-Token": token}).status_code == 200


def test_csv_import_with_errors_imports_nothing(app):
    client = app.test_client()
    token = login(client)
    bad = ("title,territories,sections\n"
           "MSP,13,900_test § 2.8.2\n"
           "Répit,ZZ,\n"
           ",13,\n")
    response = client.post("/api/projects/import", data=bad.encode(), headers={"X-CSRF-Token": token,
                                                                              "Content-Type": "text/csv"})
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert [e.split(" : ")[0] for e in errors] == ["ligne 3", "ligne 4"]
    assert client.get("/api/projects").get_json()["projects"] == []
    page = client.post("/projets/import", data={"csrf_token": token, "file": (io.BytesIO(bad.encode()), "p.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 400 and "ligne 3 : territoires" in page.get_data(as_text=True)
    good = client.post("/api/projects/import", data="title,sections\nMSP,900_test § 2.8.2\n".encode(),
                       headers={"X-CSRF-Token": token, "Content-Type": "text/csv"})
    assert good.status_code == 201 and good.get_json()["imported"] == 1


def test_exports(app):
    client = app.test_client()
    token = login(client)
    create(client, token)
    csv_text = client.get("/projets/export.csv").get_data(as_text=True)
    assert csv_text.startswith("id,title,") and "Maison de santé du Luberon" in csv_text
    ttl = client.get("/api/projects/export.ttl")
    assert ttl.headers["Content-Type"].startswith("text/turtle") and b"hpo:Project" in ttl.data
    assert client.get("/projets/export.jsonld").headers["Content-Type"] == "application/ld+json"
    assert client.get("/projets/export.xls").status_code == 404


def test_api_link_get_and_post(app):
    client = app.test_client()
    text = "Convention entre un SSIAD et les infirmières libérales pour les tournées au domicile"
    got = client.get("/api/link", query_string={"q": text, "k": 2}).get_json()
    posted = client.post("/api/link", json={"text": text, "k": 2}).get_json()
    assert got == posted
    assert [s["rank"] for s in got["suggestions"]] == [1, 2]
    first = got["suggestions"][0]
    assert set(first) == {"rank", "score", "iri", "doc", "section", "title", "reasons"}
    assert (first["doc"], first["section"]) == (DOC, "Optimiser l’offre médico-sociale")
    assert client.get("/api/link").status_code == 400


def test_pages_are_french_and_public(app):
    client = app.test_client()
    for path, text in (("/projets", "Aucun projet"), ("/connexion", "Mot de passe"),
                       ("/couverture", "Orientations sans projet")):
        response = client.get(path)
        assert response.status_code == 200 and text in response.get_data(as_text=True)
    assert client.get("/projets/inconnu").status_code == 404


def test_long_description_and_manual_link(app):
    client = app.test_client()
    long_text = "Coordination des infirmières libérales et du SSIAD au domicile. " * 20  # > 500 characters
    response = client.post("/api/link", json={"text": long_text, "k": 1})
    assert response.status_code == 200
    assert response.get_json()["suggestions"][0]["section"] == "Optimiser l’offre médico-sociale"
    token = login(client)
    project = create(client, token, description=long_text)
    page = client.get(f"/projets/{project['id']}", query_string={"q": "évaluation externe"}).get_data(as_text=True)
    assert "Lier ce projet" in page and str(section_iri("2.8.3")) in page
    added = client.post(f"/projets/{project['id']}/liens", data={"section": str(section_iri("2.8.3")), "status": "confirmed",
                        "manual": "1", "csrf_token": token})
    assert added.status_code == 302
    link = next(a for a in client.get(f"/api/projects/{project['id']}").get_json()["alignments"]
                if a["section"] == str(section_iri("2.8.3")))
    assert (link["status"], link["who"], link["reasons"]) == ("confirmed", "alice", ["ajouté à la main par alice"])
