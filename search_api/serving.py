"""Production mode: `hpkg serve --production` runs `search_api.wsgi:app` in gunicorn.

Before any worker is forked, the master (this process):
1. checks the search index against the store and (re)builds it when needed, once, in a
   separate process: the master never loads the embedding model or FAISS threads before
   forking, and N workers never race to build the same files;
2. creates the session key file once (`resources.stored_secret`);
3. with more than one worker and the embedded Oxigraph store (one process may open it),
   starts `oxigraph serve` on {data_dir}/store, bound to 127.0.0.1 on a free port, and
   gives the workers its URL as their store. It is stopped when gunicorn exits (SIGTERM,
   SIGINT, or an error), and dies with this process (PR_SET_PDEATHSIG) if it is killed. If
   the Oxigraph server exits on its own, hpkg stops (exit 1) rather than serve errors.

Workers use gthread (`search_api.worker.GuardedThreadWorker`: slow clients cannot hold
threads) and load the index and the model when they start, not at their first request.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

from gunicorn.app.base import BaseApplication

from search_api.logs import configure_logging, logging_config
from search_api.page_cache import cache_enabled
from search_api.settings import SETTINGS

log = logging.getLogger("hpkg.serve")
WSGI_APP = "search_api.wsgi:app"
WORKER_CLASS = "search_api.worker.GuardedThreadWorker"


class ServeError(Exception):
    """Production mode cannot start; the message says what is wrong."""


def run_production(settings: dict) -> None:
    """Serve with gunicorn until SIGTERM/SIGINT. Raises ServeError when it cannot start."""
    check_settings(settings)
    settings = {**settings, "data_dir": str(Path(settings["data_dir"]).resolve())}
    configure_logging(settings["log_format"], settings["log_level"])
    prepare(settings)
    store_server = None
    try:
        if settings["store"] == "oxigraph" and settings["workers"] > 1:
            store_server = StoreServer(Path(settings["data_dir"]) / "store", settings["oxigraph_bin"])
            store_server.start()
            # the child is this server's own: every write goes through a worker, which changes
            # the store's generation, so rendered pages may be kept (search_api/page_cache.py)
            page_cache = "on" if settings["page_cache"] == "auto" else settings["page_cache"]
            settings = {**settings, "store": store_server.url, "page_cache": page_cache}
        export_settings(settings)  # the workers' create_app() reads them from the environment
        HpkgGunicorn(gunicorn_options(settings)).run()
    finally:
        if store_server is not None:
            store_server.stop()
    if store_server is not None and store_server.failed and os.getpid() == store_server.owner_pid:
        raise ServeError("the oxigraph server exited unexpectedly (see the log above); hpkg stopped")


def check_settings(settings: dict) -> None:
    """ServeError naming the setting when a serving value is out of range."""
    for name, low in (("workers", 1), ("threads", 1), ("port", 0), ("request_timeout_s", 0.1),
                      ("keepalive_s", 0), ("worker_timeout_s", 1), ("graceful_timeout_s", 0), ("max_requests", 0)):
        if settings[name] < low:
            raise ServeError(f"{name} (HPKG_{name.upper()}): {settings[name]!r} is below {low}")
    try:
        cache_enabled(settings)
    except ValueError as error:
        raise ServeError(str(error)) from None
    if settings["store"] == "memory" and settings["workers"] > 1:
        raise ServeError("store (HPKG_STORE): the memory store is private to each process; "
                         "use oxigraph (the default) or a SPARQL server URL with several workers")
    try:
        logging_config(settings["log_format"], settings["log_level"])
    except ValueError as error:
        raise ServeError(str(error)) from None


def gunicorn_options(settings: dict) -> dict:
    """gunicorn's settings, from hpkg's (docs/settings.md)."""
    max_requests = int(settings["max_requests"])
    return {
        "bind": [f"{settings['host']}:{settings['port']}"],
        "workers": int(settings["workers"]),
        "threads": int(settings["threads"]),
        "worker_class": WORKER_CLASS,
        "timeout": int(settings["worker_timeout_s"]),
        "graceful_timeout": int(settings["graceful_timeout_s"]),
        "keepalive": int(settings["keepalive_s"]),
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,
        "accesslog": None,  # search_api.logs.RequestLog writes one line per request
        "errorlog": "-",
        "loglevel": settings["log_level"],
        "logconfig_dict": logging_config(settings["log_format"], settings["log_level"]),
        "proc_name": "hpkg",
        "control_socket_disable": True,  # no socket in $HOME shared by every instance
        "post_worker_init": warm_up,
        "worker_exit": close_store,
    }


class HpkgGunicorn(BaseApplication):
    """gunicorn driven from Python: the options above, the app from search_api.wsgi."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from search_api.wsgi import app  # imported in each worker, after the fork

        return app


def export_settings(settings: dict) -> None:
    """Every setting as its HPKG_* variable, so that forked workers build the same app."""
    for setting in SETTINGS:
        os.environ["HPKG_" + setting.name.upper()] = str(settings[setting.name])


