"""The import rule of docs/architecture.md, checked on the source (AST, every import, also the
ones inside functions):

    top floor   search_api, pipeline, evaluation   (compose ingest and kg)
                   |            |
    middle      ingest         kg                   (never import each other)
                   \\          /
    bottom         ontology                        (imports no other project package)

A package imports only itself and the floors below it; on the top floor `search_api` may use
`pipeline` and `evaluation`, `evaluation` may use `pipeline`, `pipeline` neither. Below the top
floor nothing imports the web or the terminal (click, flask, werkzeug, jinja2, gunicorn), `kg`
draws no progress bars (tqdm), and no runtime module imports a build script of the ontology.
There is no import cycle between modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> project packages it may import
ALLOWED = {
    "ontology": {"ontology"},
    "ingest": {"ontology", "ingest"},
    "kg": {"ontology", "kg"},
    "pipeline": {"ontology", "ingest", "kg", "pipeline"},
    "evaluation": {"ontology", "ingest", "kg", "pipeline", "evaluation"},
    "search_api": {"ontology", "ingest", "kg", "pipeline", "evaluation", "search_api"},
}
WEB_AND_TERMINAL = {"click", "flask", "werkzeug", "jinja2", "gunicorn"}
FORBIDDEN_LIBRARIES = {
    "ontology": WEB_AND_TERMINAL,
    "ingest": WEB_AND_TERMINAL,
    "kg": WEB_AND_TERMINAL | {"tqdm"},
}
# Scripts that generate files of ontology/ (run by hand or `make`), not runtime modules.
BUILD_SCRIPTS = {"ontology.build", "ontology.vocab_build", "ontology.diagram"}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project packages."""
    found = {}
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in the file, relative ones resolved; for
    `from package import name` the submodule when `package.name` is one of `known`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((node.lineno, submodule if submodule in known else target))
    return sorted(set(found))


def violations() -> list[str]:
    table = modules()
    problems = []
    for name, path in table.items():
        package = name.split(".")[0]
        where = path.relative_to(ROOT)
        for line, target in imports_of(name, path, set(table)):
            top = target.split(".")[0]
            if top in ALLOWED and top not in ALLOWED[package]:
                problems.append(f"{where}:{line}: {package} imports {target}")
            elif top in FORBIDDEN_LIBRARIES.get(package, ()):
                problems.append(f"{where}:{line}: {package} imports {top}")
            elif target in BUILD_SCRIPTS and package != "ontology":
                problems.append(f"{where}:{line}: imports the build script {target}")
    return sorted(set(problems))


def import_graph() -> dict[str, set[str]]:
    table = modules()
    graph = {}
    for name, path in table.items():
        targets = set()
        for _, target in imports_of(name, path, set(table)):
            if target in table and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(result)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from ingest.mentions import extract_mentions\n    from . import store\n")
    assert imports_of("kg.m", source, {"kg.store"}) == [(2, "ingest.mentions"), (3, "kg.store")]


def test_every_import_follows_the_layer_rule():
    problems = violations()
    assert not problems, "imports against the layer rule (docs/architecture.md):\n" + "\n".join(problems)


def test_no_import_cycle_between_modules():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_package_has_modules(package):
    assert any(name.split(".")[0] == package for name in modules()), f"{package}/ is missing"
