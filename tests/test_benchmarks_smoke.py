"""The benchmark scripts still run: each with --quick (tiny sizes) prints its table.

Speed is never asserted here (see docs/benchmarks.md); only that the scripts work end to end
against today's code and print the columns the docs quote.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(out: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table under `header` (cells stripped)."""
    lines = out.splitlines()
    assert header in lines, f"missing table header {header!r} in:\n{out}"
    rows = []
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_analyst_queries_quick(ingested, capsys):
    bench = load("analyst_queries")
    assert bench.main(["--quick", "--data-dir", ingested["data_dir"]]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out, bench.COLUMNS)
    from kg.queries import analyst_queries

    assert [row[0] for row in rows] == [q.name for q in analyst_queries()]
    # both stores answered every query with the same rows, and the synthetic graph has data
    assert all(row[6] == "yes" for row in rows), out
    assert all(int(row[2]) > 0 for row in rows if row[0] != "candidate_concepts"), out
    assert re.search(r"Synthetic: [\d,]+ triples", out)


def test_synthetic_graph_scales_plans(ingested):
    bench = load("analyst_queries")
    from kg.store import open_store

    with open_store(ingested["data_dir"]) as store:
        corpus = store.export("nq")
    data = bench.synthetic_nquads(corpus, 60_000, seed=1).decode()
    assert data == bench.synthetic_nquads(corpus, 60_000, seed=1).decode()  # deterministic
    assert 59_000 < data.count("\n") <= 60_000
    plans = set(re.findall(r"id/plan/([^>]+)>", data))
    assert len(plans) > 3 and "93/projet-regional-de-sante-2012-2016" in plans


def test_ann_quick(ingested, capsys):
    bench = load("ann")
    assert bench.main(["--quick", "--data-dir", ingested["data_dir"]]) == 0
    rows = table_rows(capsys.readouterr().out, bench.COLUMNS)
    kinds = {row[2].split()[0] for row in rows}
    assert kinds == {"flat", "HNSW", "IVF-Flat"}
    recalls = [float(row[8]) for row in rows if row[8] != "-"]
    assert recalls and all(0.0 <= r <= 1.0 for r in recalls)
    # HNSW with a large efSearch on e5-like data finds (nearly) all exact neighbours
    assert max(recalls) > 0.9


def test_ingest_throughput_quick(capsys):
    bench = load("ingest_throughput")
    assert bench.main(["--quick"]) == 0
    rows = table_rows(capsys.readouterr().out, bench.COLUMNS)
    assert len(rows) == 1 and rows[0][0] == "graph only" and rows[0][1] == "2"
    assert float(rows[0][3]) > 0  # pages per minute


def test_embedding_profile_quick(ingested, capsys):
    bench = load("ingest_throughput")
    assert bench.main(["--embedding-profile", ingested["data_dir"], "--passages", "3", "--models", ""]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out, bench.PROFILE_COLUMNS)
    assert rows[0][0].startswith("today") and len(rows) >= 4
    # every path (batch size, thread count) gives today's vectors
    assert all(float(row[6]) > 0.9999 for row in rows), out
    assert sum(line.startswith(("query, C engine", "query, PyTorch", "query, ONNX Runtime")) for line in out.splitlines()) == 6


def test_pdf_ingest_quick(capsys):
    bench = load("pdf_ingest")
    assert bench.main(["--quick"]) == 0
    rows = table_rows(capsys.readouterr().out, bench.COLUMNS)
    assert len(rows) == 1 and rows[0][0] == "10"
    assert int(rows[0][2]) > 20 and int(rows[0][7]) > 0  # sections found, triples written


def test_parse_layouts_quick(capsys):
    bench = load("parse_layouts")
    assert bench.main(["--quick"]) == 0
    rows = table_rows(capsys.readouterr().out, bench.COLUMNS)
    assert [row[0] for row in rows] == ["plain", "pdftohtml", "br", "sommaire", "accordion"]
    # the table of contents is dropped: the page keeps one copy of its lines, not two
    plain, sommaire = int(rows[0][2]), int(rows[3][2])
    assert sommaire < 1.1 * plain
