"""`hpkg`: the command line. Each command is a thin wrapper over a kg/ingest function.

Heavy modules are imported inside the commands so that `hpkg --help` stays instant.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ontology.errors import BadInput, HpkgError
from search_api.settings import load_settings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $HPKG_DATA_DIR, else ./data).",
)


def _settings(data_dir: Path | None) -> dict:
    overrides = {"data_dir": str(data_dir)} if data_dir else {}
    return load_settings(overrides)


def _open_store(settings: dict):
    """The store the settings name (embedded on-disk by default), as a context manager."""
    from kg.store import open_store

    return open_store(settings["data_dir"], backend=settings["store"])


def _print_json(payload) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


class _HpkgGroup(click.Group):
    """Every command: a store that cannot be opened or written is a one-line error (exit 1)."""

    def invoke(self, ctx: click.Context):
        from kg.store import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as error:  # locked by `hpkg serve`, unreachable server, refused update
            raise click.ClickException(str(error)) from error


@click.group(cls=_HpkgGroup)
@click.version_option(package_name="healthpolicy-kg")
def main() -> None:
    """healthpolicy-kg: read a regional health plan by meaning."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@data_dir_option
@click.option("--no-index", is_flag=True, help="Build the graph only, not the search index.")
@click.option("--prune", is_flag=True, help="Remove stored pages that are not among PATHS (the graph mirrors the corpus).")
def ingest(paths: tuple[Path, ...], data_dir: Path | None, no_index: bool, prune: bool) -> None:
    """Corpus files or folders -> graph (+ search index). Exits 1 when any file was skipped."""
    from pipeline.build import ingest_paths

    settings = _settings(data_dir)
    report = ingest_paths(list(paths) or [Path("corpus")], settings, build_index=not no_index, prune=prune)
    click.echo(report.summary())
    if report.skipped:
        sys.exit(1)


@main.command()
@click.argument("url")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the pages and their manifest.toml (then: hpkg ingest DIR).")
@click.option("--max-pages", default=200, show_default=True, type=click.IntRange(1), help="Page cap.")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(0), help="Seconds between requests.")
@click.option("--max-mb", default=5.0, show_default=True, type=click.FloatRange(0, min_open=True), help="Largest page kept.")
@click.option("--prefix", default=None, help="Follow only links whose path starts with this (default: the whole host).")
def crawl(url: str, out: Path, max_pages: int, delay: float, max_mb: float, prefix: str | None) -> None:
    """Save a site's pages (same host, robots.txt, rate limit) into OUT; re-crawls fetch only what changed."""
    from ingest.crawl import CrawlError, crawl as run_crawl

    try:
        report = run_crawl(url, out, max_pages=max_pages, delay_s=delay, max_bytes=int(max_mb * 2**20), prefix=prefix)
    except CrawlError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.summary())
    if not report.saved and not report.unchanged:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the DESIGN.md JSON contract.")
