"""document_graph: the RDF shape of docs/architecture.md, on pages built by hand."""
from __future__ import annotations

import subprocess
import sys

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ingest import iris
from ingest.model import Document, Item, Mention, Section, Source
from ingest.pipeline import document_from_text
from ingest.to_rdf import KIND_CLASSES, document_graph, resolve_reference, section_table
from ingest.tree import LABELS
from pipeline.build import ONTOLOGY_FILE
from ontology.namespaces import HPID, HPO
from ontology.shapes import validate

PLAN = "Projet régional de santé 2012-2016"
SCHEME = "Schéma Régional d’Organisation Médico-Sociale"
SECTION = HPID["section/93/projet-regional-de-sante-2012-2016/sroms/"]
TEXT = (
    "2.8 S’engager en faveur de l’efficience\n"
    "2.8.1 Optimiser l’allocation des ressources\n"
    "Les EHPAD et l’ARS signent un CPOM (cf. 2.8.2).\n"
    "  • premier axe\n  • second axe\n"
    "2.8.2 Promouvoir un modèle organisationnel performant\n"
    "Voir aussi (cf. orientation spécifique personnes âgées : promouvoir) et (cf. annexe 9).\n"
)


def _span(fragment: str, after: int = 0) -> tuple[int, int]:
    start = TEXT.index(fragment, after)
    return start, start + len(fragment)


def make_doc() -> Document:
    s28, s281, s282 = TEXT.index("2.8 "), TEXT.index("2.8.1"), TEXT.index("2.8.2 Promouvoir")
    return Document(
        doc="004_test", path="corpus/004_test.txt", title="2.8 S’engager en faveur de l’efficience",
        text=TEXT, plan=PLAN, scheme=SCHEME, region="Provence-Alpes-Côte d'Azur", region_code="93",
        site="ICARS", breadcrumb=["2 Orientations régionales partagées", "2.8 S’engager en faveur de l’efficience"],
        source=Source(scheme="Schéma Régional d’Organisation Médico-sociale", publisher="ARS PACA", year=2011,
                      pages="15-17", text="Schéma Régional d’Organisation Médico-sociale. ARS PACA, 2011, pp. 15-17"),
        figures=["RI00000182"],
        sections=[
            Section("2", "Orientations régionales partagées", 1, None, 0, 0, from_breadcrumb=True),
            Section("2.8", "S’engager en faveur de l’efficience", 2, "2", s28, s281, text=""),
            Section("2.8.1", "Optimiser l’allocation des ressources", 3, "2.8", s281, s282,
                    text=TEXT[s281:s282], items=[Item("premier axe", *_span("premier axe")),
                                                 Item("second axe", *_span("second axe"))]),
            Section("2.8.2", "Promouvoir un modèle organisationnel performant", 3, "2.8", s282, len(TEXT),
                    text=TEXT[s282:]),
        ],
    )


def make_mentions() -> list[Mention]:
    return [
        Mention("actor", "EHPAD", *_span("EHPAD"), section="2.8.1", concept=str(HPID["actor/ehpad"]),
                label="EHPAD", method="vocabulary", confidence=0.95),
        Mention("actor", "ARS", *_span("ARS"), section="2.8.1", concept=str(HPID["actor/ars"]),
                label="Agence régionale de santé", method="acronym", confidence=0.9),
        Mention("tool", "CPOM", *_span("CPOM"), section="2.8.1", concept=str(HPID["candidate/tool/cpom"]),
                label="CPOM", method="acronym", confidence=0.5, candidate=True),
        Mention("population", "personnes âgées", *_span("personnes âgées"), section="2.8.2",
                concept=str(HPID["population/personnes-agees"]), label="Personnes âgées", method="vocabulary"),
    ]


@pytest.fixture(scope="module")
def graph():
    other_page = {("title", "personnes agees"): SECTION + "3.1"}  # a section known from another page
    return document_graph(make_doc(), make_mentions(), other_page)


