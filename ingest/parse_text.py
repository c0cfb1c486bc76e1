"""Plain-text pages: lines -> metadata (breadcrumb, title, keywords, source, figures) + body blocks.

The same classifier serves HTML pages: `parse_html` turns the DOM into `Line`s carrying hints
(this line is a heading of level 2, a list item...), and the rules below take the hints first.

Which lines are what, in a text page:
- dropped: footers and everything after them (`© ICARS - Plan du site`, `(c) actimeo 2011`),
  cookie banners, navigation words, the nav tab repeating a breadcrumb entry (`Région`), page-type
  markers before the title (`Article`), unnumbered headings left with no text at the end;
- metadata (kept in the text, outside sections): breadcrumb, title line (when not a heading of
  the body), keyword line, source line, figure references;
- body: headings, paragraph lines and list items; each lands in exactly one section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest import clean, lookalikes, text_markup
from ontology.textkeys import match_key, normalize_for_matching
from ingest.model import Source
from ingest.tree import Block, Heading, parse_heading, parse_numbered


@dataclass
class Line:
    """One line of a page; `hint` comes from HTML markup (heading, para, item, breadcrumb)."""

    text: str
    hint: str | None = None
    level: int | None = None  # HTML heading level (PDF: the level given by font size)
    outline: bool = False  # `level` is stated by markup (h1-h6, `##`, setext), not guessed from style
    pages: tuple[str, str] | None = None  # PDF: printed pages the line spans (first, last)
    size: float | None = None  # HTML: the font size (pt) a bold paragraph used as a heading states


@dataclass
class Page:
    """What the line classifier found, with offsets into `text` (the cleaned page text)."""

    text: str
    blocks: list[Block]
    meta_spans: list[tuple[int, int]]
    title: str | None = None
    breadcrumb: list[str] = field(default_factory=list)
    breadcrumb_start: int = 0
    keywords: list[str] = field(default_factory=list)
    source: Source | None = None
    figures: list[str] = field(default_factory=list)
    site: str | None = None
    # Paged sources (PDF): (start, end, first page, last page) of each kept line of `text`.
    page_spans: list[tuple[int, int, str, str]] = field(default_factory=list)


_BULLET = re.compile(
    r"^(?P<marker>[•\-–—*▪▫◦·●○■□➢➤►▸▹▶✓✔♦◆❖→➔\uf0b7\uf0a7\uf0d8o]|\d{1,2}[.)°]|[a-z][.)]|[ivx]{1,4}[.)])\s+(?=\S)"
)
_FIGURE = re.compile(
    r"^(?:consulter|voir|afficher|t[ée]l[ée]charger)\s+(?:l'|le |la |les |un |une )?"
    r"(?:histogramme|graphique|carte|tableau|figure|diagramme|annexe|illustration)s?\b"
    r"\s*(?:n°\s*)?(?P<ref>[A-Za-z]{0,6}\d[\w.-]*)?\s*$",
    re.IGNORECASE,
)
_SOURCE = re.compile(
    r"^(?:(?P<label>sources?)\s*:\s*)?(?P<scheme>[^.]{3,200}?)\.\s+(?P<publisher>[^,.]{2,80}?),\s*"
    r"(?P<year>(?:19|20)\d{2})(?:\s*,\s*(?:pp?\.|pages?)\s*(?P<pages>[\dIVXLCivxlc]+(?:\s*[-–]\s*[\dIVXLCivxlc]+)?))?\s*\.?$",
    re.IGNORECASE,
)
_KEYWORDS_LABELLED = re.compile(r"^(?:mots[- ]cl[ée]s|tags|keywords|th[ée]matiques?)\s*:\s*(?P<rest>.+)$", re.IGNORECASE)
_PLAN = re.compile(r"^(?:projet r[ée]gional de sant[ée]|prs\b|plan r[ée]gional de sant[ée])", re.IGNORECASE)
_SCHEME = re.compile(
    r"^(?:sch[ée]ma |sroms?\b|sros\b|srp\b|psrs\b|praps\b|programme r[ée]gional|plan strat[ée]gique r[ée]gional)",
    re.IGNORECASE,
)
_TERMINAL = ".:;,…!"


def split_lines(text: str) -> list[Line]:
    """The lines of a plain-text page (`## Title` lines and underlined lines are headings of
    that level, with markup stating it; the underline itself is left out)."""
    raw = text.split("\n")
    levels, underlines = text_markup.heading_levels(raw)
    return [Line(line, "heading", levels[i], outline=True) if i in levels else Line(line)
            for i, line in enumerate(raw) if i not in underlines]


def heading_like(title: str, max_words: int = 20) -> bool:
    """Short, capitalised, no sentence punctuation at the end: reads as a heading."""
    if len(title) > 400:
        return False
    title = normalize_for_matching(title)
    if not title or len(title) > 220 or len(title.split()) > max_words:
        return False
    if title[-1] in _TERMINAL or not any(ch.isalpha() for ch in title):
        return False
    first = title[0]
    return first.isupper() or first.isdigit() or first in "«\"'(“"


_YOU_ARE_HERE = re.compile(r"^(?:vous [êe]tes (?:ici|sur)|fil d'ariane|fil d’ariane)\s*:?\s*", re.IGNORECASE)


def breadcrumb_parts(line: str) -> list[str] | None:
    """The entries of a breadcrumb line `Accueil > Région > ... > 2.8 Title`, else None."""
    line = _YOU_ARE_HERE.sub("", line.strip())
    parts = [part.strip() for part in re.split(r"\s+[>›»]{1,2}\s+", line)]
    if any(not part or len(part.split()) > 25 for part in parts):
        return None
    if len(parts) >= 3 or (len(parts) == 2 and match_key(parts[0]) in ("accueil", "home")):
        return parts
    return None


# Characters that print nothing: soft hyphens (`pal&shy;liatifs`), zero-width spaces and joiners,
# a byte-order mark left inside the text. Kept, they would split the words they sit in.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def parse_lines(lines: list[Line], title_hint: str | None = None) -> Page:
    """Classify the lines of one page and build its cleaned text and body blocks."""
    for line in lines:
        line.text = line.text.translate(_INVISIBLE)
    raw = [line.text.rstrip() for line in lines]
    stripped = _without_heading_stops([line.strip() for line in raw])
    kinds: list[str | None] = [None if text else "blank" for text in stripped]
    meta: dict = {"breadcrumb": [], "title": title_hint, "keywords": [], "source": None, "figures": []}
    site = _drop_boilerplate(lines, stripped, kinds)
    _drop_table_of_contents(stripped, kinds)
    title_index, repeated_title = _read_header(lines, stripped, kinds, meta)
    _read_body(lines, stripped, kinds, repeated_title, meta)
    _drop_orphan_headings(lines, stripped, kinds, title_index)
    return _assemble(lines, raw, stripped, kinds, title_index, meta, site)


def _lone(stripped: list[str], i: int) -> bool:
    return bool(stripped[i]) and (i == 0 or not stripped[i - 1]) and (i + 1 == len(stripped) or not stripped[i + 1])


def _stop_ended(s: str) -> bool:
    """One full stop ends the line and none is inside: `1 – Contexte et cadre juridique.`"""
    return s.endswith(".") and not s.endswith("..") and ". " not in s


def _without_heading_stops(stripped: list[str]) -> list[str]:
    """Some word processors' styles end every heading with a full stop (`1 – Contexte.`,
    `Préambule.`). When a page has at least two numbered lone lines ending so, that stop is
    the heading's punctuation, not a sentence's: it is dropped from lone short lines."""
    numbered = [i for i in range(len(stripped)) if _lone(stripped, i) and _stop_ended(stripped[i])
                and len(stripped[i].split()) <= 25 and (h := parse_numbered(stripped[i][:-1])) is not None
                and h.style in ("arabic", "label")]
    if len(numbered) < 2:
        return stripped
    out = list(stripped)
    for i, s in enumerate(stripped):
        if _lone(stripped, i) and _stop_ended(s) and (i in numbered or _short_title(s)):
            out[i] = s[:-1].rstrip()
    return out


_SUBJECT_OPENERS = re.compile(r"^(?:l[ea]s?|l['’]|une?|ce|cet|cette|ces|son|sa|ses|leurs?|il|elle|ils|elles|on)\b",
                              re.IGNORECASE)


def _short_title(s: str) -> bool:
    """`Préambule.`, `Calendrier et contacts.`: six words at most, not opening like a sentence's
    subject (`Le dossier est complet.`, `L'ARS finance …`)."""
    return len(s.split()) <= 6 and not _SUBJECT_OPENERS.match(s)


def _drop_boilerplate(lines, stripped, kinds) -> str | None:
    """Mark footers (and all after them), cookie banners and navigation words as dropped.

    Returns the site named by a copyright line, if any.
    """
    n = len(lines)
    site = None
    content_seen = False
    i = 0
    while i < n:
        s = stripped[i]
        if not s:
            i += 1
            continue
        hinted = lines[i].hint in ("heading", "item")
        if lines[i].hint is None and text_markup.is_comment_start(s):
            while i < n and "-->" not in stripped[i]:
                kinds[i] = "drop"
                i += 1
            if i < n:
                kinds[i] = "drop"
            i += 1
            continue
        if lines[i].hint == "heading" and clean.is_nav_heading(s):
            block = _links_block(lines, stripped, i)
            if block is not None:
                for j in range(i, block):
                    kinds[j] = "drop"
                i = block
                continue
        if lines[i].hint is None and text_markup.is_wiki_markup(s):
            kinds[i] = "drop"
        elif not hinted and clean.is_footer(s):
            site = site or clean.copyright_holder(s)
            if content_seen:  # a footer before any content is a top bar: drop only the line
                for j in range(i, n):
                    kinds[j] = "drop"
                    site = site or (clean.copyright_holder(stripped[j]) if stripped[j] else None)
                break
            kinds[i] = "drop"
        elif not hinted and clean.is_cookie(s):
            kinds[i] = "drop"
            i += 1
            # In a text page the banner's whole block goes, its bullet list included; HTML
            # banners are removed with their element, so only this line is dropped there.
            while lines[i - 1].hint is None and i < n and stripped[i] and lines[i].hint is None:
                kinds[i] = "drop"
                i += 1
            continue
        elif clean.is_nav(s) and lines[i].hint != "heading":
            kinds[i] = "drop"
        elif lines[i].hint != "breadcrumb" and breadcrumb_parts(s) is None:
            content_seen = True
        i += 1
    return site


_TOC_LABEL = re.compile(r"^(?:sommaire|table des mati[èe]res|au sommaire|plan du document|contents)\s*:?$", re.IGNORECASE)
_PAGE_NUMBER = re.compile(r"(?:\s*\.{2,}\s*|\s*…+\s*|\s+)\d{1,3}$")  # `Préambule ........ 3`


def _drop_table_of_contents(stripped, kinds) -> None:
    """A `Sommaire` and the entries under it that the page prints again further down (its
    headings): a table of contents, not sections. Entries that never come again stay text."""
    label = next((i for i, s in enumerate(stripped) if kinds[i] is None and _TOC_LABEL.match(s)), None)
    if label is None:
        return
    keys = [_toc_key(line) for line in stripped]
    last = {key: index for index, key in enumerate(keys)}  # where each line is printed for the last time
    j = label + 1
    while j < len(stripped) and not stripped[j]:
        j += 1
    entries = []
    while j < len(stripped) and stripped[j] and last[keys[j]] > j:
        entries.append(j)
        j += 1
    if len(entries) >= 2 and all(last[keys[e]] >= j for e in entries):  # printed again after the block
        for index in [label, *entries]:
            kinds[index] = "drop"


def _toc_key(line: str) -> str:
    return match_key(_PAGE_NUMBER.sub("", line)) if line else ""


def _links_block(lines, stripped, i) -> int | None:
    """Where the block under the link-list heading `i` ends (the next heading), when it holds only
    short lines (links, file names); None when it holds text, which then stays."""
    j = i + 1
    while j < len(lines) and lines[j].hint != "heading":
        if stripped[j] and (len(stripped[j]) > 160 or lines[j].hint not in ("item", "para")):
            return None
        j += 1
    return j


def _read_header(lines, stripped, kinds, meta) -> tuple[int | None, int | None]:
    """Breadcrumb, its nav tab, page-type markers, title line and keyword line.

    Returns (index of the title line when it is also the page's heading, index of a later
    line repeating a title line that is only metadata).
    """
    todo = [i for i in range(len(lines)) if kinds[i] is None]
    title_index = repeated = None
    pos = 0
    # The breadcrumb opens the page; a site name or two printed above it is header furniture.
    for k, index in enumerate(todo[:3]):
        if lines[index].hint == "breadcrumb":  # from HTML markup: trust it, whatever its length
            parts = [part.strip() for part in re.split(r"\s+>\s+", stripped[index])]
        else:
            parts = breadcrumb_parts(stripped[index]) if lines[index].hint in (None, "para") else None
        if parts:
            for before in todo[:k]:
                kinds[before] = "drop"
            kinds[index] = "breadcrumb"
            meta["breadcrumb"] = [normalize_for_matching(part) for part in parts]
            pos = k + 1
            break
    # In HTML, lines before the <h1> (menus of layout tables, banners) are furniture.
    h1 = next((k for k in range(pos, min(len(todo), pos + 8)) if lines[todo[k]].hint == "heading"
               and lines[todo[k]].level == 1), None)
    if h1 is not None and all(lines[todo[k]].hint for k in range(pos, h1)):  # HTML lines only
        # unless one of them is the plan's name the <title> gives, set above headings that are
        # all the plan's parts (a word processor's export: `<p><font size=5><b>Plan …` then `<h1>`)
        named = _names_the_title(stripped, todo[pos:h1], meta["title"])
        if named is not None:
            lines[todo[named + pos]].hint, lines[todo[named + pos]].level = "heading", 1
            h1 = pos + named
        for before in todo[pos:h1]:
            kinds[before] = "drop"
        pos = h1
    crumbs = meta["breadcrumb"]
    crumb_keys = {match_key(part) for part in crumbs[:-1]}
    while pos < len(todo) and lines[todo[pos]].hint != "heading":
        s = stripped[todo[pos]]
        if not (clean.is_marker(s) or (crumbs and match_key(s) in crumb_keys and len(s.split()) <= 4)):
            break
        kinds[todo[pos]] = "drop"  # `Article`, or the nav tab `Région` repeating a breadcrumb entry
        pos += 1
    letterhead = not crumbs and pos < len(todo) and lines[todo[pos]].hint in (None, "para") \
        and lookalikes.is_issuer(stripped[todo[pos]])
    if letterhead:
        # A letterhead over the title (`ARS DE CORSE`, with its `Direction de l'offre …`) is header;
        # the plan's name under it, or after the block, is the title and heads the page: its
        # sections are the plan's, and their passages say so
        kinds[todo[pos]] = "header"
        pos += 1
        while pos < len(todo) and todo[pos] == todo[pos - 1] + 1 and (  # and the co-signers' lines
                lookalikes.is_issuer_service(stripped[todo[pos]]) or lookalikes.is_issuer(stripped[todo[pos]])):
            kinds[todo[pos]] = "header"
            pos += 1
    if pos < len(todo):
        index = todo[pos]
        s, line = stripped[index], lines[index]
        heading_text = normalize_for_matching(s.lstrip("#"))
        if crumbs:
            # On a breadcrumb page the title line is the page's own heading (`2.8 S'engager...`).
            if match_key(s) == match_key(crumbs[-1]) or line.hint == "heading" or (
                line.hint is None and heading_like(s, 25)
            ):
                title_index, kinds[index], meta["title"] = index, "heading", heading_text
            else:
                meta["title"] = meta["title"] or crumbs[-1]
        elif line.hint == "heading" and not _first_of_numbered_series(lines, stripped, todo[pos:]):
            title_index, kinds[index], meta["title"] = index, "heading", heading_text
        elif line.hint is None and heading_like(s, 30):
            meta["title"] = heading_text
            numbered = parse_numbered(s)
            if letterhead or (numbered is not None and numbered.style in ("arabic", "label")):
                title_index, kinds[index] = index, "heading"
            else:
                kinds[index] = "title"  # metadata; a later line repeating it is the heading
                key = match_key(s)
                repeated = next((later for later in todo[pos + 1:] if match_key(stripped[later]) == key), None)
        if kinds[index] in ("heading", "title"):
            pos += 1
        if kinds[index] == "title" or (letterhead and kinds[index] == "heading"):
            # Short lines printed right under the title line (`Volet santé mentale`, `Direction de
            # l'offre médico-sociale`) are its header block, not headings of the body.
            while (pos < len(todo) and todo[pos] == todo[pos - 1] + 1 and lines[todo[pos]].hint is None
                   and heading_like(stripped[todo[pos]], 30) and parse_numbered(stripped[todo[pos]]) is None
                   and not clean.is_marker(stripped[todo[pos]])):
                kinds[todo[pos]] = "header"
                pos += 1
        # the issuer's letterhead printed under the title, a blank line between (`ARS Bretagne`)
        while (kinds[index] in ("heading", "title") and pos < len(todo) and lines[todo[pos]].hint is None
               and (lookalikes.is_issuer(stripped[todo[pos]]) or lookalikes.is_issuer_service(stripped[todo[pos]]))):
            kinds[todo[pos]] = "header"
            pos += 1
    while pos < len(todo) and lines[todo[pos]].hint is None and clean.is_marker(stripped[todo[pos]]):
        kinds[todo[pos]] = "drop"  # `Article` printed under the title
        pos += 1
    while pos < len(todo) and lines[todo[pos]].hint is None and stripped[todo[pos]].startswith(">"):
        kinds[todo[pos]] = "header"  # a Markdown quote under the title: the page's metadata (author, status)
        pos += 1
    if pos < len(todo) and lines[todo[pos]].hint in (None, "para"):
        keywords = _keywords(stripped[todo[pos]])
        if keywords:
            kinds[todo[pos]] = "keywords"
            meta["keywords"] = keywords
    return title_index, repeated


def _names_the_title(stripped, candidates: list[int], title: str | None) -> int | None:
    """The position among `candidates` of the line that starts with the page's `<title>`."""
    key = match_key(title or "")
    if len(key.split()) < 3:
        return None
    return next((k for k, i in enumerate(candidates)
                 if match_key(stripped[i]).startswith(key) and heading_like(stripped[i], 30)), None)