@data_dir_option
def extract(file: Path, as_json: bool, data_dir: Path | None) -> None:
    """Section tree and entities of one page (the size limit is the data directory's settings')."""
    from ingest.errors import IngestError
    from ingest.pipeline import extract_file

    settings = _settings(data_dir)
    try:
        payload = extract_file(file, max_bytes=int(settings["max_file_mb"] * 2**20))
    except IngestError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        _print_json(payload)
        return
    for section in payload["sections"]:
        indent = "  " * max(section["level"] - 1, 0)
        number = f"{section['number']} " if section["number"] else ""
        click.echo(f"{indent}{number}{section['title']}  [{len(section['items'])} items]")
    for entity in payload["entities"]:
        click.echo(f"  {entity['type']:<10} {entity['text']}  -> {entity['label']}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: $HPKG_HOST, else 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(0, 65535), help="Port (default: $HPKG_PORT, else 8000).")
@click.option("--production", is_flag=True,
              help="Serve with gunicorn (worker processes, gthread) instead of Flask's development server.")
@click.option("--workers", default=None, type=click.IntRange(1, 256),
              help="Worker processes, with --production (default: $HPKG_WORKERS, else 2).")
@click.option("--threads", default=None, type=click.IntRange(1, 1024),
              help="Threads per worker, with --production (default: $HPKG_THREADS, else 4).")
@data_dir_option
def serve(host, port, production: bool, workers, threads, data_dir: Path | None) -> None:
    """Serve the web UI, the search API, the SPARQL endpoint and /health."""
    from search_api.logs import configure_logging

    options = {"data_dir": str(data_dir) if data_dir else None, "host": host, "port": port,
               "workers": workers, "threads": threads}
    overrides = {name: value for name, value in options.items() if value is not None}
    try:
        settings = load_settings(overrides)
    except ValueError as error:  # a bad HPKG_* value, named
        raise click.ClickException(str(error)) from error
    if production:
        from search_api.serving import ServeError, run_production

        try:
            run_production(settings)
        except ServeError as error:
            raise click.ClickException(str(error)) from error
        return
    if workers or threads:
        raise click.UsageError("--workers and --threads need --production")
    from search_api import create_app

    try:
        configure_logging(settings["log_format"], settings["log_level"])
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    from search_api.serving import prepare_index

    outcome = prepare_index(settings)  # built here, at start-up: requests never build it
    if "error" in outcome:
        click.echo(f"warning: search index not checked: {outcome['error']}", err=True)
    app = create_app({"data_dir": settings["data_dir"]})
    app.run(host=settings["host"], port=settings["port"], threaded=True)


@main.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, type=int, help="Number of hits.")
@click.option("--json", "as_json", is_flag=True, help="Print the DESIGN.md JSON contract.")
@data_dir_option
def search(query: str, k: int, as_json: bool, data_dir: Path | None) -> None:
    """Orientations that answer a French question."""
    from kg.search import search_store

    settings = _settings(data_dir)
    with _open_store(settings) as store:
        try:
            result = search_store(store, settings, query, k=k)
        except ValueError as error:  # an empty or over-long query, a bad -k: one line naming it
            raise click.ClickException(str(error)) from error
    if as_json:
        _print_json(result)
        return
    if not result["hits"]:
        click.echo("no result")
    for hit in result["hits"]:
        click.echo(f"{hit['rank']:>2}. {hit['score']:.3f}  {hit['doc']} § {hit['section']}  {hit['title']}")
        click.echo(f"    {' > '.join(hit['breadcrumb'])}")


@main.command()
@click.argument("query", required=False)
@click.option("--file", "query_file", type=click.Path(exists=True, path_type=Path), help="Read the query from a .rq file.")
@click.option("--name", help="Run a named query of kg/queries/ (see docs/queries.md).")
@click.option("--param", "params", multiple=True, help="NAME=VALUE, bound into a named query.")
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "json", "csv", "tsv", "xml"]))
@data_dir_option
def sparql(query, query_file, name, params, fmt, data_dir) -> None:
    """Run a SPARQL query (text, file or named query) on the graph."""
    settings = _settings(data_dir)
    for p in params:
        if "=" not in p:
            raise click.BadParameter(f"{p!r}: expected NAME=VALUE", param_hint="--param")
    bindings = dict(p.split("=", 1) for p in params)
    text = query_file.read_text(encoding="utf-8") if query_file else query
    if not text and not name:
        raise click.UsageError("give a QUERY, --file or --name")
    click.echo(run_cli_query(settings, text=text, name=name, params=bindings, fmt=fmt), nl=False)


def run_cli_query(settings: dict, text: str | None = None, name: str | None = None,
                  params: dict | None = None, fmt: str = "table") -> str:
    """What `hpkg sparql` prints: a query (`text`) or a named query (`name` + `params`) run on
    the store of `settings`, in `fmt` (table, json, csv, tsv, xml). Same checks as the endpoint
    (read-only, no SERVICE) but no time limit nor row cap. Errors become click errors (exit 1).
    """
    from kg.queries import bind_params, describe
    from kg.sparql_exec import answer_query, inspect_query
    from kg.store import open_store

    try:
        bindings = {}
        if name:
            query = describe(name)
            text = query.text
            bindings = bind_params(query, params or {})
        elif params:
            raise ValueError("--param only applies to a named query (--name)")
        kind = inspect_query(text).kind
        wanted = "ttl" if fmt == "table" and kind == "graph" else fmt
        with open_store(settings["data_dir"], backend=settings["store"]) as store:
            answer = answer_query(store, text, fmt=wanted, bindings=bindings)
    except (KeyError, ValueError, HpkgError) as error:
        message = error.args[0] if isinstance(error, KeyError) else str(error)
        raise click.ClickException(message) from None
    body = answer.body.decode("utf-8")
    return body if body.endswith("\n") else body + "\n"


