"""Linking with the concepts of the project text: `kg.linking` ranks over what is stored, the
ingest extractor reads the project's own words (`hpkg link`, `/api/link`, project pages)."""
from __future__ import annotations

from ingest.mentions import extract_mentions
from ingest.model import Document, Section
from kg import linking


def suggest(store, settings, text: str, k: int = 5, territories=(), populations=(), index=None,
            encoder=None) -> dict:
    """`kg.linking.suggest` with the concepts found in `text` (the `hpkg link --json` contract)."""
    text = " ".join(text.split())
    return linking.suggest(store, settings, text, k=k, territories=territories, populations=populations,
                           concepts=project_concepts(text), index=index, encoder=encoder)


def project_concepts(text: str) -> dict[str, tuple[str, str]]:
    """Concepts the ingest extractor finds in a free project text: iri -> (type, label)."""
    if not text.strip():
        return {}
    section = Section(number=None, title="Projet", level=1, parent=None, start=0, end=len(text), text=text)
    doc = Document(doc="projet", path="", title="Projet", text=text, sections=[section])
    found = {}
    for mention in extract_mentions(doc):
        if mention.concept and mention.type in linking.PROPERTY_TYPES.values():
            # the project's own words (« SSIAD ») read better in a reason than the prefLabel
            found.setdefault(mention.concept, (mention.type, " ".join(mention.text.split())))
    return found
