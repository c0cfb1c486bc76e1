"""The load benchmark's search texts: at least half of them new to the query cache."""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from query_texts import SearchTexts, fresh_questions, title_words  # noqa: E402

from ontology.vocab import concept_table  # noqa: E402

GOLD = [json.loads(line)["query"] for path in (ROOT.parent / "shared/eval/dev/search.jsonl",
                                               ROOT / "tests/data/eval/search_paraphrase.jsonl")
        if path.is_file() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
LABELS = sorted({label for row in concept_table() for label in [row.pref_label, *row.alt_labels]})
WORDS = title_words(["Améliorer les parcours des personnes âgées", "Offre médico-sociale ambulatoire",
                     "Coordonner les acteurs du domicile"])


def test_generated_questions_are_distinct_seeded_and_not_gold():
    first = fresh_questions(random.Random(14), LABELS, WORDS, 2000, exclude=set(GOLD))
    assert first == fresh_questions(random.Random(14), LABELS, WORDS, 2000, exclude=set(GOLD))
    assert len(set(first)) == 2000 and not set(first) & set(GOLD)
    assert first != fresh_questions(random.Random(15), LABELS, WORDS, 2000, exclude=set(GOLD))


def test_at_least_half_the_searches_miss_a_1024_entry_cache():
    """Simulate the run's searches against an LRU cache of 1024 texts (kg.search's per-worker
    query-embedding cache): with fresh_share 0.5, at least half are misses."""
    from collections import OrderedDict

    gold = GOLD or ["personnes âgées"]
    texts = SearchTexts(gold, fresh_questions(random.Random(14), LABELS, WORDS, 3000, exclude=set(gold)), 0.5)
    rng, cache, misses, fresh_count = random.Random(3), OrderedDict(), 0, 0
    for _ in range(4000):
        text, fresh = texts.draw(rng)
        fresh_count += fresh
        if text in cache:
            cache.move_to_end(text)
        else:
            misses += 1
            cache[text] = True
            if len(cache) > 1024:
                cache.popitem(last=False)
    assert misses / 4000 >= 0.5 and fresh_count / 4000 >= 0.45
