"""A PDF scheme ingested by `hpkg ingest` is searchable and linkable, and cites printed pages.

One data dir per module: the scheme PDF, a broken PDF and a text page ingested once through
the CLI (graph + search index); then the graph, `hpkg search --json`, /api/search, the
search page and the orientation page are read back.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import iris
from kg.store import open_store
from ontology.namespaces import HPO
from search_api import create_app
from search_api.cli import main

FIXTURE = Path(__file__).parent / "data" / "pages" / "sroms_extract.pdf"
SCHEME = "Schéma Régional d'Organisation Médico-Sociale"


@pytest.fixture(scope="module")
def ingested_pdf(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("pdf-corpus")
    shutil.copy(FIXTURE, corpus / "sroms_extract.pdf")
    shutil.copy(Path(__file__).parent.parent / "corpus" / "004_d9216070b0b5bf36.txt", corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n")
    data_dir = tmp_path_factory.mktemp("pdf-data")
    result = CliRunner().invoke(main, ["ingest", str(corpus), "--data-dir", str(data_dir)])
    return {"data_dir": data_dir, "result": result, "corpus": corpus}


def test_ingest_reports_the_broken_pdf_and_the_scanned_page(ingested_pdf):
    result, corpus = ingested_pdf["result"], ingested_pdf["corpus"]
    assert result.exit_code == 1, result.output  # a file was skipped
    assert "ingested 2 documents, 15 sections" in result.output
    assert f"  {corpus / 'sroms_extract.pdf'}: page 14 has no text layer" in result.output
    assert f"  {corpus / 'broken.pdf'}: " in result.output


def _section(number: str):
    return iris.section_iri(None, SCHEME, "sroms_extract", number, numbered=True)


def test_graph_holds_the_printed_pages_of_each_section(ingested_pdf):
    with open_store(ingested_pdf["data_dir"]) as store:
        rows = store.query("SELECT ?s ?start ?end WHERE { ?s ?ps ?start ; ?pe ?end }",
                           bindings={"ps": HPO.pageStart, "pe": HPO.pageEnd})
        pages = {str(row.s): (str(row.start), str(row.end)) for row in rows}
        text_page = store.query("SELECT ?s WHERE { ?s ?in ?d ; ?ps ?page }", bindings={
            "in": HPO.inDocument, "d": iris.doc_iri("004_d9216070b0b5bf36"), "ps": HPO.pageStart})
        assert not list(text_page)  # a web page has no printed pages
    assert pages[str(_section("1.2"))] == ("12", "12")
    assert len(pages) == 9
    assert ("11", "12") in pages.values()


def test_search_json_hits_carry_the_page(ingested_pdf):
    result = CliRunner().invoke(main, ["search", "capacités installées places SSIAD EHPAD", "--json", "-k", "3",
                                       "--data-dir", str(ingested_pdf["data_dir"])])
    assert result.exit_code == 0, result.output
    hit = json.loads(result.output)["hits"][0]
    assert (hit["doc"], hit["section"], hit["page"]) == ("sroms_extract", "1.2", "12")
    assert {"rank", "score", "iri", "doc", "section", "title", "breadcrumb", "snippet", "entities"} <= set(hit)


@pytest.fixture(scope="module")
def client(ingested_pdf):
    app = create_app({"data_dir": str(ingested_pdf["data_dir"])})
    return app.test_client()


def test_search_page_cites_the_page_and_links_the_orientation(client):
    response = client.get("/search?q=continuité des parcours domicile établissement")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "sroms_extract, <span class=\"page-cite\">pp.&nbsp;11-12</span>" in html
    api = client.get("/api/search?q=continuité des parcours domicile établissement&k=1").get_json()
    assert api["hits"][0]["page"] == "11-12"
    assert f'href="/orientation/{str(api["hits"][0]["iri"]).split("/section/", 1)[1]}"' in html


def test_orientation_page_cites_the_page(client):
    path = str(_section("2.3")).split("/section/", 1)[1]
    html = client.get(f"/orientation/{path}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '· <span class="page-cite">p.&nbsp;15</span>' in html
    data = client.get(f"/orientation/{path}.json").get_json()
    assert data["page"] == "15" and data["title"] == "Qualité de l'accompagnement"


def test_text_page_hits_have_no_page(client):
    hits = client.get("/api/search?q=allocation des ressources&k=10").get_json()["hits"]
    text_hits = [hit for hit in hits if hit["doc"] == "004_d9216070b0b5bf36"]
    assert text_hits and all(hit["page"] is None for hit in text_hits)
