"""PDF pages -> positioned text lines with font hints, in reading order (pdfminer.six).

What this module knows is geometry: where a line sits on its page, its font size and weight,
which lines form a ruled table (read as one text row per table row, cells joined by ` ; `),
and the reading order of a two-column page (left column, then right, between full-width
lines). Deciding what the lines mean (running headers, paragraphs, headings) is
`ingest.parse_pdf`'s job.

pdfminer.six is used rather than PyMuPDF (AGPL, which would bind the whole project) or pypdf
(no per-character font size and position): it is MIT-licensed, pure Python, and gives each
character's font name, size and box, which heading recovery needs.
"""
from __future__ import annotations

import io
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from pdfminer.layout import LAParams, LTAnno, LTChar, LTCurve, LTFigure, LTImage, LTLine, LTRect, LTTextBox, LTTextLine
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.converter import PDFPageAggregator
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser

# Ruled tables: more segments than this on one page is a drawing, not a table.
MAX_RULES_PER_PAGE = 400
RULE_THICKNESS = 2.0  # points: a rectangle thinner than this is a rule
TOUCH = 2.5  # points: segments closer than this belong to the same grid


@dataclass
class PdfLine:
    """One text line (or one table row) of a page; coordinates in points from the page top."""

    text: str
    page: int  # 0-based physical page
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # median character size
    bold: bool
    kind: str = "text"  # text | row (a table row)


@dataclass
class PdfPage:
    """The lines of one physical page, in reading order, and what else it holds."""

    index: int
    width: float
    height: float
    label: str | None  # the PDF's own page label (/PageLabels), when it has one
    lines: list[PdfLine] = field(default_factory=list)
    has_images: bool = False


def open_pdf(data: bytes) -> tuple[PDFDocument, list[PDFPage]]:
    """The pdfminer document and its pages; pdfminer exceptions (encrypted, corrupt) pass through."""
    parser = PDFParser(io.BytesIO(data))
    document = PDFDocument(parser)  # tries the empty user password: owner-only protection is fine
    return document, list(PDFPage.create_pages(document))


def read_pages(document: PDFDocument, pages: list[PDFPage]) -> Iterator[PdfPage | Exception]:
    """Each page laid out, or the exception that page raised (the others still come)."""
    resources = PDFResourceManager(caching=True)
    # boxes_flow=None: no hierarchical box ordering (slow, and wrong on two columns); order_lines does it.
    device = PDFPageAggregator(resources, laparams=LAParams(boxes_flow=None))
    interpreter = PDFPageInterpreter(resources, device)
    for index, page in enumerate(pages):
        try:
            interpreter.process_page(page)
            yield lay_out(device.get_result(), index, page.label)
        except Exception as error:  # one broken page (bad stream, font) must not lose the rest
            yield error


def lay_out(layout, index: int, label: str | None) -> PdfPage:
    """A pdfminer LTPage -> PdfPage with tables read as rows and lines in reading order."""
    width, height = layout.width, layout.height
    page = PdfPage(index, width, height, label)
    text_lines: list[LTTextLine] = []
    segments: list[tuple[float, float, float, float]] = []
    for element in layout:
        if isinstance(element, LTTextBox):
            text_lines.extend(line for line in element if isinstance(line, LTTextLine))
        elif isinstance(element, LTTextLine):
            text_lines.append(element)
        elif isinstance(element, (LTImage, LTFigure)):
            page.has_images = True
        elif isinstance(element, (LTLine, LTRect)) or (isinstance(element, LTCurve) and len(element.pts) == 2):
            segments.append((element.x0, element.y0, element.x1, element.y1))
        elif isinstance(element, LTCurve):
            pass
    tables = find_tables(segments)
    lines: list[PdfLine] = []
    cells: dict[int, dict[tuple[int, int], list[str]]] = {t: {} for t in range(len(tables))}
    for text_line in text_lines:
        placed = _place_in_table(text_line, tables, cells)
        if not placed:
            line = _pdf_line(text_line, index, height)
            if line is not None:
                lines.append(line)
    for number, table in enumerate(tables):
        lines.extend(_table_rows(table, cells[number], index, height))
    page.lines = order_lines(lines, width)
    return page


def _pdf_line(text_line: LTTextLine, index: int, height: float) -> PdfLine | None:
    text = " ".join(_CID.sub(_cid_glyph, text_line.get_text()).split())
    if not text:
        return None
    chars = [c for c in text_line if isinstance(c, LTChar)]
    sizes = [c.size for c in chars] or [text_line.height]
    bold = sum(1 for c in chars if _is_bold(c.fontname)) > len(chars) / 2 if chars else False
    return PdfLine(text, index, text_line.x0, text_line.x1, height - text_line.y1, height - text_line.y0,
                   round(statistics.median(sizes), 1), bold)


_CID = re.compile(r"^\s*\(cid:\d+\)|\(cid:\d+\)")


def _cid_glyph(match: re.Match) -> str:
    """A glyph with no Unicode mapping: at the start of a line a bullet (symbol fonts), else dropped."""
    return "• " if match.start() == 0 else ""


def _is_bold(fontname: str) -> bool:
    name = fontname.lower()
    return "bold" in name or "black" in name or "heavy" in name or name.endswith((",b", "-b"))


