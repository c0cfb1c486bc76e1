"""Markup of text pages exported from a wiki or written in Markdown: which lines are headings
(`## Title`, a line underlined with `===` or `---`) and which are furniture (`[[_TOC_]]`,
`[[Catégorie:…]]`, `<!-- … -->` comments)."""
from __future__ import annotations

import re

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+\S")
# Setext headings: a line underlined with `===` (level 1) or `---` (level 2).
_UNDERLINE = re.compile(r"^(?:={3,}|-{3,})$")
_BULLET_START = re.compile(r"^[-–—*•]\s")  # `1. Cadre` underlined is a heading, `- x` is an item
_WIKI_MARKUP = re.compile(
    r"^(?:\[\[(?:_TOC_|TOC|Cat[ée]gor(?:ie|y)\s*:[^\]]*)\]\]\s*)+$|^(?:__(?:NO)?TOC__|\[TOC\]|\{:toc\})$",
    re.IGNORECASE,
)


def heading_levels(raw: list[str]) -> tuple[dict[int, int], set[int]]:
    """({line index: heading level}, indices of setext underlines, which carry no text)."""
    levels: dict[int, int] = {}
    underlines: set[int] = set()
    for index, line in enumerate(raw):
        s = line.strip()
        markdown = _MARKDOWN_HEADING.match(s)
        if markdown:
            levels[index] = len(markdown.group(1))
        elif _UNDERLINE.match(s) and index and index - 1 not in levels and _underlined(raw, index):
            levels[index - 1] = 1 if s[0] == "=" else 2
            underlines.add(index)
    return levels, underlines


def _underlined(raw: list[str], index: int) -> bool:
    """Whether `raw[index]` (`===` or `---`) underlines the line above: a one-line paragraph, not
    a list item nor a sentence (a lone `---` after a blank line is a rule)."""
    above = raw[index - 1].strip()
    if not above or (index >= 2 and raw[index - 2].strip()) or _BULLET_START.match(above):
        return False
    return len(above) <= 200 and above[-1] not in ".:;,"


def is_wiki_markup(line: str) -> bool:
    """`[[_TOC_]]`, `[[Catégorie:PRS]] [[Catégorie:Santé]]`, `__TOC__`: markup, not content."""
    return len(line) < 500 and bool(_WIKI_MARKUP.match(line.strip()))


def is_comment_start(line: str) -> bool:
    """`<!-- Export Markdown du wiki … -->`: an HTML comment left in an exported text page."""
    return line.lstrip().startswith("<!--")
