"""Entity extraction against gold data: recall per type, and what was found beyond the gold.

Gold (`../shared/eval/dev/entities.jsonl`): one document a line,
`{"doc": "000_...", "mentions": [{"type": "actor", "text": "EHPAD"}, ...]}`. A gold mention
is found when the extraction of that document has an entity of the same type whose surface
text, or one of its concept's labels, equals, contains or is contained in the gold text after
lower-casing, collapsing white space and unifying apostrophes (at least 3 characters matched).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from evaluation.gold import parse_gold_document, read_jsonl
from ingest.model import ENTITY_TYPES, Mention
from ingest.mentions import extract_mentions
from ontology.vocab import concept_table



def normalise(text: str) -> str:
    """`L’ARS  Paca` -> `l'ars paca`: the comparison form of the gold rule."""
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().lower()


def texts_match(a: str, b: str) -> bool:
    """Equal, or one contains the other, on normalised text, with >= 3 characters matched."""
    a, b = normalise(a), normalise(b)
    shorter = a if len(a) <= len(b) else b
    return len(shorter) >= 3 and (a == b or a in b or b in a)


def read_gold(path: Path) -> list[dict]:
    """Gold lines, checked; a bad line raises ValueError naming the file and line."""
    documents = []
    for number, entry in read_jsonl(path, ("doc",)):
        if not isinstance(entry["doc"], str):
            raise ValueError(f"{path}:{number}: a line needs a string 'doc'")
        for mention in entry.get("mentions", []):
            if mention.get("type") not in ENTITY_TYPES or not isinstance(mention.get("text"), str):
                raise ValueError(f"{path}:{number}: mention {mention!r} needs 'text' and a 'type' in {ENTITY_TYPES}")
        documents.append(entry)
    return documents


def _names(mention: Mention, labels_of: dict[str, tuple[str, ...]]) -> list[str]:
    """The surface text and the concept's labels: what the gold rule compares."""
    names = [mention.text]
    if mention.concept in labels_of:
        names.extend(labels_of[mention.concept])
    elif mention.label:
        names.append(mention.label)
    return names


def eval_entities(gold_path: Path, corpus_dir: Path) -> dict:
    """Recall per type and overall on a gold file; extras listed for precision review."""
    gold = read_gold(Path(gold_path))
    corpus_dir = Path(corpus_dir)
    labels_of = {concept.iri: concept.labels for concept in concept_table()}
    by_type = {kind: {"gold": 0, "found": 0} for kind in ENTITY_TYPES}
    missed, extra, unreadable = [], [], []
    extracted = 0
    started = time.perf_counter()
    for entry in gold:
        document = parse_gold_document(corpus_dir, entry["doc"], unreadable)
        mentions = extract_mentions(document) if document else []
        extracted += len(mentions)
        for wanted in entry.get("mentions", []):
            counts = by_type[wanted["type"]]
            counts["gold"] += 1
            if any(
                m.type == wanted["type"] and any(texts_match(name, wanted["text"]) for name in _names(m, labels_of))
                for m in mentions
            ):
                counts["found"] += 1
            else:
                missed.append({"doc": entry["doc"], **wanted})
        seen = set()
        for m in mentions:
            if any(
                m.type == wanted["type"] and any(texts_match(name, wanted["text"]) for name in _names(m, labels_of))
                for wanted in entry.get("mentions", [])
            ):
                continue
            key = (m.type, normalise(m.text))
            if key not in seen:
                seen.add(key)
                extra.append({"doc": entry["doc"], "type": m.type, "text": m.text, "label": m.label, "method": m.method, "candidate": m.candidate})
    for counts in by_type.values():
        counts["recall"] = round(counts["found"] / counts["gold"], 3) if counts["gold"] else None
    total_gold = sum(c["gold"] for c in by_type.values())
    total_found = sum(c["found"] for c in by_type.values())
    return {
        "gold": str(gold_path),
        "documents": len(gold),
        "overall": {"gold": total_gold, "found": total_found, "recall": round(total_found / total_gold, 3) if total_gold else None},
        "by_type": by_type,
        "extracted": extracted,
        "missed": missed,
        "extra": extra,
        "unreadable": unreadable,
        "seconds": round(time.perf_counter() - started, 2),
    }


def format_entity_report(report: dict) -> str:
    """The report as text: a recall table, the misses, then the extras for review."""
    lines = [f"Entities on {report['gold']} ({report['documents']} documents, {report['extracted']} extracted, {report['seconds']} s)"]
    lines.append(f"{'type':<12}{'gold':>6}{'found':>7}{'recall':>8}")
    for kind, counts in report["by_type"].items():
        recall = "-" if counts["recall"] is None else f"{counts['recall']:.3f}"
        lines.append(f"{kind:<12}{counts['gold']:>6}{counts['found']:>7}{recall:>8}")
    overall = report["overall"]
    recall = "-" if overall["recall"] is None else f"{overall['recall']:.3f}"
    lines.append(f"{'overall':<12}{overall['gold']:>6}{overall['found']:>7}{recall:>8}")
    if report["unreadable"]:
        lines.append(f"\nUnreadable, every mention missed ({len(report['unreadable'])}):")
        lines.extend(f"  {u['doc']}: {u['error']}" for u in report["unreadable"])
    lines.append(f"\nMissed ({len(report['missed'])}):")
    lines.extend(f"  {m['doc']}  {m['type']:<10} {m['text']}" for m in report["missed"])
    lines.append(f"\nBeyond the gold ({len(report['extra'])}, review for precision):")
    for m in report["extra"]:
        flag = " [candidate]" if m["candidate"] else ""
        lines.append(f"  {m['doc']}  {m['type']:<10} {m['text']}  -> {m['label']} ({m['method']}){flag}")
    return "\n".join(lines)
