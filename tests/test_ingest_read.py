"""Bad input: each case gives one IngestError line naming the file and the reason."""
from __future__ import annotations

import os

import pytest

from ingest.errors import IngestError
from ingest.pipeline import iter_documents, load_manifest, parse_file
from ingest.read import decode, read_text


def _error(path, **kwargs) -> str:
    with pytest.raises(IngestError) as caught:
        parse_file(path, manifest={}, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert _error(path).endswith("file is empty")


def test_blank_file_is_empty(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_bytes(b"  \r\n\t\n")
    assert "empty" in _error(path)


def test_binary_file_with_nul_bytes(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    assert "binary file" in _error(path)


def test_file_neither_utf8_nor_cp1252_nor_mac_roman(tmp_path):
    path = tmp_path / "odd.txt"
    # bytes undefined in Windows-1252, and Mac Roman would read `SchÈma Åçù rÈgional`
    path.write_bytes(b"Sch\xe9ma \x81\x8d\x9d r\xe9gional")
    assert "neither UTF-8, Windows-1252 nor Mac Roman" in _error(path)


def test_control_characters_mean_binary(tmp_path):
    path = tmp_path / "controls.txt"
    path.write_bytes(bytes(range(1, 9)) * 50 + b"abc")
    assert "binary file" in _error(path)


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Schéma régional\n\n" + "texte " * 100, encoding="utf-8")
    message = _error(path, max_bytes=100)
    assert "over the 100 bytes limit" in message


def test_default_size_limit_is_20_mb(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024 + 1)  # sparse: no real 20 MB written
    assert "over the 20 MB limit" in _error(path)


def test_missing_file(tmp_path):
    assert _error(tmp_path / "nowhere.txt").endswith("file not found")


def test_directory_given_as_a_file(tmp_path):
    assert _error(tmp_path).endswith("is a directory, not a file")


def test_path_through_a_file_is_unreadable(tmp_path):
    parent = tmp_path / "page.txt"
    parent.write_text("x", encoding="utf-8")
    assert "cannot read file" in _error(parent / "child.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("Texte", encoding="utf-8")
    path.chmod(0)
    assert "cannot read file" in _error(path)


def test_html_with_nothing_but_navigation(tmp_path):
    path = tmp_path / "nav.html"
    path.write_text("<html><body><nav>Accueil</nav><footer>© ARS</footer></body></html>", encoding="utf-8")
    assert "no text left" in _error(path)


def test_encodings_are_detected_and_line_endings_normalised():
    text = "Schéma d’organisation\r\nœuvre « ici »\r"
    assert decode(text.encode("utf-8")) == ("Schéma d’organisation\nœuvre « ici »\n", "utf-8")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8"))[1] == "utf-8-sig"
    assert decode(text.encode("cp1252")) == ("Schéma d’organisation\nœuvre « ici »\n", "cp1252")
    assert decode(text.encode("utf-16"))[0].startswith("Schéma")
    assert decode("Région".encode("latin-1")) == ("Région", "cp1252")


def test_iso_8859_15_is_told_by_its_euro_sign_or_its_oe_after_an_apostrophe():
    """Windows-1252 would read these bytes as `3 M¤` and `l'½uvre`."""
    assert decode("Un budget de 3 M€ et 12 000 € par an.".encode("iso-8859-15")) == (
        "Un budget de 3 M€ et 12 000 € par an.", "iso-8859-15")
    assert decode("L'œuvre des équipes.".encode("iso-8859-15"))[1] == "iso-8859-15"


def test_read_text_reports_encoding(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes("Personnes âgées".encode("cp1252"))
    assert read_text(path) == ("Personnes âgées", "cp1252")


def test_iter_documents_reports_bad_files_and_goes_on(tmp_path):
    (tmp_path / "a_good.txt").write_text("Titre\n\nUn paragraphe.\n", encoding="utf-8")
    (tmp_path / "b_empty.txt").write_bytes(b"")
    (tmp_path / "c_binary.html").write_bytes(b"\x00\x01\x02" * 10)
    (tmp_path / "d_good.html").write_text("<h1>Titre</h1><p>Texte.</p>", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    results = list(iter_documents([tmp_path]))
    assert [type(r).__name__ for r in results] == ["Document", "IngestError", "IngestError", "Document"]
    assert str(results[1]) == f"{tmp_path / 'b_empty.txt'}: file is empty"
    assert str(results[2]).startswith(f"{tmp_path / 'c_binary.html'}: binary file")
    assert [r.doc for r in results if not isinstance(r, IngestError)] == ["a_good", "d_good"]


def test_iter_documents_reports_a_missing_path(tmp_path):
    results = list(iter_documents([tmp_path / "gone.txt"]))
    assert len(results) == 1 and str(results[0]).endswith("gone.txt: file not found")


def test_manifest_with_an_unknown_field_names_it(tmp_path):
    (tmp_path / "manifest.toml").write_text('[files."a.txt"]\nregoin = "PACA"\n', encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        load_manifest(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "manifest.toml"))
    assert "unknown field 'regoin'" in str(caught.value)


def test_manifest_with_bad_toml(tmp_path):
    (tmp_path / "manifest.toml").write_text("[defaults\nplan = 1", encoding="utf-8")
    with pytest.raises(IngestError, match="unreadable manifest"):
        load_manifest(tmp_path)
    (tmp_path / "page.txt").write_text("Titre\n\nTexte.\n", encoding="utf-8")
    [result] = list(iter_documents([tmp_path]))
    assert isinstance(result, IngestError) and "manifest problem" in str(result)


def test_iso_8859_15_ligature_is_read_as_such():
    text, encoding = decode("Schœlcher : mise en œuvre, l'été\n".encode("iso-8859-15"))
    assert (text, encoding) == ("Schœlcher : mise en œuvre, l'été\n", "iso-8859-15")
    assert decode("L’œuvre – été\n".encode("cp1252")) == ("L’œuvre – été\n", "cp1252")


def test_mac_roman_page_is_read_as_such():
    # è ç ê are bytes Windows-1252 leaves undefined; é alone would read as `Ž` there
    page = "Première partie — Santé des femmes\n\nL’accès à l’IVG, la contraception et l’œuvre des sages-femmes.\n"
    assert decode(page.encode("mac_roman")) == (page, "mac_roman")
    assert decode("Schéma régional\n".encode("mac_roman")) == ("Schéma régional\n", "mac_roman")


def test_windows_1252_stays_first_when_both_read_as_french():
    page = "ÉTAT DES LIEUX – l’accès aux soins, 20 %\n"
    assert decode(page.encode("cp1252")) == (page, "cp1252")
    # a cp1252 page with a sign French text rarely has is still read as cp1252, not refused
    assert decode("Schéma ¤ régional\n".encode("cp1252")) == ("Schéma ¤ régional\n", "cp1252")