def test_document_metadata(graph):
    doc = HPID["doc/004_test"]
    assert graph.value(doc, RDF.type) == HPO.Document
    assert graph.value(doc, DCTERMS.title) == Literal("2.8 S’engager en faveur de l’efficience")
    assert graph.value(doc, HPO.site) == Literal("ICARS")
    assert graph.value(doc, DCTERMS.language) == Literal("fr")
    assert graph.value(doc, DCTERMS.publisher) == Literal("ARS PACA")
    assert graph.value(doc, DCTERMS.issued) == Literal("2011", datatype=XSD.gYear)
    assert graph.value(doc, HPO.pages) == Literal("15-17")
    assert graph.value(doc, DCTERMS.source).startswith("Schéma Régional")
    assert graph.value(doc, HPO.figure) == Literal("RI00000182")
    plan = HPID["plan/93/projet-regional-de-sante-2012-2016"]
    scheme = HPID["scheme/93/projet-regional-de-sante-2012-2016/sroms"]
    assert graph.value(doc, HPO.inPlan) == plan and graph.value(doc, HPO.inScheme) == scheme
    assert (plan, RDF.type, HPO.Plan) in graph and graph.value(plan, DCTERMS.title) == Literal(PLAN)
    assert (scheme, RDF.type, HPO.Scheme) in graph and graph.value(scheme, HPO.partOf) == plan


def test_section_tree(graph):
    top, s28, s281 = SECTION + "2", SECTION + "2.8", SECTION + "2.8.1"
    assert graph.value(top, HPO.partOf) == HPID["scheme/93/projet-regional-de-sante-2012-2016/sroms"]
    assert graph.value(s28, HPO.partOf) == top and graph.value(s281, HPO.partOf) == s28
    assert [graph.value(s, HPO.level).toPython() for s in (top, s28, s281)] == [1, 2, 3]
    assert graph.value(s281, HPO.position) == Literal(1) and graph.value(SECTION + "2.8.2", HPO.position) == Literal(2)
    assert graph.value(s28, HPO.position) == Literal(8)  # the printed number, stable across pages
    assert graph.value(s281, HPO.number) == Literal("2.8.1")
    assert graph.value(s281, HPO.inDocument) == HPID["doc/004_test"]
    assert graph.value(s281, HPO.text).startswith("2.8.1 Optimiser")
    assert graph.value(top, HPO.text) is None  # breadcrumb ancestor: no text of its own here
    # levels: a section under an `Orientations …` heading is an orientation, its children objectives
    assert (s28, RDF.type, HPO.Orientation) in graph and (s281, RDF.type, HPO.Objective) in graph
    assert not set(graph.objects(top, RDF.type)) - {HPO.Section}


def test_items(graph):
    s281 = SECTION + "2.8.1"
    items = sorted(graph.objects(s281, HPO.hasItem))
    assert items == [URIRef(f"{s281}/item/1"), URIRef(f"{s281}/item/2")]
    assert graph.value(items[1], RDF.type) == HPO.Item
    assert graph.value(items[1], HPO.position) == Literal(2) and graph.value(items[1], HPO.text) == Literal("second axe")


def test_mentions_with_provenance_and_concept_links(graph):
    start, end = _span("EHPAD")
    mention = HPID[f"mention/004_test/{start}-{end}"]
    s281 = SECTION + "2.8.1"
    assert set(graph.objects(mention, RDF.type)) == {HPO.Mention, PROV.Entity}
    assert graph.value(mention, HPO.mentionType) == Literal("actor")
    assert graph.value(mention, HPO.surface) == Literal("EHPAD")
    assert graph.value(mention, HPO.mentionOf) == HPID["actor/ehpad"]
    assert (graph.value(mention, HPO.start), graph.value(mention, HPO.end)) == (Literal(start), Literal(end))
    assert graph.value(mention, HPO.method) == Literal("vocabulary")
    assert graph.value(mention, HPO.confidence) == Literal("0.95", datatype=XSD.decimal)
    assert graph.value(mention, PROV.wasDerivedFrom) == HPID["doc/004_test"]
    assert graph.value(mention, HPO.inSection) == s281 and (s281, HPO.hasMention, mention) in graph
    assert set(graph.objects(s281, HPO.involvesActor)) == {HPID["actor/ehpad"], HPID["actor/ars"]}
    assert graph.value(s281, HPO.usesTool) == HPID["candidate/tool/cpom"]
    assert graph.value(SECTION + "2.8.2", HPO.targetsPopulation) == HPID["population/personnes-agees"]


