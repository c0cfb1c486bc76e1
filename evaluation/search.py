"""`hpkg eval search GOLD.jsonl`: nDCG@10 (graded), MRR and Recall@5 over sections for dense
only, lexical only and the default hybrid search, side by side (rules: ../shared/eval/README.md).

Gold lines: {"id", "query", "relevant": [{"doc", "section", "grade"}]}; a section is matched on
its document and key (printed number, else title) with apostrophes and spaces normalised.
"""
from __future__ import annotations

import math

from evaluation.gold import read_jsonl, section_keys_match
from kg.embeddings import model_id
from kg.index import load_index, open_index
from kg.search import query_vector, search_store
from kg.store import open_store
from ontology.textkeys import match_key

MODES = ("dense", "lexical", "hybrid")
MEASURES = ("ndcg@10", "mrr", "recall@5")


def read_gold(path) -> list[dict]:
    """The gold queries; ValueError naming the file, line and field when one is malformed."""
    queries = []
    for number, row in read_jsonl(path, ("id", "query", "relevant")):
        for rel in row["relevant"]:
            if not {"doc", "section"} <= set(rel):
                raise ValueError(f"{path}:{number}: relevant entries need doc and section")
        queries.append(row)
    return queries


def measure(ranked: list[tuple[str, str]], relevant: list[dict]) -> dict[str, float]:
    """nDCG@10 (gain 2^grade - 1), reciprocal rank of the first relevant section, Recall@5.

    >>> measure([("d", "2"), ("d", "1")], [{"doc": "d", "section": "1", "grade": 2}])
    {'ndcg@10': 0.6309, 'mrr': 0.5, 'recall@5': 1.0}
    """
    grades = {(r["doc"], match_key(str(r["section"]))): int(r.get("grade", 1)) for r in relevant}
    keys = [_gold_key(doc, section, grades) for doc, section in ranked]
    seen: set = set()
    unique = [key for key in keys if not (key in seen or seen.add(key))]  # a section counts once
    dcg = sum((2 ** grades.get(key, 0) - 1) / math.log2(i + 2) for i, key in enumerate(unique[:10]))
    ideal = sorted(grades.values(), reverse=True)[:10]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    first = next((i for i, key in enumerate(unique, start=1) if grades.get(key, 0) > 0), None)
    found = sum(1 for key in unique[:5] if grades.get(key, 0) > 0)
    wanted = sum(1 for g in grades.values() if g > 0)
    return {
        "ndcg@10": round(dcg / idcg, 4) if idcg else 0.0,
        "mrr": round(1 / first, 4) if first else 0.0,
        "recall@5": round(found / wanted, 4) if wanted else 0.0,
    }


def _gold_key(doc: str, section: str, grades: dict) -> tuple[str, str]:
    """The gold key our section answers to (`Axe 1.A` answers to a gold `A`), else its own."""
    return next((key for key in grades if key[0] == doc and section_keys_match(section, key[1])),
                (doc, match_key(section)))


def eval_search(gold, settings: dict, store=None, index=None) -> dict:
    """Run every gold query in each mode; means per mode and the per-query figures.

    The saved index is used as is; the store is opened only when the index must be built.
    """
    queries = read_gold(gold)
    if index is None:
        index = _saved_index(settings)
    if index is None:
        if store is None:
            with open_store(settings["data_dir"], backend=settings["store"]) as opened:
                return eval_search(gold, settings, store=opened)
        index = open_index(store, settings)
    per_query = []
    for row in queries:
        entry = {"id": row["id"], "query": row["query"]}
        vector = query_vector(index, row["query"])  # embedded once for the three modes
        for mode in MODES:
            hits = search_store(store, settings, row["query"], k=10, mode=mode, index=index, vector=vector)["hits"]
            entry[mode] = measure([(h["doc"], h["section"]) for h in hits], row["relevant"])
            entry[mode]["top"] = [f"{h['doc']} § {h['section']}" for h in hits[:3]]
        per_query.append(entry)
    means = {
        mode: {m: round(sum(q[mode][m] for q in per_query) / max(len(per_query), 1), 4) for m in MEASURES}
        for mode in MODES
    }
    return {"gold": str(gold), "queries": len(per_query), "model": index.manifest.get("model"),
            "means": means, "per_query": per_query}


def _saved_index(settings: dict):
    """The saved index when it was built with the configured model, else None."""
    try:
        index = load_index(settings)
    except FileNotFoundError:
        return None
    return index if index.manifest.get("model") == model_id(settings["embedding_model"]) else None


def format_search_report(report: dict) -> str:
    """The means as a table (modes side by side), then each query's nDCG@10 per mode."""
    lines = [f"{report['gold']}: {report['queries']} queries, model {report['model']}", ""]
    lines.append(f"{'measure':<10}" + "".join(f"{mode:>10}" for mode in MODES))
    for measure_name in MEASURES:
        lines.append(f"{measure_name:<10}" + "".join(f"{report['means'][mode][measure_name]:>10.3f}" for mode in MODES))
    lines += ["", "nDCG@10 per query (dense / lexical / hybrid):"]
    for q in report["per_query"]:
        figures = " / ".join(f"{q[mode]['ndcg@10']:.2f}" for mode in MODES)
        lines.append(f"  {q['id']:<6} {figures}  {q['query']}")
    return "\n".join(lines)