def _first_of_numbered_series(lines, stripped, todo) -> bool:
    """The first heading is numbered (`A. Contexte`) and a later one of its level is numbered too
    (`B. Cahier des charges`): the first part of the body, not the page's title."""
    first = lines[todo[0]]
    if parse_numbered(stripped[todo[0]]) is None:
        return False
    return any(lines[j].hint == "heading" and lines[j].level == first.level and parse_numbered(stripped[j]) is not None
               for j in todo[1:])


def _read_body(lines, stripped, kinds, repeated_title, meta) -> None:
    """Classify the remaining lines: headings, paragraphs, items, source line, figures."""
    n = len(lines)
    remaining = [i for i in range(n) if kinds[i] is None]
    last_content = max(remaining) if remaining else -1
    signed = next((i for i in remaining if lines[i].hint is None and lookalikes.opens_signatures(stripped[i])), n)
    for i in remaining:
        if kinds[i] is not None:  # already taken as the title line of a bare heading
            continue
        kinds[i] = _classify(i, lines, stripped, kinds, repeated_title == i, last_content, i >= signed)
        if kinds[i] == "heading" and i + 1 < n and kinds[i + 1] is None and _titled_below(lines, i):
            numbered = parse_numbered(stripped[i])
            if numbered and numbered.style == "label" and numbered.title == numbered.number:
                if heading_like(stripped[i + 1], 30) and not _BULLET.match(stripped[i + 1]) \
                        and parse_numbered(stripped[i + 1]) is None:
                    kinds[i + 1] = "heading-title"  # `Orientation 4` / `Développer ...`
        if kinds[i] == "source":
            meta["source"] = _source(stripped[i])
        elif kinds[i] == "figure":
            match = _FIGURE.match(normalize_for_matching(stripped[i]))
            meta["figures"].append(match.group("ref") or normalize_for_matching(stripped[i]))


