"""Aggregate figures of the blind set's evals, never its gold: what docs/quality.md quotes.

    python scripts/blind_summary.py PREFIX   # reads PREFIX.{tuned,heldout}.{structure,entities,search,link}.json

The JSON files are what `hpkg eval structure|entities|search|link --json` print (see
tests/data/blind/README.md for the commands). Per-query and per-mention lines are left out on
purpose: whoever changes the code reads figures, not the gold.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def summary(prefix: str, split: str) -> list[str]:
    def load(kind):
        return json.loads(Path(f"{prefix}.{split}.{kind}.json").read_text(encoding="utf-8"))

    structure, entities, search, link = (load(k) for k in ("structure", "entities", "search", "link"))
    lines = [f"## {split}",
             f"structure: {structure['sections']} sections, recall {structure['recall']}, "
             f"parent accuracy {structure['parent_accuracy']}, extra {structure['extra_sections']}"]
    if structure.get("unreadable"):
        lines.append(f"unreadable at ingest: {len(structure['unreadable'])} page(s), every section and mention missed")
    if split == "tuned":  # where the tuned part's structure is lost, page by page (counts only)
        lines += [f"  {d['doc']}: found {d['found']}/{d['gold']}, parent {d['parent']}" for d in structure["per_doc"]]
    by_type = " ".join(f"{kind} {counts['recall']}" for kind, counts in entities["by_type"].items())
    lines.append(f"entities: overall {entities['overall']['recall']} ({entities['overall']['found']}/"
                 f"{entities['overall']['gold']}); {by_type}; extracted {entities['extracted']}")
    for mode, means in search["means"].items():
        zero = sum(1 for q in search["per_query"] if q[mode]["mrr"] == 0)
        lines.append(f"search {mode}: nDCG@10 {means['ndcg@10']} MRR {means['mrr']} Recall@5 {means['recall@5']}; "
                     f"{zero}/{search['queries']} without a relevant hit in the top 10")
    lines.append(f"link: hit@3 {link['hit@3']} MRR {link['mrr']} ({link['cases']} cases)")
    return lines


if __name__ == "__main__":
    for split in ("tuned", "heldout"):
        if Path(f"{sys.argv[1]}.{split}.search.json").exists():  # blind2 has a held-out part only
            print("\n".join(summary(sys.argv[1], split)))
