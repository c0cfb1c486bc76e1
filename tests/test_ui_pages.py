"""Web UI pages through the Flask test client, over the small graph of tests/ui_sample.py:
each page's HTML (French, accessible structure, links) and its JSON form."""
from __future__ import annotations

import re

import pytest

from kg.index import ensure_index
from lxml import html as lxml_html

from search_api import create_app
from search_api.resources import get_store
from tests import ui_sample as s

ORIENTATION = "/orientation/prs-2012-2016/sroms/3.1.5"
EHPAD_PAGE = "/entite/actor/ehpad"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"data_dir": str(tmp_path_factory.mktemp("ui-data"))})

    @app.get("/_boom")  # an unexpected failure, to see the French 500 page
    def _boom():
        raise RuntimeError("boom")

    with app.app_context():
        s.load_sample(get_store())
        ensure_index(get_store(), app.config["HPKG"])  # as `hpkg ingest` does: requests never build it
    yield app
    with app.app_context():
        get_store().close()  # now, while its temporary folder still exists


@pytest.fixture()
def client(app):
    return app.test_client()


def page(client, url, status=200):
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == status, (url, response.data[:500])
    assert response.mimetype == "text/html"
    doc = lxml_html.fromstring(response.data)
    assert doc.get("lang") == "fr"
    assert doc.find(".//main") is not None and doc.find(".//nav") is not None
    return doc


def text(node) -> str:
    return " ".join(node.text_content().split())


def test_home_has_the_search_form_and_counts(client):
    doc = page(client, "/")
    form = doc.find(".//form[@role='search']")
    assert form.get("action") == "/search" and form.get("method") == "get"
    box = form.find(".//input[@name='q']")
    assert doc.find(f".//label[@for='{box.get('id')}']") is not None  # labelled
    assert "Recherche" in text(doc.find(".//title"))
    assert client.get("/index.json").json["overview"] == {
        "documents": 2, "sections": 4, "mentions": 9, "concepts": 6}


def test_plan_tree_nests_schemes_and_sections_with_counts(client):
    tree = client.get("/plan.json").json["tree"]
    assert [n["kind"] for n in tree] == ["plan"]
    plan = tree[0]
    assert (plan["sections"], plan["mentions"]) == (4, 9)
    # the scheme first (position 0), then the section hanging from the plan itself
    scheme, loose = plan["children"]
    assert scheme["kind"] == "scheme" and loose["iri"] == str(s.SEC_B)
    chain = [scheme["children"][0], scheme["children"][0]["children"][0]]
    assert [n["number"] for n in chain] == ["3", "3.1"]
    assert chain[1]["children"][0]["label"] == "3.1.5 Améliorer les parcours de santé"
    assert (scheme["sections"], scheme["mentions"]) == (3, 6)

    doc = page(client, "/plan")
    summaries = [text(x) for x in doc.iter("summary")]
    assert any(x.startswith("Schéma Schéma Régional d'Organisation Médico-Sociale 3 sections · 6 mentions") for x in summaries)
    link = doc.xpath("//a[contains(., '3.1.5 Améliorer')]")[0]
    assert link.get("href") == ORIENTATION
    # JSON by Accept header too
    assert client.get("/plan", headers={"Accept": "application/json"}).json["tree"] == tree


