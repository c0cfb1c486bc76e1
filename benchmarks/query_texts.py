"""Search texts for the load benchmark: the gold queries (repeated: the query-embedding cache
answers them once warm) and new questions generated from the vocabulary's labels and the
corpus's own title words (seeded; each used once: the cache has never seen them).

    >>> import random
    >>> texts = fresh_questions(random.Random(1), ["EHPAD", "personnes âgées"], ["parcours", "domicile"], 5)
    >>> len(texts) == len(set(texts)) == 5
    True
"""
from __future__ import annotations

import itertools
import random
import re

STARTS = ("quelles actions pour", "comment améliorer", "rôle de", "accès à", "développer",
          "coordination de", "offre de", "place de", "objectifs pour", "financement de",
          "quels dispositifs pour", "renforcer", "prise en charge de", "soutien à")
LINKS = ("pour", "dans", "avec", "et", "auprès de", "en lien avec", "sur le territoire de")
_WORD = re.compile(r"[a-zàâäçéèêëîïôöùûüœ'-]{4,}", re.IGNORECASE)


def title_words(titles: list[str]) -> list[str]:
    """Distinct lower-case words of 4 letters or more of the corpus's section titles, sorted."""
    return sorted({w.lower() for title in titles for w in _WORD.findall(title)})


def fresh_questions(rng: random.Random, labels: list[str], words: list[str], count: int,
                    exclude: set[str] = frozenset()) -> list[str]:
    """`count` distinct French questions built from `labels` (SKOS pref/alt labels) and `words`
    (the corpus's title words), none of them in `exclude` (the gold queries)."""
    labels = sorted(set(labels))
    words = sorted(set(words))
    if not labels or not words:
        raise ValueError("fresh_questions: need vocabulary labels and corpus words")
    forms = (
        lambda: f"{rng.choice(STARTS)} {rng.choice(labels)}",
        lambda: f"{rng.choice(labels)} {rng.choice(LINKS)} {rng.choice(labels)}",
        lambda: f"{rng.choice(STARTS)} {rng.choice(labels)} {rng.choice(LINKS)} {rng.choice(labels)}",
        lambda: f"{rng.choice(words)} {rng.choice(words)} {rng.choice(labels)}",
        lambda: f"{rng.choice(STARTS)} {rng.choice(words)} {rng.choice(LINKS)} {rng.choice(words)}",
    )
    seen, texts = set(exclude), []
    for _ in range(count * 50):
        text = rng.choice(forms)()
        if text not in seen:
            seen.add(text)
            texts.append(text)
            if len(texts) == count:
                return texts
    raise ValueError(f"fresh_questions: only {len(texts)} distinct texts from this vocabulary")


class SearchTexts:
    """What one load run searches: with probability `fresh_share` the next never-used generated
    question, else a gold query (repeated). `fresh` says whether the text was new."""

    def __init__(self, gold: list[str], fresh: list[str], fresh_share: float = 0.5):
        self.gold, self.fresh_share = gold, fresh_share
        self._fresh = iter(fresh)
        self._spare = itertools.count()

    def next_fresh(self) -> str:
        try:
            return next(self._fresh)
        except StopIteration:  # pool used up (a very long run): still new texts, less natural
            return f"question {next(self._spare)} sur l'offre de soins"

    def draw(self, rng: random.Random) -> tuple[str, bool]:
        if rng.random() < self.fresh_share:
            return self.next_fresh(), True
        return rng.choice(self.gold), False
