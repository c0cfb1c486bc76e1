"""A small graph in the RDF shape of docs/architecture.md, for the web UI tests.

Two documents of one plan: a SROMS page with sections 3 > 3.1 > 3.1.5 (text, items, mentions
whose offsets index the document text) and a page without scheme whose one section hangs from
the plan; a few SKOS concepts; one project aligned with 3.1.5. Offsets are computed from the
text, so the graph stays consistent when the text is edited.
"""
from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS, XSD

from ontology.namespaces import HPID, HPO

PLAN = HPID["plan/prs-2012-2016"]
SCHEME = HPID["scheme/prs-2012-2016/sroms"]
SEC_3 = HPID["section/prs-2012-2016/sroms/3"]
SEC_31 = HPID["section/prs-2012-2016/sroms/3.1"]
SEC_315 = HPID["section/prs-2012-2016/sroms/3.1.5"]
SEC_B = HPID["section/prs-2012-2016/doc-b/acces-aux-soins"]
SSIAD = HPID["actor/ssiad"]
EHPAD = HPID["actor/ehpad"]
INFIRMIERS = HPID["actor/infirmier-liberal"]
CPOM = HPID["tool/cpom"]
BDR = HPID["territory/departement-13"]
AGEES = HPID["population/personnes-agees"]
PROJECT = HPID["project/msp-aubagne"]

TEXT_A = (
    "Accueil > PRS\n\n"
    "3.1.5 Améliorer les parcours de santé\n\n"
    "L'articulation entre les infirmiers libéraux et les SSIAD concerne les personnes âgées.\n"
    "Les EHPAD signent un CPOM avec l'ARS.\n"
    "  • faciliter la coordination avec les SSIAD\n"
)
TEXT_B = (
    "Accès aux soins\n\n"
    "Dans les Bouches-du-Rhône, les EHPAD accueillent les personnes âgées dépendantes.\n"
)
CONCEPTS = {
    SSIAD: ("actor", "SSIAD", "Service de soins infirmiers à domicile.", ["service de soins infirmiers à domicile"]),
    EHPAD: ("actor", "EHPAD", "Établissement d'hébergement pour personnes âgées dépendantes.", []),
    INFIRMIERS: ("actor", "infirmier libéral", None, ["infirmiers libéraux"]),
    CPOM: ("tool", "CPOM", "Contrat pluriannuel d'objectifs et de moyens.", []),
    BDR: ("territory", "Bouches-du-Rhône", None, []),
    AGEES: ("population", "personnes âgées", None, []),
}
KIND_CLASS = {"actor": HPO.Actor, "tool": HPO.Tool, "territory": HPO.Territory,
              "population": HPO.Population, "programme": HPO.Programme}
KIND_PROPERTY = {"actor": HPO.involvesActor, "tool": HPO.usesTool, "territory": HPO.concernsTerritory,
                 "population": HPO.targetsPopulation, "programme": HPO.refersToProgramme}


def _section(g: Graph, iri, number, title, level, position, parent, doc, text=""):
    g.add((iri, RDF.type, HPO.Section))
    if number:
        g.add((iri, HPO.number, Literal(number)))
    g.add((iri, DCTERMS.title, Literal(title, lang="fr")))
    g.add((iri, HPO.level, Literal(level)))
    g.add((iri, HPO.position, Literal(position)))
    g.add((iri, HPO.partOf, parent))
    g.add((iri, HPO.inDocument, doc))
    g.add((iri, HPO.text, Literal(text)))


def _mentions(g: Graph, doc_name: str, doc, section, doc_text: str, section_text: str, surfaces):
    """Mentions of `surfaces` (surface, concept) in `section_text`, offsets into `doc_text`."""
    base = doc_text.index(section_text)
    cursor = 0
    for surface, concept in surfaces:
        at = section_text.index(surface, cursor)
        cursor = at + len(surface)
        start, end = base + at, base + at + len(surface)
        m = HPID[f"mention/{doc_name}/{start}-{end}"]
        kind = CONCEPTS[concept][0]
        g.add((m, RDF.type, HPO.Mention))
        g.add((m, RDF.type, PROV.Entity))
        g.add((m, HPO.mentionType, Literal(kind)))
        g.add((m, HPO.surface, Literal(surface)))
        g.add((m, HPO.mentionOf, concept))
        g.add((m, HPO.inSection, section))
        g.add((m, HPO.start, Literal(start)))
        g.add((m, HPO.end, Literal(end)))
        g.add((m, HPO.method, Literal("vocabulary")))
        g.add((m, HPO.confidence, Literal(1.0, datatype=XSD.double)))
        g.add((m, PROV.wasDerivedFrom, doc))
        g.add((section, HPO.hasMention, m))
        g.add((section, KIND_PROPERTY[kind], concept))


def _plan(g: Graph):
    g.add((PLAN, RDF.type, HPO.Plan))
    g.add((PLAN, DCTERMS.title, Literal("Projet régional de santé 2012-2016", lang="fr")))


