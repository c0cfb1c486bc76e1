"""Search on the ingested corpus: quality floors on the gold sets, the GET /api/search and
`hpkg search --json` contract, facets and filters, explanations, bad requests."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.model import ENTITY_TYPES
from evaluation.search import eval_search, format_search_report
from search_api import create_app
from search_api.cli import main as cli

HIT_KEYS = {"rank", "score", "iri", "doc", "section", "title", "breadcrumb", "snippet", "entities"}
PARAPHRASES = Path(__file__).parent / "data" / "eval" / "search_paraphrase.jsonl"
DOCS = {p.stem for p in (Path(__file__).resolve().parent.parent / "corpus").glob("*.txt")}


@pytest.fixture(scope="module")
def client(ingested):
    app = create_app({"data_dir": ingested["data_dir"]})
    app.config["TESTING"] = True
    yield app.test_client()
    store = app.extensions["hpkg"].pop("store", None)
    if store is not None:  # release the on-disk store for the other test modules
        store.close()


@pytest.fixture(scope="module")
def dev_report(ingested, shared_dir):
    return eval_search(shared_dir / "eval" / "dev" / "search.jsonl", ingested)


# The CLI tests come first: they open the store, which the app fixture below keeps open.
def test_cli_search_json(ingested):
    result = CliRunner().invoke(cli, ["search", "plan Alzheimer et plan autisme", "-k", "3", "--json",
                                      "--data-dir", ingested["data_dir"]])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {"query", "took_ms", "hits"} <= set(payload) and 1 <= len(payload["hits"]) <= 3
    assert set(payload["hits"][0]) - {"explanation", "page"} == HIT_KEYS  # extensions: why, and the PDF page
    assert payload["hits"][0]["section"] == "1"


@pytest.mark.parametrize("args, message", [(["  "], "q: the query is empty"),
                                           (["EHPAD", "-k", "0"], "k: 0 is out of range (1 to 100)")])
def test_cli_search_bad_input_is_one_line(ingested, args, message):
    result = CliRunner().invoke(cli, ["search", *args, "--data-dir", ingested["data_dir"]])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {message}"


def test_cli_eval_search_prints_three_methods(ingested, shared_dir):
    gold = shared_dir / "eval" / "dev" / "search.jsonl"
    result = CliRunner().invoke(cli, ["eval", "search", str(gold), "--data-dir", ingested["data_dir"]])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("measure"))
    assert header.split() == ["measure", "dense", "lexical", "hybrid"]
    assert {line.split()[0] for line in result.output.splitlines() if line[:4] in ("ndcg", "mrr ", "reca")} == {
        "ndcg@10", "mrr", "recall@5"}


def test_dev_gold_floor_and_hybrid_beats_dense_and_holds_with_words(dev_report):
    means = dev_report["means"]
    assert dev_report["queries"] == 24
    assert means["hybrid"]["ndcg@10"] >= 0.85
    assert means["hybrid"]["ndcg@10"] > means["dense"]["ndcg@10"]
    # BM25 was built on these 5 pages (0.972 alone); the fusion is weighted for unseen pages
    # (docs/quality.md: 0.970 here at equal weights): within one rank swap of it, no more
    assert means["hybrid"]["ndcg@10"] >= means["lexical"]["ndcg@10"] - 0.01
    assert means["hybrid"]["mrr"] >= 0.85 and means["hybrid"]["recall@5"] >= 0.9
    table = format_search_report(dev_report)
    assert "dense   lexical    hybrid" in table and "ndcg@10" in table


def test_paraphrase_gold_floor(ingested):
    report = eval_search(PARAPHRASES, ingested)
    means = report["means"]
    assert report["queries"] >= 12
    assert means["hybrid"]["ndcg@10"] >= 0.70  # measured 0.797 (docs/quality.md)
    assert means["hybrid"]["ndcg@10"] > means["dense"]["ndcg@10"]
    assert means["hybrid"]["recall@5"] >= 0.85


def test_api_contract_exact_keys_types_and_order(client):
    response = client.get("/api/search", query_string={"q": "convergence tarifaire des EHPAD", "k": 5})
    assert response.status_code == 200 and response.is_json
    payload = response.get_json()
    assert {"query", "took_ms", "hits"} <= set(payload)
    assert payload["query"] == "convergence tarifaire des EHPAD"
    assert isinstance(payload["took_ms"], (int, float)) and payload["took_ms"] >= 0
    hits = payload["hits"]
    assert 1 <= len(hits) <= 5
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    for hit in hits:
        assert set(hit) - {"explanation", "page"} == HIT_KEYS
        assert isinstance(hit["score"], float)
        assert hit["iri"].startswith("https://w3id.org/healthpolicy-kg/id/section/")
        assert hit["doc"] in DOCS
        assert isinstance(hit["section"], str) and hit["section"]
        assert isinstance(hit["breadcrumb"], list) and all(isinstance(b, str) for b in hit["breadcrumb"])
        assert isinstance(hit["snippet"], str) and 0 < len(hit["snippet"]) <= 301
        for entity in hit["entities"]:
            assert set(entity) == {"type", "label", "iri"}
            assert entity["type"] in ENTITY_TYPES and entity["label"] and entity["iri"].startswith("http")
    assert len({h["iri"] for h in hits}) == len(hits)  # one hit per section
    top = hits[0]
    assert (top["doc"], top["section"]) == ("004_d9216070b0b5bf36", "2.8.1")
    assert "Schéma Régional d'Organisation Médico-Sociale" in " ".join(top["breadcrumb"]).replace("’", "'")
    assert any(e["type"] == "actor" for e in top["entities"])


def test_api_explanation_is_meaningful(client):
    hit = client.get("/api/search", query_string={"q": "convergence tarifaire des EHPAD"}).get_json()["hits"][0]
    explanation = hit["explanation"]
    assert {"convergence", "tarifaire"} <= set(explanation["matched_terms"])
    assert "ehpad" in {c["iri"].rsplit("/", 1)[-1] for c in explanation["matched_concepts"]}
    assert explanation["lexical"]["bm25"] > 0 and explanation["dense"]["cosine"] > 0.8
    assert hit["score"] == pytest.approx(
        explanation["dense"]["contribution"] + explanation["lexical"]["contribution"], abs=1e-5)


@pytest.mark.parametrize("query", ["xqzw blorf", "recette de la tarte aux pommes"])
def test_api_nonsense_query_returns_no_hits(client, query):
    payload = client.get("/api/search", query_string={"q": query}).get_json()
    assert payload["hits"] == [] and payload["query"] == query


def test_api_facets_and_actor_filter(client):
    """« Orientations of the SROMS that involve SSIAD »: facet counts, then both filters."""
    query = {"q": "coordination des soins à domicile pour les personnes âgées", "k": 50}
    payload = client.get("/api/search", query_string=query).get_json()
    facets = payload["facets"]
    assert set(facets) >= {"scheme", "population", "actor", "tool", "territory"}
    ssiad = next(f for f in facets["actor"] if f["iri"].endswith("/actor/ssiad"))
    holding = [h for h in payload["hits"] if any(e["iri"] == ssiad["iri"] for e in h["entities"])]
    assert ssiad["count"] == len(holding) >= 1
    sroms = next(f for f in facets["scheme"] if "médico" in f["label"].lower())
    filtered = client.get("/api/search", query_string={**query, "actor": ssiad["iri"], "scheme": sroms["iri"]}).get_json()
    assert filtered["hits"] and len(filtered["hits"]) <= ssiad["count"]
    for hit in filtered["hits"]:
        assert ssiad["iri"] in {e["iri"] for e in hit["entities"]}
    assert filtered["filters"] == {"actor": [ssiad["iri"]], "scheme": [sroms["iri"]]}
    assert [f["count"] for f in filtered["facets"]["actor"] if f["iri"] == ssiad["iri"]] == [len(filtered["hits"])]


@pytest.mark.parametrize("query_string, field", [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "EHPAD " * 200}, "q"),
    ({"q": "EHPAD", "k": "0"}, "k"), ({"q": "EHPAD", "k": "abc"}, "k"), ({"q": "EHPAD", "k": "1000"}, "k"),
    ({"q": "EHPAD", "k": "-3"}, "k"), ({"q": "EHPAD", "actor": "ssiad"}, "actor"),
], ids=["missing", "empty", "blank", "huge", "k0", "kabc", "kbig", "kneg", "actor-not-iri"])
def test_api_bad_requests_are_json_400_naming_the_field(client, query_string, field):
    response = client.get("/api/search", query_string=query_string)
    assert response.status_code == 400 and response.is_json
    payload = response.get_json()
    assert payload["ok"] is False and payload["status"] == 400
    assert payload["error"].startswith(f"{field}: ")
