"""Locust user for benchmarks/load.py: the request mix of one commission member or analyst.

Not run on its own: load.py writes the pools (queries, section and entity paths, SPARQL texts)
to a JSON file and passes its path in HPKG_LOAD_POOLS, the think time in HPKG_LOAD_THINK_S as
MIN-MAX seconds (0-0 = closed loop: each user sends its next request as soon as the last one is
answered).
Each request is named by its kind, so locust's statistics come out per kind. Searches come in
two kinds each: `search_api` / `search_page` send a gold query (repeated: answered by the
query-embedding cache once warm), `search_api_new` / `search_page_new` a generated question used
once in the run (benchmarks/query_texts.py: never cached); HPKG_LOAD_FRESH is the share of new
ones (default 0.5).
"""
from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from locust import FastHttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from query_texts import SearchTexts  # noqa: E402

POOLS = json.loads(open(os.environ["HPKG_LOAD_POOLS"], encoding="utf-8").read())
THINK_S = [float(x) for x in os.environ.get("HPKG_LOAD_THINK_S", "0-0").split("-")]
TIMEOUT_S = float(os.environ.get("HPKG_LOAD_TIMEOUT_S", "30"))
KINDS = ("search_api", "search_api_new", "search_page", "search_page_new", "orientation", "entity", "plan",
         "sparql_named", "sparql_select", "health")
# One source for every user of this process: a new question is never sent twice.
TEXTS = SearchTexts(POOLS["queries"], POOLS["fresh_queries"], float(os.environ.get("HPKG_LOAD_FRESH", "0.5")))


class PlanReader(FastHttpUser):
    """Weights: searches (API and page) and orientation pages dominate, as for the commission's
    members; entity pages, the plan tree and SPARQL (analysts) less often; /health as a probe."""

    wait_time = between(*THINK_S)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S

    _started = itertools.count()

    def on_start(self):
        self.rng = random.Random()
        # The n-th user starts with the n-th kind, then draws by weight: with as many users as
        # kinds, every kind is hit even in a run of a few seconds (the smoke test).
        getattr(self, KINDS[next(self._started) % len(KINDS)])()

    def _get(self, path: str, kind: str, **kwargs):
        with self.client.get(path, name=kind, catch_response=True, **kwargs) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif not response.content:
                response.failure("empty body")

    @task(4)
    def search_api(self):
        query, fresh = TEXTS.draw(self.rng)
        self._get("/api/search?" + urlencode({"q": query, "k": 10}), "search_api_new" if fresh else "search_api")

    def search_api_new(self):  # the first request of a user (on_start), then drawn as above
        self._get("/api/search?" + urlencode({"q": TEXTS.next_fresh(), "k": 10}), "search_api_new")

    @task(2)
    def search_page(self):
        query, fresh = TEXTS.draw(self.rng)
        self._get("/search?" + urlencode({"q": query}), "search_page_new" if fresh else "search_page")

    def search_page_new(self):
        self._get("/search?" + urlencode({"q": TEXTS.next_fresh()}), "search_page_new")

    @task(3)
    def orientation(self):
        self._get("/orientation/" + quote(self.rng.choice(POOLS["sections"])), "orientation")

    @task(2)
    def entity(self):
        self._get("/entite/" + quote(self.rng.choice(POOLS["entities"])), "entity")

    @task(1)
    def plan(self):
        self._get("/plan", "plan")

    @task(1)
    def sparql_named(self):
        self._sparql(self.rng.choice(POOLS["named_queries"]), "sparql_named")

    @task(1)
    def sparql_select(self):
        self._sparql(self.rng.choice(POOLS["selects"]), "sparql_select")

    @task(1)
    def health(self):
        self._get(POOLS["health"][0], "health")

    def _sparql(self, text: str, kind: str):
        # POST form-encoded, as SPARQL clients (SPARQLWrapper, YASGUI) send longer queries.
        with self.client.post("/sparql", data=urlencode({"query": text}), name=kind, catch_response=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Accept": "application/sparql-results+json"}) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif b'"results"' not in response.content and b'"boolean"' not in response.content:
                response.failure("no SPARQL results in the body")  # SELECT: results, ASK: boolean
