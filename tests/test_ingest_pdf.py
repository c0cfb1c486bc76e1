"""PDF schemes -> the same section tree as text pages, with printed pages; bad PDFs refused clearly.

The scheme PDF is tests/data/pages/sroms_extract.pdf (written by tests/pdf_support.py, its
golden tree in tests/data/golden/sroms_extract.json, checked by test_ingest_golden.py); the
bad and special PDFs are written here with reportlab.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption

from ingest.errors import IngestError
from ingest.pipeline import iter_documents, parse_file
from tests.pdf_support import FOOTER, HEADER, Sheet, scheme_pdf
from tests.test_ingest_properties import assert_tree_invariants

FIXTURE = Path(__file__).parent / "data" / "pages" / "sroms_extract.pdf"


@pytest.fixture(scope="module")
def scheme():
    return parse_file(FIXTURE, manifest={})


def test_the_committed_fixture_is_what_pdf_support_writes(tmp_path):
    # the fixture is regenerated from code, so the tests and their PDF never drift apart
    assert scheme_pdf(tmp_path / "again.pdf").read_bytes() == FIXTURE.read_bytes()


def test_pdf_tree_keeps_the_invariants_of_text_pages(scheme):
    assert scheme.format == "pdf"
    assert_tree_invariants(scheme)


def test_running_header_footer_and_page_numbers_are_dropped(scheme):
    assert HEADER not in scheme.text  # (the cover title says the same words in title case)
    assert FOOTER not in scheme.text
    assert not [line for line in scheme.text.splitlines() if re.fullmatch(r"\s*\d{1,3}\s*", line)]


def test_each_section_cites_its_printed_page(scheme):
    pages = {s.key: (s.page_start, s.page_end) for s in scheme.sections}
    assert pages["1"] == ("11", "11")  # physical page 2 prints 11
    assert pages["Améliorer la coordination des acteurs"] == ("11", "12")  # goes on over the page break
    assert pages["1.2"] == ("12", "12")
    assert pages["2.3"] == ("15", "15")  # after the scanned page 14
    assert pages[scheme.sections[0].key] == ("10", "10")  # the cover: inferred from page 11 after it


def test_hyphenated_line_ends_are_glued_and_compounds_kept(scheme):
    assert "les organisations représentatives" in scheme.text
    assert "organi-" not in scheme.text
    assert "l'accompagnement médico-social des personnes" in scheme.section("2.3").text


def test_paragraph_cut_by_a_page_break_goes_on_and_its_footnote_follows(scheme):
    text = scheme.section("Améliorer la coordination des acteurs").text
    joined = "seront mobilisées pour assurer la continuité des parcours entre le domicile et l'établissement."
    assert joined in text
    footnote = "1 Services de soins infirmiers à domicile, au sens du code de l'action sociale et des familles."
    assert footnote in text and text.index(footnote) > text.index(joined)


def test_bullets_are_items_and_a_wrapped_bullet_is_one_item(scheme):
    assert [item.text for item in scheme.section("1.1").items] == [
        "développer les services de soins infirmiers à domicile (SSIAD) dans les territoires les moins pourvus ;",
        "renforcer l'accueil de jour et l'hébergement temporaire.",
    ]


def test_ruled_table_is_read_as_one_text_row_per_row(scheme):
    rows = [line for line in scheme.section("1.2").text.split("\n") if " ; " in line]
    assert rows == ["Territoire ; Places SSIAD ; Places EHPAD", "Bouches-du-Rhône ; 1 200 ; 3 400", "Var ; 640 ; 1 900"]


def test_two_columns_are_read_one_after_the_other(scheme):
    assert scheme.section("2.1").text.endswith(
        "La prévention de la perte d'autonomie repose sur le repérage précoce des fragilités par les médecins traitants.")
    assert scheme.section("2.2").text.endswith(
        "Les centres locaux d'information et de coordination (CLIC) orientent les familles vers les dispositifs adaptés.")
    assert [s.parent for s in scheme.sections if s.number in ("2.1", "2.2", "2.3")] == ["2", "2", "2"]


def test_scanned_page_is_named_in_a_warning(scheme):
    assert len(scheme.warnings) == 1
    assert scheme.warnings[0].startswith(f"{FIXTURE}: page 14 has no text layer")


def test_scheme_is_read_from_the_title(scheme):
    assert scheme.scheme == "Schéma Régional d'Organisation Médico-Sociale"


# ---------------------------------------------------------------- bad and special PDFs
def _pdf(path: Path, lines: list[str], **options) -> Path:
    sheet = Sheet(str(path), running=False, **options)
    for line in lines:
        sheet.text(line)
    sheet.save()
    return path


def _scanned_only(path: Path) -> Path:
    sheet = Sheet(str(path), running=False)
    sheet.scanned()
    sheet.new_page()
    sheet.scanned()
    sheet.save()
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "file is empty"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), "not a PDF (no %PDF- header)"),
    (lambda p: p.write_bytes(_pdf(p, ["Texte"]).read_bytes()[:300]), "corrupt PDF"),
    (lambda p: _pdf(p, ["Texte secret"], encrypt=StandardEncryption("secret", canPrint=0)),
     "encrypted PDF: a password is needed to open it"),
    (_scanned_only, "no text layer on any page (a scanned document?): OCR it first"),
], ids=["empty", "binary", "truncated", "encrypted", "scanned"])
def test_bad_pdf_gets_an_error_naming_the_file_and_the_problem(tmp_path, make, reason):
    path = tmp_path / "plan.pdf"
    make(path)
    with pytest.raises(IngestError) as caught:
        parse_file(path, manifest={})
    assert str(caught.value).startswith(f"{path}: {reason}")


def test_owner_password_only_pdf_opens(tmp_path):
    # printing restricted but no password to open: readers open it, and so does ingest
    path = _pdf(tmp_path / "restricted.pdf", ["Objectif 1 : Renforcer l'offre de proximité"],
                encrypt=StandardEncryption("", ownerPassword="owner", canCopy=0))
    assert parse_file(path, manifest={}).sections[0].key == "Objectif 1"


def test_one_bad_pdf_does_not_stop_the_others(tmp_path):
    good = tmp_path / "a_good.pdf"
    good.write_bytes(FIXTURE.read_bytes())
    (tmp_path / "b_broken.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (tmp_path / "c_page.txt").write_text("1 Orientations\n\nUn texte.\n", encoding="utf-8")
    results = list(iter_documents([tmp_path]))
    assert [type(r).__name__ for r in results] == ["Document", "IngestError", "Document"]
    assert results[1].path == str(tmp_path / "b_broken.pdf") and "PDF" in results[1].reason
