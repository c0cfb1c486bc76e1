"""`hpkg eval structure GOLD.jsonl`: the section tree of each page against gold."""
from __future__ import annotations

from pathlib import Path

from evaluation.gold import parse_gold_document, read_jsonl, section_keys_match
from ontology.textkeys import match_key


def eval_structure(gold_path: Path, corpus_dir: Path) -> dict:
    """Section tree against gold: share of gold sections found (by printed number, else title),
    with the right title and the right parent; parsed sections the gold lacks, for precision.

    Gold: one page a line, `{"doc", "sections": [{"number", "title", "parent"}]}` with `parent`
    the parent's number, or its title when it has none (null at the top of the plan).
    """
    totals = {"gold": 0, "found": 0, "title": 0, "parent": 0, "extra": 0}
    per_doc, unreadable = [], []
    for _, entry in read_jsonl(Path(gold_path), ("doc", "sections")):
        document = parse_gold_document(Path(corpus_dir), entry["doc"], unreadable)
        sections = document.sections if document else []  # a page ingest cannot read has none
        parsed = [s for s in sections if not s.from_breadcrumb]
        by_key = {s.key: s for s in sections}
        counts = {"doc": entry["doc"], "gold": 0, "found": 0, "title": 0, "parent": 0}
        used = set()
        for wanted in entry["sections"]:
            counts["gold"] += 1
            key = wanted.get("number") or wanted["title"]
            section = next((s for s in parsed if id(s) not in used and section_keys_match(s.key, key)), None)
            if section is None:
                continue
            used.add(id(section))
            counts["found"] += 1
            counts["title"] += match_key(section.title) == match_key(wanted["title"])
            parent = by_key.get(section.parent) if section.parent else None
            parent_keys = [parent.key, parent.title] if parent else []
            gold_parent = wanted.get("parent")
            counts["parent"] += (any(section_keys_match(k, gold_parent) for k in parent_keys) if gold_parent
                                 else parent is None or parent.from_breadcrumb or _is_page_heading(parent, document))
        counts["extra"] = len([s for s in parsed if id(s) not in used and not _is_page_heading(s, document)])
        per_doc.append(counts)
        for name in totals:
            totals[name] += counts[name]
    gold = totals["gold"] or 1
    return {"gold": str(gold_path), "documents": len(per_doc),
            "sections": totals["gold"], "recall": round(totals["found"] / gold, 3),
            "title_accuracy": round(totals["title"] / gold, 3), "parent_accuracy": round(totals["parent"] / gold, 3),
            "extra_sections": totals["extra"], "unreadable": unreadable, "per_doc": per_doc}


def _is_page_heading(section, document) -> bool:
    """The page's own title as the root of its tree, at the top or under the breadcrumb's
    entries (outside the body): the gold counts body headings only."""
    crumbs = {s.key for s in document.sections if s.from_breadcrumb}
    at_top = section.parent is None or section.parent in crumbs
    return at_top and not section.from_breadcrumb and match_key(section.title) == match_key(document.title or "")
