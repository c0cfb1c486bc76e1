"""Bytes on disk -> text: size limit, empty and binary files, encodings, line endings.

Encodings tried, in order: a BOM (UTF-8, UTF-16), strict UTF-8, ISO-8859-15 when its `œ`
shows between letters or its `€` after an amount, and no byte of Windows-1252's own range does, then Windows-1252 (a
superset of the printable Latin-1 range, the usual encoding of French pages saved on Windows)
when it reads as French, else Mac Roman (pages saved on a Mac, which no header declares) when
that reads as French, else Windows-1252 still. A file that is none of them is refused rather than
decoded into mojibake.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from ingest.errors import IngestError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# Share of control characters above which decoded "text" is really binary data.
MAX_CONTROL_SHARE = 0.05
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f]")  # tab, newlines, form feed are text

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_bytes(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The raw bytes of `path`, refusing missing, unreadable, oversized and empty files."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise IngestError(path, "file not found") from None
    except OSError as error:
        raise IngestError(path, f"cannot read file: {error.strerror or error}") from None
    if path.is_dir():
        raise IngestError(path, "is a directory, not a file")
    if info.st_size > max_bytes:
        raise IngestError(path, f"file is {_size(info.st_size)}, over the {_size(max_bytes)} limit")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise IngestError(path, f"cannot read file: {error.strerror or error}") from None
    if len(data) > max_bytes:  # grew since stat, or a special file
        raise IngestError(path, f"file is over the {_size(max_bytes)} limit")
    if not data.strip():
        raise IngestError(path, "file is empty")
    return data


_LATIN9_LIGATURE = re.compile(rb"[A-Za-z\xe0-\xff'][\xbc-\xbe][A-Za-z\xe0-\xff]")  # c\xbdur, l'\xbduvre: `œ`
_LATIN9_EURO = re.compile(rb"(?:\d|\d |\b[MmKk]|\bmd|\bMd) ?\xa4(?![\x80-\xff])")  # `12 000 \xa4`, `3 M\xa4`: `€`
_CP1252_ONLY = re.compile(rb"[\x80-\x9f]")


def decode(data: bytes, path: str | Path = "<bytes>") -> tuple[str, str]:
    """(text, encoding name) of `data`, line endings normalised to LF.

    >>> decode("Schéma\\r\\n".encode("cp1252"))
    ('Schéma\\n', 'cp1252')
    """
    text, encoding = _decode(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_CONTROLS.findall(text))
    if "\x00" in text or controls > MAX_CONTROL_SHARE * len(text):
        raise IngestError(path, "binary file, not text (control characters)")
    if not text.strip():
        raise IngestError(path, "file is empty (only white space)")
    return text, encoding


def _decode(data: bytes, path: str | Path) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff"), encoding
            except UnicodeDecodeError as error:
                raise IngestError(path, f"invalid {encoding} after its byte-order mark at byte {error.start}") from None
    if b"\x00" in data:
        raise IngestError(path, "binary file, not text (NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if (_LATIN9_LIGATURE.search(data) or _LATIN9_EURO.search(data)) and not _CP1252_ONLY.search(data):
        # ISO-8859-15 (Unix French): `œ` is byte 0xBD, which Windows-1252 reads as `½` (`Sch½lcher`),
        # `€` byte 0xA4, read as `¤` after an amount, and none of Windows-1252's own bytes
        # 0x80-0x9F (`’`, `–`, `€`) occur.
        return data.decode("iso-8859-15"), "iso-8859-15"
    try:
        windows = data.decode("cp1252")
    except UnicodeDecodeError as error:
        windows, undecodable = None, error.start
    if windows is not None and _reads_as_french(windows):
        return windows, "cp1252"
    mac = data.decode("mac_roman")  # every byte is defined: only the French test can refuse it
    if _reads_as_french(mac):
        return mac, "mac_roman"
    if windows is not None:
        return windows, "cp1252"
    raise IngestError(path, f"neither UTF-8, Windows-1252 nor Mac Roman text "
                            f"(undecodable byte 0x{data[undecodable]:02x} at {undecodable})")


_FRENCH_LOWER = set("àâäçéèêëîïôöùûüÿœæ")
_FRENCH_UPPER = set("ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ")
_MARKS = set("’‘“”«»‹›‚„–—…•·°€£§©®™²³½¼¾×\u00a0\u202f")


def _reads_as_french(text: str) -> bool:
    """Every non-ASCII character is one French text has: an accented lower-case letter, an
    accented capital that starts a word or sits in a word of capitals (`École`, `RÉGION`, not
    `SchÈma`), or typographic punctuation. Mojibake of the wrong 8-bit code page fails."""
    for match in re.finditer(r"[^\x00-\x7f]", text):
        char, before = match.group(), text[match.start() - 1:match.start()]
        if char in _FRENCH_LOWER or char in _MARKS:
            continue
        if char in _FRENCH_UPPER and not before.islower():
            continue
        return False
    return True


def read_text(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """(text, encoding) of the file at `path`; IngestError naming the file and the reason."""
    return decode(read_bytes(path, max_bytes), path)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n} bytes"