@main.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--graph", "graph_iri", required=True, help="IRI of the named graph to load into.")
@data_dir_option
def load(file: Path, graph_iri: str, data_dir: Path | None) -> None:
    """Add external RDF (INSEE geography, a FINESS extract...) into a named graph."""

    settings = _settings(data_dir)
    with _open_store(settings) as store:
        count = store.load_file(file, graph_iri)
    click.echo(f"loaded {count} triples into <{graph_iri}>")


@main.command()
@click.option("--format", "fmt", default="ttl", type=click.Choice(["ttl", "nq", "jsonld", "xml"]))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
@data_dir_option
def export(fmt: str, output: Path | None, data_dir: Path | None) -> None:
    """Export the whole graph."""

    settings = _settings(data_dir)
    with _open_store(settings) as store:
        data = store.export(fmt)
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@main.command()
@click.argument("description")
@click.option("-k", default=5, show_default=True, type=int, help="Number of suggestions.")
@click.option("--json", "as_json", is_flag=True, help="Print the DESIGN.md JSON contract.")
@data_dir_option
def link(description: str, k: int, as_json: bool, data_dir: Path | None) -> None:
    """Policy axes a project fits, with reasons."""
    from pipeline.link import suggest

    settings = _settings(data_dir)
    with _open_store(settings) as store:
        result = suggest(store, settings, description, k=k)
    if as_json:
        _print_json(result)
        return
    if not result["suggestions"]:
        click.echo("no suggestion")
    for s in result["suggestions"]:
        click.echo(f"{s['rank']:>2}. {s['score']:.3f}  {s['doc']} § {s['section']}  {s['title']}")
        for reason in s["reasons"]:
            click.echo(f"    - {reason}")


@main.group()
def user() -> None:
    """Accounts allowed to edit projects and links."""


@user.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--replace", is_flag=True, help="Change the password and role of an existing user.")
@data_dir_option
def user_add(name: str, role: str, password_stdin: bool, replace: bool, data_dir: Path | None) -> None:
    """Create a user (password asked twice, or read from stdin)."""
    from kg.users import UserStore

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = UserStore(_settings(data_dir)["data_dir"]).add(name, password, role=role, replace=replace)
    except BadInput as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"user {created.name} ({created.role}) saved")


@main.group(name="eval")
def eval_group() -> None:
    """Measure quality against gold data (see ../shared/eval/README.md)."""


@eval_group.command(name="entities")
@click.argument("gold", type=click.Path(exists=True, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("corpus"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def eval_entities_cmd(gold: Path, corpus: Path, as_json: bool, data_dir: Path | None) -> None:
    """Recall per entity type, and what was extracted beyond the gold (reads pages, not the
    store: `--data-dir` is accepted as by every command and names the settings)."""
    from evaluation.entities import eval_entities, format_entity_report

    _settings(data_dir)  # a bad setting fails here, as in the other commands
    report = eval_entities(gold, corpus)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_entity_report(report))


@eval_group.command(name="structure")
@click.argument("gold", type=click.Path(exists=True, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("corpus"), show_default=True)
@data_dir_option
def eval_structure_cmd(gold: Path, corpus: Path, data_dir: Path | None) -> None:
    """Share of gold sections found, with the right title and parent (JSON)."""
    from evaluation.structure import eval_structure

    _settings(data_dir)  # reads pages, not the store; --data-dir as in every command
    click.echo(json.dumps(eval_structure(gold, corpus), ensure_ascii=False, indent=2))


@eval_group.command(name="search")
@click.argument("gold", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def eval_search_cmd(gold: Path, as_json: bool, data_dir: Path | None) -> None:
    """nDCG@10, MRR and Recall@5 for dense, lexical and the default, side by side."""
    from evaluation.search import eval_search, format_search_report

    report = eval_search(gold, _settings(data_dir))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_search_report(report))


@eval_group.command(name="link")
@click.argument("gold", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def eval_link_cmd(gold: Path, as_json: bool, data_dir: Path | None) -> None:
    """hit@3 and MRR of project -> section suggestions."""
    from evaluation.link import eval_link, format_link_report

    settings = _settings(data_dir)
    try:
        with _open_store(settings) as store:
            report = eval_link(gold, store, settings)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_link_report(report))


if __name__ == "__main__":
    main()
