"""Suggestions on the ingested corpus: quality on the gold sets, the CLI contract, the reasons."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evaluation.link import eval_link, read_gold
from pipeline.link import suggest
from kg.store import open_store
from search_api.cli import main

EXTRA = Path(__file__).parent / "data" / "eval" / "link_extra.jsonl"


@pytest.fixture(scope="module")
def corpus_store(ingested):
    with open_store(ingested["data_dir"], backend=ingested["store"]) as store:
        yield store, ingested


def test_dev_gold_meets_the_threshold(corpus_store, shared_dir):
    store, settings = corpus_store
    report = eval_link(shared_dir / "eval" / "dev" / "link.jsonl", store, settings)
    assert report["cases"] == 5
    assert report["hit@3"] >= 0.9, report["per_case"]
    assert report["mrr"] >= 0.8, report["per_case"]


def test_extra_gold_meets_the_threshold(corpus_store):
    store, settings = corpus_store
    report = eval_link(EXTRA, store, settings)
    assert report["cases"] >= 8
    assert report["hit@3"] >= 0.9, report["per_case"]


def test_reasons_name_shared_concepts_and_a_passage(corpus_store):
    store, settings = corpus_store
    text = "Convention entre un SSIAD et les infirmières libérales pour organiser les tournées au domicile des personnes âgées."
    first = suggest(store, settings, text, k=3)["suggestions"][0]
    assert first["doc"] == "000_d922552c98e187fc"
    reasons = " | ".join(first["reasons"])
    assert "SSIAD" in reasons and "comme cette orientation" in reasons
    passage = next(r for r in first["reasons"] if r.startswith("passage correspondant"))
    assert "SSIAD" in passage  # the passage shown is the one about SSIAD, taken from the section


def test_cli_link_json_contract(ingested, tmp_path):
    # a copy of the data dir: the CLI opens its own store, which another test may hold open
    data_dir = tmp_path / "data"
    shutil.copytree(ingested["data_dir"], data_dir, ignore=shutil.ignore_patterns("LOCK"))
    result = CliRunner().invoke(main, ["link", "Coopération entre EHPAD au sein d'un GCSMS", "--json", "-k", "3",
                                       "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [s["rank"] for s in payload["suggestions"]] == [1, 2, 3]
    for s in payload["suggestions"]:
        assert set(s) == {"rank", "score", "iri", "doc", "section", "title", "reasons"}
        assert isinstance(s["score"], float) and s["reasons"]
    assert payload["suggestions"][0]["section"] == "2.8.2"
    text = CliRunner().invoke(main, ["link", "Coopération entre EHPAD au sein d'un GCSMS", "--data-dir", str(data_dir)])
    assert text.exit_code == 0 and "004_d9216070b0b5bf36 § 2.8.2" in text.output and "    - " in text.output
    report = CliRunner().invoke(main, ["eval", "link", str(EXTRA.parent / "link_extra.jsonl"), "--json", "--data-dir", str(data_dir)])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["cases"] >= 8


def test_gold_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "a", "project": "x", "expect": [{"doc": "d", "section": "1"}]}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold.jsonl:2: missing field 'project'"):
        read_gold(path)
