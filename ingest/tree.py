"""Headings -> section tree: numbering styles, levels, parents, own-text offsets and items.

Numbering styles and their rank (a smaller rank sits higher in the plan):
  `Partie 1`, `Annexe 1` (10) < roman `II.` (15) < `Axe 2 -`, `Mission socle n°1` (20) < `Orientation 4` (30)
  < `Objectif 3 :` (40) < `Action 3.1 :` (50) < `Article 4` (58) < `§ 2` (60) < lettered `A.` (70)
  < arabic `2.8.1`, ordinal `1°)` (80 + depth)
  < small letter `a.` (95) < unnumbered headings (1000; in HTML 1000 + the h-level; half a rank higher in capitals).
Roman numerals mark the major parts of French administrative texts, so they sit above the
labelled levels; letters and arabic numbers subdivide whatever holds them.
Dotted arabic numbers nest by prefix (`2.8.1` goes under `2.8`, wherever the stack is); any other
number that extends its holder's (`Levier 1.2` in `Ambition 1`, `I.1` in `I –`) stays inside it.
An unnumbered heading whose markup states a level (h2, `##`, setext) never goes inside a heading
of the same or a deeper stated level.
Breadcrumb ancestors and the page's own heading are a floor: later headings of the page go
below them, except numbered ones whose number says otherwise (`3` after `2.8`).
In a text page, an unnumbered heading after the last member of a series (`Pilotage` after the
last `Mesure`) closes the series instead of going inside its last member.

Printed numbers keep their label (`Objectif 3`, `Action 3.1`, `Axe 2`): that is what the page
prints and what makes `Objectif 3` and `Axe 3` different keys. A number printed twice in one
page (`A.` under `I.` and under `II.`) is qualified by its parent's number (`II.A`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ontology.textkeys import normalize_for_matching
from ingest.model import Item, Section

# label (lower-case) -> (kind, rank)
LABELS = {
    "partie": ("part", 10), "titre": ("part", 10), "chapitre": ("part", 12),
    "axe": ("axis", 20), "priorité": ("priority", 25), "priorite": ("priority", 25),
    "orientation": ("orientation", 30), "objectif": ("objective", 40),
    "sous-objectif": ("objective", 45), "action": ("action", 50), "mesure": ("measure", 50),
    "fiche action": ("action", 50), "fiche-action": ("action", 50), "sous-action": ("action", 55),
    "enjeu": ("issue", 25), "volet": ("part", 12), "chantier": ("axis", 20),
    # the levels other plans name: `Ambition 1` holds `Levier 1.1`, `Défi 2` is a challenge (a stake)
    "ambition": ("axis", 20), "défi": ("issue", 25), "defi": ("issue", 25), "levier": ("objective", 40),
    "fiche": ("action", 50),
    # `Thème 1` holds `Enjeu 1.1` (territorial mental-health projects group their priorities by theme)
    "thème": ("axis", 20), "theme": ("axis", 20),
    # `Article 4` divides a contract or a legal text (CPOM, convention) below its titres and chapitres;
    # its annexes (`Annexe 1`) come after the articles and hold the objective sheets
    "article": ("article", 58), "art.": ("article", 58), "annexe": ("part", 10),
    # a CPOM's annexed `Fiche objectif n°3` states one of its objectives (CASF L313-11)
    "fiche objectif": ("objective", 40), "fiche-objectif": ("objective", 40),
    # a CPTS's `Mission socle n°1` (accord conventionnel interprofessionnel 2019) holds its fiches-action
    "mission": ("axis", 20),
    # national roadmaps are cut into `Engagement N` (stratégie nationale autisme-TND 2018-2022) or
    # `Pilier N` (Ségur de la santé); codes and cahiers des charges into `Section N` under a chapitre
    "engagement": ("axis", 20), "pilier": ("axis", 20), "section": ("part", 14),
}
# "Objectif stratégique 1" holds "Objectif opérationnel 1.1": the qualifier moves the rank.
QUALIFIER_SHIFT = {
    "stratégique": -2, "strategique": -2, "général": -2, "general": -2, "générale": -2, "generale": -2,
    "opérationnel": 2, "operationnel": 2, "opérationnelle": 2, "operationnelle": 2,
    "spécifique": 2, "specifique": 2,
}
ROMAN_RANK, LETTER_RANK, ARABIC_RANK, SMALL_LETTER_RANK, PLAIN_RANK = 15, 70, 80, 95, 1000
CAPITALS_LIFT = 0.5  # an unnumbered heading in capitals holds the unnumbered ones that follow

_LABELLED = re.compile(
    r"^(?P<label>(?i:sous-objectif|objectif|orientation|axe|sous-action|action|mesure|priorit[ée]|partie|titre"
    r"|chapitre|fiche[- ]action|fiche[- ]objectif|fiche|enjeu|volet|chantier|article|art\.|ambition|d[ée]fi|levier|th[èe]me"
    r"|annexe|mission|engagement|pilier|section))"
    r"(?:\s+(?P<qualifier>(?i:strat[ée]gique|op[ée]rationnel(?:le)?|g[ée]n[ée]ral(?:e)?|sp[ée]cifique"
    r"|prioritaire|r[ée]gional(?:e)?|socle)))?"
    r"(?:\s+|(?=\d))(?:(?i:n°|no\.?)\s*)?"  # `ORIENTATIONS` is a word, not `Orientation S`
    # `2.1`, `II`, `A`, `A.1`, `A1`, and the ordinal of a first article (`Article 1er`)
    r"(?P<num>(?:\d{1,3}(?:er\b)?|[IVXLC]+|[A-Z]\d{0,2})(?:\.\d{1,3})*)\b\.?"
    r"(?:\s*[:.\-–—)]\s*|\s+|$)(?P<title>.*)$"
)
# `Première partie —`, `Deuxième axe :`, `Titre premier -`: numbers spelled out as ordinals.
ORDINALS = {
    "premier": 1, "première": 1, "premiere": 1, "deuxième": 2, "deuxieme": 2, "second": 2, "seconde": 2,
    "troisième": 3, "troisieme": 3, "quatrième": 4, "quatrieme": 4, "cinquième": 5, "cinquieme": 5,
    "sixième": 6, "sixieme": 6, "septième": 7, "septieme": 7, "huitième": 8, "huitieme": 8,
    "neuvième": 9, "neuvieme": 9, "dixième": 10, "dixieme": 10,
}
_ORDINAL_WORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_LABEL_WORD = r"partie|titre|chapitre|livre|axe|orientation|volet|objectif|priorit[ée]|enjeu|ambition|section|annexe"
_SEPARATOR_TITLE = r"(?:\s*[:.\-–—)]\s*|\s+|$)(?P<title>.*)$"
_SPELLED_BEFORE = re.compile(rf"^(?P<ord>(?i:{_ORDINAL_WORD}))\s+(?P<label>(?i:{_LABEL_WORD}))\b{_SEPARATOR_TITLE}")
_SPELLED_AFTER = re.compile(rf"^(?P<label>(?i:titre|chapitre|livre|partie|article))\s+(?P<ord>(?i:premier|première|premiere))"
                            rf"\b{_SEPARATOR_TITLE}")
# `§ 1 –`: a numbered paragraph of a programme or a legal text, printed as `§ 1`.
_SECTION_SIGN = re.compile(r"^§\s*(?P<num>\d{1,3}(?:\.\d{1,3})*)\.?\s*(?:[)\-–—:.]\s*|\s+)(?P<title>\S.*)$")
SECTION_SIGN_RANK = 60  # below an `Article`, which such paragraphs divide
# `① Respirer un air plus sain`: a number in a circle (word processors' numbering, U+2460-2473).
_CIRCLED = re.compile(r"^(?P<num>[\u2460-\u2473])\s*(?:[)\-–—:.]\s*)?(?P<title>\S.*)$")
# `1°)`, `2° -`: the ordinal numbers of legal and older administrative texts.
_ORDINAL = re.compile(r"^(?P<num>\d{1,2})°\s*(?:[)\-–—:.]\s*|\s+)(?P<title>\S.*)$")
# `/` numbers too (`A/`, `1/`), when a space follows: `1/2 des places` is a fraction.
_ARABIC = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,3})*)(?P<dot>\.?)(?:\s*[)\-–—:]\s*|\s*/\s+|\s+)(?P<title>\S.*)$")
_ROMAN = re.compile(r"^(?P<num>[IVXLC]{1,7})\s*(?:[.)\-–—:]\s*|/\s+|\s+[-–—:]\s+)(?P<title>\S.*)$")
_LETTER = re.compile(r"^(?P<num>[A-Z])\s*[.)\-–—/]\s+(?P<title>\S.*)$")
# `a.` under `1.` (the French outline I. > A. > 1. > a.), `(a)`, or `a)`, which mostly numbers
# list items: text pages take it as a heading only alone between paragraphs (parse_text).
_SMALL_LETTER = re.compile(r"^(?:(?P<num>[a-z])\.|\((?P<enclosed>[a-z])\)|(?P<closed>[a-z])\))\s+(?P<title>[A-ZÀ-Ý«\"].*)$")
# A roman or letter part subdivided by arabic numbers: `I.1`, `III.5`, `A.2`; or by letters,
# then numbers: `I.A`, `II.B.3`, `II.B.2.a` (the French outline I. > A. > 1. > a. written out in full).
_COMPOUND = re.compile(r"^(?P<num>(?P<head>[IVXLC]{1,7}|[A-Z])(?:\.\d{1,3})+(?:\.[a-z])?"
                       r"|(?P<rhead>[IVXLC]{1,7})\.[A-Z](?:\.\d{1,3})*(?:\.[a-z])?)"
                       r"\.?(?:\s*[)\-–—:]\s*|\s+)(?P<title>\S.*)$")
_VALID_ROMAN = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


@dataclass
class Heading:
    """A parsed heading line: printed number (None when unnumbered) and title."""

    number: str | None
    title: str
    style: str  # label | roman | letter | arabic | compound | small-letter | plain
    rank: float
    kind: str | None = None  # the kind of its label in LABELS: part | axis | priority | issue | ...
    ambiguous_letter: bool = False  # `C.` may be roman 100 or the letter after `B.`
    path: str | None = None  # the number without its label (`1.2` of `Levier 1.2`, `I.1`, `A`)
    outline: int | None = None  # the level the markup states (h2, `##`, setext), when it states one

    @property
    def digits(self) -> str | None:
        """The number when it is dotted arabic (`2.8.1`, `1.2` of `Levier 1.2`): prefix nesting."""
        return self.path if self.path and self.path[0].isdigit() else None

    @property
    def depth(self) -> int:
        return self.digits.count(".") + 1 if self.digits else 1


def parse_numbered(text: str) -> Heading | None:
    """The numbered heading in `text`, or None when it carries no number.

    >>> parse_numbered("2.8.1.  Optimiser l’allocation").number
    '2.8.1'
    >>> h = parse_numbered("Objectif 3 : Améliorer l'accès"); (h.number, h.kind, h.title)
    ('Objectif 3', 'objective', "Améliorer l'accès")
    """
    text = normalize_for_matching(text)
    match = _LABELLED.match(text)
    if match:
        label = match.group("label").lower()
        kind, rank = LABELS[label]
        num = match.group("num")
        qualifier = (match.group("qualifier") or "").lower()
        printed = " ".join(part for part in (label[0].upper() + label[1:], qualifier, num) if part)
        rank += QUALIFIER_SHIFT.get(qualifier, 0) + num.count(".")
        title = match.group("title").strip().removesuffix(" :").strip()  # `Mission socle n°1 - … :`
        return Heading(printed, title or printed, "label", rank, kind, path=num)
    match = _SPELLED_BEFORE.match(text) or _SPELLED_AFTER.match(text)
    if match:
        label = match.group("label").lower()
        kind, rank = LABELS.get(label, ("part", 10))  # `livre` divides a code above its titres
        number = text[:match.start("title")].rstrip(" :.-–—)")
        return Heading(number, match.group("title").strip() or number, "label", rank, kind,
                       path=str(ORDINALS[match.group("ord").lower()]))
    match = _CIRCLED.match(text)
    if match:
        num = str(ord(match.group("num")) - ord("①") + 1)
        return Heading(match.group("num"), match.group("title").strip(), "arabic", ARABIC_RANK + 1, path=num)
    match = _ARABIC.match(text)
    if match:
        num = match.group("num")
        return Heading(num, match.group("title").strip(), "arabic", ARABIC_RANK + num.count(".") + 1, path=num)
    match = _SECTION_SIGN.match(text)
    if match:
        num = match.group("num")
        return Heading(f"§ {num}", match.group("title").strip(), "label", SECTION_SIGN_RANK + num.count("."),
                       "article", path=num)
    match = _ORDINAL.match(text)
    if match:
        num = match.group("num")
        return Heading(f"{num}°", match.group("title").strip(), "arabic", ARABIC_RANK + 1, path=num)
    match = _COMPOUND.match(text)
    if match and match.group("rhead") and _VALID_ROMAN.match(match.group("rhead")):
        num = match.group("num")
        return Heading(num, match.group("title").strip(), "compound", ROMAN_RANK + num.count("."), path=num)
    if match and match.group("head") and (len(match.group("head")) == 1 or _VALID_ROMAN.match(match.group("head"))):
        num, head = match.group("num"), match.group("head")
        base = ROMAN_RANK if _VALID_ROMAN.match(head) and not _is_letter_part(head) else LETTER_RANK
        return Heading(num, match.group("title").strip(), "compound", base + num.count("."), path=num)
    match = _ROMAN.match(text)
    if match and _VALID_ROMAN.match(match.group("num")):
        num = match.group("num")
        return Heading(num, match.group("title").strip(), "roman", ROMAN_RANK, ambiguous_letter=len(num) == 1,
                       path=num)
    match = _LETTER.match(text)
    if match:
        return Heading(match.group("num"), match.group("title").strip(), "letter", LETTER_RANK, path=match.group("num"))
    match = _SMALL_LETTER.match(text)
    if match:
        num = match.group("num") or match.group("enclosed") or match.group("closed")
        return Heading(num, match.group("title").strip(), "small-letter", SMALL_LETTER_RANK, path=num)
    return None


def _is_letter_part(head: str) -> bool:
    """`C.1`, `D.2`: a single letter that is not `I`, `V` or `X` reads as a lettered part."""
    return len(head) == 1 and head not in "IVX"


def parse_heading(text: str, html_level: int | None = None, outline: int | None = None) -> Heading:
    """A heading, numbered or not (an unnumbered one ranks below every numbered style).

    `outline` is the level stated by markup (h1-h6, Markdown `#`, setext underline), not guessed
    from styling (bold paragraphs, PDF font sizes)."""
    heading = parse_numbered(text)
    if heading is not None and heading.title:
        return replace(heading, outline=outline)
    text = normalize_for_matching(text)
    rank = PLAIN_RANK + (html_level or 0) - (CAPITALS_LIFT if _in_capitals(text) else 0)
    return Heading(None, text, "plain", rank, outline=outline)


def _in_capitals(text: str) -> bool:
    """`ÉTAT DES LIEUX`: French administrative texts set their upper unnumbered levels in capitals."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 4 and all(ch.isupper() for ch in letters)


