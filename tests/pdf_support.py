"""PDF schemes written with reportlab for the PDF tests and the PDF benchmark.

`Sheet` places exactly the lines it is given (so a test decides where a word is hyphenated
and where a page breaks) with a running header and footer and a printed page number on
every page but the cover. `scheme_pdf()` is the invented SROMS extract the tests check:
cover, numbered headings by font size, a bold unnumbered heading, bullets, a paragraph cut by
a page break with a footnote under it, a hyphenated line end, a ruled table, a two-column
page, a scanned page (an image, no text layer) and a compound word cut at its hyphen.
"""
from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = A4
MARGIN = 56
HEADER = "Schéma régional d'organisation médico-sociale"
FOOTER = "ARS PACA - SROMS 2012-2016"
BODY = 10
LEADING = 12.5


class Sheet:
    """A reportlab canvas that writes lines top-down; `first_number` is the printed page of page 2."""

    def __init__(self, target, first_number: int = 11, running: bool = True, **options):
        self.canvas = canvas.Canvas(target, pagesize=A4, pageCompression=1, invariant=1, **options)
        self.canvas.setTitle("SROMS PACA 2012-2016")
        self.page = 1
        self.number = first_number - 1
        self.running = running
        self.y = HEIGHT - 90
        self.cover = True

    # -- page furniture
    def new_page(self, numbered: bool = True) -> None:
        self._furniture()
        self.canvas.showPage()
        self.page += 1
        self.number += 1
        self.cover = not numbered
        self.y = HEIGHT - 90

    def _furniture(self) -> None:
        if self.cover or not self.running:
            return
        c = self.canvas
        c.setFont("Helvetica", 8)
        c.drawString(MARGIN, HEIGHT - 36, HEADER)
        c.drawString(MARGIN, 30, FOOTER)
        c.drawRightString(WIDTH - MARGIN, 30, f"{self.number}")

    def save(self) -> None:
        self._furniture()
        self.canvas.save()

    # -- content
    def text(self, line: str, size: float = BODY, bold: bool = False, x: float = MARGIN, gap: float = 0) -> None:
        self.y -= gap
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.canvas.drawString(x, self.y, line)
        self.y -= size * 1.25

    def heading(self, line: str, size: float = 13, bold: bool = True) -> None:
        self.text(line, size, bold, gap=10)

    def para(self, lines: list[str], x: float = MARGIN) -> None:
        self.y -= 6
        for line in lines:
            self.text(line, x=x)

    def bullets(self, items: list[list[str]]) -> None:
        self.y -= 4
        for item in items:
            self.text("• " + item[0], x=MARGIN + 10)
            for more in item[1:]:
                self.text(more, x=MARGIN + 18)

    def footnote(self, line: str) -> None:
        self.canvas.setFont("Helvetica", 7)
        self.canvas.drawString(MARGIN, 60, line)

    def table(self, rows: list[list[str]], widths: list[float]) -> None:
        c = self.canvas
        self.y -= 10
        top = self.y
        height = 18
        xs = [MARGIN]
        for width in widths:
            xs.append(xs[-1] + width)
        for r, row in enumerate(rows):
            for col, cell in enumerate(row):
                c.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 9)
                c.drawString(xs[col] + 4, top - (r + 1) * height + 6, cell)
        c.setLineWidth(0.5)
        for r in range(len(rows) + 1):
            c.line(xs[0], top - r * height, xs[-1], top - r * height)
        for x in xs:
            c.line(x, top, x, top - len(rows) * height)
        self.y = top - len(rows) * height - 8

    def columns(self, left: list[tuple[str, str]], right: list[tuple[str, str]]) -> None:
        """Two columns of (kind, text) lines: kind `h` for a heading, `p` for body text."""
        top = self.y
        half = (WIDTH - 2 * MARGIN - 20) / 2
        for column, x in ((left, MARGIN), (right, MARGIN + half + 20)):
            self.y = top
            for kind, line in column:
                if kind == "h":
                    self.y -= 8
                    self.text(line, 13, True, x=x)
                else:
                    self.text(line, x=x)
        self.y = min(self.y, top) - 10

    def scanned(self) -> None:
        """A page holding only an image: a scan with no text layer."""
        from PIL import Image, ImageDraw

        image = Image.new("L", (400, 560), 255)
        draw = ImageDraw.Draw(image)
        for y in range(40, 520, 18):
            draw.line((30, y, 370, y), fill=90, width=6)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        self.canvas.drawImage(ImageReader(buffer), MARGIN, 120, width=WIDTH - 2 * MARGIN, height=HEIGHT - 240)


