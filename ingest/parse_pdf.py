"""PDF documents -> hinted lines -> the same classifier and section tree as text and HTML pages.

Steps, each for a reason:
- running headers and footers (a line in the top or bottom band of the page repeating, digits
  aside, on several pages) and page numbers are dropped; the page number printed on a page is
  kept as that page's label, so that a section cites « p. 42 » as the reader sees it;
- lines are joined into paragraphs (a vertical gap, a bullet, a change of font ends one), a
  word hyphenated at a line end is glued back, and a paragraph cut by a page break goes on
  across it (footnotes of the page are put after it, not in its middle);
- headings come from font size and weight (larger sizes are higher levels, bold at body size
  is the lowest) and from numbering: numbered lines go through the text parser's heading
  grammar (`ingest.tree.parse_numbered`), which gives their rank;
- every line carries the printed pages it spans, and the parser gives each section its own.
Pages with no text layer (scanned images) are named in a warning of the Document.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field

from tqdm import tqdm

from ingest import clean
from ingest.parse_text import _BULLET, Line, Page, heading_like, parse_lines
from ingest.pdf_layout import PdfLine, PdfPage, open_pdf, read_pages

BAND = 0.09  # share of the page height where running headers and footers sit, at top and bottom
HEADING_SIZE_RATIO = 1.12  # a line this much larger than body text is a heading candidate
FOOTNOTE_SIZE_RATIO = 0.88  # smaller than this, in the lower part of a page: a footnote
MAX_HEADING_LINES = 3
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+|p\.\s*)?(?P<n>\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|sur|of)\s*\d{1,4})?(?:\s*[-–—])?$",
    re.IGNORECASE,
)
# A page number inside a running line: `SROMS - page 12`, `12 | Schéma ...`, `Schéma ... | 12`.
_NUMBER_IN_RUNNING = re.compile(
    r"(?:page\s+|p\.\s*|\s[|–—]\s*)(?P<n>\d{1,4})\s*(?:/\s*\d{1,4})?\s*$|^(?P<m>\d{1,4})\s+[|–—]\s", re.IGNORECASE
)

_TERMINAL = ".:;!?…"


class PdfError(ValueError):
    """A PDF that cannot be read at all (encrypted, corrupt, no text on any page)."""


@dataclass
class PdfParse:
    """A PDF classified as a Page, with the printed pages of each kept line and warnings."""

    page: Page
    warnings: list[str] = field(default_factory=list)
    page_count: int = 0


@dataclass
class _Para:
    kind: str  # heading | item | para | row | note
    lines: list[PdfLine]
    text: str
    level: int | None = None

    @property
    def first(self) -> PdfLine:
        return self.lines[0]

    @property
    def last(self) -> PdfLine:
        return self.lines[-1]


def parse_pdf(data: bytes, name: str = "<pdf>", title_hint: str | None = None) -> PdfParse:
    """Classify a PDF's text; PdfError when it has no readable text at all."""
    document, pdf_pages = _open(data)
    if not pdf_pages:
        raise PdfError("PDF has no pages")
    pages: list[PdfPage] = []
    failed: list[int] = []
    progress = tqdm(read_pages(document, pdf_pages), total=len(pdf_pages), desc=name[-30:], unit="p",
                    file=sys.stderr, disable=None, leave=False)
    for index, result in enumerate(progress):
        if isinstance(result, Exception):
            failed.append(index)
            pages.append(PdfPage(index, 0, 0, pdf_pages[index].label))
        else:
            pages.append(result)
    labels = page_labels(pages)
    warnings = []
    scanned = [labels[p.index] for p in pages if not p.lines and p.has_images]
    if scanned:
        warnings.append(f"{_pages_phrase(scanned)} no text layer (scanned images?): not ingested; OCR them first")
    if failed:
        warnings.append(f"{_pages_phrase([labels[i] for i in failed])} could not be read (damaged content): skipped")
    if not any(page.lines for page in pages):
        reason = "no text layer on any page (a scanned document?): OCR it first" if scanned else "no text in the PDF"
        raise PdfError(reason)
    paragraphs = join_pages(pages, labels)
    lines = hinted_lines(paragraphs, labels)
    if not lines:
        raise PdfError("no text left once running headers, footers and page numbers are removed")
    page = parse_lines(lines, title_hint=title_hint)
    return PdfParse(page, warnings, len(pdf_pages))


