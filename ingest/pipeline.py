"""One page file -> Document: read, parse (text or HTML), build the tree, apply the manifest.

`iter_documents` runs it over files and folders and yields an IngestError for a file that
fails instead of stopping: one bad page never blocks the others.
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from ontology.textkeys import normalize_for_matching
from ingest.errors import IngestError
from ingest.model import Document
from ingest.parse_text import _SCHEME as _SCHEME_TITLE
from ingest.parse_text import Page, breadcrumb_ancestors, parse_text
from ingest.read import DEFAULT_MAX_BYTES, decode, read_bytes
from ingest.tree import build_sections, parse_heading

MANIFEST_NAME = "manifest.toml"
MANIFEST_FIELDS = ("plan", "region", "region_code", "scheme", "site", "language",
                   # written by `hpkg crawl` for each saved page (ingest.crawl):
                   "url", "fetched", "etag", "last_modified")
PAGE_SUFFIXES = (".txt", ".html", ".htm", ".pdf")
PDF_SUFFIXES = (".pdf",)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def load_manifest(folder: str | Path) -> dict | None:
    """The `manifest.toml` of `folder` as {"defaults": {...}, "files": {name: {...}}}, or None.

    Unknown fields and non-string values are refused with an IngestError naming the field.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise IngestError(path, f"unreadable manifest: {error}") from None
    defaults = data.get("defaults", {})
    files = data.get("files", {})
    unknown_tables = sorted(set(data) - {"defaults", "files"})
    if unknown_tables:
        raise IngestError(path, f"unknown table [{unknown_tables[0]}] (expected [defaults] and [files.\"name\"])")
    _check_fields(path, "defaults", defaults)
    if not isinstance(files, dict):
        raise IngestError(path, "[files] must be a table of tables keyed by file name")
    for name, entry in files.items():
        _check_fields(path, f'files."{name}"', entry)
    return {"defaults": dict(defaults), "files": {name: dict(entry) for name, entry in files.items()}}


def _check_fields(path: Path, where: str, entry) -> None:
    if not isinstance(entry, dict):
        raise IngestError(path, f"[{where}] must be a table")
    for key, value in entry.items():
        if key not in MANIFEST_FIELDS:
            raise IngestError(path, f"[{where}] unknown field {key!r} (known: {', '.join(MANIFEST_FIELDS)})")
        if not isinstance(value, str):
            raise IngestError(path, f"[{where}] field {key!r} must be a string, not {type(value).__name__}")


def manifest_entry(manifest: dict | None, file_name: str) -> dict:
    """The manifest fields of one file: its own table over the defaults."""
    if not manifest:
        return {}
    entry = dict(manifest.get("defaults", {}))
    entry.update(manifest.get("files", {}).get(file_name, {}))
    return entry


def is_html(path: Path, text: str) -> bool:
    if path.suffix.lower() in HTML_SUFFIXES:
        return True
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or ("<body" in head and "<head" in head)


