"""SHACL shapes: a graph shaped like ingest output conforms; each planted fault is reported by node."""
from __future__ import annotations

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS

from ontology.namespaces import HPID, HPO
from ontology.shapes import main, validate

DOC = HPID["doc/000"]
PLAN = HPID["plan/prs-2012-2016"]
SCHEME = HPID["scheme/prs-2012-2016/sroms"]
SECTION = HPID["section/prs-2012-2016/sroms/3.1"]
CHILD = HPID["section/prs-2012-2016/sroms/3.1.5"]
ITEM = HPID["section/prs-2012-2016/sroms/3.1.5/item/0"]
MENTION = HPID["mention/000/120-125"]
SSIAD = HPID["actor/ssiad"]
CONCEPT = HPID["territory/zone-test"]


def document_graph() -> Graph:
    """A small graph with the shape of docs/architecture.md ("RDF shape")."""
    g = Graph()
    g.bind("hpo", HPO._NS)
    g.add((DOC, RDF.type, HPO.Document))
    g.add((DOC, DCTERMS.title, Literal("Personnes âgées", lang="fr")))
    g.add((DOC, HPO.inPlan, PLAN))
    g.add((DOC, HPO.inScheme, SCHEME))
    g.add((DOC, HPO.pages, Literal("pp. 15-17")))
    for section, number, level, position, parent in [(SECTION, "3.1", 2, 0, SCHEME), (CHILD, "3.1.5", 3, 4, SECTION)]:
        g.add((section, RDF.type, HPO.Section))
        g.add((section, HPO.number, Literal(number)))
        g.add((section, DCTERMS.title, Literal(f"Section {number}")))
        g.add((section, HPO.level, Literal(level)))
        g.add((section, HPO.position, Literal(position)))
        g.add((section, HPO.partOf, parent))
        g.add((section, HPO.inDocument, DOC))
        g.add((section, HPO.text, Literal("Le SSIAD intervient à domicile.")))
    g.add((SECTION, RDF.type, HPO.Orientation))
    g.add((CHILD, HPO.hasItem, ITEM))
    g.add((ITEM, RDF.type, HPO.Item))
    g.add((ITEM, HPO.position, Literal(0)))
    g.add((ITEM, HPO.text, Literal("développer les SSIAD")))
    g.add((CHILD, HPO.involvesActor, SSIAD))
    g.add((CHILD, HPO.hasMention, MENTION))
    g.add((MENTION, RDF.type, HPO.Mention))
    g.add((MENTION, RDF.type, PROV.Entity))
    g.add((MENTION, HPO.mentionType, Literal("actor")))
    g.add((MENTION, HPO.surface, Literal("SSIAD")))
    g.add((MENTION, HPO.mentionOf, SSIAD))
    g.add((MENTION, HPO.inSection, CHILD))
    g.add((MENTION, HPO.start, Literal(120)))
    g.add((MENTION, HPO.end, Literal(125)))
    g.add((MENTION, HPO.method, Literal("vocabulary")))
    g.add((MENTION, HPO.confidence, Literal(1.0)))
    g.add((MENTION, PROV.wasDerivedFrom, DOC))
    g.add((CONCEPT, RDF.type, SKOS.Concept))
    g.add((CONCEPT, SKOS.prefLabel, Literal("zone test", lang="fr")))
    return g


def test_conforming_graph_passes():
    result = validate(document_graph())
    assert result.conforms, result.text
    assert result.text == "" and result.violations == ()


def _drop(subject, predicate):
    return lambda g: g.remove((subject, predicate, None))


def _set(subject, predicate, value):
    return lambda g: g.set((subject, predicate, value))


def _add(subject, predicate, value):
    return lambda g: g.add((subject, predicate, value))