def _titled_below(lines: list[Line], i: int) -> bool:
    """A bare label line may have its title on the next line: in a text page, or in HTML when
    that line is a heading of the same level (`<p><b>AXE 1</b></p><p><b>Prévenir …</b></p>`)."""
    if lines[i].hint is None:
        return True
    return lines[i].hint == "heading" and lines[i + 1].hint == "heading" and lines[i + 1].level == lines[i].level


def _drop_orphan_headings(lines, stripped, kinds, title_index) -> None:
    """Unnumbered headings left with no text at the end are site links (`Liste des pratiques`)."""
    body = [i for i in range(len(lines)) if kinds[i] in ("heading", "para", "item", "cont", "heading-title")]
    while len(body) > 1 and kinds[body[-1]] == "heading" and body[-1] != title_index:
        last = body[-1]
        if lines[last].hint == "heading" or parse_numbered(stripped[last]) is not None:
            break
        kinds[last] = "drop"
        body.pop()


def _classify(i, lines, stripped, kinds, forced, last_content, signed=False) -> str:
    """The kind of body line `i`: heading, para, item, cont(inuation of an item), source, figure.

    `signed`: the line comes after the `Fait à …, le …` line of a contract's signatures."""
    line, s = lines[i], stripped[i]
    prev_blank = i == 0 or kinds[i - 1] in ("blank", "drop", "breadcrumb", "title", "keywords", "header")
    next_blank = i + 1 >= len(lines) or not stripped[i + 1] or kinds[i + 1] == "drop"
    if line.hint == "heading" or forced:
        return "heading"
    if line.hint == "item":
        return "item"
    norm = normalize_for_matching(s)
    if _FIGURE.match(norm):
        return "figure"
    source = _SOURCE.match(norm)
    if source and (source.group("pages") or source.group("label") or i == last_content):
        return "source"
    if line.hint == "para":  # an HTML paragraph: a heading only when numbered like one
        numbered = parse_numbered(s) if len(s) <= 400 else None
        if numbered and numbered.style in ("arabic", "label") and heading_like(numbered.title, 30):
            return "heading"
        return "item" if _BULLET.match(s) else "para"
    indent = len(line.text) - len(line.text.lstrip(" \t"))
    numbered = parse_numbered(s) if len(s) <= 400 else None  # longer lines are never headings
    previous = kinds[i - 1] if i else None
    if previous in ("item", "cont") and not _BULLET.match(s) and not numbered:
        # A wrapped item goes on indented past its bullet, or straight on after an unfinished line.
        item = next(j for j in range(i - 1, -1, -1) if kinds[j] == "item")
        item_indent = len(lines[item].text) - len(lines[item].text.lstrip(" \t"))
        unfinished = not prev_blank and indent >= item_indent and stripped[i - 1][-1] not in ".;:!?…"
        if (indent > item_indent and (not prev_blank or indent >= item_indent + 2)) or unfinished:
            return "cont"
    strong = numbered is not None and numbered.style == "arabic" and numbered.depth > 1
    if numbered is not None and indent == 0 and (prev_blank or strong):
        if _is_heading(numbered, s, i, stripped, kinds, next_blank):
            return "heading"
    if _BULLET.match(s):
        return "heading" if _marked_heading(i, s, stripped, prev_blank, next_blank) else "item"
    if indent == 0 and prev_blank and next_blank and heading_like(s, 18) and ". " not in norm:
        if not signed and not _lookalike(i, s, stripped):
            return "heading"
    return "para"