@dataclass
class Block:
    """A body line of the page: a heading, a paragraph line or a list item.

    `start`/`end` span the whole line in Document.text (bullet marker included); for items
    `item_start` is where the item's own text begins.
    """

    kind: str  # heading | para | item
    start: int
    end: int
    heading: Heading | None = None
    item_start: int | None = None
    is_title: bool = False  # the page's own heading: a floor for later headings


@dataclass
class _Node:
    section: Section
    heading: Heading
    floor: bool
    parent: "_Node | None" = None
    children: list = field(default_factory=list)


def build_sections(
    text: str,
    blocks: list[Block],
    ancestors: list[Heading] | None = None,
    fallback_title: str = "",
    anchor: int = 0,
) -> list[Section]:
    """Sections (pre-order) from body blocks; breadcrumb `ancestors` come first, with no text.

    Body text before any heading goes to a section named `fallback_title` (the page title).
    `anchor` is the offset given to breadcrumb sections (their empty span).
    """
    nodes: list[_Node] = []
    stack: list[_Node] = []

    def open_node(heading: Heading, start: int, end: int, floor: bool, from_breadcrumb: bool = False) -> _Node:
        parent = stack[-1] if stack else None
        level = parent.section.level + 1 if parent else 1
        section = Section(heading.number, heading.title, level, None, start, end,
                          from_breadcrumb=from_breadcrumb, kind=heading.kind)
        node = _Node(section, heading, floor, parent)
        nodes.append(node)
        stack.append(node)
        return node

    for heading in ancestors or []:
        _settle(stack, heading, nodes)
        open_node(heading, anchor, anchor, floor=True, from_breadcrumb=True)

    current: _Node | None = None
    headings = [b.heading or parse_heading(text[b.start:b.end]) if b.kind == "heading" else None for b in blocks]
    later = _series_after(headings)
    for index, block in enumerate(blocks):
        if block.kind == "heading":
            heading = _closing(headings[index], stack, later[index])
            _settle(stack, heading, nodes)
            current = open_node(heading, block.start, block.end, floor=block.is_title)
            continue
        if current is None:
            heading = parse_heading(fallback_title or "Sans titre")
            current = open_node(heading, block.start, block.end, floor=True)
        current.section.end = block.end
        if block.kind == "item":
            start = block.item_start if block.item_start is not None else block.start
            current.section.items.append(Item(text[start:block.end], start, block.end))

    _finish_keys(nodes)
    for node in nodes:
        section = node.section
        section.parent = node.parent.section.key if node.parent else None
        section.text = text[section.start:section.end] if not section.from_breadcrumb else ""
    return [node.section for node in nodes]


