"""Parse time of long pages in the layouts issue 13 taught the parser, against a plain page of
the same text in the same run: the parse must stay linear in the page's length.

Layouts (each --lines printed lines of about 20 characters):
- `plain`: one `<p>` per line, the baseline;
- `pdftohtml`: one absolutely positioned `<p>` per line, as pdftohtml writes a PDF (lines are
  joined back into paragraphs);
- `br`: one `<font>` holding every line, separated by `<br>` (bold lines are headings there);
- `sommaire`: a text page opening with a table of contents of every line, printed again below;
- `accordion`: every other line a button folding a hidden panel with the next one, a footnote
  call in each (the buttons become headings, their panels are kept).

    .venv/bin/python benchmarks/parse_layouts.py [--lines 60000] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.pipeline import document_from_text  # noqa: E402

COLUMNS = "| layout | lines | characters | seconds | x plain |"


def pages(lines: int) -> dict[str, tuple[str, str]]:
    """layout -> (file name, page text)."""
    text = [f"ligne {i} du texte" for i in range(lines)]
    html = "<html><head><style>.ft1{{font-size:12px;}}</style></head><body><div>{}</div></body></html>"
    return {
        "plain": ("plain.html", html.format("".join(f"<p>{line}</p>" for line in text))),
        "pdftohtml": ("pdf.html", html.format("".join(
            f'<p style="position:absolute;top:{10 + 17 * i}px" class="ft1">{line}</p>' for i, line in enumerate(text)))),
        "br": ("br.html", html.format("<font size=2>" + "".join(f"{line} <i>x</i><br>" for line in text) + "</font>")),
        "sommaire": ("toc.txt", "Plan\n\nSommaire\n\n" + "\n".join(text) + "\n\n\n" + "\n\n".join(text) + "\n"),
        "accordion": ("accordion.html", html.format("".join(
            f'<button aria-expanded="false" aria-controls="p{i}">Fiche {i}</button><div id="p{i}" hidden><p>{line}'
            f'<sup>{i % 9 + 1}</sup></p></div>' for i, line in enumerate(text[::2])))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=60000)
    parser.add_argument("--quick", action="store_true", help="2,000 lines")
    args = parser.parse_args(argv)
    lines = 2000 if args.quick else args.lines
    print(COLUMNS)
    print("|---|---:|---:|---:|---:|")
    baseline = None
    for layout, (name, page) in pages(lines).items():
        started = time.perf_counter()
        document = document_from_text(name, page)
        seconds = time.perf_counter() - started
        baseline = baseline or seconds
        print(f"| {layout} | {lines} | {len(document.text)} | {seconds:.2f} | {seconds / baseline:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