def _open(data: bytes):
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.psexceptions import PSException

    if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        raise PdfError("not a PDF (no %PDF- header)")
    try:
        return open_pdf(data)
    except PDFPasswordIncorrect:
        raise PdfError("encrypted PDF: a password is needed to open it") from None
    except PDFEncryptionError as error:
        raise PdfError(f"encrypted PDF that cannot be read ({error or 'unsupported encryption'})") from None
    except (PSException, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError) as error:
        raise PdfError(f"corrupt PDF ({type(error).__name__}: {error})") from None


def _pages_phrase(labels: list[str]) -> str:
    shown = ", ".join(labels[:20]) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
    return f"page {shown} has" if len(labels) == 1 else f"pages {shown} have"


# ---------------------------------------------------------------- running lines and page labels
def _key(line: PdfLine, page: PdfPage) -> str:
    return re.sub(r"\d+", "#", line.text.lower()) + f"@{round(line.top / 6)}"


def _in_band(line: PdfLine, page: PdfPage) -> bool:
    return line.top < page.height * BAND or line.bottom > page.height * (1 - BAND)


def page_labels(pages: list[PdfPage]) -> list[str]:
    """The printed page of each page; drops page numbers and running lines from `pages`.

    Order of trust: a number printed in the page's top or bottom band, then the PDF's own
    label, then the neighbours' printed numbers (page 5 follows page 4), then the physical page.
    """
    counts = Counter()
    for page in pages:
        counts.update({_key(line, page) for line in page.lines if _in_band(line, page)})
    repeat = min(3, max(2, len(pages) // 2))
    printed: list[str | None] = []
    for page in pages:
        number = in_running = None  # a bare page number wins over one inside a running line
        kept = []
        for line in page.lines:
            if line.kind == "text" and _in_band(line, page):
                match = _PAGE_NUMBER.match(line.text)
                if match and _plausible(match.group("n")):
                    number = number or match.group("n")
                    continue
                if counts[_key(line, page)] >= repeat:
                    found = _NUMBER_IN_RUNNING.search(line.text)
                    if found and _plausible(found.group("n") or found.group("m")):
                        in_running = in_running or found.group("n") or found.group("m")
                    continue
            kept.append(line)
        page.lines = kept
        printed.append(number or in_running or page.label)
    labels: list[str] = []
    for i, label in enumerate(printed):
        if label is None:
            label = _from_neighbours(printed, i)
        labels.append(label or str(i + 1))
    return labels


def _plausible(number: str) -> bool:
    """Not a year (`2012-2016` in a footer is no page number)."""
    return not number.isdigit() or int(number) < 1900


def _from_neighbours(printed: list[str | None], i: int) -> str | None:
    for distance in range(1, len(printed)):
        for j in (i - distance, i + distance):
            if 0 <= j < len(printed) and printed[j] and printed[j].isdigit():
                value = int(printed[j]) + (i - j)
                return str(value) if value >= 1 else None
    return None


# ---------------------------------------------------------------- paragraphs
def body_size(pages: list[PdfPage]) -> float:
    """The most common character size, weighted by text length: the body text."""
    sizes = Counter()
    for page in pages:
        for line in page.lines:
            if line.kind == "text":
                sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def join_pages(pages: list[PdfPage], labels: list[str]) -> list[_Para]:
    """Paragraphs of the whole document, a paragraph cut by a page break joined across it."""
    body = body_size(pages)
    words = _compound_words(pages)
    out: list[_Para] = []
    notes: list[_Para] = []  # footnotes of the previous page, placed after its last paragraph
    for page in pages:
        paragraphs = _page_paragraphs(page, body, words)
        if paragraphs and out and _continues(out[-1], paragraphs[0]):
            first = paragraphs.pop(0)
            out[-1].lines.extend(first.lines)
            out[-1].text = _join(out[-1].text, first.text, words)
        out.extend(notes)
        notes = [p for p in paragraphs if p.kind == "note"]
        out.extend(p for p in paragraphs if p.kind != "note")
    out.extend(notes)
    for para in out:
        if para.kind == "note":
            para.kind = "para"
    _heading_levels(out, body)
    return out


def _continues(previous: _Para, first: _Para) -> bool:
    """A paragraph or item left unfinished at the foot of a page goes on at the top of the next."""
    if previous.kind not in ("para", "item") or first.kind != "para":
        return False
    text = previous.text.rstrip()
    return bool(text) and text[-1] not in _TERMINAL and (first.text[:1].islower() or text.endswith("-"))


def _page_paragraphs(page: PdfPage, body: float, words: set[str]) -> list[_Para]:
    lines = page.lines
    bottom_of_body = max((l.bottom for l in lines if l.kind == "row" or l.size >= body * FOOTNOTE_SIZE_RATIO),
                         default=0.0)
    paragraphs: list[_Para] = []
    previous: PdfLine | None = None
    for line in lines:
        kind = _line_kind(line, page, body, bottom_of_body)
        current = paragraphs[-1] if paragraphs else None
        if current is not None and previous is not None and _same_paragraph(current, previous, line, kind):
            current.lines.append(line)
            current.text = _join(current.text, line.text, words)
        else:
            text = line.text
            if kind == "item":
                text = text[_BULLET.match(text).end():] if _BULLET.match(text) and not line.text[0].isdigit() else text
            paragraphs.append(_Para(kind, [line], text))
        previous = line
    for para in paragraphs:  # long bold or large blocks are emphasised text, not headings
        if para.kind == "heading" and (len(para.lines) > MAX_HEADING_LINES or not heading_like(para.text, 25)):
            para.kind = "para"
    return paragraphs


def _line_kind(line: PdfLine, page: PdfPage, body: float, bottom_of_body: float) -> str:
    if line.kind == "row":
        return "row"
    if line.size < body * FOOTNOTE_SIZE_RATIO and line.top > page.height * 0.6 and line.top >= bottom_of_body - 1:
        return "note"
    if line.size >= body * HEADING_SIZE_RATIO or (line.bold and abs(line.size - body) < body * 0.1):
        return "heading"
    if _BULLET.match(line.text) and not re.match(r"^\d", line.text):
        return "item"
    return "para"


def _same_paragraph(current: _Para, previous: PdfLine, line: PdfLine, kind: str) -> bool:
    if current.kind in ("row",) or kind in ("row", "item"):
        return False
    if kind != ("para" if current.kind == "item" else current.kind):
        return False
    if current.kind == "heading" and (abs(line.size - previous.size) > 0.6 or line.bold != previous.bold):
        return False
    gap = line.top - previous.bottom
    if gap < -2 or gap > max(previous.size, line.size) * 0.55:  # a blank, or a jump to the next column
        return False
    if current.kind == "item" and line.x0 < current.first.x0 - 2:  # back at the margin: the item ended
        return False
    if re.match(r"^\d{1,2}(?:\.\d{1,3})*[.)]?\s", line.text) and previous.text.rstrip()[-1:] in _TERMINAL + "":
        return False  # a numbered line after a finished sentence starts its own block
    return True


def _compound_words(pages: list[PdfPage]) -> set[str]:
    """Hyphenated words printed whole somewhere in the document (`médico-social`): kept hyphenated."""
    words = set()
    for page in pages:
        for line in page.lines:
            words.update(w.lower() for w in re.findall(r"\w+-\w+", line.text))
    return words


def _join(text: str, more: str, words: set[str]) -> str:
    """Join two lines of a paragraph; a word cut by a hyphen at the line end is glued back."""
    match = re.search(r"(\w+)-$", text)
    if match and more[:1].isalpha():
        nxt = re.match(r"\w+", more)
        compound = f"{match.group(1)}-{nxt.group(0) if nxt else ''}".lower()
        if more[:1].islower() and compound not in words and not match.group(1).lower().endswith("o"):
            return text[:-1] + more  # typographic hyphenation: `organi-` + `sation`
        return text + more  # a real compound cut at its hyphen: `médico-` + `social`
    return f"{text} {more}"


def _heading_levels(paragraphs: list[_Para], body: float) -> None:
    """Levels from font size: the largest heading size is 1; bold at body size comes last."""
    sizes = sorted({round(p.first.size * 2) / 2 for p in paragraphs if p.kind == "heading"
                    and p.first.size >= body * HEADING_SIZE_RATIO}, reverse=True)
    rank = {size: level for level, size in enumerate(sizes, 1)}
    for para in paragraphs:
        if para.kind == "heading":
            para.level = rank.get(round(para.first.size * 2) / 2, len(sizes) + 1)


# ---------------------------------------------------------------- lines for the text classifier
def hinted_lines(paragraphs: list[_Para], labels: list[str]) -> list[Line]:
    """One classifier Line per paragraph, with the printed pages it spans."""
    lines = []
    for para in paragraphs:
        text = " ".join(para.text.split())
        if not text or (len(text) < 120 and clean.is_footer(text)):
            continue  # a copyright line of a PDF is furniture; to the classifier it would end the page
        pages = (labels[para.first.page], labels[para.last.page])
        if para.kind == "heading":
            lines.append(Line(text, "heading", para.level, pages=pages))
        elif para.kind == "item":
            lines.append(Line(text, "item", pages=pages))
        else:  # para, table row, footnote: the classifier may still read a numbered para as a heading
            lines.append(Line(text, "para", pages=pages))
    return lines