def test_orientation_page_marks_mentions_by_type(client):
    data = client.get(ORIENTATION + ".json").json
    assert data["iri"] == str(s.SEC_315) and data["highlight_method"] == "offsets"
    assert "".join(seg["text"] for seg in data["segments"]) == data["text"]
    marked = [(seg["text"], seg["mention"]["type"]) for seg in data["segments"] if "mention" in seg]
    assert marked == [("infirmiers libéraux", "actor"), ("SSIAD", "actor"), ("personnes âgées", "population"),
                      ("EHPAD", "actor"), ("CPOM", "tool"), ("SSIAD", "actor")]
    assert [b["label"] for b in data["breadcrumb"]] == [
        "Projet régional de santé 2012-2016", "Schéma Régional d'Organisation Médico-Sociale",
        "3 Orientations régionales spécifiques", "3.1 Personnes âgées"]
    assert data["entities"]["actor"][0] == {"iri": str(s.SSIAD), "label": "SSIAD", "count": 2}
    assert data["items"] == [{"position": 1, "text": "faciliter la coordination avec les SSIAD"}]
    assert data["document"]["doc"] == "doc-a" and data["document"]["pages"] == "15-17"
    assert data["related"][0]["iri"] == str(s.SEC_B) and data["related"][0]["shared"] == 2
    assert [p["title"] for p in data["projects"]] == ["Maison de santé pluriprofessionnelle d'Aubagne"]  # not the rejected one

    doc = page(client, ORIENTATION)
    assert text(doc.find(".//h1")) == "3.1.5 Améliorer les parcours de santé"
    assert "3.1.5 Améliorer les parcours de santé" in text(doc.find(".//title"))
    crumbs = doc.xpath("//nav[@aria-label=\"Fil d'Ariane\"]//a")
    assert crumbs[0].get("href").startswith("/plan#") and crumbs[-1].get("href") == "/orientation/prs-2012-2016/sroms/3.1"
    mentions = doc.xpath("//div[@class='section-text']/a")
    assert [(m.text, m.get("class")) for m in mentions][:2] == [
        ("infirmiers libéraux", "mention m-actor"), ("SSIAD", "mention m-actor")]
    assert mentions[4].get("class") == "mention m-tool" and mentions[4].get("href") == "/entite/tool/cpom"
    assert "Source : Schéma Régional d'Organisation Médico-Sociale, ARS PACA, 2012, pp. 15-17" in text(doc)
    project = doc.xpath("//section[@aria-labelledby='projets']//a")[0]
    assert (project.text, project.get("href")) == ("Maison de santé pluriprofessionnelle d'Aubagne", "/projets/msp-aubagne")
    assert "Plateforme écartée" not in text(doc)
    related = doc.xpath("//section[@aria-labelledby='liees']//a/@href")
    assert "/orientation/prs-2012-2016/doc-b/acces-aux-soins" in related


def test_orientation_by_iri_parameter_and_unknown_ones(client):
    data = client.get("/orientation.json", query_string={"iri": str(s.SEC_B)}).json
    assert data["label"] == "Accès aux soins" and data["breadcrumb"][0]["kind"] == "plan"
    doc = page(client, "/orientation/prs-2012-2016/sroms/9.9", status=404)
    assert "Page introuvable" in text(doc.find(".//h1"))
    assert "section/prs-2012-2016/sroms/9.9" in text(doc.find(".//main"))
    missing = client.get("/orientation.json").json
    assert missing["ok"] is False and missing["status"] == 400 and "iri" in missing["error"]


def test_entity_page_lists_orientations_and_draws_its_neighbourhood(client):
    data = client.get(EHPAD_PAGE + ".json").json
    assert data["kind"] == "actor" and data["label"] == "EHPAD"
    assert data["definitions"] == ["Établissement d'hébergement pour personnes âgées dépendantes."]
    assert {x["iri"] for x in data["sections"]} == {str(s.SEC_315), str(s.SEC_B)}
    assert data["neighbours"][0] == {"iri": str(s.AGEES), "label": "personnes âgées", "type": "population",
                                     "shared": 2, "sections": sorted([str(s.SEC_B), str(s.SEC_315)])}
    graph = data["graph"]
    assert graph["nodes"][0]["id"] == str(s.EHPAD)
    assert {"source": str(s.EHPAD), "target": str(s.SEC_B)} in graph["edges"]

    doc = page(client, EHPAD_PAGE)
    assert text(doc.find(".//h1")) == "Acteur EHPAD"
    assert "EHPAD (acteur)" in text(doc.find(".//title"))
    svg = doc.xpath("//figure[@class='graph']/svg")[0]
    assert svg.get("role") == "img"
    targets = set(svg.xpath(".//a/@href"))
    assert {ORIENTATION, "/orientation/prs-2012-2016/doc-b/acces-aux-soins", "/entite/population/personnes-agees",
            "/entite/territory/departement-13", EHPAD_PAGE} <= targets
    listed = doc.xpath("//section[@aria-labelledby='orientations']//a/@href")
    assert ORIENTATION in listed


def test_entity_page_shows_broader_concepts(client):
    doc = page(client, "/entite/actor/ssiad")
    facts = {text(dt): text(dt.getnext()) for dt in doc.xpath("//dl[@class='facts']/dt")}
    assert facts["Plus général"] == "service médico-social"
    assert facts["Autres noms"] == "service de soins infirmiers à domicile"
    assert facts["Définition"] == "Service de soins infirmiers à domicile."
    assert doc.xpath("//dl[@class='facts']//a[.='service médico-social']/@href") == ["/entite/actor/service-medico-social"]
    page(client, "/entite/actor/inconnu", status=404)


