"""Search passages: each section's text and items, split into paragraph-sized pieces that
carry the section's title and breadcrumb as context, read from the graph store.

A passage knows its section (IRI, document, key, title, breadcrumb) so that hits can be
grouped back into sections. `SectionInfo` adds what facets and hit entities need: the
concepts a section involves and its scheme.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from kg.queries import run_named
from ontology.entity_types import PROPERTY_TYPES

MAX_CHARS = 700  # about one paragraph: long enough for context, short enough to stay on topic
# hpo:* property -> entity type of the DESIGN.md contract and facet name
CONCEPT_PROPERTIES = PROPERTY_TYPES
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-ZÀ-Ý«(•\-–0-9])")


@dataclass(frozen=True)
class Passage:
    """One piece of a section's text; `text` is what is shown, `context` what is indexed."""

    section: str  # section IRI
    doc: str
    key: str  # printed number, else title
    title: str
    breadcrumb: tuple[str, ...]
    text: str

    @property
    def context(self) -> str:
        """The passage with its place in the plan: parent heading, section title, text."""
        head = [self.breadcrumb[-1]] if self.breadcrumb else []
        head.append(f"{self.key} {self.title}" if self.key != self.title else self.title)
        return " > ".join(head) + "\n" + self.text


@dataclass
class SectionInfo:
    """What a hit shows beside its passage: concepts (typed) and scheme, for entities and facets."""

    iri: str
    doc: str
    key: str
    title: str
    breadcrumb: list[str]
    scheme: str | None = None
    scheme_title: str | None = None
    entities: list[dict] = field(default_factory=list)  # {"type", "label", "iri"}
    page: str | None = None  # printed page(s) of a PDF section: "42" or "42-43"


def doc_name(doc_iri: str) -> str:
    """Corpus file name without extension, from a document IRI.

    >>> doc_name("https://w3id.org/healthpolicy-kg/id/doc/004_d9216070b0b5bf36")
    '004_d9216070b0b5bf36'
    """
    return str(doc_iri).rstrip("/").rsplit("/", 1)[-1]


def split_text(text: str, items: list[str] = (), max_chars: int = MAX_CHARS) -> list[str]:
    """Split a section's text and items into passages of about `max_chars`.

    Paragraphs (blank-line separated) and items are packed together up to `max_chars`;
    a longer paragraph is cut at sentence ends, each piece repeating the previous
    sentence so that no idea is cut off from its context.

    >>> split_text("Premier paragraphe.\\n\\nSecond : un item.", ["un item", "un autre"])
    ['Premier paragraphe.\\nSecond : un item.\\n• un autre']
    >>> len(split_text("Une phrase assez longue. " * 80, max_chars=300)) > 5
    True
    """
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text or ""):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        units.extend(_cut_long(paragraph, max_chars) if len(paragraph) > max_chars else [paragraph])
    flat = " ".join((text or "").split())
    for item in items:  # items usually repeat lines of the text: index them once
        item = " ".join((item or "").split())
        if item and item not in flat:
            units.append("• " + item)
    passages: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + 1 + len(unit) > max_chars:
            passages.append(current)
            current = unit
        else:
            current = f"{current}\n{unit}" if current else unit
    if current:
        passages.append(current)
    return passages


def _cut_long(paragraph: str, max_chars: int) -> list[str]:
    """Cut one long paragraph at sentence ends, with a one-sentence overlap."""
    sentences = _SENTENCE_END.split(paragraph)
    pieces: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and len(" ".join(current)) + 1 + len(sentence) > max_chars:
            pieces.append(" ".join(current))
            current = [current[-1]] if len(current[-1]) < max_chars // 2 else []
        current.append(sentence)
    if current:
        pieces.append(" ".join(current))
    return pieces