def test_candidate_concepts_get_their_own_triples(graph):
    candidate = HPID["candidate/tool/cpom"]
    assert graph.value(candidate, RDF.type) == HPO.CandidateConcept
    assert graph.value(candidate, SKOS.prefLabel) == Literal("CPOM", lang="fr")
    assert graph.value(candidate, HPO.mentionType) == Literal("tool")
    assert (HPID["actor/ehpad"], RDF.type, None) not in graph  # vocabulary concepts live in the ontology graph


def test_cross_references(graph):
    s281, s282 = SECTION + "2.8.1", SECTION + "2.8.2"
    assert graph.value(s281, HPO.crossReference) == s282  # by number, same page
    assert graph.value(s282, HPO.crossReference) == SECTION + "3.1"  # by title, another page
    assert graph.value(s282, DCTERMS.references) == Literal("annexe 9")  # unknown: the text is kept


def test_resolve_reference_by_number_stays_in_the_scheme():
    table = section_table(make_doc())
    assert resolve_reference("2.8.1", "sroms", table) == SECTION + "2.8.1"
    assert resolve_reference("2.8.1", "sros", table) is None
    assert resolve_reference("§ 2.8", "sroms", table) == SECTION + "2.8"


def test_same_input_same_graph_no_blank_nodes(graph):
    again = document_graph(make_doc(), make_mentions(), {("title", "personnes agees"): SECTION + "3.1"})
    assert set(again) == set(graph)  # equal, not only isomorphic: IRIs come from content
    assert not any(isinstance(term, BNode) for triple in graph for term in triple)


def test_graph_passes_the_shapes(graph):
    result = validate(graph)
    assert result.conforms, result.violations


def test_printed_labels_give_level_classes():
    doc = Document(doc="p", path="p.txt", title="Plan", text="x" * 40, plan=PLAN, scheme="SRP", sections=[
        Section("Axe 1", "Prévenir", 1, None, 0, 10, text="Axe 1", kind="axis"),
        Section("Objectif 2", "Dépister", 2, "Axe 1", 10, 20, text="Objectif 2", kind="objective"),
        Section(None, "Mettre en place un dépistage", 3, "Objectif 2", 20, 40, text="Mettre en place"),
    ])
    graph = document_graph(doc, [])
    base = HPID["section/projet-regional-de-sante-2012-2016/srp/"]
    assert (base + "axe-1", RDF.type, HPO.StrategicAxis) in graph
    assert (base + "objectif-2", RDF.type, HPO.Objective) in graph
    assert (base + "mettre-en-place-un-depistage", RDF.type, HPO.Action) in graph
    assert graph.value(base + "objectif-2", HPO.position) == Literal(2)


def test_every_heading_kind_the_parser_prints_has_a_section_class():
    kinds = {kind for kind, _rank in LABELS.values()}
    assert kinds <= set(KIND_CLASSES), kinds - set(KIND_CLASSES)
    model = Graph().parse(ONTOLOGY_FILE)
    for kind in kinds:
        assert (KIND_CLASSES[kind], RDFS.subClassOf * "+", HPO.Section) in model  # noqa: the path syntax


def test_lettered_parts_under_an_axis_stay_sections_and_measures_are_actions():
    """The shape that once raised KeyError(StrategicAxis): `Axe 1 -` with `A.`, `B.` under it."""
    doc = document_from_text("axes.txt", "Plan de prévention\n\nAxe 1 - Prévenir\n\nA. Les publics\n\n"
                                          "Texte.\n\nB. Les lieux\n\nMesure 1 : Dépister\n\nTexte.\n\n"
                                          "Axe 2 - Soigner\n\nA. Les soins\n\nTexte.\n")
    warnings: list[str] = []
    graph = document_graph(doc, [], warnings=warnings)
    assert warnings == [] and validate(graph).conforms
    types = {str(graph.value(node, HPO.number)): set(graph.objects(node, RDF.type))
             for node in graph.subjects(RDF.type, HPO.Section)}
    assert HPO.StrategicAxis in types["Axe 1"] and types["Axe 1.A"] == {HPO.Section}
    assert {HPO.Measure, HPO.Action} <= types["Mesure 1"]