FAULTS = {
    "section without title": (_drop(SECTION, DCTERMS.title), SECTION, "dcterms:title"),
    "section without document": (_drop(CHILD, HPO.inDocument), CHILD, "hpo:inDocument"),
    "section in two documents": (_add(CHILD, HPO.inDocument, HPID["doc/001"]), CHILD, "hpo:inDocument"),
    "position as a string": (_set(SECTION, HPO.position, Literal("0")), SECTION, "hpo:position"),
    "position as a double": (_set(SECTION, HPO.position, Literal(0.0)), SECTION, "hpo:position"),
    "section without level": (_drop(SECTION, HPO.level), SECTION, "hpo:level"),
    "two numbers": (_add(SECTION, HPO.number, Literal("3.2")), SECTION, "hpo:number"),
    "item without position": (_drop(ITEM, HPO.position), ITEM, "hpo:position"),
    "mention of unknown type": (_set(MENTION, HPO.mentionType, Literal("place")), MENTION, "hpo:mentionType"),
    "mention without concept": (_drop(MENTION, HPO.mentionOf), MENTION, "hpo:mentionOf"),
    "mention with a literal concept": (_set(MENTION, HPO.mentionOf, Literal("SSIAD")), MENTION, "hpo:mentionOf"),
    "start after end": (_set(MENTION, HPO.start, Literal(130)), MENTION, "hpo:start"),
    "start equal to end": (_set(MENTION, HPO.start, Literal(125)), MENTION, "hpo:start"),
    "end as a string": (_set(MENTION, HPO.end, Literal("125")), MENTION, "hpo:end"),
    "mention without provenance": (_drop(MENTION, PROV.wasDerivedFrom), MENTION, "prov:wasDerivedFrom"),
    "mention not a prov:Entity": (lambda g: g.remove((MENTION, RDF.type, PROV.Entity)), MENTION, "rdf:type"),
    "unknown method": (_set(MENTION, HPO.method, Literal("guess")), MENTION, "hpo:method"),
    "confidence above 1": (_set(MENTION, HPO.confidence, Literal(1.5)), MENTION, "hpo:confidence"),
    "concept without prefLabel": (_drop(CONCEPT, SKOS.prefLabel), CONCEPT, "skos:prefLabel"),
    "concept with English prefLabel only": (
        _set(CONCEPT, SKOS.prefLabel, Literal("test zone", lang="en")), CONCEPT, "skos:prefLabel"),
    "concept with two French prefLabels": (
        _add(CONCEPT, SKOS.prefLabel, Literal("zone d'essai", lang="fr")), CONCEPT, "skos:prefLabel"),
    "region without INSEE code": (_add(CONCEPT, RDF.type, HPO.Region), CONCEPT, "hpo:inseeCode"),
    "hasItem to an untyped node": (_add(SECTION, HPO.hasItem, HPID["nowhere"]), SECTION, "hpo:hasItem"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_planted_fault_is_reported_naming_the_node(fault):
    plant, node, path = FAULTS[fault]
    graph = document_graph()
    plant(graph)
    result = validate(graph)
    assert not result.conforms
    assert result.focus_nodes() == {str(node)}, result.text
    assert f"<{node}> {path}: " in result.text, result.text


def test_several_faults_one_line_each():
    graph = document_graph()
    graph.remove((SECTION, DCTERMS.title, None))
    graph.set((MENTION, HPO.start, Literal(200)))
    result = validate(graph)
    lines = result.text.splitlines()
    assert len(lines) == 2 and lines == sorted(lines)
    assert result.focus_nodes() == {str(SECTION), str(MENTION)}


def test_cli_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.ttl"
    document_graph().serialize(good, format="turtle")
    bad_graph = document_graph()
    bad_graph.remove((SECTION, HPO.inDocument, None))
    bad = tmp_path / "bad.ttl"
    bad_graph.serialize(bad, format="turtle")
    assert main([str(good)]) == 0
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: does not conform" in out and str(SECTION) in out
    broken = tmp_path / "broken.ttl"
    broken.write_text("this is not turtle", encoding="utf-8")
    assert main([str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err

