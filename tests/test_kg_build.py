"""ingest_paths and `hpkg ingest`: the corpus into the embedded store, page by page, atomically."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, SKOS

import pipeline.build
from ingest import iris
from ingest.model import Document, Section
from pipeline.build import ONTOLOGY_GRAPH, IngestReport, ingest_document, ingest_paths
from kg.store import open_store
from ontology.namespaces import HPID, HPO
from search_api.cli import main
from search_api.settings import load_settings

CORPUS_DOCS = ["000_d922552c98e187fc", "001_3df355c2a6af415e", "002_89bc7f6abee59dd7",
               "003_c60e09274645cd37", "004_d9216070b0b5bf36"]
BINARY = bytes(range(256)) * 8  # NUL bytes and invalid UTF-8: not a page


def settings_for(data_dir: Path, backend: str = "oxigraph") -> dict:
    return load_settings({"data_dir": str(data_dir), "store": backend})


def graphs_of(data_dir: Path) -> dict[URIRef, Graph]:
    """Every named graph of the store, through its N-Quads export."""
    with open_store(data_dir) as store:
        dataset = Dataset()
        dataset.parse(data=store.export("nq"), format="nquads")
    return {g.identifier: g for g in dataset.graphs() if len(g)}


@pytest.fixture(scope="session")
def copied_corpus(tmp_path_factory, corpus_dir) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for path in corpus_dir.iterdir():
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def built(tmp_path_factory, copied_corpus) -> tuple[Path, IngestReport, dict]:
    """The corpus ingested once (graph only); its report and its graphs."""
    data_dir = tmp_path_factory.mktemp("built")
    report = ingest_paths([copied_corpus], settings_for(data_dir), build_index=False)
    return data_dir, report, graphs_of(data_dir)


def test_report_counts_and_summary(built):
    _, report, _ = built
    assert report.skipped == [] and report.documents == 5
    assert report.sections >= 15
    assert {"actor", "programme", "territory", "population"} <= set(report.mentions)
    assert report.triples > 1000 and report.seconds > 0
    assert report.summary().startswith("ingested 5 documents, ")


def test_one_graph_per_document_plus_ontology(built):
    _, _, graphs = built
    assert set(graphs) == {iris.graph_iri(d) for d in CORPUS_DOCS} | {ONTOLOGY_GRAPH}
    ontology = graphs[ONTOLOGY_GRAPH]
    assert (HPO.Section, RDF.type, OWL.Class) in ontology
    assert len(set(ontology.subjects(RDF.type, SKOS.Concept))) > 50


def test_orientation_tree_linked_and_cited(built):
    data_dir, _, _ = built
    with open_store(data_dir) as store:
        rows = list(store.query("""
            PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
            PREFIX dcterms: <http://purl.org/dc/terms/>
            SELECT ?title ?parentTitle ?source WHERE {
              ?section hpo:number ?number ; dcterms:title ?title ; hpo:partOf ?parent ; hpo:inDocument ?doc .
              ?parent dcterms:title ?parentTitle .
              ?doc dcterms:source ?source .
            }""", bindings={"number": Literal("2.8.1")}))
        titles = {(str(r.title).replace("’", "'"), str(r.parentTitle).replace("’", "'")) for r in rows}
        assert titles == {("Optimiser l'allocation des ressources", "S'engager en faveur de l'efficience")}
        assert str(rows[0].source).endswith("pp. 15-17")
        section = HPID["section/93/projet-regional-de-sante-2012-2016/sroms/2.8.4"]
        # « cf. orientation spécifique personnes âgées » points to 3.1, known from another page
        assert list(store.query("SELECT ?t WHERE { ?s <https://w3id.org/healthpolicy-kg/ontology#crossReference> ?t }",
                                bindings={"s": section}))[0].t == HPID["section/93/projet-regional-de-sante-2012-2016/sroms/3.1"]
        linked = store.query("""
            PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
            SELECT ?p (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a hpo:Section ; ?p ?c .
              VALUES ?p { hpo:involvesActor hpo:targetsPopulation hpo:refersToProgramme hpo:concernsTerritory }
            } GROUP BY ?p""")
        assert len(list(linked)) == 4


def test_reingest_same_corpus_is_isomorphic(built, copied_corpus):
    data_dir, _, before = built
    report = ingest_paths([copied_corpus], settings_for(data_dir), build_index=False)
    after = graphs_of(data_dir)
    assert report.documents == 5 and set(after) == set(before)
    for iri in before:
        assert isomorphic(after[iri], before[iri]), iri


def test_changed_page_replaces_only_its_graph(built, tmp_path, copied_corpus):
    built_dir, _, reference = built
    data_dir = tmp_path / "data"
    shutil.copytree(built_dir, data_dir)  # a closed store: its folder is the whole state
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(copied_corpus / "manifest.toml", pages)
    page = pages / f"{CORPUS_DOCS[1]}.txt"
    text = (copied_corpus / page.name).read_text(encoding="utf-8")
    page.write_text(text.replace("Handicap et vieillissement", "Handicap, vieillissement et autonomie"), encoding="utf-8")
    report = ingest_paths([page], settings_for(data_dir), build_index=False)
    assert report.documents == 1
    graphs = graphs_of(data_dir)
    changed = iris.graph_iri(CORPUS_DOCS[1])
    assert not isomorphic(graphs[changed], reference[changed])
    assert any("autonomie" in str(o) for o in graphs[changed].objects(None, HPO.text))
    assert not any("Handicap et vieillissement" == str(o) for o in graphs[changed].objects())
    for iri in set(reference) - {changed}:
        assert isomorphic(graphs[iri], reference[iri]), iri


def test_bad_page_is_skipped_and_its_old_graph_kept(built, tmp_path, copied_corpus):
    built_dir, _, reference = built
    data_dir = tmp_path / "data"
    shutil.copytree(built_dir, data_dir)
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(copied_corpus / "manifest.toml", pages)
    good = shutil.copy(copied_corpus / f"{CORPUS_DOCS[3]}.txt", pages)
    broken = pages / f"{CORPUS_DOCS[2]}.txt"
    broken.write_bytes(BINARY)  # a stored page went bad since the last ingest
    (pages / "zz_new.txt").write_bytes(BINARY)  # and a bad page is added
    report = ingest_paths([pages], settings_for(data_dir), build_index=False)
    assert sorted(Path(e.path).name for e in report.skipped) == [broken.name, "zz_new.txt"]
    assert report.documents == 1 and Path(good).exists()
    assert f"{broken.name}:" in report.summary() and "zz_new.txt:" in report.summary()
    graphs = graphs_of(data_dir)
    assert set(graphs) == set(reference)
    for iri in reference:  # the bad page's old graph, and every other, exactly as they were
        assert isomorphic(graphs[iri], reference[iri]), iri


def test_two_pages_with_one_name_do_not_overwrite_each_other(tmp_path, copied_corpus):
    name = f"{CORPUS_DOCS[3]}.txt"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(copied_corpus / name, tmp_path / folder / name)
    report = ingest_paths([tmp_path / "a", tmp_path / "b"], settings_for(tmp_path / "data"), build_index=False)
    assert report.documents == 1
    assert [str(e) for e in report.skipped] == [
        f"{tmp_path / 'b' / name}: same name as {tmp_path / 'a' / name} "
        f"(graph <{iris.graph_iri(CORPUS_DOCS[3])}>); rename one"]


def test_graph_failing_shapes_is_refused_naming_the_node(built, tmp_path):
    data_dir = tmp_path / "data"
    good = Document(doc="x", path="pages/x.txt", title="Page", text="Un titre\nDu texte.",
                    sections=[Section(None, "Un titre", 1, None, 0, 18, text="Un titre\nDu texte.")])
    with open_store(data_dir) as store:
        ingest_document(store, good)
        before = store.export("nq")
        bad = Document(doc="x", path="pages/x.txt", title="Page", text="Un titre\nDu texte.",
                       sections=[Section("1", "", 1, None, 0, 18, text="Un titre\nDu texte.")])  # empty title
        with pytest.raises(pipeline.build.IngestError, match=r"pages/x.txt: graph fails the SHACL shapes: <https://w3id.org/healthpolicy-kg/id/section/sans-plan/x/1>"):
            ingest_document(store, bad)
        assert store.export("nq") == before


def test_interrupted_ingest_leaves_no_half_written_page(built, tmp_path, copied_corpus, monkeypatch):
    _, _, reference = built
    data_dir = tmp_path / "data"
    real_graph = pipeline.build.document_graph
    done = []

    def interrupted(doc, mentions, known=None, warnings=None):
        if len(done) == 2:  # the third page: as if Ctrl-C hit between two pages
            raise KeyboardInterrupt
        done.append(doc.doc)
        return real_graph(doc, mentions, known, warnings)

    monkeypatch.setattr(pipeline.build, "document_graph", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([copied_corpus], settings_for(data_dir), build_index=False)
    graphs = graphs_of(data_dir)
    assert set(graphs) == {ONTOLOGY_GRAPH} | {iris.graph_iri(d) for d in done}
    for doc in done:
        assert isomorphic(graphs[iris.graph_iri(doc)], reference[iris.graph_iri(doc)])


@pytest.mark.parametrize("with_bad_file, code", [(False, 0), (True, 1)])
def test_cli_ingest_exit_code_names_bad_file(tmp_path, copied_corpus, with_bad_file, code):
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(copied_corpus / "manifest.toml", pages)
    shutil.copy(copied_corpus / f"{CORPUS_DOCS[3]}.txt", pages)
    if with_bad_file:
        (pages / "broken.txt").write_bytes(BINARY)
    result = CliRunner().invoke(main, ["ingest", str(pages), "--data-dir", str(tmp_path / "data"), "--no-index"])
    assert result.exit_code == code, result.output
    assert "ingested 1 documents" in result.output
    assert ("broken.txt:" in result.output) == with_bad_file


def test_cli_load_and_export(built, tmp_path):
    data_dir = tmp_path / "data"
    source = tmp_path / "extra.ttl"
    source.write_text('<http://example.org/a> <http://example.org/p> "x" .', encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["load", str(source), "--graph", "http://example.org/g", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "loaded 1 triples into <http://example.org/g>" in result.output
    out = tmp_path / "all.nq"
    result = runner.invoke(main, ["export", "--format", "nq", "-o", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").strip() == \
        '<http://example.org/a> <http://example.org/p> "x" <http://example.org/g> .'
    broken = tmp_path / "broken.nt"
    broken.write_text("<http://example.org/a> <http://example.org/p> .", encoding="utf-8")
    result = runner.invoke(main, ["load", str(broken), "--graph", "http://example.org/g", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "broken.nt: cannot read as" in result.output
    result = runner.invoke(main, ["load", str(source), "--graph", "not an iri", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "invalid graph IRI 'not an iri'" in result.output


@pytest.mark.parametrize("args", [["export"], ["search", "EHPAD"], ["sparql", "ASK {}"], ["link", "un SSIAD"]])
def test_cli_on_a_locked_store_is_a_one_line_error(tmp_path, args):
    """While `hpkg serve` holds the embedded store, other commands say so instead of a traceback."""
    import pyoxigraph

    holder = pyoxigraph.Store(str(tmp_path / "store"))  # noqa: F841 - holds the lock
    result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ")
    assert "cannot open the store" in result.output and "Traceback" not in result.output


def test_prune_removes_pages_gone_from_the_corpus_and_nothing_else(built, tmp_path, copied_corpus):
    built_dir, _, reference = built
    data_dir = tmp_path / "data"
    shutil.copytree(built_dir, data_dir)
    external = HPID["graph/finess-extract"]
    with open_store(data_dir) as store:  # RDF added by `hpkg load`: not a page, never pruned
        extra = Graph()
        extra.add((HPID["finess/1"], SKOS.prefLabel, Literal("EHPAD Les Oliviers")))
        store.replace_graph(external, extra)
    pages = tmp_path / "pages"
    shutil.copytree(copied_corpus, pages)
    (pages / f"{CORPUS_DOCS[2]}.txt").unlink()  # deleted from the corpus
    (pages / f"{CORPUS_DOCS[3]}.txt").write_bytes(BINARY)  # now unreadable: skipped, kept
    result = CliRunner().invoke(main, ["ingest", str(pages), "--data-dir", str(data_dir), "--no-index", "--prune"])
    assert result.exit_code == 1  # one file skipped
    assert f"removed 1 page graph(s) no longer in the input: {CORPUS_DOCS[2]}" in result.output
    graphs = graphs_of(data_dir)
    assert iris.graph_iri(CORPUS_DOCS[2]) not in graphs
    assert isomorphic(graphs[iris.graph_iri(CORPUS_DOCS[3])], reference[iris.graph_iri(CORPUS_DOCS[3])])
    assert external in graphs and ONTOLOGY_GRAPH in graphs
