"""Split a blind set written all held-out into tuned and held-out parts, by page, without
printing its gold (docs/quality.md; the rule is in each set's README).

    python scripts/split_blind.py tests/data/blind4

The page files sorted by name: every other one from the first goes to `tuned`, the others
stay `held-out`. A search query or project goes to held-out when any page it points to is
held-out (corpus pages do not count), else to tuned. Reads gold/heldout/*.jsonl, writes
gold/tuned/ and rewrites gold/heldout/; prints counts only.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PAGE_SUFFIXES = {".html", ".htm", ".txt", ".xhtml"}


def page_docs(pages: Path) -> list[str]:
    """The docs (file names without extension) of the set's pages, their file names sorted."""
    return [Path(name).stem for name in sorted(p.name for p in pages.iterdir() if p.suffix in PAGE_SUFFIXES)]


def goes_to_tuned(row: dict, tuned: set[str], blind_docs: set[str]) -> bool:
    if "doc" in row:  # structure, entities: one page each
        return row["doc"] in tuned
    pointed = {item["doc"] for item in row.get("relevant", row.get("expect", []))} & blind_docs
    return pointed <= tuned


def main(folder: Path) -> None:
    pages = folder / "pages"
    docs = page_docs(pages)
    tuned, blind_docs = set(docs[::2]), set(docs)
    heldout_dir, tuned_dir = folder / "gold" / "heldout", folder / "gold" / "tuned"
    tuned_dir.mkdir(exist_ok=True)
    print("tuned pages:", ", ".join(sorted(tuned)))
    for path in sorted(heldout_dir.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        parts = {True: [], False: []}
        for row in rows:
            parts[goes_to_tuned(row, tuned, blind_docs)].append(row)
        for is_tuned, out in ((True, tuned_dir / path.name), (False, path)):
            out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in parts[is_tuned]),
                           encoding="utf-8")
        print(f"{path.name}: {len(parts[True])} tuned, {len(parts[False])} held-out")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
