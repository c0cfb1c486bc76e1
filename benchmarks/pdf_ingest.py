"""Ingest of one long PDF scheme: parse (pdfminer layout + tree), then `pipeline.build.ingest_paths`.

The PDF is written by tests/pdf_support.py (`long_scheme_pdf`: numbered parts and objectives,
paragraphs, bullet lists, ruled tables, running header and footer on every page). Each stage is
timed on the same file: parse alone, then a full ingest into a fresh data dir (graph only,
then with the search index unless --no-index).

    .venv/bin/python benchmarks/pdf_ingest.py [--pages 300] [--no-index] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import parse_file  # noqa: E402
from pipeline.build import ingest_paths  # noqa: E402
from search_api.settings import load_settings  # noqa: E402
from tests.pdf_support import long_scheme_pdf  # noqa: E402

COLUMNS = "| pages | MB | sections | chars | parse s | ingest graph s | ingest + index s | triples |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--no-index", action="store_true", help="Skip the run that builds the search index.")
    parser.add_argument("--quick", action="store_true", help="10 pages, graph only (a smoke test).")
    args = parser.parse_args(argv)
    pages = 10 if args.quick else args.pages
    with tempfile.TemporaryDirectory(prefix="hpkg-pdf-bench-") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        pdf = long_scheme_pdf(folder / "scheme.pdf", pages)
        started = time.perf_counter()
        document = parse_file(pdf, manifest={})
        parse_s = time.perf_counter() - started
        runs = {}
        for mode in ("graph",) + (() if args.quick or args.no_index else ("index",)):
            settings = load_settings({"data_dir": str(Path(tmp) / f"data-{mode}")})
            started = time.perf_counter()
            report = ingest_paths([folder], settings, build_index=mode == "index", on_stored=lambda *_: None)
            runs[mode] = (time.perf_counter() - started, report)
            if report.skipped:
                print(report.summary(), file=sys.stderr)
                return 1
        triples = runs["graph"][1].triples
        index_s = f"{runs['index'][0]:.1f}" if "index" in runs else "-"
        print(COLUMNS)
        print("|---" * (COLUMNS.count("|") - 1) + "|")
        print(f"| {pages} | {pdf.stat().st_size / 2**20:.2f} | {len(document.sections)} | {len(document.text)} "
              f"| {parse_s:.1f} | {runs['graph'][0]:.1f} | {index_s} | {triples} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
