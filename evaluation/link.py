"""`hpkg eval link GOLD.jsonl`: hit@3 and MRR of the suggestions over gold projects."""
from __future__ import annotations

from evaluation.gold import read_jsonl, section_keys_match
from pipeline.link import suggest


def read_gold(path) -> list[dict]:
    """Gold projects of a JSONL file; ValueError naming the file, line and field when malformed."""
    cases = []
    for number, case in read_jsonl(path, ("id", "project", "expect")):
        if not case["expect"] or not all("doc" in e and "section" in e for e in case["expect"]):
            raise ValueError(f"{path}:{number}: 'expect' must list objects with 'doc' and 'section'")
        cases.append(case)
    return cases


def _same_section(suggestion: dict, expected: dict) -> bool:
    return suggestion["doc"] == expected["doc"] and section_keys_match(suggestion["section"], expected["section"])


def eval_link(gold_path, store, settings, k: int = 10) -> dict:
    """hit@3 and MRR (first expected section) over the gold projects, with each case's ranks."""
    cases = read_gold(gold_path)
    rows = []
    for case in cases:
        suggestions = suggest(store, settings, case["project"], k=k)["suggestions"]
        rank = next((s["rank"] for s in suggestions if any(_same_section(s, e) for e in case["expect"])), None)
        rows.append({"id": case["id"], "rank": rank,
                     "top": [f"{s['doc']} § {s['section']}" for s in suggestions[:3]]})
    n = len(rows) or 1
    return {
        "gold": str(gold_path), "cases": len(rows),
        "hit@3": round(sum(1 for r in rows if r["rank"] and r["rank"] <= 3) / n, 4),
        "mrr": round(sum(1 / r["rank"] for r in rows if r["rank"]) / n, 4),
        "per_case": rows,
    }


def format_link_report(report: dict) -> str:
    lines = [f"{report['gold']}: {report['cases']} projects  hit@3 {report['hit@3']:.3f}  MRR {report['mrr']:.3f}"]
    for row in report["per_case"]:
        rank = row["rank"] if row["rank"] else "-"
        lines.append(f"  {row['id']:<8} rank {rank:<3} top: {' | '.join(row['top'])}")
    return "\n".join(lines)