def test_a_kind_the_model_lacks_falls_back_to_section_with_a_warning():
    doc = Document(doc="u", path="u.txt", title="U", text="x" * 20, sections=[
        Section("Volet 1", "Un volet", 1, None, 0, 20, text="Volet 1", kind="volet")])
    warnings: list[str] = []
    graph = document_graph(doc, [], warnings=warnings)
    node = next(graph.subjects(RDF.type, HPO.Section))
    assert set(graph.objects(node, RDF.type)) == {HPO.Section}
    assert warnings == ["section 'Volet 1': no class for heading kind 'volet'; typed hpo:Section"]
    assert validate(graph).conforms


def test_repeated_titles_get_distinct_iris():
    text = "Contexte\nA.\nContexte\nB."
    doc = Document(doc="r", path="r.txt", title="R", text=text, sections=[
        Section("1", "Premier", 1, None, 0, 0, from_breadcrumb=True),
        Section(None, "Contexte", 2, "1", 0, 11, text=text[:11]),
        Section("2", "Second", 1, None, 11, 11, from_breadcrumb=True),
        Section(None, "Contexte", 2, "2", 11, len(text), text=text[11:]),
    ])
    mention = Mention("actor", "B", text.index("B"), text.index("B") + 1, section="Contexte",
                      concept=str(HPID["actor/b"]), label="B", method="vocabulary")
    graph = document_graph(doc, [mention])
    first, second = HPID["section/sans-plan/r/contexte"], HPID["section/sans-plan/r/contexte-2"]
    assert graph.value(first, HPO.partOf) == HPID["section/sans-plan/r/1"]
    assert graph.value(second, HPO.partOf) == HPID["section/sans-plan/r/2"]
    assert graph.value(second, HPO.involvesActor) == HPID["actor/b"] and graph.value(first, HPO.involvesActor) is None
    assert validate(graph).conforms


def test_a_changed_section_title_keeps_numbered_iris():
    doc = make_doc()
    doc.sections[2].title = "Optimiser autrement"
    changed = document_graph(doc, make_mentions())
    assert changed.value(SECTION + "2.8.1", DCTERMS.title) == Literal("Optimiser autrement")


def test_unnumbered_sections_and_missing_scheme():
    doc = Document(doc="002_x", path="002_x.txt", title="Commission", text="Commission\nTexte.", plan=None,
                   sections=[Section(None, "Commission de coordination", 1, None, 0, 17, text="Commission\nTexte.")])
    graph = document_graph(doc, [])
    node = HPID["section/sans-plan/002_x/commission-de-coordination"]
    assert graph.value(node, RDF.type) == HPO.Section
    assert graph.value(node, HPO.partOf) is None and graph.value(node, HPO.position) == Literal(1)
    assert validate(graph).conforms


@pytest.mark.parametrize("name, expected", [
    ("Schéma Régional d'Organisation Médico-Sociale", "sroms"),
    ("Schéma régional d’organisation des soins", "sros"),
    ("Schéma régional de prévention", "srp"),
    ("PRAPS", "praps"),
    ("Volet ambulatoire", "volet-ambulatoire"),
])
def test_scheme_slugs(name, expected):
    assert iris.scheme_slug(name) == expected


def test_ingest_does_not_import_kg():
    code = "import sys, ingest.to_rdf, ingest.iris; print([m for m in sys.modules if m.split('.')[0] in ('kg', 'search_api')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_two_regions_same_plan_and_number_never_share_an_iri():
    """Every ARS published a « PRS 2012-2016 » with a SROMS § 2.8: the region keeps them apart."""
    from ingest import iris

    paca = iris.section_iri(PLAN, SCHEME, "a", "2.8", region_code="93")
    bretagne = iris.section_iri(PLAN, SCHEME, "b", "2.8", region_code="53")
    assert paca != bretagne
    assert iris.plan_iri(PLAN, region_code="93") != iris.plan_iri(PLAN, region_code="53")
    # The same page ingested twice gives the same IRI (no run order, no randomness).
    assert paca == iris.section_iri(PLAN, SCHEME, "other-file", "2.8", region_code="93")
