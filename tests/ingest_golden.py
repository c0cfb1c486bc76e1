"""The golden form of a parsed page (tests/data/golden/<doc>.json), shared by the tests.

Golden files exist for the five corpus pages and for pages written for these tests in
tests/data/pages (invented text in the style of ARS schemes, one per format and numbering
style): axes_orientations (Axe/Orientation, bare `Orientation 1` + title line, `1.`/`*` lists,
footer), objectifs_cp1252 (Windows-1252, Objectif/Action, `Source :` line), objectifs_strategiques
(qualified objectives, `1°`, `▪`/`o` bullets), roman_letters_bom (UTF-8 BOM + CRLF, roman >
lettered, repeated letters qualified, `1)` items), cookies_keywords (banner first, `Mots-clés`,
figure), html_orientations (nav/script/footer/cookie div, entities, labelled levels),
html_article_cp1252 (cp1252 HTML, h1-h3), html_cms_paragraphs (`<p>` numbered headings, `<br>`
bullets, `<li><p>`, table, source line), html_legacy_layout (div#header/menu/footer, article
header, `p.titre2`, bold-line headings), sroms_extract.pdf (written by tests/pdf_support.py:
running header/footer, page numbers from 11, headings by font size, bold heading, bullets, a
paragraph and footnote across a page break, hyphenation, ruled table, two columns, scanned
page; golden sections also pin their printed pages). Each was checked by hand.

Regenerate a file only after checking the new tree by hand:
    .venv/bin/python -m tests.ingest_golden corpus/004_d9216070b0b5bf36.txt
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ingest.model import Document

GOLDEN_DIR = Path(__file__).parent / "data" / "golden"
TEXT_HEAD = 60


def golden_form(document: Document) -> dict:
    """What a golden file pins: metadata and, per section, its place, items and first words."""
    return {
        "doc": document.doc,
        "title": document.title,
        "format": document.format,
        "encoding": document.encoding,
        "plan": document.plan,
        "scheme": document.scheme,
        "site": document.site,
        "breadcrumb": document.breadcrumb,
        "keywords": document.keywords,
        "figures": document.figures,
        "source": {k: v for k, v in asdict(document.source).items() if k != "text"} if document.source else None,
        "sections": [
            {
                "number": section.number,
                "title": section.title,
                "level": section.level,
                "parent": section.parent,
                "kind": section.kind,
                "from_breadcrumb": section.from_breadcrumb,
                "text_head": section.text[:TEXT_HEAD],
                "items": [item.text for item in section.items],
                **({"pages": [section.page_start, section.page_end]} if document.format == "pdf" else {}),
            }
            for section in document.sections
        ],
    }


if __name__ == "__main__":
    from ingest.pipeline import parse_file

    for name in sys.argv[1:]:
        document = parse_file(name)
        out = GOLDEN_DIR / f"{document.doc}.json"
        out.write_text(json.dumps(golden_form(document), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print("wrote", out)
