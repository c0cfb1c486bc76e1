"""Document + mentions -> the triples of the document's named graph (docs/architecture.md, "RDF shape").

One graph per page: the document and its metadata, its plan and scheme, the section tree
(levels, positions, own text, items), the concepts each section involves, every mention with
its provenance (PROV-O), candidate concepts, and cross-references between sections.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS, XSD

from ingest import iris
from ingest.model import Document, Mention, Section
from ontology.entity_types import CONCEPT_PROPERTY
from ontology.namespaces import HPID, HPO
from ontology.textkeys import fold

# Labels opening a title (`Objectif : …`) and the level class they give.
LEVEL_WORDS = {
    "axe": HPO.StrategicAxis, "orientation": HPO.Orientation, "objectif": HPO.Objective,
    "sous-objectif": HPO.Objective, "action": HPO.Action, "mesure": HPO.Measure,
}
# The level class of every heading kind the parser prints (`ingest.tree.LABELS`; a test keeps
# them in step). A kind missing here falls back to plain hpo:Section with a warning.
KIND_CLASSES = {"part": HPO.Part, "axis": HPO.StrategicAxis, "priority": HPO.Priority, "issue": HPO.Stake,
                "orientation": HPO.Orientation, "objective": HPO.Objective, "action": HPO.Action,
                "measure": HPO.Measure, "article": HPO.Article}
# Classes asserted with their parent class, so that queries over actions see measures.
ALSO_TYPED = {HPO.Measure: HPO.Action}
# Below an `Orientation…` grouping heading, levels go orientation > objective > action. Other
# levels say nothing of their unlabelled children (lettered parts of an axis stay sections).
NEXT_LEVEL = {HPO.Orientation: HPO.Objective, HPO.Objective: HPO.Action, HPO.Action: HPO.Action,
              HPO.Measure: HPO.Action}
_CROSS_REF = re.compile(r"\bcf\.?\s+(?P<target>[^)\]\n;]+)", re.IGNORECASE)
_REF_NUMBER = re.compile(r"^(?:§\s*|(?:point|section|chapitre)\s+)?(?P<num>\d+(?:\.\d+)*)\b")
# Words that say what kind of part a reference points to, not which one.
_REF_CUES = {
    "orientation", "orientations", "specifique", "specifiques", "partagee", "partagees", "regionale",
    "regionales", "objectif", "objectifs", "axe", "chapitre", "section", "partie", "volet",
    "le", "la", "les", "l", "du", "de", "des", "d", "point", "sur",
}

SectionTable = Mapping[tuple[str, str], URIRef]


def document_graph(doc: Document, mentions: list[Mention], known_sections: SectionTable | None = None,
                   warnings: list[str] | None = None) -> Graph:
    """The named graph of one document.

    `known_sections` (from `section_table` over other pages) lets a cross-reference reach a
    section of another page; unresolved references keep their text (`dcterms:references`).
    What could not be typed is appended to `warnings` (the page is still written).
    """
    graph = Graph()
    graph.bind("hpo", HPO._NS)
    graph.bind("hpid", HPID)
    doc_node = iris.doc_iri(doc.doc)
    top = _add_document(graph, doc, doc_node)
    table = dict(known_sections or {})
    table.update(section_table(doc))
    classes = _level_classes(doc, warnings if warnings is not None else [])
    nodes: dict[str, URIRef] = {}  # key -> node of the latest section with that key (pre-order)
    spans: list[tuple[Section, URIRef]] = []
    for section, node in zip(doc.sections, section_nodes(doc)):
        _add_section(graph, doc, section, node, nodes.get(section.parent, top), doc_node, classes)
        _add_cross_references(graph, doc, section, node, table)
        nodes[section.key] = node
        spans.append((section, node))
    _add_mentions(graph, doc, mentions, spans, doc_node)
    return graph


def section_nodes(doc: Document) -> list[URIRef]:
    """The IRI of each section; a title repeated in one page gets `-2`, `-3`… in page order."""
    nodes, seen = [], {}
    for section in doc.sections:
        node = section_node(doc, section)
        seen[node] = seen.get(node, 0) + 1
        nodes.append(node if seen[node] == 1 else URIRef(f"{node}-{seen[node]}"))
    return nodes


def section_node(doc: Document, section: Section) -> URIRef:
    return iris.section_iri(doc.plan, _scheme(doc), doc.doc, section.key, numbered=bool(section.number),
                           region_code=doc.region_code)


def section_table(doc: Document) -> dict[tuple[str, str], URIRef]:
    """Targets of cross-references in `doc`: ("number", "{container}/{number}") and ("title", folded title)."""
    container = _container(doc)
    table: dict[tuple[str, str], URIRef] = {}
    for section, node in zip(doc.sections, section_nodes(doc)):
        if section.number:
            table[("number", f"{container}/{section.number}")] = node
        table.setdefault(("title", fold_title(section.title)), node)
    return table


def _scheme(doc: Document) -> str | None:
    return doc.scheme or (doc.source.scheme if doc.source else None)


def _container(doc: Document) -> str:
    scheme = _scheme(doc)
    return iris.scheme_slug(scheme) if scheme else doc.doc


def fold_title(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(title)))


def _add_document(graph: Graph, doc: Document, node: URIRef) -> URIRef | None:
    """Document, plan and scheme triples; returns the node top-level sections are part of."""
    add = graph.add
    add((node, RDF.type, HPO.Document))
    add((node, DCTERMS.title, Literal(doc.title)))
    add((node, DCTERMS.language, Literal(doc.language)))
    if doc.site:
        add((node, HPO.site, Literal(doc.site)))
    if doc.breadcrumb:
        add((node, HPO.breadcrumb, Literal(" > ".join(doc.breadcrumb))))
    for keyword in doc.keywords:
        add((node, DCTERMS.subject, Literal(keyword)))
    for figure in doc.figures:
        add((node, HPO.figure, Literal(figure)))
    if doc.source:
        if doc.source.text:
            add((node, DCTERMS.source, Literal(doc.source.text)))
        if doc.source.publisher:
            add((node, DCTERMS.publisher, Literal(doc.source.publisher)))
        if doc.source.year:
            add((node, DCTERMS.issued, Literal(str(doc.source.year), datatype=XSD.gYear)))
        if doc.source.pages:
            add((node, HPO.pages, Literal(doc.source.pages)))
    top = None
    if doc.plan:
        top = plan = iris.plan_iri(doc.plan, region_code=doc.region_code)
        add((plan, RDF.type, HPO.Plan))
        add((plan, DCTERMS.title, Literal(doc.plan)))
        add((node, HPO.inPlan, plan))
    scheme_name = _scheme(doc)
    if scheme_name:
        top = scheme = iris.scheme_iri(doc.plan, scheme_name, region_code=doc.region_code)
        add((scheme, RDF.type, HPO.Scheme))
        add((scheme, DCTERMS.title, Literal(scheme_name)))
        if doc.plan:
            add((scheme, HPO.partOf, iris.plan_iri(doc.plan, region_code=doc.region_code)))
        add((node, HPO.inScheme, scheme))
    return top


def _level_classes(doc: Document, warnings: list[str]) -> dict[str, URIRef]:
    """Level class of each section, when its label, title or place in the tree says it.

    Never raises: a heading kind the model lacks leaves a plain hpo:Section and a warning.
    """
    classes: dict[str, URIRef] = {}
    titles = {s.key: s.title for s in doc.sections}
    for section in doc.sections:  # pre-order: parents first
        first = fold(section.title.split(" ")[0]) if section.title else ""
        kind = getattr(section, "kind", None)  # the label printed with the number (`Objectif 3`)
        if kind in KIND_CLASSES:
            classes[section.key] = KIND_CLASSES[kind]
        elif kind is not None:
            warnings.append(f"section {section.key!r}: no class for heading kind {kind!r}; typed hpo:Section")
        elif first in LEVEL_WORDS and first != "orientation":  # `Orientations…` is a grouping heading
            classes[section.key] = LEVEL_WORDS[first]
        elif NEXT_LEVEL.get(classes.get(section.parent)):
            classes[section.key] = NEXT_LEVEL[classes[section.parent]]
        elif section.parent and fold(titles.get(section.parent, "")).startswith("orientation"):
            classes[section.key] = HPO.Orientation
    return classes


def _position(doc: Document, section: Section) -> int:
    """The last printed number when numeric (stable across pages), else the order among siblings."""
    if section.number:
        last = re.findall(r"\d+", section.number)
        if last:
            return int(last[-1])
    siblings = [s for s in doc.sections if s.parent == section.parent]
    return next(i for i, s in enumerate(siblings, 1) if s is section)


def _add_section(graph, doc, section, node, parent, doc_node, classes) -> None:
    add = graph.add
    add((node, RDF.type, HPO.Section))
    if section.key in classes:
        add((node, RDF.type, classes[section.key]))
        if classes[section.key] in ALSO_TYPED:
            add((node, RDF.type, ALSO_TYPED[classes[section.key]]))
    if section.number:
        add((node, HPO.number, Literal(section.number)))
    add((node, DCTERMS.title, Literal(section.title)))
    add((node, HPO.level, Literal(section.level)))
    add((node, HPO.position, Literal(_position(doc, section))))
    if parent is not None:
        add((node, HPO.partOf, parent))
    add((node, HPO.inDocument, doc_node))  # the shapes want one per graph, breadcrumb ancestors too
    if section.from_breadcrumb:
        return  # known from the breadcrumb only: its text and items belong to another page
    if section.text.strip():
        add((node, HPO.text, Literal(section.text)))
    if section.page_start:  # paged sources (PDF): where the reader finds it, « p. 42 »
        add((node, HPO.pageStart, Literal(section.page_start)))
        add((node, HPO.pageEnd, Literal(section.page_end or section.page_start)))
    for position, item in enumerate(section.items, 1):
        item_node = iris.item_iri(node, position)
        add((node, HPO.hasItem, item_node))
        add((item_node, RDF.type, HPO.Item))
        add((item_node, HPO.position, Literal(position)))
        add((item_node, HPO.text, Literal(item.text)))


def _add_cross_references(graph, doc, section, node, table) -> None:
    for match in _CROSS_REF.finditer(section.text):
        text = " ".join(match.group("target").split(":")[0].split()).strip(" .,")
        target = resolve_reference(text, _container(doc), table)
        if target is not None and target != node:
            graph.add((node, HPO.crossReference, target))
        elif text:
            graph.add((node, DCTERMS.references, Literal(text)))


def resolve_reference(text: str, container: str, table: SectionTable) -> URIRef | None:
    """The section a `cf. …` text points to: by number in the same scheme, else by title.

    >>> from rdflib import URIRef
    >>> table = {("number", "sroms/2.8.1"): URIRef("s:281"), ("title", "personnes agees"): URIRef("s:31")}
    >>> resolve_reference("2.8.1", "sroms", table), resolve_reference("orientation spécifique personnes âgées", "sroms", table)
    (rdflib.term.URIRef('s:281'), rdflib.term.URIRef('s:31'))
    """
    number = _REF_NUMBER.match(text)
    if number:
        return table.get(("number", f"{container}/{number.group('num')}"))
    words = fold_title(text).split()
    while words and words[0] in _REF_CUES:
        words.pop(0)
    return table.get(("title", " ".join(words))) if words else None


def _add_mentions(graph, doc, mentions, spans, doc_node) -> None:
    add = graph.add
    for mention in mentions:
        node = iris.mention_iri(doc.doc, mention.start, mention.end)
        add((node, RDF.type, HPO.Mention))
        add((node, RDF.type, PROV.Entity))
        add((node, HPO.mentionType, Literal(mention.type)))
        add((node, HPO.surface, Literal(mention.text)))
        add((node, HPO.start, Literal(mention.start)))
        add((node, HPO.end, Literal(mention.end)))
        add((node, HPO.method, Literal(mention.method)))
        add((node, HPO.confidence, Literal(f"{mention.confidence:.2f}", datatype=XSD.decimal)))
        add((node, PROV.wasDerivedFrom, doc_node))
        concept = URIRef(mention.concept) if mention.concept else None
        if concept is not None:
            add((node, HPO.mentionOf, concept))
            if mention.candidate:
                add((concept, RDF.type, HPO.CandidateConcept))
                add((concept, SKOS.prefLabel, Literal(mention.label or mention.text, lang=doc.language or "fr")))
                add((concept, HPO.mentionType, Literal(mention.type)))
        section = _mention_section(mention, spans)
        if section is not None:
            add((node, HPO.inSection, section))
            add((section, HPO.hasMention, node))
            if concept is not None and mention.type in CONCEPT_PROPERTY:
                add((section, CONCEPT_PROPERTY[mention.type], concept))


def _mention_section(mention: Mention, spans: list[tuple[Section, URIRef]]) -> URIRef | None:
    """The node of the mention's section: by key, and by offsets when a key is repeated."""
    if not mention.section:
        return None
    matches = [(section, node) for section, node in spans if section.key == mention.section]
    for section, node in matches:
        if section.start <= mention.start < section.end:
            return node
    return matches[0][1] if matches else None