def read_passages(store, concepts: bool = True) -> tuple[list[Passage], dict[str, SectionInfo]]:
    """Passages of every section with text or items, and the info of every such section
    (without its entities and scheme unless `concepts`).

    Sections known only from a breadcrumb (no text, no items) have nothing to match and
    give no passage; they still appear in the breadcrumbs of their children.
    """
    rows = list(run_named(store, "passages"))
    items: dict[str, list[tuple[int, str]]] = {}
    for row in run_named(store, "search_items"):
        position = int(row.position) if row.position is not None else 0
        items.setdefault(str(row.section), []).append((position, str(row.text)))
    nodes: dict[str, tuple[str, str | None]] = {}  # iri -> (breadcrumb label, parent)
    for row in run_named(store, "search_tree"):
        nodes.setdefault(str(row.node), (str(row.title), _opt(row.parent)))
    sections: dict[str, dict] = {}
    # the row whose document is the page holding the text first, then a stable order
    rows.sort(key=lambda r: (str(r.section), not _text_in_doc(r), str(r.doc), str(r.title)))
    for row in rows:
        iri = str(row.section)
        if iri in sections:  # a second document, title or parent: the first row wins
            continue
        number = _opt(row.number)
        title = " ".join(str(row.title).split())
        sections[iri] = {
            "iri": iri, "doc": doc_name(row.doc), "number": number, "title": title,
            "key": number or title, "parent": _opt(row.parent), "text": _opt(row.text) or "",
            "position": int(row.position) if row.position is not None else 0,
            "page": page_range(_opt(row.pageStart), _opt(row.pageEnd)),
        }
        nodes[iri] = (f"{number} {title}" if number else title, _opt(row.parent))
    passages: list[Passage] = []
    infos: dict[str, SectionInfo] = {}
    for iri in sorted(sections, key=lambda i: (sections[i]["doc"], sections[i]["position"], i)):
        section = sections[iri]
        section_items = [text for _, text in sorted(items.get(iri, []))]
        chunks = split_text(section["text"], section_items)
        if not chunks:
            continue
        breadcrumb = _breadcrumb(section["parent"], nodes)
        infos[iri] = SectionInfo(iri, section["doc"], section["key"], section["title"], breadcrumb,
                                 page=section["page"])
        passages.extend(
            Passage(iri, section["doc"], section["key"], section["title"], tuple(breadcrumb), chunk)
            for chunk in chunks
        )
    if concepts:
        _add_concepts(store, infos)
    return passages, infos


def page_range(start: str | None, end: str | None) -> str | None:
    """The printed pages of a section as cited: "42", "42-43", or None when not paged.

    >>> page_range("42", "43"), page_range("42", "42"), page_range(None, None)
    ('42-43', '42', None)
    """
    if not start:
        return None
    return start if not end or end == start else f"{start}-{end}"


def _text_in_doc(row) -> bool:
    """True when the row's text comes from its document's own graph (hpid:graph/{doc})."""
    return row.text is not None and row.g is not None and doc_name(row.g) == doc_name(row.doc)


def _opt(term) -> str | None:
    return None if term is None else str(term)


def _breadcrumb(parent: str | None, nodes: dict[str, tuple[str, str | None]]) -> list[str]:
    """Labels from the root (plan) down to the parent; stops on a cycle or unknown node."""
    labels: list[str] = []
    seen: set[str] = set()
    while parent and parent in nodes and parent not in seen:
        seen.add(parent)
        label, parent = nodes[parent]
        labels.append(label)
    return labels[::-1]


def _add_concepts(store, infos: dict[str, SectionInfo]) -> None:
    """Fill each section's entities (sorted, deduplicated) and scheme from the graph."""
    found: dict[str, set[tuple[str, str, str]]] = {}
    for row in run_named(store, "search_concepts"):
        iri = str(row.section)
        if iri not in infos:
            continue
        kind = CONCEPT_PROPERTIES[str(row.property).rsplit("#", 1)[-1]]
        label = str(row.label) if row.label is not None else str(row.concept).rsplit("/", 1)[-1]
        found.setdefault(iri, set()).add((kind, label, str(row.concept)))
    for iri, entities in found.items():
        # one label per concept (the smallest, when a concept has several prefLabels)
        by_concept: dict[str, tuple[str, str, str]] = {}
        for entity in sorted(entities):
            by_concept.setdefault(entity[2], entity)
        infos[iri].entities = [
            {"type": t, "label": label, "iri": c} for t, label, c in sorted(by_concept.values())
        ]
    for row in run_named(store, "search_schemes"):
        info = infos.get(str(row.section))
        if info is not None and (info.scheme is None or str(row.scheme) < info.scheme):
            info.scheme = str(row.scheme)
            info.scheme_title = _opt(row.title)


def corpus_hash(passages: list[Passage]) -> str:
    """A stable hash of what is embedded and indexed: changes iff a passage changes.

    >>> p = Passage("s", "d", "1", "Titre", ("Plan",), "Texte")
    >>> corpus_hash([p]) == corpus_hash([p]) != corpus_hash([])
    True
    """
    digest = hashlib.sha256()
    for passage in passages:
        digest.update(json.dumps(asdict(passage), ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()