def document_a() -> Graph:
    g = Graph()
    doc = HPID["doc/doc-a"]
    _plan(g)
    g.add((SCHEME, RDF.type, HPO.Scheme))
    g.add((SCHEME, HPO.partOf, PLAN))
    g.add((SCHEME, DCTERMS.title, Literal("Schéma Régional d'Organisation Médico-Sociale", lang="fr")))
    g.add((doc, RDF.type, HPO.Document))
    g.add((doc, DCTERMS.title, Literal("Améliorer les parcours de santé", lang="fr")))
    g.add((doc, DCTERMS.source, Literal("Schéma Régional d'Organisation Médico-Sociale, ARS PACA, 2012, pp. 15-17")))
    g.add((doc, HPO.pages, Literal("15-17")))
    g.add((doc, HPO.site, Literal("ICARS")))
    g.add((doc, DCTERMS.issued, Literal(2012)))
    g.add((doc, HPO.inPlan, PLAN))
    g.add((doc, HPO.inScheme, SCHEME))
    _section(g, SEC_3, "3", "Orientations régionales spécifiques", 1, 3, SCHEME, doc)
    _section(g, SEC_31, "3.1", "Personnes âgées", 2, 1, SEC_3, doc)
    own = TEXT_A[TEXT_A.index("3.1.5"):]
    _section(g, SEC_315, "3.1.5", "Améliorer les parcours de santé", 3, 5, SEC_31, doc, own)
    g.add((SEC_315, RDF.type, HPO.Objective))
    item = URIRef(str(SEC_315) + "/item/1")
    g.add((SEC_315, HPO.hasItem, item))
    g.add((item, RDF.type, HPO.Item))
    g.add((item, HPO.position, Literal(1)))
    g.add((item, HPO.text, Literal("faciliter la coordination avec les SSIAD")))
    _mentions(g, "doc-a", doc, SEC_315, TEXT_A, own, [
        ("infirmiers libéraux", INFIRMIERS), ("SSIAD", SSIAD), ("personnes âgées", AGEES),
        ("EHPAD", EHPAD), ("CPOM", CPOM), ("SSIAD", SSIAD)])
    return g


def document_b() -> Graph:
    g = Graph()
    doc = HPID["doc/doc-b"]
    _plan(g)
    g.add((doc, RDF.type, HPO.Document))
    g.add((doc, DCTERMS.title, Literal("Accès aux soins", lang="fr")))
    g.add((doc, HPO.inPlan, PLAN))
    _section(g, SEC_B, None, "Accès aux soins", 1, 1, PLAN, doc, TEXT_B)
    _mentions(g, "doc-b", doc, SEC_B, TEXT_B, TEXT_B, [
        ("Bouches-du-Rhône", BDR), ("EHPAD", EHPAD), ("personnes âgées", AGEES)])
    return g


def vocabulary() -> Graph:
    g = Graph()
    for iri, (kind, label, definition, alts) in CONCEPTS.items():
        g.add((iri, RDF.type, SKOS.Concept))
        g.add((iri, RDF.type, KIND_CLASS[kind]))
        g.add((iri, SKOS.inScheme, HPID[f"vocab/{kind}s" if kind != "territory" else "vocab/territories"]))
        g.add((iri, SKOS.prefLabel, Literal(label, lang="fr")))
        for alt in alts:
            g.add((iri, SKOS.altLabel, Literal(alt, lang="fr")))
        if definition:
            g.add((iri, SKOS.definition, Literal(definition, lang="fr")))
    g.add((SSIAD, SKOS.broader, HPID["actor/service-medico-social"]))
    g.add((HPID["actor/service-medico-social"], SKOS.prefLabel, Literal("service médico-social", lang="fr")))
    return g


def projects() -> Graph:
    g = Graph()
    alignment = HPID["alignment/msp-aubagne/1"]
    g.add((PROJECT, RDF.type, HPO.Project))
    g.add((PROJECT, DCTERMS.title, Literal("Maison de santé pluriprofessionnelle d'Aubagne", lang="fr")))
    g.add((alignment, RDF.type, HPO.Alignment))
    g.add((alignment, HPO.alignedProject, PROJECT))
    g.add((alignment, HPO.alignedSection, SEC_315))
    g.add((alignment, HPO.status, Literal("confirmed")))
    g.add((alignment, HPO.score, Literal(0.82, datatype=XSD.double)))
    rejected, other = HPID["alignment/plateforme-x/1"], HPID["project/plateforme-x"]
    g.add((other, RDF.type, HPO.Project))
    g.add((other, DCTERMS.title, Literal("Plateforme écartée", lang="fr")))
    g.add((rejected, RDF.type, HPO.Alignment))
    g.add((rejected, HPO.alignedProject, other))
    g.add((rejected, HPO.alignedSection, SEC_315))
    g.add((rejected, HPO.status, Literal("rejected")))
    return g


def load_sample(store) -> None:
    """Write the sample graphs into `store` (named graphs as in the architecture)."""
    store.replace_graph(HPID["graph/doc-a"], document_a())
    store.replace_graph(HPID["graph/doc-b"], document_b())
    store.replace_graph(HPID["graph/ontology"], vocabulary())
    store.replace_graph(HPID["graph/projects"], projects())
