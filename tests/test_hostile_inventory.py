"""The inventory of routes and parameters (tests/hostile_support.py) matches the app: a new route,
or a method added to one, fails here until its parameters and where they go are listed, so that
the injection, XSS, traversal and body tests cover it."""
from __future__ import annotations

from search_api import create_app
from tests.hostile_support import INVENTORY, SPARQL_REACHING

SINKS = {"sparql", "html", "store", "file", "none"}
WHERE = {"path", "query", "form", "json", "multipart", "body", "header"}


def _routes(tmp_path) -> dict[str, set[str]]:
    app = create_app({"data_dir": str(tmp_path), "secret_key": "inventory"})
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        routes.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_every_route_is_in_the_inventory_with_its_methods(tmp_path):
    routes = _routes(tmp_path)
    assert set(routes) - set(INVENTORY) == set(), "routes missing from tests/hostile_support.py INVENTORY"
    assert set(INVENTORY) - set(routes) == set(), "INVENTORY lists routes the app no longer has"
    for rule, methods in routes.items():
        assert INVENTORY[rule]["methods"] == methods, rule


def test_every_parameter_says_where_it_comes_from_and_goes(tmp_path):
    for rule, entry in INVENTORY.items():
        for name, (where, sinks) in entry["params"].items():
            assert where in WHERE and sinks and sinks <= SINKS, (rule, name)
            if where == "path":
                assert f"<{name}>" in rule or f":{name}>" in rule, (rule, name)
    # every parameter that reaches a query is attacked by test_hostile_sparql.py
    attacked = {url.split("?")[0].replace("{}", "") for _, url, _ in SPARQL_REACHING}
    for rule, entry in INVENTORY.items():
        if any("sparql" in sinks for _, sinks in entry["params"].values()):
            base = rule.split("<")[0]
            assert any(a == base or a.startswith(base) for a in attacked), rule
