"""When does a query have an answer in this index? A no-answer decision calibrated on the index.

A fixed cosine floor does not carry from one corpus to another: e5 cosines crowd into a narrow
band whose place depends on the corpus, so a floor tuned on one plan drops real questions on the
next. Two facts of the index itself replace it:

- the passages' centroid `c`: `v · c` is the query's mean cosine over every passage, exactly and
  in O(dim) whatever the index size. A passage more similar than that mean is above average
  for this query; anything less is noise whatever its absolute cosine;
- how on-topic an in-domain question is: the section titles of the index, embedded as queries,
  are pseudo-questions about the plan. A query whose mean cosine lies more than
  `SIGMAS` standard deviations below theirs is not about this plan (« recette de la tarte aux
  pommes »): only word evidence can then bring its hits in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIGMAS = 3.0  # the usual "far outside the in-domain spread" distance
MIN_SPREAD = 0.01  # floor on the titles' spread: a corpus of two titles has almost none
MAX_TITLES = 256  # pseudo-questions embedded at build time (evenly drawn from the sorted titles)
FILE = "calibration.json"
# The titles' query vectors of the last build, by title and model: a rebuild (an ingest of a few
# pages) embeds only the titles it has not seen (embedding is deterministic, whatever the batch).
QUERY_CACHE = "title_vectors.npz"


@dataclass(frozen=True)
class Calibration:
    centroid: np.ndarray  # mean of the unit passage vectors (not renormalised)
    on_topic_floor: float  # least mean cosine of a query about this plan
    titles: int  # how many pseudo-questions the floor comes from

    def mean_cosine(self, vector: np.ndarray) -> float:
        """The query's mean cosine over all the index's passages."""
        return float(np.dot(vector.reshape(-1), self.centroid))

    def on_topic(self, vector: np.ndarray) -> bool:
        return self.mean_cosine(vector) >= self.on_topic_floor

    def save(self, folder: Path) -> None:
        payload = {"centroid": [float(x) for x in self.centroid], "on_topic_floor": self.on_topic_floor,
                   "titles": self.titles, "sigmas": SIGMAS}
        (folder / FILE).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Calibration:
        payload = json.loads((folder / FILE).read_text(encoding="utf-8"))
        return cls(np.asarray(payload["centroid"], dtype=np.float32), float(payload["on_topic_floor"]),
                   int(payload["titles"]))


def calibrate(vectors: np.ndarray, titles: list[str], embed_queries) -> Calibration:
    """The calibration of an index of unit `vectors`, from its section `titles`.

    >>> unit = np.eye(3, dtype=np.float32)
    >>> cal = calibrate(unit, ["a", "b"], lambda texts: np.tile(unit[0], (len(texts), 1)))
    >>> round(cal.mean_cosine(unit[0]), 3), round(cal.on_topic_floor, 3), cal.on_topic(unit[1] * 0)
    (0.333, 0.303, False)
    """
    centroid = vectors.mean(axis=0).astype(np.float32) if len(vectors) else np.zeros(0, np.float32)
    unique = sorted(set(titles))
    if len(unique) > MAX_TITLES:
        step = len(unique) / MAX_TITLES
        unique = [unique[int(i * step)] for i in range(MAX_TITLES)]
    if not unique or not len(vectors):
        return Calibration(centroid, float("-inf"), 0)
    means = np.asarray(embed_queries(unique)).reshape(len(unique), -1) @ centroid
    spread = max(float(means.std()), MIN_SPREAD)
    return Calibration(centroid, float(means.mean()) - SIGMAS * spread, len(unique))


class CachedQueries:
    """`embed_queries` that reuses the vectors of `known` (title -> vector, same model) and
    records every vector it returns in `seen`, for `save_query_vectors`."""

    def __init__(self, embed_queries, known: dict[str, np.ndarray] | None = None):
        self._embed, self.known, self.seen = embed_queries, dict(known or {}), {}
        self.embedded = 0  # how many texts went to the model

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.known})
        if todo:
            fresh = np.asarray(self._embed(todo), dtype=np.float32).reshape(len(todo), -1)
            self.known.update(zip(todo, fresh))
            self.embedded += len(todo)
        rows = [self.known[t] for t in texts]
        self.seen.update(zip(texts, rows))
        return np.vstack(rows) if rows else np.zeros((0, 0), np.float32)


def save_query_vectors(folder: Path, model: str, vectors: dict[str, np.ndarray]) -> None:
    titles = sorted(vectors)
    matrix = np.vstack([vectors[t] for t in titles]).astype(np.float32) if titles else np.zeros((0, 0), np.float32)
    with open(folder / QUERY_CACHE, "wb") as out:  # a file object: np.savez would add ".npz" to a name
        np.savez(out, model=np.array(model), titles=np.array(titles, dtype=str), vectors=matrix)


def load_query_vectors(folder: Path, model: str) -> dict[str, np.ndarray]:
    """The cached title vectors of `folder` for `model`; empty when absent, unreadable or of
    another model (the caller has checked the folder's checksums)."""
    try:
        with np.load(folder / QUERY_CACHE, allow_pickle=False) as data:
            if str(data["model"]) != model:
                return {}
            return dict(zip((str(t) for t in data["titles"]), data["vectors"]))
    except (OSError, ValueError, KeyError):
        return {}
