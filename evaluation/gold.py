"""Gold files and gold comparison, shared by the three evals (rules: ../shared/eval/README.md)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ingest.errors import IngestError
from ingest.pipeline import parse_file
from ontology.textkeys import match_key

_SUFFIXES = (".txt", ".html", ".htm")


def read_jsonl(path, fields: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, object) of each non-blank line of a gold JSONL file.

    ValueError naming the file and line when a line is not a JSON object with `fields`.
    """
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: invalid JSON: {error.msg}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: a line must be a JSON object")
        for name in fields:
            if name not in row:
                raise ValueError(f"{path}:{number}: missing field {name!r}")
        rows.append((number, row))
    return rows


_NUMBER_SIGN = re.compile(r"\bn(?:°|o\.?)\s*(?=\d)")  # `Action n° 3` is `Action 3`


def section_keys_match(ours: str, gold: str) -> bool:
    """True when a section key of ours names the gold section: the same key, or a letter or
    roman number that the parser qualified with its parent's (`Axe 1.A`, `II.B`) where the
    gold cites it as printed (`A`).

    >>> section_keys_match("Axe 1.A", "a"), section_keys_match("2.8.1", "1"), section_keys_match("Action 3", "Action n° 3")
    (True, False, True)
    """
    ours, gold = _NUMBER_SIGN.sub("", match_key(ours)), _NUMBER_SIGN.sub("", match_key(gold))
    if ours == gold:
        return True
    head, _, last = ours.rpartition(".")
    return bool(head) and last.isalpha() and last == gold


def document_file(corpus_dir: Path, doc: str) -> Path:
    """The page of `corpus_dir` a gold line names by its document name (no extension)."""
    for suffix in _SUFFIXES:
        candidate = corpus_dir / f"{doc}{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{corpus_dir}: no page named {doc} ({', '.join(_SUFFIXES)}) for the gold document")


def parse_gold_document(corpus_dir: Path, doc: str, unreadable: list[dict]):
    """The parsed page a gold line names, or None when ingest cannot read it: the page then
    counts as found nothing (a page lost at ingest), and `unreadable` gets its error."""
    try:
        return parse_file(document_file(corpus_dir, doc))
    except IngestError as exc:
        unreadable.append({"doc": doc, "error": str(exc)})
        return None

