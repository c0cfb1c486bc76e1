"""benchmarks/load.py end to end, small: a few locust clients for a few seconds against the real
production server (`hpkg serve --production`, 2 gunicorn workers and the oxigraph child) on
127.0.0.1. Checks that the load mix works and the report is complete, not how fast it is:
speed is measured by the benchmark itself (docs/benchmarks.md, Load)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.browser_support import copy_data_dir

pytestmark = pytest.mark.slow

KINDS = {"search_api", "search_api_new", "search_page", "search_page_new", "orientation", "entity", "plan",
         "sparql_named", "sparql_select", "health"}


@pytest.fixture(scope="module")
def report(ingested, tmp_path_factory, repo_root) -> dict:
    work = tmp_path_factory.mktemp("load")
    data_dir = copy_data_dir(ingested, work)  # the embedded store allows one opener at a time
    out = work / "report.json"
    run = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks/load.py"), "--data-dir", data_dir, "--users", "8",
         "--duration", "5", "--workers", "2", "--threads", "4", "--warmup", "1", "--json", str(out)],
        cwd=repo_root, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "| **overall**" in run.stdout  # the printed table
    return json.loads(out.read_text(encoding="utf-8"))


def test_no_error_and_every_kind_hit(report):
    assert report["errors"] == [], report["errors"]
    assert report["overall"]["failures"] == 0
    assert set(report["kinds"]) == KINDS
    assert all(figures["requests"] > 0 for figures in report["kinds"].values())
    assert report["overall"]["requests"] == sum(f["requests"] for f in report["kinds"].values())


def test_percentiles_per_kind_and_overall(report):
    for figures in [report["overall"], *report["kinds"].values()]:
        p50, p95, p99 = figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]
        # locust keeps response times rounded to two significant figures: a percentile may
        # round above the exact maximum
        assert 0 < p50 <= p95 <= p99 <= figures["max_ms"] * 1.05 + 1, figures
    assert report["overall"]["rps"] > 0


def test_memory_sampled_over_the_server_processes(report):
    memory = report["memory"]
    # hpkg/gunicorn master, 2 workers and the oxigraph child at least.
    assert len(memory["processes"]) >= 4, memory["processes"]
    assert any("oxigraph" in name for name in memory["processes"].values()), memory["processes"]
    assert memory["died"] == []
    assert len(memory["samples"]) >= 4  # one a second over 5 s, plus the last
    assert 0 < memory["start_mb"] <= memory["max_mb"] and memory["end_mb"] <= memory["max_mb"]
    assert isinstance(memory["slope_second_half_mb_per_min"], float)
    assert memory["server_cpu_s"] > 0


def test_load_reports_cpu_of_cached_and_new_searches_apart(report):
    cpu = report["cpu_by_kind"]
    assert {"search_api", "search_api_new"} <= set(cpu), cpu
    assert all(f["requests"] > 0 and f["mean_ms"] >= 0 for f in cpu.values())
    assert report["settings"]["fresh_share"] == 0.5