# --- before the fork ------------------------------------------------------------------------
def prepare(settings: dict) -> None:
    """Index checked or built, and session key created, once, before any worker exists."""
    from search_api.resources import stored_secret

    if not settings["secret_key"]:
        stored_secret(Path(settings["data_dir"]))
    # A fresh interpreter: whatever the build loads (model, OpenMP threads) never reaches
    # the master that forks the workers. Settings in on stdin, outcome out on stdout.
    done = subprocess.run(
        [sys.executable, "-c", "from search_api.serving import prepare_index_main; prepare_index_main()"],
        input=json.dumps(settings), stdout=subprocess.PIPE, text=True, check=False,
        preexec_fn=_die_with_parent)
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ServeError(f"the search index check failed (exit {done.returncode}; see the log above)") from None
    if "error" in outcome:
        if settings["store"] == "oxigraph":
            raise ServeError(outcome["error"])
        log.warning("search index not checked: %s", outcome["error"], extra={"event": "index_check_failed"})
    else:
        log.info("search index ready", extra={"event": "index_ready", **outcome})


def prepare_index_main() -> None:
    """(In the child process.) Settings as JSON on stdin, `prepare_index`'s outcome on stdout."""
    settings = json.loads(sys.stdin.read())
    configure_logging(settings["log_format"], settings["log_level"])
    print(json.dumps(prepare_index(settings)), flush=True)


def prepare_index(settings: dict) -> dict:
    """ensure_index over the store: what happened, as a dict (`error` when the store fails)."""
    from kg.index import ensure_index
    from kg.store import StoreError, open_store

    started = time.perf_counter()
    try:
        with open_store(settings["data_dir"], backend=settings["store"]) as store:
            index = ensure_index(store, settings)
    except StoreError as error:
        return {"error": str(error)}
    return {"passages": len(index.passages), "rebuilt": index.rebuilt,
            "seconds": round(time.perf_counter() - started, 2)}


# --- in each worker -------------------------------------------------------------------------
def warm_up(worker) -> None:
    """gunicorn post_worker_init: open the store, load the index and the model now, so the
    first requests do not pay for them. A failure is logged; /health then says what is wrong."""
    app = worker.wsgi
    try:
        from kg.embeddings import get_embedder
        from kg.index import open_index
        from search_api.resources import get_store

        with app.app_context():
            settings = app.config["HPKG"]
            open_index(get_store(), settings)
            get_embedder(settings["embedding_model"])
        log.info("worker ready", extra={"event": "worker_ready"})
    except Exception as error:  # noqa: BLE001 - the worker still serves; /health reports it
        log.warning("worker warm-up failed: %s", error, extra={"event": "warm_up_failed"})


def close_store(arbiter, worker) -> None:
    """gunicorn worker_exit: release the store (flush the embedded one)."""
    app = getattr(worker, "wsgi", None)
    store = app.extensions.get("hpkg", {}).get("store") if app is not None else None
    if store is not None:
        store.close()


# --- the Oxigraph server ----------------------------------------------------------------------
class StoreServer:
    """`oxigraph serve` on an on-disk store, on 127.0.0.1, as a child of this process."""

    def __init__(self, location: Path, binary: str = ""):
        self.location = Path(location)
        self.binary = binary or oxigraph_binary()
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.failed = False
        self._stopping = False
        self._tail: deque[str] = deque(maxlen=20)
        self._relay: threading.Thread | None = None
        self.owner_pid = os.getpid()

    def start(self, timeout_s: float = 60) -> str:
        """Start the server and wait until it answers a query; its URL. ServeError otherwise."""
        port = free_port()
        command = [self.binary, "serve", "--location", str(self.location),
                   "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches hpkg, which stops it in order
                preexec_fn=_die_with_parent)
        except OSError as error:
            raise ServeError(f"cannot start the oxigraph server ({self.binary}): {error}") from error
        self._relay = threading.Thread(target=self._relay_output, name="oxigraph-log", daemon=True)
        self._relay.start()
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = " | ".join(self._tail) or "no output"
                raise ServeError(f"the oxigraph server on {self.location} did not start: {tail}")
            time.sleep(0.1)
        log.info("oxigraph server started", extra={"event": "store_server_started", "url": self.url,
                                                     "server_pid": self.process.pid})
        return self.url

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/query?query=ASK%7B%7D", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def _relay_output(self) -> None:
        """Its output as our log lines; its end, unless asked for, stops hpkg."""
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._tail.append(line)
                log.info(line, extra={"event": "oxigraph"})
        if not self._stopping and self.url:
            self.failed = True
            log.error("the oxigraph server exited; stopping", extra={"event": "store_server_exited"})
            os.kill(os.getpid(), signal.SIGTERM)  # the gunicorn master stops its workers

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 15 s); only its parent may."""
        if self.process is None or os.getpid() != self.owner_pid:
            return  # a forked gunicorn worker unwinding through run_production
        self._stopping = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._relay is not None:
            self._relay.join(timeout=5)
        log.info("oxigraph server stopped", extra={"event": "store_server_stopped", "server_pid": self.process.pid})


def oxigraph_binary() -> str:
    """The `oxigraph` program installed beside this Python (the `oxigraph` package), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if not found:
        raise ServeError("the oxigraph server program is not installed (pip install oxigraph, "
                         "or set HPKG_OXIGRAPH_BIN, or use --workers 1)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """(In the child, before exec.) Linux: SIGTERM when hpkg dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
