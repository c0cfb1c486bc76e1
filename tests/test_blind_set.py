"""Floors on the tuned part of the blind set (tests/data/blind/README.md): pages the project had
never seen, with gold written by someone who read no code, and on the tuned halves of the second
to sixth blind sets (tests/data/blind2 to tests/data/blind6). The held-out parts are measured for
docs/quality.md and never asserted here (beyond their pages all going in), so nothing is ever
tuned against them.

The floors sit just under the figures measured when they were set (docs/quality.md): a change
that loses a page at ingest, or costs search, extraction or linking on unseen pages, fails.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.entities import eval_entities
from evaluation.structure import eval_structure
from evaluation.link import eval_link
from evaluation.search import eval_search
from kg.store import open_store

BLIND = Path(__file__).parent / "data" / "blind"
TUNED = BLIND / "gold" / "tuned"
BLIND2 = BLIND.parent / "blind2"  # tuned half only; its held-out half is never asserted
TUNED2 = BLIND2 / "gold" / "tuned"


@pytest.fixture(scope="module")
def blind_ingested(tmp_path_factory, corpus_dir):
    """Settings of a data dir holding the corpus and every blind page (both parts, as a user
    would search them together), and the ingest report."""
    return _ingested_with_corpus(tmp_path_factory.mktemp("blind"), corpus_dir, BLIND / "pages")


def test_no_blind_page_is_lost_or_untyped_at_ingest(blind_ingested):
    _, report = blind_ingested
    pages = len(list((BLIND / "pages").glob("*.*"))) - 1  # manifest.toml
    assert not report.skipped, report.summary()
    assert report.documents == pages + 5 and report.warnings == []


@pytest.fixture(scope="module")
def blind2_ingested(tmp_path_factory, corpus_dir):
    """The corpus and every page of the second blind set, ingested together with the index."""
    return _ingested_with_corpus(tmp_path_factory.mktemp("blind2"), corpus_dir, BLIND2 / "pages")


def _ingested_with_corpus(data_dir, corpus_dir, pages):
    """(settings, ingest report) of `data_dir` holding the corpus and `pages`, with the index."""
    from pipeline.build import ingest_paths
    from search_api.settings import load_settings

    settings = load_settings({"data_dir": str(data_dir)})
    return settings, ingest_paths([corpus_dir, pages], settings, build_index=True)


def _assert_tuned_floors(ingested, blind: Path, *, structure: tuple[float, float], hybrid: float,
                         no_hit: int, entities: float, link: float, queries: int, cases: int) -> None:
    """No page of `blind` lost, then its tuned half at or above each floor: structure (found,
    right parent), hybrid nDCG@10 above both single methods, questions without a relevant hit
    in the top 10, entity recall and linking hit@3."""
    settings, report = ingested
    assert not report.skipped, report.summary()
    assert report.documents == len(list((blind / "pages").glob("*.*"))) - 1 + 5  # the manifest aside
    tuned = blind / "gold" / "tuned"
    found = eval_structure(tuned / "structure.jsonl", blind / "pages")
    assert found["recall"] >= structure[0] and found["parent_accuracy"] >= structure[1]
    search = eval_search(tuned / "search.jsonl", settings)
    means = search["means"]
    assert search["queries"] >= queries
    assert means["hybrid"]["ndcg@10"] >= hybrid
    assert means["hybrid"]["ndcg@10"] > max(means["dense"]["ndcg@10"], means["lexical"]["ndcg@10"])
    missed = [q["id"] for q in search["per_query"] if q["hybrid"]["mrr"] == 0]
    assert len(missed) <= no_hit, missed
    assert eval_entities(tuned / "entities.jsonl", blind / "pages")["overall"]["recall"] >= entities
    with open_store(settings["data_dir"], backend=settings["store"]) as store:
        linked = eval_link(tuned / "link.jsonl", store, settings)
    assert linked["cases"] >= cases and linked["hit@3"] >= link


def test_no_page_of_the_second_blind_set_is_lost_at_ingest(blind2_ingested):
    _, report = blind2_ingested
    assert not report.skipped, report.summary()
    assert report.documents == len(list((BLIND2 / "pages").glob("*.*"))) - 1 + 5


def test_second_blind_set_floors_on_its_tuned_part(blind2_ingested):
    """Structure, search and linking on the 6 tuned pages of tests/data/blind2 (docs/quality.md)."""
    settings, _ = blind2_ingested
    structure = eval_structure(TUNED2 / "structure.jsonl", BLIND2 / "pages")
    assert structure["recall"] >= 0.98 and structure["parent_accuracy"] >= 0.97  # measured 1.0 and 1.0
    search = eval_search(TUNED2 / "search.jsonl", settings)
    assert search["queries"] >= 60
    assert search["means"]["hybrid"]["ndcg@10"] >= 0.80  # measured 0.826 (0.483 at its first run)
    no_hit = [q["id"] for q in search["per_query"] if q["hybrid"]["mrr"] == 0]
    assert len(no_hit) <= 3, no_hit  # measured 2 in 63
    with open_store(settings["data_dir"], backend=settings["store"]) as store:
        link = eval_link(TUNED2 / "link.jsonl", store, settings)
    assert link["cases"] >= 15 and link["hit@3"] >= 0.87  # measured 0.938 (0.438 at its first run)


# The third to sixth sets' tuned halves, each with floors just under what it measured (docs/quality.md).
LATER_SETS = {
    # UTF-16, Latin-1, Word and table-layout HTML among its pages. Measured: structure 0.986 /
    # 0.986, hybrid 0.875 (0.708 at its first run), 2 of 50 without a hit, entities 0.863 (0.777),
    # linking 1.0 (0.786)
    "blind3": dict(structure=(0.97, 0.95), hybrid=0.85, no_hit=2, entities=0.84, link=0.92, queries=50, cases=14),
    # XHTML 1.1, a LibreOffice export levelled by font size, cp1252 with CRLF, ARIA headings.
    # Measured: structure 1.0 / 1.0 (0.458 / 0.458), hybrid 0.800 (0.376), 1 of 52 without a hit
    # (29), entities 0.828 (0.731), linking 1.0 (0.467)
    "blind4": dict(structure=(0.97, 0.97), hybrid=0.78, no_hit=2, entities=0.81, link=0.93, queries=50, cases=15),
    # Mac Roman undeclared, UTF-16 big-endian, pdftohtml, `<br>` and `<dt>` outlines. Measured:
    # structure 1.0 / 0.975 (0.519 / 0.329), hybrid 0.911 (0.578), 1 of 67 without a hit (24),
    # entities 0.867 (0.813), linking 1.0 (0.571)
    "blind5": dict(structure=(0.97, 0.95), hybrid=0.88, no_hit=2, entities=0.84, link=0.92, queries=65, cases=14),
    # UTF-16 LE with circled numbers, a lying charset, Markdown, CR-only lines, ISO-8859-15.
    # Measured: structure 1.0 / 1.0 (0.402 / 0.402 at a09e92d, 0.644 / 0.644 at bab00e5), hybrid
    # 0.899 (0.306, 0.564), 1 of 66 without a hit (41, 23), entities 0.813 (0.74), linking 1.0 (0.357, 0.714)
    "blind6": dict(structure=(0.97, 0.97), hybrid=0.87, no_hit=2, entities=0.79, link=0.92, queries=66, cases=14),
}


@pytest.fixture(scope="module", params=sorted(LATER_SETS))
def later_set_ingested(request, tmp_path_factory, corpus_dir):
    """(set folder, its data dir and ingest report): the corpus and every page of the set,
    ingested together with the index, one set at a time."""
    folder = BLIND.parent / request.param
    return folder, _ingested_with_corpus(tmp_path_factory.mktemp(request.param), corpus_dir, folder / "pages")


def test_later_blind_sets_floors_on_their_tuned_parts(later_set_ingested):
    """No page of the set lost, then structure, search, extraction and linking on its 5 tuned pages."""
    folder, ingested = later_set_ingested
    _assert_tuned_floors(ingested, folder, **LATER_SETS[folder.name])


def test_structure_of_unseen_page_shapes():
    report = eval_structure(TUNED / "structure.jsonl", BLIND / "pages")
    assert report["documents"] >= 16 and report["sections"] >= 150
    assert report["recall"] >= 0.98 and report["parent_accuracy"] >= 0.97  # measured 1.0 and 1.0


def test_search_floor_on_unseen_pages_and_hybrid_beats_each_method(blind_ingested):
    settings, _ = blind_ingested
    report = eval_search(TUNED / "search.jsonl", settings)
    means = report["means"]
    assert report["queries"] >= 70
    assert means["hybrid"]["ndcg@10"] >= 0.83  # measured 0.853
    assert means["hybrid"]["ndcg@10"] > max(means["dense"]["ndcg@10"], means["lexical"]["ndcg@10"])
    no_hit = [q["id"] for q in report["per_query"] if q["hybrid"]["mrr"] == 0]
    assert len(no_hit) <= 2, no_hit  # measured 1 in 87


def test_entity_recall_floor_on_unseen_pages():
    report = eval_entities(TUNED / "entities.jsonl", BLIND / "pages")
    recall = {kind: counts["recall"] for kind, counts in report["by_type"].items()}
    assert report["overall"]["recall"] >= 0.86, recall  # measured 0.881 (0.859 before issue 13d, 0.826 before 13c)
    others = [value for kind, value in recall.items() if kind != "tool"]
    assert recall["tool"] >= 0.82 and min(others) >= 0.84, recall  # measured tool 0.848, least other 0.855


def test_link_floor_on_unseen_pages(blind_ingested):
    settings, _ = blind_ingested
    with open_store(settings["data_dir"], backend=settings["store"]) as store:
        report = eval_link(TUNED / "link.jsonl", store, settings)
    assert report["cases"] >= 24 and report["hit@3"] >= 0.93  # measured 1.0