def _series(heading: Heading) -> tuple:
    return (heading.style, heading.kind, heading.depth if heading.style == "arabic" else 0)


def _series_after(headings: list[Heading | None]) -> list[set]:
    """For each block, the numbered series (style, label, depth) that some later heading continues."""
    seen: set = set()
    after: list[set] = []
    for heading in reversed(headings):
        after.append(set(seen))
        if heading is not None and heading.number:
            seen.add(_series(heading))
    return after[::-1]


def _closing(heading: Heading, stack: list[_Node], resumed: set) -> Heading:
    """An unnumbered heading of a text page after the last member of the series it follows
    (`Pilotage` after `Mesure 6`, `Modalités de suivi` after `Axe 3` > `F.`) closes them: it
    becomes a sibling of the outermost series that never resumes. Where the series resumes
    (`Contexte` between `Orientation 3` and `Orientation 4`), it stays inside. HTML headings
    keep what their h-level says."""
    if heading.style != "plain" or heading.rank > PLAIN_RANK:
        return heading
    if stack and stack[-1].heading.style == "plain" and stack[-1].heading.rank < PLAIN_RANK - CAPITALS_LIFT:
        return replace(heading, rank=stack[-1].heading.rank)  # after a closing heading: its sibling
    outermost = None
    for node in reversed(stack):
        if node.heading.style == "plain" and node.heading.rank > PLAIN_RANK and not node.floor:
            continue  # a sub-heading below the series (`▸ Tiques`, a bold line): closed with it
        if node.floor or not node.heading.number or _series(node.heading) in resumed:
            break
        outermost = node
    if outermost is None:
        return heading
    return replace(heading, rank=outermost.heading.rank)


