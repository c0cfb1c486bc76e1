"""docs/ontology.md: the example query gives the right answer, every model term is documented."""
from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, RDF, SKOS

from ontology.model import load_model
from ontology.namespaces import HPID, HPO
from ontology.shapes import validate

PLAN = HPID["plan/prs-2012-2016"]
SROMS = HPID["scheme/prs-2012-2016/sroms"]
SROS = HPID["scheme/prs-2012-2016/sros"]
SSIAD = HPID["actor/ssiad"]
SSIAD_PH = HPID["actor/ssiad-personnes-handicapees"]


@pytest.fixture(scope="module")
def doc_text(repo_root) -> str:
    return (repo_root / "docs" / "ontology.md").read_text(encoding="utf-8")


def sparql_blocks(text: str) -> list[str]:
    return re.findall(r"```sparql\n(.*?)```", text, re.S)


def _section(g: Graph, iri, number: str, parent, level: int, orientation: bool = False) -> None:
    g.add((iri, RDF.type, HPO.Section))
    if orientation:
        g.add((iri, RDF.type, HPO.Orientation))
    g.add((iri, HPO.number, Literal(number)))
    g.add((iri, DCTERMS.title, Literal(f"Section {number}")))
    g.add((iri, HPO.level, Literal(level)))
    g.add((iri, HPO.position, Literal(0)))
    g.add((iri, HPO.partOf, parent))
    g.add((iri, HPO.inDocument, HPID["doc/000"]))


@pytest.fixture(scope="module")
def policy_graph(repo_root) -> Graph:
    """Territories vocabulary + SSIAD concepts + three orientations, only one of which answers."""
    g = Graph().parse(repo_root / "ontology" / "vocab" / "territories.ttl", format="turtle")
    g.add((SSIAD, RDF.type, SKOS.Concept))
    g.add((SSIAD, SKOS.prefLabel, Literal("service de soins infirmiers à domicile", lang="fr")))
    g.add((SSIAD, SKOS.altLabel, Literal("SSIAD", lang="fr")))
    g.add((SSIAD_PH, RDF.type, SKOS.Concept))
    g.add((SSIAD_PH, SKOS.prefLabel, Literal("SSIAD pour personnes handicapées", lang="fr")))
    g.add((SSIAD_PH, SKOS.broader, SSIAD))
    g.add((PLAN, RDF.type, HPO.Plan))
    for scheme, title in [(SROMS, "Schéma Régional d'Organisation Médico-Sociale"),
                          (SROS, "Schéma Régional d'Organisation des Soins")]:
        g.add((scheme, RDF.type, HPO.Scheme))
        g.add((scheme, DCTERMS.title, Literal(title)))
        g.add((scheme, HPO.partOf, PLAN))
    sroms = lambda n: HPID[f"section/prs-2012-2016/sroms/{n}"]  # noqa: E731
    sros = lambda n: HPID[f"section/prs-2012-2016/sros/{n}"]  # noqa: E731
    _section(g, sroms("3"), "3", SROMS, 1)
    # 3.1: SSIAD (narrower concept) in one sub-section, Gap (a commune of 05) in another: answers
    _section(g, sroms("3.1"), "3.1", sroms("3"), 2, orientation=True)
    _section(g, sroms("3.1.1"), "3.1.1", sroms("3.1"), 3)
    _section(g, sroms("3.1.2"), "3.1.2", sroms("3.1"), 3)
    g.add((sroms("3.1.1"), HPO.involvesActor, SSIAD_PH))
    g.add((sroms("3.1.2"), HPO.concernsTerritory, HPID["territory/commune-05061"]))
    # 3.2: SSIAD but the Var: does not answer
    _section(g, sroms("3.2"), "3.2", sroms("3"), 2, orientation=True)
    g.add((sroms("3.2"), HPO.involvesActor, SSIAD))
    g.add((sroms("3.2"), HPO.concernsTerritory, HPID["territory/departement-83"]))
    # SROS 2.1: SSIAD and the Hautes-Alpes, but not the SROMS: does not answer
    _section(g, sros("2.1"), "2.1", SROS, 1, orientation=True)
    g.add((sros("2.1"), HPO.involvesActor, SSIAD))
    g.add((sros("2.1"), HPO.concernsTerritory, HPID["territory/departement-05"]))
    return g


def test_example_query_answers_the_question(doc_text, policy_graph):
    query = sparql_blocks(doc_text)[0]
    assert "SSIAD" in query and "departement/05" in query
    rows = list(policy_graph.query(query))
    assert [(str(r.number), str(r.orientation)) for r in rows] == [
        ("3.1", str(HPID["section/prs-2012-2016/sroms/3.1"]))
    ]


def test_example_graph_conforms_to_the_shapes(policy_graph):
    result = validate(policy_graph)
    assert result.conforms, result.text


def test_other_example_queries_run(doc_text, policy_graph):
    prefixes = sparql_blocks(doc_text)[0].split("SELECT")[0]
    blocks = re.split(r"\n(?=# )", sparql_blocks(doc_text)[1])
    communes = list(policy_graph.query(prefixes + blocks[0]))
    assert len(communes) > 100 and "Gap" in {str(r.name) for r in communes}
    assert list(policy_graph.query(prefixes + blocks[1])) == []  # no mentions in this graph


def test_every_model_term_is_documented(doc_text):
    model = load_model()
    for name in [c.name for c in model.classes] + [p.name for p in model.properties]:
        assert re.search(rf"\b(hpo:)?{name}\b", doc_text), name


def test_the_diagram_is_in_the_docs(doc_text, repo_root):
    assert "](ontology.svg)" in doc_text
    assert (repo_root / "docs" / "ontology.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