def scheme_pdf(target: str | Path) -> Path:
    """The SROMS extract of the tests: physical pages 1-6, printed pages (10), 11-15."""
    sheet = Sheet(str(target))
    # page 1: cover, no running lines, no number
    sheet.text("Schéma Régional d'Organisation Médico-Sociale", 20, True, gap=120)
    sheet.para(["Projet régional de santé Provence-Alpes-Côte d'Azur 2012-2016"])
    sheet.new_page()
    # page 2, printed 11
    sheet.heading("1 Orientations régionales", 16)
    sheet.para([
        "Le présent schéma fixe les orientations de l'offre médico-sociale pour les personnes âgées et les",
        "personnes handicapées de la région, en lien avec les conseils généraux et les organi-",
        "sations représentatives des usagers.",
    ])
    sheet.heading("1.1 Personnes âgées")
    sheet.para([
        "L'objectif est de favoriser le maintien à domicile des personnes âgées en perte d'autonomie",
        "et de renforcer la coordination des services 1.",
    ])
    sheet.bullets([
        ["développer les services de soins infirmiers à domicile (SSIAD) dans les territoires les moins",
         "pourvus ;"],
        ["renforcer l'accueil de jour et l'hébergement temporaire."],
    ])
    sheet.heading("Améliorer la coordination des acteurs", BODY, True)
    sheet.para([
        "Les maisons de santé pluridisciplinaires et les plateformes territoriales d'appui seront",
        "mobilisées pour",
    ])
    sheet.footnote("1 Services de soins infirmiers à domicile, au sens du code de l'action sociale et des familles.")
    sheet.new_page()
    # page 3, printed 12
    sheet.para(["assurer la continuité des parcours entre le domicile et l'établissement."])
    sheet.heading("1.2 Personnes handicapées")
    sheet.para(["Les capacités installées par territoire sont les suivantes :"])
    sheet.table([["Territoire", "Places SSIAD", "Places EHPAD"],
                 ["Bouches-du-Rhône", "1 200", "3 400"],
                 ["Var", "640", "1 900"]], [170, 110, 110])
    sheet.para(["Le tableau présente les capacités installées au 31 décembre 2011."])
    sheet.new_page()
    # page 4, printed 13: two columns under a full-width heading
    sheet.heading("2 Orientations transversales", 16)
    sheet.columns(
        [("h", "2.1 Prévention"),
         ("p", "La prévention de la perte"), ("p", "d'autonomie repose sur le"), ("p", "repérage précoce des"),
         ("p", "fragilités par les médecins"), ("p", "traitants.")],
        [("h", "2.2 Coordination"),
         ("p", "Les centres locaux"), ("p", "d'information et de"), ("p", "coordination (CLIC) orientent"),
         ("p", "les familles vers les"), ("p", "dispositifs adaptés.")],
    )
    sheet.new_page()
    # page 5, printed 14: a scan
    sheet.cover = True  # a scanned sheet has no text at all, not even running lines
    sheet.scanned()
    sheet.new_page()
    # page 6, printed 15
    sheet.heading("2.3 Qualité de l'accompagnement")
    sheet.para([
        "L'évaluation externe des établissements porte sur la qualité de l'accompagnement médico-",
        "social des personnes accueillies.",
    ])
    sheet.save()
    return Path(target)


def long_scheme_pdf(target: str | Path, pages: int) -> Path:
    """A scheme of about `pages` pages for the benchmark: numbered parts, paragraphs, lists, tables."""
    sheet = Sheet(str(target), first_number=2)
    sheet.text("Projet régional de santé - Schéma régional de prévention", 20, True, gap=120)
    sheet.new_page()
    words = ("la coordination des acteurs de santé sur les territoires de premier recours et le développement"
             " des maisons de santé pluridisciplinaires pour les personnes âgées en perte d'autonomie").split()
    part = section = 0
    while sheet.page < pages:
        if sheet.y < 200:
            sheet.new_page()
        if section % 6 == 0:
            part += 1
            sheet.heading(f"{part} Orientation régionale numéro {part}", 16)
        section = section % 6 + 1
        sheet.heading(f"{part}.{section} Objectif opérationnel {section} de la partie {part}")
        for paragraph in range(3):
            shift = (section + paragraph) % len(words)
            text = words[shift:] + words[:shift]
            sheet.para([" ".join(text[:14]), " ".join(text[14:]) + "."])
        sheet.bullets([["renforcer l'offre de soins de proximité ;"], ["mobiliser les contrats locaux de santé."]])
        if (part + section) % 5 == 0:
            sheet.table([["Territoire", "Indicateur", "Cible"], ["Var", "12", "20"], ["Vaucluse", "8", "15"]],
                        [170, 110, 110])
    sheet.save()
    return Path(target)