def parse_file(path: str | Path, manifest: dict | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Parse one page. `manifest=None` reads the manifest beside the file, if any; pass {} for none.

    Raises IngestError (one line: path and reason) for unreadable, empty, binary or oversized files.
    """
    path = Path(path)
    data = read_bytes(path, max_bytes)
    if manifest is None:
        manifest = load_manifest(path.parent)
    meta = manifest_entry(manifest, path.name)
    if is_pdf(path, data):
        return document_from_pdf(path, data, meta)
    text, encoding = decode(data, path)
    return document_from_text(path, text, encoding, meta)


def is_pdf(path: Path, data: bytes) -> bool:
    return path.suffix.lower() in PDF_SUFFIXES or data[:5] == b"%PDF-"


def document_from_pdf(path: str | Path, data: bytes, meta: dict | None = None) -> Document:
    """Parse a PDF: the same section tree as a text page, each section with its printed pages."""
    from ingest.parse_pdf import PdfError, parse_pdf  # lazy: pdfminer loads only for PDFs

    path = Path(path)
    try:
        parsed = parse_pdf(data, name=path.name)
    except PdfError as error:
        raise IngestError(path, str(error)) from None
    except RecursionError:
        raise IngestError(path, "cannot parse PDF: nested too deeply (corrupt?)") from None
    if not parsed.page.text.strip():
        raise IngestError(path, "no text left once running headers, footers and page numbers are removed")
    document = build_document(path, parsed.page, meta or {})
    if document.scheme is None and _SCHEME_TITLE.match(document.title):
        document.scheme = document.title  # a scheme's PDF is titled with its name
    assign_pages(document.sections, parsed.page.page_spans)
    document.format = "pdf"
    document.encoding = "pdf"
    document.warnings = [f"{path}: {warning}" for warning in parsed.warnings]
    return document


def assign_pages(sections, page_spans: list[tuple[int, int, str, str]]) -> None:
    """Give each section with text the printed pages of its first and last line."""
    if not page_spans:
        return
    order: dict[str, int] = {}  # page labels in reading order ("iv" before "1")
    for _, _, first, last in page_spans:
        order.setdefault(first, len(order))
        order.setdefault(last, len(order))
    for section in sections:
        if section.from_breadcrumb:
            continue
        inside = [span for span in page_spans if span[0] < section.end and span[1] > section.start]
        if inside:  # a footnote placed after a paragraph that went on to the next page comes last
            section.page_start = min((span[2] for span in inside), key=order.__getitem__)
            section.page_end = max((span[3] for span in inside), key=order.__getitem__)


def document_from_text(path: str | Path, text: str, encoding: str = "utf-8", meta: dict | None = None) -> Document:
    """Parse decoded page text (HTML when the name or the content says so)."""
    path = Path(path)
    html = is_html(path, text)
    try:
        if html:
            from ingest.parse_html import parse_html

            page = parse_html(text)
        else:
            page = parse_text(text)
    except (ValueError, RecursionError) as error:  # a page the parsers cannot make sense of
        raise IngestError(path, f"cannot parse page: {error}") from None
    if not page.text.strip():
        raise IngestError(path, "no text left once navigation, footers and markup are removed")
    document = build_document(path, page, meta or {})
    document.format = "html" if html else "text"
    document.encoding = encoding
    return document


def build_document(path: Path, page: Page, meta: dict) -> Document:
    """Document from a classified page and its manifest entry (manifest values win)."""
    plan, scheme, ancestors = breadcrumb_ancestors(page.breadcrumb)
    title = page.title or (page.breadcrumb[-1] if page.breadcrumb else path.stem)
    has_title_heading = any(block.is_title for block in page.blocks)
    if page.breadcrumb and not has_title_heading and page.blocks and page.blocks[0].kind == "heading":
        # The page's own entry has no heading line: it is known from the breadcrumb only.
        ancestors.append(parse_heading(page.breadcrumb[-1]))
    sections = build_sections(page.text, page.blocks, ancestors, fallback_title=title, anchor=page.breadcrumb_start)
    source = page.source
    document = Document(
        doc=path.stem,
        path=str(path),
        title=normalize_for_matching(title),
        text=page.text,
        plan=_norm(meta.get("plan")) or plan,
        scheme=_norm(meta.get("scheme")) or scheme or (source.scheme if source else None),
        region=meta.get("region"),
        region_code=meta.get("region_code"),
        site=meta.get("site") or page.site,
        language=meta.get("language", "fr"),
        keywords=page.keywords,
        breadcrumb=page.breadcrumb,
        source=source,
        figures=page.figures,
        sections=sections,
        meta_spans=page.meta_spans,
        url=meta.get("url"),
        fetched=meta.get("fetched"),
    )
    return document


def _norm(value: str | None) -> str | None:
    return normalize_for_matching(value) if value else None


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: folders expanded to their pages (sorted), files kept as given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES and not p.name.startswith(".")
            ))
        else:
            found.append(path)
    return found


def iter_documents(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document | IngestError]:
    """One Document or IngestError per file; a failure never stops the files after it."""
    manifests: dict[Path, dict | IngestError | None] = {}
    for path in expand_paths(paths):
        folder = path.parent
        if folder not in manifests:
            try:
                manifests[folder] = load_manifest(folder)
            except IngestError as error:
                manifests[folder] = error
        manifest = manifests[folder]
        if isinstance(manifest, IngestError):
            yield IngestError(path, f"manifest problem: {manifest}")
            continue
        try:
            yield parse_file(path, manifest or {}, max_bytes)
        except IngestError as error:
            yield error


def extract_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """The `hpkg extract --json` payload of one page (contract in ../shared/DESIGN.md)."""
    document = parse_file(path, max_bytes=max_bytes)
    from ingest.mentions import extract_mentions  # lazy: vocabularies load only when needed

    mentions = extract_mentions(document)
    source = document.source
    return {
        "doc": document.doc,
        "title": document.title,
        # the citation line the graph keeps (dcterms:source, hpo:inScheme, dcterms:issued, hpo:pages)
        "source": None if source is None else {"scheme": source.scheme, "publisher": source.publisher,
                                               "year": source.year, "pages": source.pages, "text": source.text},
        "sections": [
            {
                "number": section.number,
                "title": section.title,
                "level": section.level,
                "parent": section.parent,
                "text": section.text,
                "items": [item.text for item in section.items],
            }
            for section in document.sections
        ],
        "entities": [
            {
                "type": mention.type,
                "text": mention.text,
                "start": mention.start,
                "end": mention.end,
                "section": mention.section,
                "concept": mention.concept,
                "label": mention.label,
            }
            for mention in mentions
        ],
    }