def _settle(stack: list[_Node], heading: Heading, opened: list[_Node]) -> None:
    """Pop the stack until its top is the parent of `heading` (`opened`: the headings so far)."""
    if heading.ambiguous_letter and _follows_letter(opened, heading.number):
        heading.style, heading.rank, heading.ambiguous_letter = "letter", LETTER_RANK, False
    if heading.digits and heading.style == "arabic":
        for index in range(len(stack) - 1, -1, -1):
            top = stack[index].heading
            if top.style == "arabic" and top.digits and heading.digits.startswith(top.digits + "."):
                del stack[index + 1:]
                return
        while stack and (_same_or_deeper_arabic(stack[-1].heading, heading) or
                         (not stack[-1].floor and stack[-1].heading.rank >= heading.rank)):
            stack.pop()
        return
    if heading.number:
        # The next of a series closes the last one, with all inside it (`Objectif 2` is never in
        # `Orientation 1.2` of `Objectif 1`, whatever the ranks of their labels).
        same = next((k for k in range(len(stack) - 1, -1, -1) if not stack[k].floor
                     and _same_series(stack[k].heading, heading)), None)
        if same is not None:
            del stack[same:]
    if heading.style == "plain" and heading.outline:
        # An unnumbered heading has only its markup level to say where it goes: an `<h2>` after
        # `<h2>Axe 4</h2>` (and its `<h3>`) is the axis's sibling, not its child.
        while stack and not stack[-1].floor and (stack[-1].heading.outline or 0) >= heading.outline:
            stack.pop()
    while stack and not stack[-1].floor and stack[-1].heading.rank >= heading.rank:
        if _extends(heading, stack[-1].heading):
            return  # `Levier 1.2` stays in `Ambition 1`, `I.1` in `I`, whatever their labels' ranks
        stack.pop()


