"""Entity recall against gold data, with the matching rule of ../shared/eval/README.md.

The thresholds are asserted so that a regression of the vocabulary or the matcher fails CI.
"""
from __future__ import annotations

import json

import pytest

from evaluation.entities import eval_entities, format_entity_report, read_gold, texts_match
from ingest.model import ENTITY_TYPES


@pytest.fixture(scope="module")
def dev_report(shared_dir, corpus_dir):
    return eval_entities(shared_dir / "eval" / "dev" / "entities.jsonl", corpus_dir)


OWN_GOLD = ("entities_vocab_pages.jsonl", "entities_vocab_blind.jsonl", "entities_vocab_blind2.jsonl")


@pytest.fixture(scope="module", params=OWN_GOLD)
def own_report(repo_root, request):
    data = repo_root / "tests" / "data"
    return eval_entities(data / "eval" / request.param, data / "pages")


def test_dev_gold_recall_meets_the_targets(dev_report):
    assert dev_report["documents"] == 5
    assert dev_report["overall"]["recall"] >= 0.90, format_entity_report(dev_report)
    for kind, counts in dev_report["by_type"].items():
        assert counts["gold"] and counts["recall"] >= 0.80, f"{kind}: {counts}"


def test_dev_extras_stay_few(dev_report):
    # every extra is listed for review; they must not outnumber the gold itself
    assert len(dev_report["extra"]) <= dev_report["overall"]["gold"]
    assert not [e for e in dev_report["extra"] if e["method"] == "ner"]


def test_own_pages_recall(own_report):
    assert own_report["documents"] >= 1
    assert own_report["overall"]["recall"] >= 0.90, format_entity_report(own_report)
    for kind in ENTITY_TYPES:
        assert own_report["by_type"][kind]["recall"] >= 0.80, kind


def test_report_text_lists_recall_misses_and_extras(dev_report):
    text = format_entity_report(dev_report)
    assert "overall" in text and "Missed (" in text and "Beyond the gold (" in text
    for kind in ENTITY_TYPES:
        assert kind in text


@pytest.mark.parametrize(
    "extracted, gold, expected",
    [
        ("ARS", "ARS Paca", True),  # contained
        ("loi Hôpital, patients, santé et territoires", 'loi "Hôpital, patients, santé et territoires"', False),
        ("Fédération de l’hospitalisation publique", "Fédération de l'hospitalisation publique", True),  # apostrophes
        ("maisons  de\nsanté", "Maisons de santé", True),  # case and white space
        ("CH", "CHU", False),  # fewer than 3 characters matched
        ("GCS", "GCSMS", True),
        ("EHPAD", "SSIAD", False),
    ],
)
def test_gold_matching_rule(extracted, gold, expected):
    assert texts_match(extracted, gold) is expected


def test_a_miss_is_reported_and_lowers_recall(tmp_path, corpus_dir):
    gold = tmp_path / "gold.jsonl"
    line = {"doc": "004_d9216070b0b5bf36", "mentions": [{"type": "actor", "text": "CNSA"}, {"type": "population", "text": "astronautes"}]}
    gold.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    report = eval_entities(gold, corpus_dir)
    assert report["overall"] == {"gold": 2, "found": 1, "recall": 0.5}
    assert report["missed"] == [{"doc": "004_d9216070b0b5bf36", "type": "population", "text": "astronautes"}]
    assert report["by_type"]["tool"]["recall"] is None


def test_bad_gold_line_names_the_file_and_line(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"doc": "a", "mentions": []}\n{"doc": "b", "mentions": [{"type": "place", "text": "x"}]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold.jsonl:2: mention .* needs 'text' and a 'type'"):
        read_gold(gold)
    gold.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold.jsonl:1: invalid JSON"):
        read_gold(gold)


def test_missing_page_is_named(tmp_path, corpus_dir):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"doc": "999_nowhere", "mentions": []}\n', encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no page named 999_nowhere"):
        eval_entities(gold, corpus_dir)


def test_a_page_ingest_cannot_read_counts_as_found_nothing(tmp_path):
    """A page lost at ingest is what a user meets first: the evals count its gold as missed and
    name it, rather than stopping (issue 13)."""
    from evaluation.structure import eval_structure

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "lost.txt").write_bytes(b"Sch\xe9ma \x81\x8d\x9d r\xe9gional")  # no encoding reads it
    (pages / "read.txt").write_text("Plan\n\n1. Accès\n\nL'ARS finance le SSIAD.\n", encoding="utf-8")
    gold = tmp_path / "entities.jsonl"
    gold.write_text("\n".join(json.dumps(line) for line in [
        {"doc": "lost", "mentions": [{"type": "actor", "text": "ARS"}]},
        {"doc": "read", "mentions": [{"type": "actor", "text": "SSIAD"}]}]) + "\n", encoding="utf-8")
    report = eval_entities(gold, pages)
    assert report["overall"] == {"gold": 2, "found": 1, "recall": 0.5}
    assert [u["doc"] for u in report["unreadable"]] == ["lost"] and "Mac Roman" in report["unreadable"][0]["error"]
    assert "Unreadable, every mention missed (1):" in format_entity_report(report)
    structure = tmp_path / "structure.jsonl"
    structure.write_text("\n".join(json.dumps(line) for line in [
        {"doc": "lost", "sections": [{"number": "1", "title": "Accès", "parent": None}]},
        {"doc": "read", "sections": [{"number": "1", "title": "Accès", "parent": None}]}]) + "\n", encoding="utf-8")
    tree = eval_structure(structure, pages)
    assert (tree["sections"], tree["recall"], [u["doc"] for u in tree["unreadable"]]) == (2, 0.5, ["lost"])