# Glyphs that word processors put before unnumbered sub-headings (`■ Les personnes détenues`);
# a dash, a star or a dot before a lone line stays a list item.
_HEADING_MARKS = "■□▪►➢➤◆♦❖▸▹▶"


def _marked_heading(i: int, s: str, stripped: list[str], prev_blank: bool, next_blank: bool) -> bool:
    """`■ Title` alone between blank lines, followed by a paragraph and not by or after another
    line with its mark, is a heading: a list whose items are spaced out has its marks in a row."""
    mark = s[0]
    if mark not in _HEADING_MARKS or not (prev_blank and next_blank) or s[-1] in ".;:,":
        return False
    if not heading_like(_unmarked(s), 18):
        return False
    before = next((stripped[j] for j in range(i - 1, -1, -1) if stripped[j]), "")
    after = next((stripped[j] for j in range(i + 1, len(stripped)) if stripped[j]), "")
    return bool(after) and not _BULLET.match(after) and not before.startswith(mark) and len(after) > len(s)


def _unmarked(line: str) -> str:
    """A heading without the glyph that marked it."""
    return line.lstrip(_HEADING_MARKS).lstrip() if line[:1] in _HEADING_MARKS else line


def _lookalike(i: int, s: str, stripped: list[str]) -> bool:
    """A short line alone in its paragraph that is still no heading (`ingest.lookalikes`)."""
    if lookalikes.is_run_in_field(s):
        return True
    before = next((stripped[j] for j in range(i - 1, -1, -1) if stripped[j]), "")
    after = next((stripped[j] for j in range(i + 1, len(stripped)) if stripped[j]), "")
    if lookalikes.is_glossary_entry(s) and (lookalikes.is_glossary_entry(before) or lookalikes.is_glossary_entry(after)):
        return True
    return lookalikes.is_table_row(after)  # the caption of a table flattened to text


