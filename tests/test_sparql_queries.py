"""Named analyst queries (kg/queries/*.rq): headers, answers on a known graph, parameters bound
safely (injection attempts), `hpkg sparql` end to end, and docs/queries.md kept in step."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kg.queries import analyst_queries, bind_params, describe, run_named
from kg.sparql_exec import PRELUDE, inspect_query
from kg.store import open_store
from search_api.cli import main as hpkg
from tests.sparql_support import DATA, HPID, PLAN_GRAPH, PROJECTS_GRAPH

QUERIES = analyst_queries()
SECTION = HPID + "section/prs-test/sroms/"


def _filled_data_dir(path):
    """`path` as a data directory whose oxigraph store holds the test plan and projects graphs."""
    with open_store(path, backend="oxigraph") as store:
        store.load_file(DATA / "plan.ttl", PLAN_GRAPH)
        store.load_file(DATA / "projects.ttl", PROJECTS_GRAPH)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """For `hpkg sparql`, which opens (and locks) the store itself."""
    return _filled_data_dir(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with open_store(_filled_data_dir(tmp_path_factory.mktemp("queries")), backend="oxigraph") as store:
        yield store


def rows(store, name: str, **params) -> list[dict]:
    query = describe(name)
    result = store.query(PRELUDE + query.text, bindings=bind_params(query, params))
    return [{k: (str(v) if v is not None else None) for k, v in row.asdict().items()} for row in result]


def short(iri: str | None) -> str | None:
    return iri[len(HPID):] if iri and iri.startswith(HPID) else iri


# ---------------------------------------------------------------- headers
def test_at_least_twelve_documented_queries():
    assert len(QUERIES) >= 12
    internal = [q.name for q in QUERIES if q.name.startswith(("search_", "ui_", "link_"))]
    assert internal == []


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_header_is_complete_and_consistent(query):
    assert query.title and not query.title.endswith(".")
    assert len(query.description) > 40
    variables = set(re.findall(r"[?$](\w+)", query.body))
    for param in query.params:
        assert param.name in variables, f"{query.name}: parameter {param.name} is not a variable of the query"
        assert param.help
    assert set(query.examples) <= {p.name for p in query.params}
    info = inspect_query(query.text)
    assert info.form == "SELECT"


# ---------------------------------------------------------------- answers on the test graph
def test_orientations_by_actor(store):
    got = rows(store, "orientations_by_actor", actor="hpid:actor/ars")
    assert [(short(r["section"]), r["title"], r["actorLabel"]) for r in got] == [
        ("section/prs-test/sroms/1.1", "Coordonner les acteurs du domicile", "agence régionale de santé"),
        ("section/prs-test/sroms/1.2", "Développer l'accueil de jour", "agence régionale de santé"),
    ]
    assert len(rows(store, "orientations_by_actor")) == 3  # unbound: every (section, actor) pair


def test_tools_by_scheme(store):
    got = {(short(r["scheme"]), short(r["tool"]), r["sections"]) for r in rows(store, "tools_by_scheme")}
    assert got == {("plan/prs-test", "tool/cpom", "1"), ("scheme/prs-test/sroms", "tool/cpom", "1")}
    one = rows(store, "tools_by_scheme", scheme="hpid:scheme/prs-test/sroms")
    assert [short(r["scheme"]) for r in one] == ["scheme/prs-test/sroms"]


def test_territories_by_orientation(store):
    got = rows(store, "territories_by_orientation", section=SECTION + "1.1")
    assert [(r["territoryLabel"], r["insee"]) for r in got] == [("Bouches-du-Rhône", "13")]


def test_orientations_without_project_ignores_suggested_links(store):
    got = [short(r["section"]) for r in rows(store, "orientations_without_project")]
    # 1.1 has a confirmed link; 1.2 only a suggested one, so it still counts as without project
    assert got == ["section/prs-test/sroms/1", "section/prs-test/sroms/1.2"]


def test_actor_cooccurrence(store):
    got = rows(store, "actor_cooccurrence", actor="hpid:actor/ssiad")
    assert [(short(r["actor"]), short(r["other"]), r["sections"]) for r in got] == [
        ("actor/ssiad", "actor/ars", "1")]
    assert len(rows(store, "actor_cooccurrence")) == 2  # unbound: the pair in both orders


def test_section_path(store):
    got = rows(store, "section_path", section=SECTION + "1.1")
    assert [(short(r["ancestor"]), r["depth"]) for r in got] == [
        ("section/prs-test/sroms/1.1", "0"), ("section/prs-test/sroms/1", "1"),
        ("scheme/prs-test/sroms", "2"), ("plan/prs-test", "3")]


def test_programmes_cited(store):
    assert [(r["label"], r["sections"], r["docs"]) for r in rows(store, "programmes_cited")] == [
        ("plan Alzheimer", "1", "1")]


def test_counts_by_population(store):
    assert [(r["label"], r["sections"], r["mentions"]) for r in rows(store, "counts_by_population")] == [
        ("personnes âgées", "1", "0")]


def test_scheme_tree(store):
    got = rows(store, "scheme_tree", scheme="hpid:scheme/prs-test/sroms")
    assert [(r["number"], r["level"], short(r["parent"])) for r in got] == [
        ("1", "1", "scheme/prs-test/sroms"), ("1.1", "2", "section/prs-test/sroms/1"),
        ("1.2", "2", "section/prs-test/sroms/1")]


def test_concept_mentions_carry_provenance(store):
    got = rows(store, "concept_mentions", concept="hpid:actor/ars")
    assert got == [{"concept": HPID + "actor/ars", "surface": "ARS", "section": SECTION + "1.1",
                    "doc": HPID + "doc/test", "start": "2", "end": "5", "method": "acronym", "confidence": "0.9"}]


def test_cross_references(store):
    got = rows(store, "cross_references")
    assert [(r["fromNumber"], r["toNumber"], r["toTitle"]) for r in got] == [
        ("1.2", "1.1", "Coordonner les acteurs du domicile")]


def test_concepts_by_type(store):
    got = {short(r["vocabulary"]): (r["concepts"], r["usedConcepts"], r["mentions"])
           for r in rows(store, "concepts_by_type")}
    assert got["vocab/actors"] == ("2", "1", "1")
    assert got["vocab/territories"] == ("1", "0", "0")


def test_documents_overview(store):
    assert [(short(r["doc"]), r["sections"], r["mentions"], r["issued"]) for r in rows(store, "documents_overview")] \
        == [("doc/test", "3", "2", "2012")]


def test_sections_by_keyword(store):
    assert [r["number"] for r in rows(store, "sections_by_keyword", word="ACCUEIL")] == ["1.2"]


def test_candidate_concepts(store):
    assert [(r["label"], r["type"], r["mentions"]) for r in rows(store, "candidate_concepts")] == [
        ("comité des financeurs", "actor", "1")]


# ---------------------------------------------------------------- parameters are bound, not pasted
@pytest.mark.parametrize("attempt", [
    '") } } ; DROP ALL ; #',
    'x")) || true || CONTAINS(STR(?title), "',
    "' } UNION { ?section ?p ?title } #",
])
def test_injection_through_a_string_parameter_is_inert(store, attempt):
    before = len(store)
    assert rows(store, "sections_by_keyword", word=attempt) == []
    assert len(store) == before


@pytest.mark.parametrize("attempt", [
    "http://x> } UNION { ?section ?p ?o } #",
    "hpid:actor/ars> . ?s ?p ?o",
    "not an iri",
])
def test_injection_through_an_iri_parameter_is_refused(attempt):
    with pytest.raises(ValueError, match=r"parameter actor: .* is not an IRI"):
        bind_params(describe("orientations_by_actor"), {"actor": attempt})


def test_run_named_keeps_its_contract(store):
    # Other parts call run_named(store, name, **params) with rdflib terms or plain values.
    from rdflib import URIRef

    result = run_named(store, "orientations_by_actor", actor=URIRef(HPID + "actor/ssiad"))
    assert [str(r.section) for r in result] == [SECTION + "1.1"]


# ---------------------------------------------------------------- hpkg sparql
def _hpkg(data_dir, *args):
    return CliRunner().invoke(hpkg, ["sparql", "--data-dir", str(data_dir), *args], catch_exceptions=False)


def test_cli_named_query_table(data_dir):
    result = _hpkg(data_dir, "--name", "orientations_by_actor", "--param", "actor=hpid:actor/ssiad")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["actor", "actorLabel", "section", "number", "title", "doc"]
    assert "hpid:section/prs-test/sroms/1.1" in lines[2] and lines[-1] == "(1 row)"


def test_cli_json_is_standard_sparql_results(data_dir):
    result = _hpkg(data_dir, "--format", "json", "SELECT ?n WHERE { ?s hpo:number ?n } ORDER BY ?n")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["head"]["vars"] == ["n"]
    assert [b["n"]["value"] for b in payload["results"]["bindings"]] == ["1", "1.1", "1.2"]


@pytest.mark.parametrize("fmt, first_line", [
    ("csv", "n"), ("tsv", "?n"), ("xml", '<?xml version="1.0" encoding="utf-8"?>')])
def test_cli_other_formats(data_dir, fmt, first_line):
    result = _hpkg(data_dir, "--format", fmt, "SELECT ?n WHERE { ?s hpo:number ?n } ORDER BY ?n")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].strip() == first_line
    assert "1.2" in result.output


def test_cli_file_and_construct(data_dir, tmp_path):
    query = tmp_path / "q.rq"
    query.write_text("CONSTRUCT { ?s a hpo:Plan } WHERE { ?s a hpo:Plan }", encoding="utf-8")
    result = _hpkg(data_dir, "--file", str(query))
    assert result.exit_code == 0
    assert "prs-test" in result.output and "Plan" in result.output


@pytest.mark.parametrize("args, message", [
    (["--name", "no_such_query"], "Error: no named query 'no_such_query'"),
    (["--name", "orientations_by_actor", "--param", "who=x"], "unknown parameter 'who' (parameters: actor)"),
    (["--name", "orientations_by_actor", "--param", "actor=a b"], "parameter actor: 'a b' is not an IRI"),
    (["SELECT * WHERE { ?s ?p }"], "Error: syntax error at line 1, column"),
    (["DROP ALL"], "this endpoint is read-only"),
    (["SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"], "SERVICE is not allowed"),
    (["--format", "csv", "ASK {}"], "format 'csv' is not available for ASK answers"),
    (["--name", "orientations_by_actor", "--param", "actor"], "'actor': expected NAME=VALUE"),
])
def test_cli_errors_are_one_line_and_exit_1(data_dir, args, message):
    result = _hpkg(data_dir, *args)
    assert result.exit_code == (2 if "NAME=VALUE" in message else 1)  # 2: click usage error
    assert message in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- docs/queries.md
def test_docs_queries_md_is_up_to_date(ingested, repo_root):
    """CI check: docs/queries.md is what scripts/gen_query_docs.py makes from the bundled corpus."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_query_docs", repo_root / "scripts" / "gen_query_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    status = module.main(["--check", "--data-dir", ingested["data_dir"], "--store", ingested["store"]])
    assert status == 0, "docs/queries.md is stale: run python scripts/gen_query_docs.py"
    text = (repo_root / "docs" / "queries.md").read_text(encoding="utf-8")
    for query in QUERIES:
        assert f"\n## {query.name}\n" in text


