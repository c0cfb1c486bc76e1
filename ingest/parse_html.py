"""HTML pages -> hinted lines -> the same classifier as text pages (lxml's HTML parser).

Removed before reading: scripts, styles, forms, header/footer/aside, navigation other than the
breadcrumb, cookie and consent banners, hidden elements. The breadcrumb is read from a
`<nav>` or any element whose class, id or aria-label says breadcrumb / ariane.
"""
from __future__ import annotations

import re

import lxml.html
from lxml import etree

from ingest import clean, lookalikes
from ingest.parse_text import Line, Page, heading_like, parse_lines

_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "form", "button",
    "select", "textarea", "input", "footer", "aside", "head", "map", "canvas", "video", "audio",
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_PARAGRAPHS = {"p", "dt", "dd", "blockquote", "figcaption", "caption", "pre", "address", "summary"}
_BLOCKS = set(_HEADINGS) | _PARAGRAPHS | {
    "div", "section", "article", "main", "ul", "ol", "li", "table", "tr", "tbody", "thead", "tfoot",
    "dl", "figure", "nav", "details", "fieldset", "hr", "body", "center", "header", "hgroup", "footer",
    "aside", "form",
}
_BREADCRUMB_MARK = re.compile(r"breadcrumb|ariane|fil-d|fildariane|chemin", re.IGNORECASE)
_BANNER_MARK = re.compile(r"cookie|consent|gdpr|rgpd|tarteaucitron|didomi|axeptio|onetrust|skip-?link", re.IGNORECASE)
# Class or id tokens of pre-HTML5 page furniture (`<div id="footer">`).
_FURNITURE_TOKENS = {
    "footer", "pied", "pied-de-page", "piedpage", "menu", "navbar", "navigation", "sidebar",
    "site-header", "skip-links", "share", "partage", "social", "social-links", "toolbar",
}
# Blocks of links to other pages that CMSs put beside the content (Drupal `related-content`,
# WordPress `related-posts`, `voir-aussi`, `liens-utiles`).
_RELATED_MARK = re.compile(r"related|voir-aussi|see-also|liens-utiles|sur-le-meme-theme", re.IGNORECASE)
# `<p class="titre2">`, `<div class="titre-niveau-2">`: a heading styled by class, level from the digit.
_CLASS_HEADING = re.compile(r"(?:^|[\s_-])(?:titre|title|heading|intertitre)[-_]?(?:niveau|level|lvl|n)?[-_]?([1-6])\b",
                            re.IGNORECASE)