def _between_paragraphs(i: int, s: str, stripped: list[str]) -> bool:
    """The line comes after and before lines that are neither numbered like it nor bulleted, and
    the next one is a sentence: `a) Renforcer les équipes mobiles` heading its paragraph."""
    before = next((stripped[j] for j in range(i - 1, -1, -1) if stripped[j]), "")
    after = next((stripped[j] for j in range(i + 1, len(stripped)) if stripped[j]), "")
    if not after or _BULLET.match(after) or s[-1] in ";,." or not (after[-1] in ".!?…" or len(after) > len(s)):
        return False
    return not any(re.match(r"^[a-z]\)\s", line) for line in (before, after))


def _is_heading(numbered: Heading, s: str, i, stripped, kinds, next_blank) -> bool:
    """Whether a numbered line of a text page is a heading rather than a numbered list item."""
    if numbered.style == "label":
        # a long one still heads when the next line is a labelled heading of a lower level
        # (`Mission socle n°1 - <the mission's whole wording> :`, then `Fiche-action 1.1 - …`)
        if len(numbered.title.split()) <= 40:
            return True
        below = parse_numbered(next((stripped[j] for j in range(i + 1, len(stripped)) if stripped[j]), ""))
        return below is not None and below.style == "label" and below.rank > numbered.rank
    if numbered.style == "arabic" and numbered.depth > 1:
        return heading_like(numbered.title, 30)
    if not heading_like(numbered.title, 25 if numbered.style == "arabic" else 18):
        return False
    if numbered.style == "arabic" and re.match(r"^\d+\)", s):
        return False  # `1)` numbers list items
    if numbered.style == "small-letter" and not next_blank:
        return False  # `a. …` followed by more lines is a list
    if numbered.style == "small-letter" and re.match(r"^[a-z]\)", s) and not _between_paragraphs(i, s, stripped):
        return False  # `a) …`, `b) …` spaced out: a list
    # A single arabic number inside a list (after `... :` or beside other numbered lines) is an item.
    previous = next((j for j in range(i - 1, -1, -1) if kinds[j] not in ("blank",)), None)
    if previous is not None and kinds[previous] != "drop" and stripped[previous].endswith(":") and i - previous <= 2:
        return False
    if not next_blank and _BULLET.match(stripped[i + 1]):
        return numbered.style != "arabic"
    return True


