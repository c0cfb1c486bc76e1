"""HTML pages -> hinted lines -> the same classifier as text pages (lxml's HTML parser).

Removed before reading: scripts, styles, forms, header/footer/aside, navigation other than the
breadcrumb, cookie and consent banners, hidden elements. The breadcrumb is read from a
`<nav>` or any element whose class, id or aria-label says breadcrumb / ariane.
"""
from __future__ import annotations

import re

import lxml.html
from lxml import etree

from ingest import clean
from ingest.parse_text import Line, Page, parse_lines

_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "form", "button",
    "select", "textarea", "input", "header", "footer", "aside", "head", "map", "canvas", "video", "audio",
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_PARAGRAPHS = {"p", "dt", "dd", "blockquote", "figcaption", "caption", "pre", "address", "summary"}
_BLOCKS = set(_HEADINGS) | _PARAGRAPHS | {
    "div", "section", "article", "main", "ul", "ol", "li", "table", "tr", "tbody", "thead", "tfoot",
    "dl", "figure", "nav", "details", "fieldset", "hr", "body", "center",
}
_BREADCRUMB_MARK = re.compile(r"breadcrumb|ariane|fil-d|fildariane|chemin", re.IGNORECASE)
_BANNER_MARK = re.compile(r"cookie|consent|gdpr|rgpd|tarteaucitron|didomi|axeptio|onetrust|skip-?link", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_WS = re.compile(r"[ \t\r\n\f\v]+")  # HTML white space; NBSP is content and stays
_SEPARATORS = " \t\n>›»/|"


def _marks(element) -> str:
    return " ".join(element.get(name, "") for name in ("class", "id", "aria-label", "role"))


def _squash(text: str) -> str:
    return _WS.sub(" ", text).strip()


def html_lines(html: str) -> tuple[list[Line], str | None, str | None]:
    """(lines with hints, <title> text, site named by the footer's copyright) of an HTML page."""
    html = _XML_DECLARATION.sub("", html)
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as error:
        raise ValueError(f"invalid HTML ({error})") from None
    title_element = root.find(".//title")
    title = _squash(title_element.text_content()) if title_element is not None else None
    title = title.split(" | ")[0].strip() if title else None  # drop the `| Site name` suffix
    site = None
    for footer in root.iter("footer"):
        for text in footer.itertext():
            site = site or clean.copyright_holder(text.strip())

    crumbs = _breadcrumb(root)
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # comments, processing instructions
            _remove(element)
            continue
        tag = element.tag.lower()
        marks = _marks(element)
        if (
            tag in _DROP_TAGS
            or tag == "nav"
            or element.get("hidden") is not None
            or element.get("aria-hidden") == "true"
            or _HIDDEN_STYLE.search(element.get("style", ""))
            or element.get("role") in ("navigation", "banner", "contentinfo", "search", "dialog")
            or (_BANNER_MARK.search(marks) and tag not in ("html", "body", "main"))
        ):
            _remove(element)
    lines: list[Line] = []
    if crumbs:
        lines.append(Line(" > ".join(crumbs), hint="breadcrumb"))
    body = root.find(".//body")
    _emit(body if body is not None else root, lines)
    return lines, title, site


def _remove(element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # Keep the tail text: it belongs to the parent, not to the removed element.
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _breadcrumb(root) -> list[str]:
    """Entries of the page's breadcrumb (removed from the tree once read)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        marks = _marks(element)
        if not _BREADCRUMB_MARK.search(marks):
            continue
        if element.tag.lower() in ("body", "html", "main"):
            continue
        items = [_squash(li.text_content()).strip(_SEPARATORS) for li in element.iter("li")]
        if not items:
            items = [_squash(part).strip(_SEPARATORS) for part in re.split(r"[>›»/|]", element.text_content())]
        items = [item for item in items if item]
        _remove(element)
        if items:
            return items
    return []


def _emit(element, lines: list[Line]) -> None:
    """Append the lines of `element` in reading order."""
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in _HEADINGS:
        _add(lines, element.text_content(), "heading", _HEADINGS[tag])
        return
    if tag in _PARAGRAPHS:
        _add(lines, element.text_content(), "para")
        return
    if tag == "tr":
        cells = [_squash(cell.text_content()) for cell in element if isinstance(cell.tag, str)]
        _add(lines, " ; ".join(cell for cell in cells if cell), "para")
        return
    hint = "item" if tag == "li" else "para"
    buffer: list[str] = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str):
            buffer.append(child.tail or "")
            continue
        if child.tag.lower() in _BLOCKS:
            _add(lines, "".join(buffer), hint)
            hint = "para"  # text after a nested list is no longer the item's own
            buffer = []
            _emit(child, lines)
        elif child.tag.lower() == "br":
            buffer.append(" ")
        else:
            buffer.append(child.text_content())
        buffer.append(child.tail or "")
    _add(lines, "".join(buffer), hint)


def _add(lines: list[Line], text: str, hint: str, level: int | None = None) -> None:
    text = _squash(text)
    if text:
        lines.append(Line(text, hint=hint, level=level))


def parse_html(html: str) -> Page:
    """Classify an HTML page."""
    lines, title, site = html_lines(html)
    page = parse_lines(lines, title_hint=title)
    page.site = page.site or site
    return page