def test_search_page_states_and_results(client):
    doc = page(client, "/search")
    assert "Saisissez une question" in text(doc.find(".//main"))

    data = client.get("/search.json", query_string={"q": "infirmiers libéraux et SSIAD"}).json
    assert data["hits"] and data["hits"][0]["iri"] == str(s.SEC_315)
    assert "<mark>SSIAD</mark>" in data["hits"][0]["snippet_html"]
    assert any(v["iri"] == str(s.SSIAD) for v in data["facets"]["actor"])

    doc = page(client, "/search?q=infirmiers+lib%C3%A9raux+et+SSIAD")
    first = doc.xpath("//ol[@class='hits']/li")[0]
    assert first.xpath(".//h2/a/@href") == [ORIENTATION]
    assert first.xpath(".//mark")
    assert "/entite/actor/ssiad" in first.xpath(".//ul[@class='chips']//a/@href")
    facet_link = doc.xpath("//a[@data-facet='actor'][contains(., 'SSIAD')]")[0].get("href")
    assert "actor=" in facet_link and "q=" in facet_link

    filtered = client.get(facet_link, headers={"Accept": "application/json"}).json
    assert filtered["filters"] == {"actor": [str(s.SSIAD)]}
    assert [h["iri"] for h in filtered["hits"]] == [str(s.SEC_315)]
    doc = page(client, facet_link)
    assert "Filtres actifs" in text(doc.find(".//main"))

    nothing = page(client, "/search?q=zzqx+wvvk+kkpt")
    assert "Aucune orientation ne répond" in text(nothing.find(".//main"))


def test_bad_search_parameters_get_french_errors(client):
    doc = page(client, "/search?q=ehpad&page=abc", status=400)
    assert "page" in text(doc.find(".//main"))
    bad = client.get("/search.json?q=ehpad&actor=pas-une-iri").json
    assert bad["status"] == 400 and "actor" in bad["error"]


def test_french_404_and_500_pages(client):
    doc = page(client, "/nulle-part", status=404)
    assert "Cette adresse ne correspond à aucune page" in text(doc.find(".//main"))
    doc = page(client, "/_boom", status=500)
    assert text(doc.find(".//h1")).startswith("Erreur interne")
    assert "boom" not in text(doc)  # no internals shown to users


def test_sparql_page_embeds_vendored_yasgui_and_named_queries(client):
    doc = page(client, "/sparql")
    scripts = doc.xpath("//script/@src")
    assert "/static/vendor/yasgui/yasgui.min.js" in scripts and "/static/sparql.js" in scripts
    import json

    from kg.queries import query_names

    payload = json.loads(doc.xpath("//script[@id='named-queries']")[0].text)
    names = [q["name"] for q in payload["queries"]]
    assert sorted(names) == query_names() and "ui_plan_nodes" in names
    analyst = [q for q in payload["queries"] if q["analyst"]]
    assert analyst and payload["queries"][:len(analyst)] == analyst  # documented ones first
    options = doc.xpath("//select[@id='named-query']/optgroup[1]/option")
    assert [o.get("value") for o in options] == [q["name"] for q in analyst]
    assert all(q["title"] in o.text for q, o in zip(analyst, options))
    csv_link = doc.xpath("//a[@id='csv-link']/@href")[0]
    assert "/sparql?format=csv&query=" in csv_link
    assert client.get("/static/vendor/yasgui/yasgui.min.js").status_code == 200
    assert client.get("/static/vendor/yasgui/yasgui.min.css").status_code == 200


@pytest.mark.parametrize("url", ["/", "/plan", ORIENTATION, EHPAD_PAGE, "/search?q=EHPAD", "/sparql"])
def test_pages_make_no_external_calls(client, url):
    body = client.get(url, headers={"Accept": "text/html"}).get_data(as_text=True)
    doc = lxml_html.fromstring(body)
    loaded = doc.xpath("//script/@src | //link/@href | //img/@src | //iframe/@src")
    assert loaded and all(u.startswith(("/", "data:")) for u in loaded), loaded
    assert not re.search(r"https?://(cdn|unpkg|fonts\.|prefix\.cc|lov\.)", body)


def test_vendored_yasgui_is_configured_offline(repo_root):
    script = (repo_root / "search_api/static/sparql.js").read_text(encoding="utf-8")
    assert 'autocompleters: ["prefixes", "variables"]' in script  # not "class"/"property" (LOV online)
    assert "prefixCcApi: null" in script and "persistenceId: null" in script
    bundle = (repo_root / "search_api/static/vendor/yasgui/yasgui.min.js").read_text(encoding="utf-8")
    assert "sourceMappingURL" not in bundle.splitlines()[-1]