def _keywords(s: str) -> list[str]:
    """Keywords of a `Mots-clés : a, b` line or a bare comma list of short lower-case terms."""
    norm = normalize_for_matching(s)
    match = _KEYWORDS_LABELLED.match(norm)
    rest = match.group("rest") if match else norm
    parts = [part.strip() for part in re.split(r"[,;]", rest)]
    if not match:
        if len(parts) < 3 or norm[-1] in ".:!?" or any(not p or len(p.split()) > 4 for p in parts):
            return []
        if sum(p[0].islower() for p in parts) < len(parts) / 2:
            return []
    keywords: list[str] = []
    for part in parts:
        if part and part not in keywords:
            keywords.append(part)
    return keywords


def _source(s: str) -> Source:
    norm = normalize_for_matching(s)
    match = _SOURCE.match(norm)
    assert match is not None
    return Source(
        scheme=match.group("scheme").strip(),
        publisher=match.group("publisher").strip(),
        year=int(match.group("year")),
        pages=re.sub(r"\s+", "", match.group("pages")) if match.group("pages") else None,
        text=s,
    )


def _assemble(lines, raw, stripped, kinds, title_index, page_meta, site) -> Page:
    """Join the kept lines into the page text (one blank line at most) and place the blocks."""
    parts: list[str] = []
    blocks: list[Block] = []
    meta: list[tuple[int, int]] = []
    page_spans: list[tuple[int, int, str, str]] = []
    offset = 0
    breadcrumb_start = 0
    pending_blank = False
    for i, kind in enumerate(kinds):
        if kind == "drop":
            continue
        if kind == "blank":
            pending_blank = bool(parts)
            continue
        if parts:
            sep = "\n\n" if pending_blank or lines[i].hint else "\n"
            parts.append(sep)
            offset += len(sep)
        pending_blank = False
        line = raw[i]
        parts.append(line)
        start = offset + len(line) - len(line.lstrip())
        end = offset + len(line)
        offset += len(line)
        if lines[i].pages:
            page_spans.append((start, end, *lines[i].pages))
        if kind in ("breadcrumb", "title", "keywords", "source", "figure", "header"):
            meta.append((start, end))
            if kind == "breadcrumb":
                breadcrumb_start = start
        elif kind == "cont" and blocks and blocks[-1].kind == "item":
            blocks[-1].end = end
        elif kind == "heading-title" and blocks and blocks[-1].kind == "heading":
            blocks[-1].end = end
            blocks[-1].heading.title = normalize_for_matching(line)
        elif kind == "item":
            bullet = _BULLET.match(line.strip()) if lines[i].hint != "item" else None
            item_start = start + (bullet.end() if bullet else 0)
            blocks.append(Block("item", start, end, item_start=item_start))
        elif kind == "heading":
            level = lines[i].level
            if level is None and stripped[i][:1] in _HEADING_MARKS:
                level = 6  # `▸ Lutter contre l'ambroisie`: the mark makes it a sub-heading, never a closing one
            heading = parse_heading(_unmarked(stripped[i]).lstrip("#"), level, level if lines[i].outline else None)
            blocks.append(Block("heading", start, end, heading=heading, is_title=i == title_index))
        else:  # para, or a continuation line with no item before it
            blocks.append(Block("para", start, end))
    text = "".join(parts)
    return Page(
        text=text,
        blocks=blocks,
        meta_spans=meta,
        title=page_meta["title"],
        breadcrumb=page_meta["breadcrumb"],
        breadcrumb_start=breadcrumb_start,
        keywords=page_meta["keywords"],
        source=page_meta["source"],
        figures=page_meta["figures"],
        site=site,
        page_spans=page_spans,
    )


def parse_text(text: str) -> Page:
    """Classify a plain-text page."""
    return parse_lines(split_lines(text))


def breadcrumb_ancestors(crumbs: list[str]) -> tuple[str | None, str | None, list[Heading]]:
    """(plan, scheme, ancestor headings) from breadcrumb entries.

    Ancestors are the entries after the scheme (or the plan); without either, the numbered
    entries just before the page's own. The last entry is the page itself, not an ancestor.
    """
    plan = scheme = None
    start = None
    for index, part in enumerate(crumbs):
        if plan is None and _PLAN.match(part):
            plan, start = part, index + 1
        elif _SCHEME.match(part):
            scheme, start = part, index + 1
    entries = crumbs[:-1]
    if start is not None:
        chosen = entries[start:]
    else:
        chosen = []
        for part in reversed(entries):
            if parse_numbered(part) is None:
                break
            chosen.insert(0, part)
    return plan, scheme, [parse_heading(part) for part in chosen]
