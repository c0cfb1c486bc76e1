"""Parsed trees of the corpus pages and of hand-written pages, against checked golden files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.pipeline import parse_file
from tests.ingest_golden import GOLDEN_DIR, golden_form

ROOT = Path(__file__).resolve().parent.parent
PAGE_DIRS = (ROOT / "corpus", Path(__file__).parent / "data" / "pages")


def _page_for(doc: str) -> Path:
    for folder in PAGE_DIRS:
        found = [p for p in folder.glob(f"{doc}.*") if p.suffix in (".txt", ".html", ".htm", ".pdf")]
        if found:
            return found[0]
    raise FileNotFoundError(f"no page for golden {doc}")


GOLDEN = sorted(GOLDEN_DIR.glob("*.json"))


def test_every_corpus_page_has_a_golden_file_and_every_golden_file_a_page():
    golden = {p.stem for p in GOLDEN}
    assert {p.stem for p in PAGE_DIRS[0].glob("*.txt")} <= golden
    for doc in golden:
        assert _page_for(doc).is_file()


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_page_parses_to_its_golden_tree(golden):
    expected = json.loads(golden.read_text(encoding="utf-8"))
    actual = golden_form(parse_file(_page_for(golden.stem)))
    assert actual["sections"] == expected["sections"]
    assert actual == expected


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    return {p.stem[:3]: parse_file(p) for p in sorted(corpus_dir.glob("*.txt"))}


def _children(document, key):
    return [s.key for s in document.sections if s.parent == key]


def test_004_is_2_8_with_four_children_under_breadcrumb_ancestor_2(corpus):
    doc = corpus["004"]
    ancestor = doc.section("2")
    assert (ancestor.title, ancestor.from_breadcrumb, ancestor.text) == ("Orientations régionales partagées", True, "")
    assert _children(doc, "2") == ["2.8"]
    assert _children(doc, "2.8") == ["2.8.1", "2.8.2", "2.8.3", "2.8.4"]
    assert [s.level for s in doc.sections] == [1, 2, 3, 3, 3, 3]
    assert len(doc.section("2.8.3").items) == 5
    assert doc.figures == ["RI00000182"]
    assert (doc.source.publisher, doc.source.year, doc.source.pages) == ("ARS PACA", 2011, "15-17")


def test_000_is_an_unnumbered_leaf_under_3_1_5_1_with_all_its_bullets(corpus):
    doc = corpus["000"]
    leaf = doc.sections[-1]
    assert (leaf.number, leaf.level, leaf.parent) == (None, 5, "3.1.5.1")
    assert leaf.key == "Optimiser l'offre médico-sociale en complémentarité avec l'offre ambulatoire"
    # The issue speaks of "five items": the five operational axes. The section also has an
    # earlier list of two, so its items are all seven bullets, in page order.
    assert len(leaf.items) == 7
    assert [item.text.split()[0] for item in leaf.items[2:]] == ["faciliter", "coordonner", "tester", "tenir", "soutenir"]
    assert "Région\n" not in doc.text and "ICARS" not in doc.text


def test_003_keeps_its_two_parts_and_drops_cookie_text(corpus):
    doc = corpus["003"]
    assert [s.key for s in doc.sections] == [
        "Objectif de la gestion du parcours dans le médico-social",
        "Une approche de parcours globale et graduée",
    ]
    assert doc.keywords[:3] == ["medico social", "parcours", "usagers"]
    for gone in ("cookie", "actimeo", "Liste des pratiques", "navigation"):
        assert gone not in doc.text
    assert doc.text.rstrip().endswith("réinsertion, logement…")


def test_002_article_is_one_section_keyed_by_its_title(corpus):
    doc = corpus["002"]
    assert [s.key for s in doc.sections] == ["Commission de coordination pour l'offre de soins de proximité"]
    assert "\nArticle\n" not in doc.text
    assert len(doc.sections[0].items) == 8


def test_every_section_named_by_the_eval_gold_exists(corpus, shared_dir):
    keys = {(doc.doc, s.key) for doc in corpus.values() for s in doc.sections}
    wanted = set()
    for name in ("search.jsonl", "link.jsonl"):
        for line in (shared_dir / "eval" / "dev" / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for ref in record.get("relevant", []) + record.get("expect", []):
                wanted.add((ref["doc"], ref["section"]))
    assert wanted and wanted <= keys, sorted(wanted - keys)


def test_hierarchy_axe_orientation_objectif_action():
    doc = parse_file(PAGE_DIRS[1] / "axes_orientations.txt")
    assert [(s.key, s.parent, s.kind) for s in doc.sections if s.kind] == [
        ("Axe 1", None, "axis"),
        ("Orientation 1", "Axe 1", "orientation"),
        ("Orientation 2", "Axe 1", "orientation"),
        ("Axe 2", None, "axis"),
        ("Orientation 3", "Axe 2", "orientation"),
        ("Orientation 4", "Axe 2", "orientation"),
    ]
    assert doc.section("Orientation 1").title == "Favoriser l'installation des professionnels de santé"
    assert doc.section("Contexte").parent == "Orientation 3"
    assert [i.text for i in doc.section("Orientation 2").items][0] == "la téléconsultation en EHPAD ;"


def test_roman_over_lettered_numbers_are_qualified_when_repeated():
    doc = parse_file(PAGE_DIRS[1] / "roman_letters_bom.txt")
    assert [(s.key, s.parent) for s in doc.sections] == [
        ("I", None), ("I.A", "I"), ("I.B", "I"), ("I.C", "I"),
        ("II", None), ("II.A", "II"), ("II.B", "II"), ("IV", None),
    ]
    assert doc.encoding == "utf-8-sig" and "\r" not in doc.text


def test_cp1252_page_keeps_its_accents():
    doc = parse_file(PAGE_DIRS[1] / "objectifs_cp1252.txt")
    assert doc.encoding == "cp1252"
    assert "l’Éducation nationale" in doc.text and "œuvre" in doc.text and "« bien manger »" in doc.text
    assert doc.section("Action 1.1").parent == "Objectif 1"


def test_roman_parts_hold_labelled_objectives_which_hold_letters(tmp_path):
    path = tmp_path / "mix.txt"
    path.write_text("Titre du schéma\n\nI. Les priorités\n\nObjectif 1 : Prévenir\n\nA. Dépister\n\nTexte.\n\n"
                    "Objectif 2 : Soigner\n\nII. Le suivi\n\nTexte.\n", encoding="utf-8")
    doc = parse_file(path)
    assert [(s.key, s.parent) for s in doc.sections] == [
        ("I", None), ("Objectif 1", "I"), ("A", "Objectif 1"), ("Objectif 2", "I"), ("II", None)]
