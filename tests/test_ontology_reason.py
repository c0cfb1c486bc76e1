"""HermiT (via owlready2) finds the model and its vocabularies consistent, and a planted clash not."""
from __future__ import annotations

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SKOS

from ontology.namespaces import HPID, HPO
from ontology.reason import check_consistency, main

# Not skipped without Java: `make test` installs it, and a missing reasoner must fail loudly
# (check_consistency raises ReasonerUnavailable naming the fix). Deselect with -m "not reasoner".
pytestmark = pytest.mark.reasoner


def test_model_and_all_vocabularies_are_consistent():
    report = check_consistency(include_communes=True)
    assert report.consistent, report.summary()
    assert "territories.ttl" in report.sources and report.triples > 8000
    assert report.summary().startswith("consistent under HermiT")


def _clash() -> Graph:
    g = Graph()
    twice = HPID["territory/region-or-departement"]
    g.add((twice, RDF.type, SKOS.Concept))
    g.add((twice, RDF.type, HPO.Region))
    g.add((twice, RDF.type, HPO.Departement))
    g.add((twice, SKOS.prefLabel, Literal("Nulle part", lang="fr")))
    return g


def test_individual_in_two_disjoint_classes_is_reported(tmp_path):
    # the model alone (an empty vocabulary folder) keeps the negative tests fast
    report = check_consistency(_clash(), vocab_dir=tmp_path)
    assert not report.consistent
    assert report.clashes == [f"<{HPID['territory/region-or-departement']}> is both hpo:Departement and "
                              "hpo:Region, which are disjoint"]
    assert "INCONSISTENT" in report.summary()


def test_clash_through_superclasses_is_named(tmp_path):
    # a mention is a structural entity, a population a vocabulary concept: disjoint via hpo:Concept
    g = Graph()
    node = HPID["mention/x/0-4"]
    g.add((node, RDF.type, HPO.Mention))
    g.add((node, RDF.type, HPO.Population))
    report = check_consistency(g, vocab_dir=tmp_path)
    assert not report.consistent
    assert any("hpo:Concept and hpo:Mention" in clash for clash in report.clashes), report.clashes


def test_cli_exit_codes(tmp_path, capsys):
    clash = tmp_path / "clash.ttl"
    _clash().serialize(clash, format="turtle")
    empty = tmp_path / "vocab"
    empty.mkdir()
    assert main(["--vocab-dir", str(empty), str(clash)]) == 1
    assert "region-or-departement" in capsys.readouterr().out
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix nope", encoding="utf-8")
    assert main([str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err


def test_literal_outside_range_and_doubled_functional_value_are_reported(tmp_path):
    g = Graph()
    node = HPID["mention/x/3-9"]
    g.add((node, RDF.type, HPO.Mention))
    g.add((node, HPO.confidence, Literal(0.5)))  # xsd:double, the range is xsd:decimal
    g.add((node, HPO.start, Literal(3)))
    g.add((node, HPO.start, Literal(4)))
    report = check_consistency(g, vocab_dir=tmp_path)
    assert not report.consistent
    assert report.clashes == [
        f'<{node}> hpo:confidence "0.5"^^<http://www.w3.org/2001/XMLSchema#double>: expected xsd:decimal',
        f"<{node}> has 2 values of functional hpo:start",
    ]


def test_ingested_corpus_conforms_and_is_consistent(corpus_dir):
    """Contract with ingest: its graphs pass the shapes and, with the model, stay consistent."""
    from ingest.mentions import extract_mentions
    from ingest.pipeline import load_manifest, parse_file
    from ingest.to_rdf import document_graph
    from ontology.shapes import validate

    manifest = load_manifest(corpus_dir)
    corpus = Graph()
    for path in sorted(corpus_dir.glob("*.txt")):
        doc = parse_file(path, manifest)
        graph = document_graph(doc, extract_mentions(doc))
        result = validate(graph)
        assert result.conforms, f"{path.name}:\n{result.text}"
        corpus += graph
    report = check_consistency(corpus, include_communes=False)
    assert report.consistent, report.summary()


def test_missing_java_is_a_clear_error(monkeypatch):
    import owlready2

    from ontology.reason import ReasonerUnavailable

    monkeypatch.setattr(owlready2, "JAVA_EXE", "/nonexistent/java")
    with pytest.raises(ReasonerUnavailable, match="'/nonexistent/java' not found: install Java"):
        check_consistency()