def _same_series(top: Heading, heading: Heading) -> bool:
    return bool(top.number) and (top.style, top.kind, top.rank) == (heading.style, heading.kind, heading.rank)


def _extends(heading: Heading, top: Heading) -> bool:
    """True when `heading`'s number continues `top`'s (`1.2` after `1`, `I.1` after `I`)."""
    return bool(heading.path and top.path and heading.path.startswith(top.path + "."))


def _same_or_deeper_arabic(top: Heading, heading: Heading) -> bool:
    return top.style == "arabic" and top.digits is not None and top.depth >= heading.depth


def _follows_letter(opened: list[_Node], letter: str | None) -> bool:
    """True when the last lettered heading of the page is the letter before `letter`: `C.`
    after `B.` is a letter even when an `Axe 2` came between (letters running on across axes)."""
    if not letter or len(letter) != 1:
        return False
    last = next((node.heading.number for node in reversed(opened) if node.heading.style == "letter"), None)
    return last == chr(ord(letter) - 1)


def _finish_keys(nodes: list[_Node]) -> None:
    """Make every key unique: qualify repeated numbers by the parent's, number repeated titles.

    When a style repeats a number (`A.` under `I.` and under `II.`), every number of that style
    with a numbered parent is qualified (`I.A`, `I.B`, `II.A`), so that sibling keys read alike.
    """
    counts: dict[str, int] = {}
    for node in nodes:
        if node.section.number:
            counts[node.section.number] = counts.get(node.section.number, 0) + 1
    repeated = {node.heading.style for node in nodes if node.section.number and counts[node.section.number] > 1}
    for node in nodes:  # pre-order: a parent is qualified before its children
        parent = node.parent
        if node.section.number and node.heading.style in repeated and parent and parent.section.number:
            if not _extends(node.heading, parent.heading):
                node.section.number = f"{parent.section.number}.{node.section.number}"
    seen: dict[str, int] = {}
    for node in nodes:
        key = node.section.key
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            if node.section.number:
                node.section.number = f"{node.section.number} ({seen[key]})"
            else:
                node.section.title = f"{node.section.title} ({seen[key]})"