@dataclass
class _Table:
    x0: float
    y0: float
    x1: float
    y1: float
    rows: list[float]  # horizontal rule heights, top first
    cols: list[float]  # vertical rule positions, left first


def find_tables(segments: list[tuple[float, float, float, float]]) -> list[_Table]:
    """Ruled tables: groups of touching horizontal and vertical rules forming a grid."""
    if len(segments) > MAX_RULES_PER_PAGE:
        return []
    horizontal, vertical = [], []
    for x0, y0, x1, y1 in segments:
        if y1 - y0 <= RULE_THICKNESS and x1 - x0 > 10:
            horizontal.append((x0, (y0 + y1) / 2, x1, (y0 + y1) / 2))
        elif x1 - x0 <= RULE_THICKNESS and y1 - y0 > 5:
            vertical.append(((x0 + x1) / 2, y0, (x0 + x1) / 2, y1))
        elif x1 - x0 > 10 and y1 - y0 > 5:  # a cell drawn as a rectangle: its four edges
            horizontal += [(x0, y0, x1, y0), (x0, y1, x1, y1)]
            vertical += [(x0, y0, x0, y1), (x1, y0, x1, y1)]
    rules = [("h", r) for r in horizontal] + [("v", r) for r in vertical]
    groups = _touching_groups([r for _, r in rules])
    tables = []
    for group in groups:
        hs = [rules[i][1] for i in group if rules[i][0] == "h"]
        vs = [rules[i][1] for i in group if rules[i][0] == "v"]
        if len(hs) < 2 or len(vs) < 2:
            continue
        rows = _distinct(sorted((r[1] for r in hs), reverse=True))
        cols = _distinct(sorted(r[0] for r in vs))
        if len(rows) < 2 or len(cols) < 2:  # a box around a paragraph is not a table
            continue
        tables.append(_Table(cols[0], rows[-1], cols[-1], rows[0], rows, cols))
    return tables


def _touching_groups(rules: list[tuple[float, float, float, float]]) -> list[list[int]]:
    parent = list(range(len(rules)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rules):
        for j in range(i + 1, len(rules)):
            b = rules[j]
            if (a[0] - TOUCH <= b[2] and b[0] - TOUCH <= a[2] and a[1] - TOUCH <= b[3] and b[1] - TOUCH <= a[3]):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(rules)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _distinct(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in values:
        if not out or abs(value - out[-1]) > TOUCH:
            out.append(value)
    return out


def _place_in_table(text_line: LTTextLine, tables: list[_Table], cells) -> bool:
    """Put the characters of a line that lies in a table into their cells; False when in none."""
    cx, cy = (text_line.x0 + text_line.x1) / 2, (text_line.y0 + text_line.y1) / 2
    for number, table in enumerate(tables):
        if table.x0 <= cx <= table.x1 and table.y0 <= cy <= table.y1:
            last = None
            for char in text_line:
                if isinstance(char, LTChar):
                    key = _cell(table, (char.x0 + char.x1) / 2, (char.y0 + char.y1) / 2)
                    last = key
                    if key is not None:
                        cells[number].setdefault(key, []).append(char.get_text())
                elif isinstance(char, LTAnno) and last is not None:
                    cells[number].setdefault(last, []).append(" ")
            for parts in cells[number].values():  # a line ends: a space before the cell's next line
                if parts and parts[-1] != " ":
                    parts.append(" ")
            return True
    return False


def _cell(table: _Table, x: float, y: float) -> tuple[int, int] | None:
    row = next((i for i in range(len(table.rows) - 1) if table.rows[i + 1] <= y <= table.rows[i]), None)
    col = next((j for j in range(len(table.cols) - 1) if table.cols[j] <= x <= table.cols[j + 1]), None)
    return (row, col) if row is not None and col is not None else None


def _table_rows(table: _Table, cells, index: int, height: float) -> list[PdfLine]:
    rows = []
    for r in range(len(table.rows) - 1):
        texts = [" ".join("".join(cells.get((r, c), [])).split()) for c in range(len(table.cols) - 1)]
        text = " ; ".join(t for t in texts if t)
        if text:
            rows.append(PdfLine(text, index, table.x0, table.x1, height - table.rows[r], height - table.rows[r + 1],
                                0.0, False, kind="row"))
    return rows


def order_lines(lines: list[PdfLine], width: float) -> list[PdfLine]:
    """Reading order: top to bottom; where a page has two columns, the left one first.

    Lines that cross the middle of the page (titles, one-column text, tables) cut the page
    into bands; inside a band, lines left of the middle come before lines right of it.
    """
    middle = width / 2
    lines = sorted(lines, key=lambda line: (round(line.top, 1), line.x0))
    ordered: list[PdfLine] = []
    band: list[PdfLine] = []

    def flush() -> None:
        left = [line for line in band if line.x1 <= middle + 1]
        right = [line for line in band if line.x1 > middle + 1]
        ordered.extend(left + right)
        band.clear()

    for line in lines:
        if line.x0 < middle - 1 and line.x1 > middle + 1:  # crosses the gutter: full width
            flush()
            ordered.append(line)
        else:
            band.append(line)
    flush()
    return ordered
