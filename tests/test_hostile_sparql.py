"""SPARQL injection through every parameter that reaches a query (tests/hostile_support.py
SPARQL_REACHING), the named-query parameters and the search filters: each payload gets a 4xx
with a message naming the problem or a normal (empty) answer, never a 500; the store is the same
afterwards (quad count and export hash); a payload meant to widen a query gets no more rows than
a benign value that matches nothing."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.hostile_support import SPARQL_REACHING, close_app, error_message, fingerprint, login, make_app

PAYLOADS = [
    '"> } ; DROP ALL',
    "' . ?s ?p ?o",
    "x\u0000y",
    "}}} DROP ALL #",
    "# comment",
    '"""',
    "a\nb",
    "https://w3id.org/healthpolicy-kg/id/actor/ars> . ?s ?p ?o . <x",
    "https://w3id.org/healthpolicy-kg/id/actor/ars>} UNION { ?s ?p ?o",
    "http://x/a> <b",
    "http://x/a\u00a0b",
    "<script>alert(1)</script>",
    "https://w3id.org/healthpolicy-kg/id/x\\u003E",
    ") } ; INSERT DATA { <http://e/s> <http://e/p> <http://e/o> } #",
    "http://e/" + "a" * 5000,
]
ARS = "https://w3id.org/healthpolicy-kg/id/actor/ars"


@pytest.fixture(scope="module")
def app(ingested, tmp_path_factory):
    app = make_app(ingested, tmp_path_factory.mktemp("hostile-sparql"))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def _url(template: str, payload: str, where: str) -> str:
    return template.replace("{}", quote(payload, safe="" if where == "query" else "/:"))


def test_payloads_in_every_query_reaching_parameter(app, client):
    before = fingerprint(app)
    failures = []
    for method, template, where in SPARQL_REACHING:
        for payload in PAYLOADS:
            response = client.open(_url(template, payload, where), method=method,
                                   headers={"Accept": "application/json"})
            status = response.status_code
            if status >= 500 or status not in (200, 400, 404):
                failures.append((template, payload[:40], status, response.data[:200]))
            elif status != 200:
                message = error_message(response)
                if not message or "inattendue" in message:
                    failures.append((template, payload[:40], status, message))
    assert failures == []
    assert fingerprint(app) == before


def test_invalid_iri_is_a_400_naming_it(client):
    response = client.get("/entite.json?iri=" + quote("http://x/a> <b", safe=""))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("Identifiant invalide : 'http://x/a> <b'")
    page = client.get("/orientation/" + quote('"> } ; DROP ALL'))
    assert page.status_code == 400 and "n'est pas une IRI absolue" in error_message(page)
    graph = client.get("/sparql?query=ASK%20%7B%7D&default-graph-uri=" + quote("http://a\n", safe=""))
    assert graph.status_code == 400 and "is not an absolute IRI" in graph.get_data(as_text=True)


def test_entity_payload_shows_no_more_than_the_entity(client):
    """An IRI that would close the bound term and add a pattern is refused, not widened."""
    benign = client.get("/entite.json", query_string={"iri": ARS})
    assert benign.status_code == 200 and benign.get_json()["iri"] == ARS
    for payload in (ARS + "> . ?s ?p ?o . <x", ARS + ">} UNION { ?s ?p ?o } #", ARS + '"'):
        response = client.get("/entite.json", query_string={"iri": payload})
        assert response.status_code == 400, payload
    unknown = client.get("/entite.json", query_string={"iri": ARS + "-inconnu"})
    assert unknown.status_code == 404


@pytest.mark.parametrize("payload", [
    '") || true || ("', '" ) } UNION { ?s ?p ?o } #', "' || 1=1 #", "santé\" . ?x ?y ?z . #", "\\", '"""'])
def test_named_query_string_parameter_is_data(app, payload):
    """sections_by_keyword's `word` is bound as a literal: a payload matches nothing, like a
    word absent from the corpus, and a real word still matches."""
    from kg.queries import bind_params, describe
    from kg.sparql_exec import answer_query
    from search_api.resources import get_store

    query = describe("sections_by_keyword")

    def rows(word: str) -> int:
        with app.app_context():
            answer = answer_query(get_store(), query.text, fmt="json", bindings=bind_params(query, {"word": word}))
        return len(json.loads(answer.body)["results"]["bindings"])

    assert rows("santé") > 0
    assert rows(payload) <= rows("zzzz-absent") == 0


@pytest.mark.parametrize("raw", ["hpid:actor/ars> . ?s ?p ?o", 'http://x" } #', "http://x/a b"])
def test_named_query_iri_parameter_is_checked(raw):
    from kg.queries import bind_params, describe

    with pytest.raises(ValueError, match="is not an IRI"):
        bind_params(describe("orientations_by_actor"), {"actor": raw})


def test_search_filters_never_widen(client):
    """Facet filters are compared with the index in memory; a payload is one more unknown
    concept: no more hits than a benign unknown IRI (none), and no error."""
    base = client.get("/api/search", query_string={"q": "santé", "k": 50}).get_json()
    assert base["hits"]
    unknown = client.get("/api/search", query_string={"q": "santé", "k": 50, "actor": ARS + "-inconnu"}).get_json()
    assert unknown["hits"] == []
    for payload in ('"> } UNION { ?s ?p ?o } #', "> || true", "\u0000"):
        response = client.get("/api/search", query_string={"q": "santé", "k": 50, "actor": ARS + payload})
        assert response.status_code == 200 and response.get_json()["hits"] == [], payload
        page = client.get("/search", query_string={"q": "santé", "actor": ARS + payload})
        assert page.status_code == 200
    not_iri = client.get("/api/search", query_string={"q": "santé", "actor": "' OR 1=1"})
    assert not_iri.status_code == 400 and not_iri.get_json()["error"].startswith("actor: ")


def test_project_fields_and_links_are_stored_as_data(app, client):
    """Payloads in project fields, link sections and version fields: stored verbatim as
    literals or refused with a 400; the plan graphs are untouched and no triple is added outside
    the projects graph."""
    from ontology.namespaces import HPID
    from search_api.resources import get_store

    def plan_quads() -> set:
        with app.app_context():
            return {q for q in get_store().export("nq").splitlines() if str(HPID["graph/projects"]).encode() not in q}

    before = plan_quads()
    token = login(client)
    headers = {"X-CSRF-Token": token}
    description = " | ".join(PAYLOADS[:8])  # one project: each creation computes suggestions
    created = client.post("/api/projects", headers=headers, json={
        "title": "Projet " + PAYLOADS[0], "description": description, "promoter": PAYLOADS[1]})
    assert created.status_code == 201, created.data
    project = created.get_json()
    assert (project["title"], project["description"], project["promoter"]) == (
        "Projet " + PAYLOADS[0], description, PAYLOADS[1])
    for payload in PAYLOADS:
        for body in ({"section": payload, "status": "confirmed"},
                     {"section": project["alignments"][0]["section"], "status": payload},
                     {"section": project["alignments"][0]["section"], "status": "confirmed", "version": payload}):
            response = client.post(f"/api/projects/{project['id']}/links", headers=headers, json=body)
            assert response.status_code == 400, (body, response.data)
        for bad in (payload, quote(payload, safe="")):
            assert client.get(f"/api/projects/{bad}").status_code in (404, 400)
    assert plan_quads() == before