def test_every_query_file_has_a_readable_header():
    # The web UI lists every named query through describe(); internal ones have no title.
    from kg.queries import query_names

    described = [describe(name) for name in query_names()]
    assert {q.name for q in described if q.title} == {q.name for q in QUERIES}


@pytest.mark.parametrize("line", ["# param: actor", "# param:", "# param: actor uri  help"])
def test_a_malformed_param_line_names_the_file(tmp_path, monkeypatch, line):
    import kg.queries as queries

    (tmp_path / "bad.rq").write_text(f"# title: Bad\n{line}\nSELECT * {{ }}\n", encoding="utf-8")
    monkeypatch.setattr(queries, "QUERY_DIR", tmp_path)
    queries.load_query.cache_clear()
    queries.describe.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"kg/queries/bad.rq: bad header line"):
            queries.describe("bad")
    finally:
        queries.load_query.cache_clear()
        queries.describe.cache_clear()


# The joined formulation documents_overview had before its counts became sub-queries (#14): it
# multiplied each page's sections by its mentions; the rewrite must give the same rows.
_DOCUMENTS_OVERVIEW_JOINED = """
PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?doc ?title ?plan ?scheme ?issued (COUNT(DISTINCT ?section) AS ?sections) (COUNT(DISTINCT ?mention) AS ?mentions) WHERE {
  ?doc a hpo:Document .
  OPTIONAL { ?doc dcterms:title ?title }
  OPTIONAL { ?doc hpo:inPlan ?plan }
  OPTIONAL { ?doc hpo:inScheme ?scheme }
  OPTIONAL { ?doc dcterms:issued ?issued }
  OPTIONAL { ?section hpo:inDocument ?doc }
  OPTIONAL { ?mention <http://www.w3.org/ns/prov#wasDerivedFrom> ?doc }
}
GROUP BY ?doc ?title ?plan ?scheme ?issued
ORDER BY ?doc
"""


@pytest.mark.parametrize("backend", ["oxigraph", "memory"])
def test_documents_overview_rewrite_keeps_the_joined_rows(tmp_path, backend):
    from pathlib import Path

    from pipeline.build import ingest_paths
    from search_api.settings import load_settings

    corpus = Path(__file__).resolve().parent.parent / "corpus"
    settings = load_settings({"data_dir": str(tmp_path)})
    ingest_paths([corpus], settings, build_index=False, on_stored=lambda *a: None)
    nq = tmp_path / "corpus.nq"
    with open_store(tmp_path) as ingested:
        nq.write_bytes(ingested.export("nq"))
    with open_store(tmp_path / "copy" if backend == "oxigraph" else None, backend=backend) as store:
        store.load_file(nq, HPID + "graph/bench")
        store.load_file(DATA / "plan.ttl", PLAN_GRAPH)  # a page with a mention-less section
        joined = [tuple(map(str, row)) for row in store.query(_DOCUMENTS_OVERVIEW_JOINED)]
        rewritten = [tuple(map(str, row)) for row in store.query(describe("documents_overview").text)]
    assert len(joined) == 6 and rewritten == joined