# `<p class=MsoTitle>` (Word), `<div class="titre-page">`: the page's title styled by class.
_CLASS_TITLE = re.compile(r"(?:^|\s)(?:msotitle|page-title|titre-page|document-title|titre-document|doc-title)(?:\s|$)",
                          re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_WS = re.compile(r"[ \t\r\n\f\v]+")  # HTML white space; NBSP is content and stays
_SEPARATORS = " \t\n>›»/|"
_BR = "\ue000"  # private-use character standing for <br> until lines are cut
_SEPARATOR_BETWEEN = re.compile(r"\w\W*\s[>›»]\s+\W*\w")


def _marks(element) -> str:
    attrib = element.attrib
    if not attrib:
        return ""
    return " ".join(attrib.get(name, "") for name in ("class", "id", "aria-label", "role"))


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
    if title and re.fullmatch(r"[\w.-]*_[\w.-]*", title):
        title = None  # `PRPIA_HDF_2024-2028_version_adoptee`: a converted file's name, no title
    site = None
    for element in root.iter():
        if isinstance(element.tag, str) and (element.tag == "footer" or "footer" in _marks(element).lower()):
            for text in element.itertext():
                site = site or clean.copyright_holder(text.strip())

    _drop_footnote_calls(root)
    _join_positioned_lines(root)
    for br in root.iter("br"):  # marks line breaks: text_content() would glue the words
        br.tail = _BR + (br.tail or "")
    crumbs = _breadcrumb(root)
    folded = _accordion_panels(root)
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # comments, processing instructions
            _remove(element)
            continue
        tag = element.tag.lower()
        marks = _marks(element)
        if (
            tag in _DROP_TAGS
            or tag == "nav"
            or (tag == "header" and not _inside_content(element))
            or _FURNITURE_TOKENS.intersection(marks.lower().split())
            or ("header" in marks.lower().split() and not _inside_content(element))
            or (element.get("id") not in folded and (
                element.get("hidden") is not None
                or element.get("aria-hidden") == "true"
                or _HIDDEN_STYLE.search(element.get("style", ""))))
            or element.get("role") in ("navigation", "banner", "contentinfo", "search", "dialog")
            or (_BANNER_MARK.search(marks) and tag not in ("html", "body", "main"))
            or (_RELATED_MARK.search(marks) and tag not in ("html", "body", "main", "article"))
        ):
            _remove(element)
    lines: list[Line] = []
    if crumbs:
        lines.append(Line(" > ".join(crumbs), hint="breadcrumb"))
    # The page's <main> (or role="main") holds its content: what is outside is furniture.
    main = root.find(".//main")
    if main is None:
        main = next(iter(root.xpath(".//*[@role='main']")), None)
    if main is None or not main.text_content().strip():
        main = root.find(".//body")
    _emit(main if main is not None else root, lines)
    _levels_from_sizes(lines)
    return lines, title, site


_TOP = re.compile(r"position\s*:\s*absolute.*?\btop\s*:\s*(\d+(?:\.\d+)?)px", re.IGNORECASE | re.DOTALL)
_CLASS_SIZE = re.compile(r"\.([\w-]+)\s*\{[^}]*?font-size\s*:\s*(\d+(?:\.\d+)?)px", re.IGNORECASE)
LINE_SPACING = 1.6  # a line of the same paragraph starts within 1.6 font sizes of the previous one


def _join_positioned_lines(root) -> None:
    """A PDF converted by pdftohtml sets each printed line as its own `<p>` at an absolute `top`:
    consecutive lines of one class, no further apart than a line's spacing, are one paragraph
    (or one heading wrapped on two lines) again. A word cut at the line end (`Pas-` / `de-Calais`)
    is joined without a space. Each line states its class's font size, which levels the bold ones."""
    sizes = {name: float(size) for style in root.iter("style") for name, size in _CLASS_SIZE.findall(style.text or "")}
    if not sizes:
        return
    for parent in {p.getparent() for p in root.iter("p") if _TOP.search(p.get("style", ""))}:
        runs: list[list[tuple]] = []  # (line element, glue before it), one list per paragraph
        previous_top, previous_line, joinable = None, "", False
        for element in list(parent):
            if not isinstance(element.tag, str) or element.tag.lower() != "p":
                continue
            top = _TOP.search(element.get("style", ""))
            size = sizes.get(element.get("class", ""))
            if top is None or size is None:
                joinable = False
                continue
            top = float(top.group(1))
            # the class's size stated on the line, as word processors write it (`_bold_size`)
            element.set("style", f"{element.get('style', '')};font-size:{size:g}px")
            if joinable and runs[-1][-1][0].get("class") == element.get("class") and 0 < top - previous_top <= LINE_SPACING * size:
                runs[-1].append((element, "" if re.search(r"\w-$", previous_line.rstrip()) else " "))
            else:
                runs.append([(element, "")])
            previous_top, previous_line, joinable = top, element.text_content(), True
        for run in runs:
            if len(run) > 1:
                _merge_lines([line for line, _ in run], [glue for _, glue in run])


def _merge_lines(lines: list, glues: list[str]) -> None:
    """The lines' content into the first one (into its one inline child when all are wrapped alike,
    `<p><b>…</b></p>` twice: one bold heading), each after its glue; the others removed. In one
    pass: a converted PDF can have thousands of lines in a row."""
    inner = [_only_child(line) for line in lines]
    holders = inner if all(c is not None for c in inner) and len({c.tag for c in inner}) == 1 else lines
    target = holders[0]
    if all(len(holder) == 0 for holder in holders):  # text only, the usual case
        target.text = "".join(glue + (holder.text or "") for glue, holder in zip(glues, holders))
    else:
        for glue, source in zip(glues[1:], holders[1:]):
            last = target[-1] if len(target) else None
            if last is not None:
                last.tail = (last.tail or "") + glue + (source.text or "")
            else:
                target.text = (target.text or "") + glue + (source.text or "")
            for child in list(source):
                target.append(child)
    for line in lines[1:]:
        line.getparent().remove(line)


def _only_child(element):
    """The one child element that holds all of `element`'s text, or None."""
    children = [c for c in element if isinstance(c.tag, str)]
    if len(children) == 1 and not (element.text or "").strip() and not (children[0].tail or "").strip():
        return children[0]
    return None


def _inside_content(element) -> bool:
    """A `<header>` inside `<article>`/`<main>` holds the article's title, not site furniture."""
    return any(isinstance(a.tag, str) and a.tag.lower() in ("article", "main") for a in element.iterancestors())


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
    """Entries of the page's breadcrumb (removed from the tree once read).

    Marked elements first (class, id or aria-label saying breadcrumb / ariane); else a `<nav>`
    whose entries are separated by `>`-like characters.
    """
    candidates = [
        element for element in root.iter()
        if isinstance(element.tag, str) and element.tag.lower() not in ("body", "html", "main")
        and _BREADCRUMB_MARK.search(_marks(element))
    ]
    candidates += [nav for nav in root.iter("nav") if _SEPARATOR_BETWEEN.search(nav.text_content())]
    for element in candidates:
        if element.tag.lower() == "li" and element.getparent() is not None:
            element = element.getparent()  # `li.breadcrumb-item`: the list is the breadcrumb
        items = [_squash(li.text_content()).strip(_SEPARATORS) for li in element.iter("li")]
        if not items:
            items = [
                part.strip(_SEPARATORS)
                for chunk in element.itertext()
                for part in re.split(r"\s+[>›»|]\s+|^\s*[>›»|/]\s*|\s*[>›»|/]\s*$", _squash(chunk) or "")
            ]
        items = [item for item in items if item]
        _remove(element)
        if items:
            return items
    return []


_FOOTNOTE_CALL = re.compile(r"\s*(?:\d{1,3}|[*†‡]{1,3}|\[\d{1,3}\])\s*")


def _drop_footnote_calls(root) -> None:
    """`palliatifs<sup>1</sup>`: a footnote's call number, glued to the word it follows, would
    make a new word of it (`palliatifs1`); `1<sup>er</sup>` and `m<sup>2</sup>` stay."""
    for sup in list(root.iter("sup")):
        previous = sup.getprevious()
        before = (previous.tail if previous is not None else sup.getparent().text) or ""
        call = sup.text_content()
        if not _FOOTNOTE_CALL.fullmatch(call) or not before[-1:].isalpha():
            continue
        if call.strip() in ("2", "3") and re.search(r"\b[kcd]?m$", before):
            continue  # `m<sup>2</sup>`: a unit's power
        _remove(sup)


def _accordion_panels(root) -> set[str]:
    """The ids of the panels an accordion's buttons fold (`<button aria-controls="p1">`), each
    button turned into the `<div role="heading">` it stands for: a folded panel is content,
    hidden only until its title is clicked, unlike the hidden furniture dropped with it."""
    buttons = [b for b in root.iter("button") if b.get("aria-controls") and b.get("aria-expanded") is not None]
    if not buttons:
        return set()
    ids = {element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")}
    panels = set()
    for button in buttons:
        target = button.get("aria-controls").strip()
        if target in ids:
            panels.add(target)
            if button.getparent() is not None and button.getparent().tag.lower() not in _HEADINGS:
                button.tag, button.attrib["role"] = "div", "heading"
            else:  # `<h2><button>…</button></h2>`: the <h2> already heads the panel
                button.tag = "span"
    return panels


def _emit(element, lines: list[Line]) -> None:
    """Append the lines of `element` in reading order."""
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in _HEADINGS:
        _add(lines, element.text_content(), "heading", _HEADINGS[tag], outline=True)
        return
    if element.get("role") == "heading":  # WAI-ARIA: `<div role="heading" aria-level="2">` is an <h2>
        level = element.get("aria-level", "").strip()
        _add(lines, element.text_content(), "heading", min(6, int(level)) if level.isdigit() and level != "0" else 2,
             outline=True)
        return
    if tag == "details":
        _emit_details(element, lines)
        return
    if tag == "dt" and _heads_its_definition(element):
        level = min(6, 1 + sum(1 for a in element.iterancestors() if isinstance(a.tag, str) and a.tag.lower() == "dl"))
        _add(lines, element.text_content(), "heading", level, outline=True)
        return
    if tag == "dd" and _has_block(element):  # the text a `<dt>` heads, maybe with its own `<dl>`
        _emit_children(element, lines)
        return
    if tag in _PARAGRAPHS or (tag == "div" and (_CLASS_HEADING.search(element.get("class", ""))
                                                 or _CLASS_TITLE.search(element.get("class", "")))):
        text = element.text_content()
        # The terms of a definition list (`<dt>Objet</dt>`), even in bold, label values, not sections.
        level = _paragraph_heading_level(element, text) if tag not in ("dt", "dd") else None
        if level:
            before = len(lines)
            _add(lines, text, "heading", level, outline=level < 6)  # 6: a bold line, no stated level
            if level == 6 and len(lines) > before:
                lines[-1].size = _bold_size(element)
        elif tag in _PARAGRAPHS:
            _add(lines, text, "para")
        else:
            _emit_children(element, lines)
        return
    if tag == "tr":
        cells = [cell for cell in element if isinstance(cell.tag, str)]
        if any(_has_block(cell) for cell in cells):  # a layout table: its cells hold the page
            for cell in cells:
                _emit_children(cell, lines)
        else:  # a data table: one line per row
            _add(lines, " ; ".join(text for text in (_squash(c.text_content()) for c in cells) if text), "para")
        return
    if tag == "li" and any(isinstance(d.tag, str) and d.tag.lower() in _HEADINGS for d in element.iterdescendants()):
        _emit_children(element, lines)  # LibreOffice's numbered headings: `<ol><li><h2>…</h2></li></ol>`
        return
    if tag == "li":
        # The item is the li's own text, wherever it sits (`<li><p>...</p></li>`); nested
        # lists follow as items of their own.
        _add(lines, _text_outside_lists(element), "item")
        for nested in _nested_lists(element):
            _emit(nested, lines)
        return
    _emit_children(element, lines)


def _emit_details(element, lines: list[Line]) -> None:
    """An accordion `<details>`: its `<summary>` heads what it folds (the `<h3>` inside are its
    children), one level above the highest heading inside; with none, one below the last heading."""
    summary = next((child for child in element if isinstance(child.tag, str) and child.tag.lower() == "summary"),
                   None)
    text = _squash(summary.text_content()) if summary is not None else ""
    if not text or not heading_like(text, 25):
        _emit_children(element, lines)
        return
    inner = [_HEADINGS[d.tag.lower()] for d in element.iterdescendants()
             if isinstance(d.tag, str) and d.tag.lower() in _HEADINGS]
    if inner:
        level = max(2, min(inner) - 1)
    else:
        last = next((line.level for line in reversed(lines) if line.hint == "heading" and line.level), 1)
        level = min(6, last + 1)
    _add(lines, text, "heading", level, outline=True)
    summary.drop_tree()  # its tail text, if any, stays in the details
    _emit_children(element, lines)


def _heads_its_definition(dt) -> bool:
    """A `<dt>` whose `<dd>` holds paragraphs or lists of its own (`<dd><p>…</p><p>…</p></dd>`)
    heads that text: a definition list used as the page's outline. A `<dd>` of plain text is the
    value of a field (`<dt>Pilote</dt><dd>ARS</dd>`)."""
    dd = dt.getnext()
    while dd is not None and not (isinstance(dd.tag, str)):
        dd = dd.getnext()
    if dd is None or dd.tag.lower() != "dd" or not heading_like(_squash(dt.text_content()), 18):
        return False
    return any(isinstance(c.tag, str) and c.tag.lower() in ("p", "dl", "ul", "ol", "div", "table") for c in dd)


def _has_block(element) -> bool:
    return any(isinstance(d.tag, str) and d.tag.lower() in _BLOCKS for d in element.iterdescendants())


def _paragraph_heading_level(element, text: str) -> int | None:
    """Level of a paragraph used as a heading: `class="titre2"`, or all bold and short (6)."""
    if _BR in text or not heading_like(text, 18) or lookalikes.is_run_in_field(_squash(text)):
        return None  # `<p><strong>À noter : …</strong></p>` is a field, not a heading
    match = _CLASS_HEADING.search(element.get("class", ""))
    if match:
        return int(match.group(1))
    if _CLASS_TITLE.search(element.get("class", "")):
        return 1
    if _all_bold(element):
        return 6  # a bold line: the lowest heading level, below any <h1>-<h6>
    return None


_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.IGNORECASE)


def _all_bold(element) -> bool:
    """The paragraph's text is all in one bold element, maybe inside font spans: `<p><strong>…`,
    or LibreOffice's `<p><span style="font-size: 13pt"><span style="font-weight: bold">…`."""
    return _bold_chain(element) is not None


def _bold_chain(element) -> list | None:
    """The paragraph and the elements down to its one bold element, when all its text is in it."""
    chain = [element]
    while True:
        element = _only_child(element)
        if element is None:
            return None
        chain.append(element)
        if element.tag.lower() in ("strong", "b") or _BOLD_STYLE.search(element.get("style", "")):
            return chain
        if element.tag.lower() not in ("span", "font", "a"):
            return None


_FONT_SIZE = re.compile(r"font-size\s*:\s*(\d+(?:\.\d+)?)\s*(pt|px)", re.IGNORECASE)


def _bold_size(element) -> float | None:
    """The font size (pt) a bold paragraph states, the innermost one: LibreOffice and Word show
    the level of a heading only by it."""
    sizes = [_FONT_SIZE.search(e.get("style", "")) for e in _bold_chain(element) or []]
    last = next((m for m in reversed(sizes) if m), None)
    if last is None:
        return None
    return round(float(last.group(1)) * (0.75 if last.group(2).lower() == "px" else 1), 1)


TITLE_SIZE_RATIO = 1.3


def _levels_from_sizes(lines: list[Line]) -> None:
    """With two sizes or more of bold paragraphs on the page, each size is a level (the largest
    highest), stated as if by markup, below any <h1>-<h6>: an unnumbered `Pilotage et calendrier`
    at the size of `Orientation C.` is its sibling, not a child of the last `Mesure C2`."""
    sized = [line for line in lines if line.size]
    sizes = sorted({line.size for line in sized}, reverse=True)
    if len(sizes) < 2:
        return
    # the largest size on the first bold line only, well above the next: the page's title, an <h1>
    title = sized[0].size == sizes[0] and sizes[0] >= TITLE_SIZE_RATIO * sizes[1] \
        and not any(line.size == sizes[0] for line in sized[1:])
    for line in sized:
        line.level, line.outline = max(1, 7 - len(sizes) + sizes.index(line.size)), True
    if title:
        sized[0].level = 1


class _Paragraph:
    """The text of the paragraph being read, and whether its current line (since the last
    `<br>`) has text yet: what tells a bold line that stands alone."""

    def __init__(self, text: str = ""):
        self.parts: list[str] = []
        self.line_has_text = False
        self.add(text)

    def add(self, text: str) -> None:
        self.parts.append(text)
        if _BR in text:
            self.line_has_text = bool(text.rsplit(_BR, 1)[-1].strip())
        else:
            self.line_has_text = self.line_has_text or bool(text.strip())

    def flush(self, lines: list[Line]) -> None:
        _add(lines, "".join(self.parts), "para")
        self.parts, self.line_has_text = [], False


def _emit_children(element, lines: list[Line]) -> None:
    paragraph = _Paragraph(element.text or "")
    _emit_inline(element, lines, paragraph)
    paragraph.flush(lines)


def _emit_inline(element, lines: list[Line], paragraph: _Paragraph) -> None:
    """The children of `element` into `paragraph` and `lines`: blocks and bold lines break the
    paragraph; a `<font>`/`<span>` holding `<br>`s is read through, as the pages laid out with
    them have their headings inside."""
    for child in element:
        if not isinstance(child.tag, str):
            paragraph.add(child.tail or "")
            continue
        tag = child.tag.lower()
        if tag in _BLOCKS:
            paragraph.flush(lines)
            _emit(child, lines)
        elif not paragraph.line_has_text and (level := _bold_line_level(child, lines)) is not None:
            paragraph.flush(lines)
            _add(lines, child.text_content(), "heading", level, outline=True)
        elif tag in ("font", "span") and child.find(".//br") is not None:
            paragraph.add(child.text or "")
            _emit_inline(child, lines, paragraph)
        else:
            paragraph.add(child.text_content())
        paragraph.add(child.tail or "")


def _bold_line_level(child, lines: list[Line]) -> int | None:
    """The level of a bold line opening a line (`…<br><b>1°) Dépister</b><br>`), the headings of
    pages laid out with `<font>` and `<br>` and no paragraphs: a larger font first (the page's
    title when no heading came before), then bold, then bold italic. None for anything else."""
    nxt = child.getnext()
    if ((child.tail or "").strip()
            or not (nxt is None or (isinstance(nxt.tag, str) and nxt.tag.lower() in _BLOCKS | {"br"}))):
        return None
    whole = len([c for c in child if isinstance(c.tag, str)]) == 0 or _only_child(child) is not None
    chain = [child] if child.tag.lower() in ("b", "strong") and whole else _bold_chain(child)
    text = child.text_content()
    if not chain or _BR in text or not heading_like(_squash(text), 18) or lookalikes.is_run_in_field(_squash(text)):
        return None
    tags = {e.tag.lower() for e in chain[-1].iter() if isinstance(e.tag, str)} | {e.tag.lower() for e in chain}
    if any(e.tag.lower() == "font" and e.get("size", "").strip("+").isdigit() and int(e.get("size").strip("+")) >= 4
           for e in chain):
        return 4 if any(line.hint == "heading" for line in lines) else 1
    return 6 if tags & {"i", "em"} else 5


def _text_outside_lists(element) -> str:
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag.lower() not in ("ul", "ol"):
            parts.append(_text_outside_lists(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _nested_lists(element) -> list:
    found = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag.lower() in ("ul", "ol"):
            found.append(child)
        else:
            found.extend(_nested_lists(child))
    return found


def _add(lines: list[Line], text: str, hint: str, level: int | None = None, outline: bool = False) -> None:
    """Add `text` as lines; a `<br>` inside a paragraph starts a new line (CMS bullet lists)."""
    segments = text.split(_BR) if hint == "para" else [text.replace(_BR, " ")]
    for segment in segments:
        segment = _squash(segment)
        if segment:
            lines.append(Line(segment, hint=hint, level=level, outline=outline))


def parse_html(html: str) -> Page:
    """Classify an HTML page."""
    lines, title, site = html_lines(html)
    page = parse_lines(lines, title_hint=title)
    page.site = page.site or site
    return page
