"""The data every ingest stage passes on: a parsed page and the mentions found in it.

Offsets (`start`, `end`) always index `Document.text`, the cleaned text of the page
(boilerplate dropped, line endings normalised, original characters kept for display).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ontology.entity_types import ENTITY_TYPES  # noqa: F401 (the mention types)


@dataclass
class Item:
    """One entry of a bullet or numbered list: an action, an axis."""

    text: str
    start: int
    end: int


@dataclass
class Section:
    """A node of the plan tree.

    `key` is what users and gold data call the section: its printed number when it has
    one, else its title. `parent` is the parent's key (None at the root). Ancestors known
    only from the breadcrumb are sections too, with `from_breadcrumb=True` and no text.
    `start`/`end` span the section's own text (heading included, children excluded).
    """

    number: str | None
    title: str
    level: int
    parent: str | None
    start: int
    end: int
    text: str = ""
    items: list[Item] = field(default_factory=list)
    from_breadcrumb: bool = False
    kind: str | None = None  # axis | orientation | objective | action | part | priority, when printed
    page_start: str | None = None  # printed page where the section begins (paged sources: PDF)
    page_end: str | None = None

    @property
    def key(self) -> str:
        return self.number or self.title


@dataclass
class Source:
    """The citation line of a page: `Schéma Régional ... ARS PACA, 2011, pp. 15-17`."""

    scheme: str | None = None
    publisher: str | None = None
    year: int | None = None
    pages: str | None = None
    text: str = ""


@dataclass
class Document:
    """One source page: metadata plus its section tree (pre-order)."""

    doc: str  # file name without extension
    path: str
    title: str
    text: str
    plan: str | None = None
    scheme: str | None = None
    region: str | None = None
    region_code: str | None = None
    site: str | None = None
    language: str = "fr"
    format: str = "text"  # text | html | pdf
    encoding: str = "utf-8"
    keywords: list[str] = field(default_factory=list)
    breadcrumb: list[str] = field(default_factory=list)
    source: Source | None = None
    figures: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # Spans of `text` holding page metadata (breadcrumb, title line, keywords, source line,
    # figure references). Every other non-blank character is body text and lies in exactly
    # one section's [start, end).
    meta_spans: list[tuple[int, int]] = field(default_factory=list)
    # Problems that did not stop the ingest (pages of a PDF with no text layer), one line each.
    warnings: list[str] = field(default_factory=list)
    url: str | None = None  # where a crawled page was fetched from (manifest `url`)
    fetched: str | None = None  # when (manifest `fetched`, ISO 8601)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"{self.doc}: no section {key!r}")


@dataclass
class Mention:
    """An entity found in the text, with where and how it was found."""

    type: str  # one of ENTITY_TYPES
    text: str  # surface text, exactly Document.text[start:end]
    start: int
    end: int
    section: str | None  # Section.key of the section holding the span
    concept: str | None  # concept IRI (a vocabulary concept or a candidate)
    label: str | None  # the concept's prefLabel
    method: str  # vocabulary | pattern | acronym | ner
    confidence: float = 1.0
    candidate: bool = False  # True when the concept is a new candidate, not in the vocabularies
