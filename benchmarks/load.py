"""Load test: N concurrent clients (locust, headless) against the production server, on loopback.

    .venv/bin/python benchmarks/load.py [--data-dir DIR] [--users 50] [--duration 60]
        [--think 0 | 1-5] [--spawn-rate R] [--workers 2] [--threads 8] [--json out.json]

Starts the server itself (`hpkg serve --production`, 127.0.0.1, a free port) over --data-dir, or
over a temporary folder where the bundled corpus is ingested first; waits for /health; collects
the request pools through the server (section and entity IRIs by SPARQL, French queries from the
search gold sets, the analyst named queries); warms every request kind up (--warmup rounds, not
counted; --warm-pages also every orientation page); then runs locust
with --users clients for --duration seconds. Each client sends the mix of benchmarks/locustfile.py
(search API and page, orientation, entity and plan pages, SPARQL named queries and small SELECTs,
/health) with --think seconds between requests (0: closed loop, the harsh case). Searches are
half gold queries (warmed up: cached) and half new questions generated from the vocabulary's
labels and the corpus's title words (--fresh-share, --seed; benchmarks/query_texts.py), each
sent once, so never cached; both are reported apart (`search_api` / `search_api_new`, ...), with
the server CPU per request kind read from the access log (`cpu_ms`). The server runs the code of
this checkout (--code DIR: another one, e.g. a baseline worktree, for a side-by-side run).

While locust runs, the resident memory of the server's processes (hpkg/gunicorn master, workers,
the oxigraph child, forked SPARQL query workers) is sampled every second with psutil. Printed:
requests/s, p50/p95/p99 per request kind and overall, errors by kind, RSS at start / max / end
and its slope over the second half of the run (the growth check), CPU used by the server and by
locust. Traffic goes to 127.0.0.1 only and stops after --duration seconds. The temporary folder
(logs, locust CSVs, the ingested corpus without --data-dir) is removed unless the run fails.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from search_api.serving import free_port  # noqa: E402  (the one the server side uses)
BIN = Path(sys.executable).parent
HPID = "https://w3id.org/healthpolicy-kg/id/"
KINDS = ("search_api", "search_api_new", "search_page", "search_page_new", "orientation", "entity", "plan",
         "sparql_named", "sparql_select", "health")
FRESH_POOL = 20_000  # generated questions per run, each sent at most once
QUERY_FILES = (ROOT.parent / "shared/eval/dev/search.jsonl", ROOT / "tests/data/eval/search_paraphrase.jsonl")
PREFIXES = """PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
SELECTS = (  # small analyst-style SELECTs, beside the named queries
    PREFIXES + "SELECT ?s ?title WHERE { ?s a hpo:Section ; dcterms:title ?title } LIMIT 20",
    PREFIXES + "SELECT ?type (COUNT(*) AS ?n) WHERE { ?m hpo:mentionType ?type } GROUP BY ?type",
    PREFIXES + "SELECT ?c ?label WHERE { ?c a hpo:Actor ; skos:prefLabel ?label } ORDER BY ?label LIMIT 25",
    PREFIXES + "ASK { ?s a hpo:Section }",
)
PERCENTILES = ("50%", "95%", "99%")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="ingested data dir (default: ingest corpus/ into a temp dir)")
    parser.add_argument("--users", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=0, help="users started per second (default: all in 1 s)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--think", type=think_range, default=(0.0, 0.0), metavar="S or MIN-MAX",
                        help="seconds each client waits between requests, fixed or drawn uniformly in "
                             "MIN-MAX (default 0: closed loop, the harsh case)")
    parser.add_argument("--server", choices=("production", "gunicorn", "dev"), default="production",
                        help="production: hpkg serve --production (default); gunicorn: gunicorn -k gthread "
                             "directly (one worker with the embedded store); dev: hpkg serve")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request, s (default 30)")
    parser.add_argument("--warmup", type=int, help="warm-up rounds over every request kind before the "
                        "measured run, not counted (default: 2 per worker)")
    parser.add_argument("--warm-pages", action="store_true",
                        help="also warm every orientation page (2 requests per worker each) before the run: "
                             "measures a server whose caches are warm, as after hours of service")
    parser.add_argument("--health-path", default="/health", help="readiness and probe URL path (default /health)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--fresh-share", type=float, default=0.5,
                        help="share of searches sending a new generated question (default 0.5: half miss the cache)")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="checkout whose code the server runs (default: this one; e.g. a baseline worktree)")
    parser.add_argument("--seed", type=int, default=14, help="seed of the generated questions (default 14)")
    args = parser.parse_args(argv)
    for name in ("users", "duration", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.data_dir and not (args.data_dir / "store").exists():
        parser.error(f"--data-dir {args.data_dir}: no store/ in it (run hpkg ingest first)")
    return args


def think_range(text: str) -> tuple[float, float]:
    """'2' -> (2, 2); '1-5' -> (1, 5).

    >>> think_range("1-5"), think_range("0")
    ((1.0, 5.0), (0.0, 0.0))
    """
    low, _, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds (2) or a range (1-5)") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 <= MIN <= MAX")
    return pair


# -- server ---------------------------------------------------------------------------------

def server_command(args, port: int, data_dir: Path) -> list[str]:
    hpkg = str(BIN / "hpkg")
    if args.server == "production":
        return [hpkg, "serve", "--production", "--workers", str(args.workers), "--threads", str(args.threads),
                "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    if args.server == "dev":
        return [hpkg, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    app = "search_api.wsgi:app" if importlib.util.find_spec("search_api.wsgi") else "search_api:create_app()"
    return [str(BIN / "gunicorn"), "-k", "gthread", "-w", str(args.workers), "--threads", str(args.threads),
            "-b", f"127.0.0.1:{port}", app]


def start_server(args, port: int, data_dir: Path, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, HPKG_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # the code of this checkout, even when the venv's editable install points at another one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.code), env.get("PYTHONPATH")]))
    log = open(log_path, "wb")
    # A session of its own: stop_server ends exactly this process group, nothing else.
    return subprocess.Popen(server_command(args, port, data_dir), cwd=args.code, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(base: str, health: str, server: subprocess.Popen, log_path: Path, timeout_s: float = 300) -> float:
    """Seconds until GET `health` answers 200; RuntimeError with the server's log otherwise."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with code {server.returncode}:\n{tail(log_path)}")
        try:
            if requests.get(base + health, timeout=5).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no 200 from {base}{health} after {timeout_s:.0f} s:\n{tail(log_path)}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- request pools --------------------------------------------------------------------------

def sparql_rows(base: str, text: str) -> list[dict]:
    response = requests.post(base + "/sparql", data={"query": text}, timeout=60,
                             headers={"Accept": "application/sparql-results+json"})
    response.raise_for_status()
    return response.json()["results"]["bindings"]


def named_query_texts() -> list[str]:
    """The analyst named queries, each unbound and, when it has examples, bound to them by a
    trailing VALUES clause (what a client of the endpoint sends; no initBindings over HTTP)."""
    from kg.queries import describe, query_names

    texts = []
    for query in map(describe, query_names()):
        if not query.title:
            continue
        texts.append(query.text)
        types = {p.name: p.type for p in query.params}
        bound = {name: value for name, value in query.examples.items() if name in types}
        if bound:
            names = " ".join(f"?{name}" for name in bound)
            values = " ".join(_term(value, types[name]) for name, value in bound.items())
            texts.append(f"{query.text.rstrip()}\nVALUES ({names}) {{ ({values}) }}\n")
    return texts


def _term(value: str, kind: str) -> str:
    if kind == "iri":
        return "<" + (HPID + value[len("hpid:"):] if value.startswith("hpid:") else value) + ">"
    if kind == "int":
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def collect_pools(base: str, health: str, seed: int = 14) -> dict:
    queries = []
    for path in QUERY_FILES:
        if path.is_file():
            queries += [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not queries:
        raise RuntimeError(f"no search queries found in {', '.join(map(str, QUERY_FILES))}")
    sections = [row["s"]["value"] for row in sparql_rows(base, PREFIXES + "SELECT ?s WHERE { ?s a hpo:Section }")]
    entities = [row["c"]["value"] for row in sparql_rows(
        base, PREFIXES + "SELECT DISTINCT ?c WHERE { ?m hpo:mentionOf ?c }")]
    from query_texts import fresh_questions, title_words

    labels = [row["l"]["value"] for row in sparql_rows(
        base, PREFIXES + "SELECT DISTINCT ?l WHERE { ?c skos:prefLabel|skos:altLabel ?l }")]
    titles = [row["t"]["value"] for row in sparql_rows(
        base, PREFIXES + "SELECT DISTINCT ?t WHERE { ?s a hpo:Section ; dcterms:title ?t }")]
    pools = {
        "queries": queries,
        "fresh_queries": fresh_questions(random.Random(seed), labels, title_words(titles), FRESH_POOL,
                                         exclude=set(queries)),
        "sections": sorted(s[len(HPID + "section/"):] for s in sections if s.startswith(HPID + "section/")),
        "entities": sorted(e[len(HPID):] for e in entities if e.startswith(HPID)),
        "named_queries": named_query_texts(),
        "selects": list(SELECTS),
        "health": [health],
    }
    empty = [name for name, values in pools.items() if not values]
    if empty:
        raise RuntimeError(f"empty request pool(s): {', '.join(empty)} (is the data dir ingested?)")
    return pools


def warm_up(base: str, pools: dict, rounds: int) -> None:
    """Every kind of request a few times (the workers load the model and the index lazily), and
    every gold query `rounds` times on both search routes, so that the repeated searches are
    cached in each worker (the generated questions never are)."""
    for _ in range(rounds):
        for q in pools["queries"]:
            requests.get(base + "/api/search?" + urlencode({"q": q, "k": 10}), timeout=120)
            requests.get(base + "/search?" + urlencode({"q": q}), timeout=120)
    for i in range(rounds):
        q = pools["queries"][i % len(pools["queries"])]
        for path in ("/api/search?" + urlencode({"q": q}), "/search?" + urlencode({"q": q}),
                     "/orientation/" + pools["sections"][i % len(pools["sections"])],
                     "/entite/" + pools["entities"][i % len(pools["entities"])], "/plan", pools["health"][0]):
            requests.get(base + path, timeout=120)
        for text in (pools["named_queries"][i % len(pools["named_queries"])], pools["selects"][i % len(pools["selects"])]):
            requests.post(base + "/sparql", data={"query": text}, timeout=120,
                          headers={"Accept": "application/sparql-results+json"})


# -- memory and CPU of the server's processes -----------------------------------------------

class Sampler(threading.Thread):
    """Every second: RSS of each process of the server's tree. `persistent` are the processes
    alive when sampling starts (master, workers, oxigraph child); processes born later (forked
    SPARQL query workers, a restarted worker) are counted apart."""

    def __init__(self, root_pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples: list[dict] = []
        self.persistent = {p.pid: p for p in self.tree()}
        self.cpu_start = self.cpu_seconds()
        self.names = {pid: f"{describe_process(p)} [{pid}]" for pid, p in self.persistent.items()}
        self.transient: set[int] = set()
        self.t0 = time.monotonic()

    def tree(self) -> list[psutil.Process]:
        try:
            return [self.root] + self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.persistent.values():
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def sample(self) -> None:
        persistent = others = 0
        alive = 0
        each = {}
        for proc in self.tree():
            try:
                rss = proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            if proc.pid in self.persistent:
                persistent += rss
                alive += 1
                each[proc.pid] = round(rss / 2**20, 1)
            else:
                others += rss
                self.transient.add(proc.pid)
        self.samples.append({"t": round(time.monotonic() - self.t0, 2), "rss_mb": round(persistent / 2**20, 1),
                             "others_mb": round(others / 2**20, 1), "alive": alive, "each_mb": each})

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        self.sample()
        return self.summary(self.cpu_seconds() - self.cpu_start)

    def summary(self, cpu_s: float) -> dict:
        rss = [s["rss_mb"] for s in self.samples]
        end_t = self.samples[-1]["t"]
        half = [s for s in self.samples if s["t"] >= end_t / 2]
        died = sorted(set(self.persistent) - {p.pid for p in self.tree()})
        first, last = self.samples[0]["each_mb"], self.samples[-1]["each_mb"]
        return {
            "processes": self.names, "died": died, "transient_processes": len(self.transient),
            "per_process_mb": {self.names[pid]: [first.get(pid), last.get(pid)] for pid in self.names},
            "start_mb": rss[0], "max_mb": max(rss), "end_mb": rss[-1],
            "slope_second_half_mb_per_min": round(slope(half) * 60, 2),
            "max_transient_mb": max(s["others_mb"] for s in self.samples),
            "server_cpu_s": round(cpu_s, 1), "samples": self.samples,
        }


def describe_process(proc: psutil.Process) -> str:
    try:
        cmd = proc.cmdline()
    except psutil.Error:
        return "?"
    words = [Path(c).name for c in cmd[:3]]
    if words and words[0].startswith("python"):
        words = words[1:]
    return " ".join(words[:2])


def slope(samples: list[dict]) -> float:
    """Least-squares slope of rss_mb over t (MB per second)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(s["t"] for s in samples) / n
    mr = sum(s["rss_mb"] for s in samples) / n
    var = sum((s["t"] - mt) ** 2 for s in samples)
    return sum((s["t"] - mt) * (s["rss_mb"] - mr) for s in samples) / var if var else 0.0


# -- locust ---------------------------------------------------------------------------------

def run_locust(args, base: str, pools_path: Path, work: Path) -> dict:
    prefix = work / "locust"
    command = [str(BIN / "locust"), "-f", str(ROOT / "benchmarks/locustfile.py"), "--headless",
               "--host", base, "-u", str(args.users), "-r", str(args.spawn_rate or args.users),
               "-t", f"{args.duration}s", "--stop-timeout", "10", "--csv", str(prefix),
               "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    env = dict(os.environ, HPKG_LOAD_POOLS=str(pools_path), HPKG_LOAD_THINK_S="%g-%g" % args.think,
               HPKG_LOAD_TIMEOUT_S=str(args.timeout), HPKG_LOAD_FRESH=str(args.fresh_share))
    log_path = work / "locust.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # rusage: locust's own CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not Path(f"{prefix}_stats.csv").is_file():
        raise RuntimeError(f"locust failed (exit {proc.returncode}):\n{tail(log_path)}")
    stats = read_stats(Path(f"{prefix}_stats.csv"))
    stats["errors"] = read_failures(Path(f"{prefix}_failures.csv"))
    stats["locust_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    return stats


def read_stats(path: Path) -> dict:
    kinds, overall = {}, None
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            figures = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "mean_ms": round(float(row["Average Response Time"]), 1),
                "max_ms": round(float(row["Max Response Time"]), 1),
                **{f"p{p[:-1]}_ms": _number(row[p]) for p in PERCENTILES},
            }
            if row["Name"] == "Aggregated":
                overall = figures
            else:
                kinds[row["Name"]] = figures
    return {"kinds": kinds, "overall": overall}


def _number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def read_failures(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [{"kind": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
                for row in csv.DictReader(handle)]


# -- CPU per request kind, from the server's access log ------------------------------------

def cpu_by_kind(log_path: Path, offset: int, fresh: set[str]) -> dict:
    """Server CPU (ms of the serving thread, the access log's `cpu_ms`) per request kind, for
    the log lines written after `offset` (the measured run). SPARQL requests are one kind here
    (named and small SELECTs look alike in the log), and their forked query worker's CPU is not
    in `cpu_ms`; searches are split by whether their text was a generated (new) question."""
    from urllib.parse import parse_qs

    samples: dict[str, list[float]] = {}
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        for raw in handle:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("event") != "request" or "cpu_ms" not in line:
                continue
            path = line.get("path", "")
            if path in ("/api/search", "/search"):
                q = parse_qs(line.get("query", "")).get("q", [""])[0]
                kind = ("search_api" if path == "/api/search" else "search_page") + ("_new" if q in fresh else "")
            elif path.startswith("/orientation/"):
                kind = "orientation"
            elif path.startswith("/entite/"):
                kind = "entity"
            else:
                kind = {"/plan": "plan", "/sparql": "sparql", "/health": "health"}.get(path, "other")
            samples.setdefault(kind, []).append(float(line["cpu_ms"]))
    out = {}
    for kind, values in sorted(samples.items()):
        values.sort()
        out[kind] = {"requests": len(values), "mean_ms": round(sum(values) / len(values), 1),
                     "p50_ms": values[len(values) // 2], "p95_ms": values[int(0.95 * (len(values) - 1))]}
    return out


# -- report ---------------------------------------------------------------------------------

def format_report(report: dict) -> str:
    s, m = report["settings"], report["memory"]
    lines = [
        f"server: {s['server']} (workers {s['workers']}, threads {s['threads']}); {s['users']} users, "
        f"{s['duration_s']} s, think time {_think(s['think_s'])}; "
        f"load average before {report['loadavg_before']}, after {report['loadavg_after']}",
        "",
        f"| {'kind':<13} | requests |  req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        f"|{'-' * 15}|---------:|-------:|-------:|-------:|-------:|-------:|-------:|",
    ]
    rows = list(report["kinds"].items()) + [("**overall**", report["overall"])]
    for kind, f in rows:
        lines.append(f"| {kind:<13} | {f['requests']:>8} | {f['rps']:>6} | {_ms(f['p50_ms'])} | {_ms(f['p95_ms'])} "
                     f"| {_ms(f['p99_ms'])} | {_ms(f['max_ms'])} | {f['failures']:>6} |")
    lines.append("")
    if report["errors"]:
        lines.append("errors: " + "; ".join(f"{e['kind']}: {e['error']} x{e['count']}" for e in report["errors"]))
    else:
        lines.append("errors: none")
    lines += [
        f"server RSS (MB, sum of {len(m['processes'])} processes):",
        f"  start {m['start_mb']}, max {m['max_mb']}, end {m['end_mb']}; slope over the second half "
        f"{m['slope_second_half_mb_per_min']} MB/min; {m['transient_processes']} short-lived children "
        f"(forked SPARQL workers) seen, at most {m['max_transient_mb']} MB at a sample (a fork's RSS "
        f"counts the pages it shares with its worker)"
        + (f"; DIED: {m['died']}" if m["died"] else ""),
        "  per process, start -> end: " + "; ".join(f"{name} {a} -> {b}" for name, (a, b) in m["per_process_mb"].items()),
        f"CPU: server {m['server_cpu_s']} s ({report['server_cpu_ms_per_request']} ms a request), locust "
        f"{report['locust_cpu_s']} s, over {s['duration_s']} s (2 cores = {2 * s['duration_s']} CPU-s)",
    ]
    cpu = report.get("cpu_by_kind") or {}
    if cpu:
        lines += ["", "server CPU per request by kind (serving thread, from the access log's cpu_ms):", "",
                  "| kind | requests | CPU ms mean | p50 | p95 |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {kind} | {f['requests']} | {f['mean_ms']} | {f['p50_ms']} | {f['p95_ms']} |"
                  for kind, f in cpu.items()]
    return "\n".join(lines)


def _think(pair) -> str:
    if pair[1] == 0:
        return "none (closed loop)"
    return f"{pair[0]:g} s" if pair[0] == pair[1] else f"{pair[0]:g}-{pair[1]:g} s (uniform)"


def _ms(value) -> str:
    return f"{value:>6.0f}" if value is not None else "     -"


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hpkg-load-"))
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = work / "data"
        print(f"ingesting corpus/ into {data_dir} ...", flush=True)
        subprocess.run([str(BIN / "hpkg"), "ingest", str(ROOT / "corpus"), "--data-dir", str(data_dir)],
                       cwd=ROOT, check=True, env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = work / "server.log"
    server = start_server(args, port, data_dir, server_log)
    try:
        ready_s = wait_healthy(base, args.health_path, server, server_log)
        print(f"server {' '.join(server_command(args, port, data_dir))} healthy after {ready_s:.1f} s", flush=True)
        pools = collect_pools(base, args.health_path, args.seed)
        pools_path = work / "pools.json"
        pools_path.write_text(json.dumps(pools, ensure_ascii=False), encoding="utf-8")
        warm_up(base, pools, rounds=2 * args.workers if args.warmup is None else args.warmup)
        if args.warm_pages:
            for path in pools["sections"] * (2 * args.workers):
                requests.get(base + "/orientation/" + path, timeout=120)
        before = os.getloadavg()
        log_offset = server_log.stat().st_size
        sampler = Sampler(server.pid)
        sampler.start()
        stats = run_locust(args, base, pools_path, work)
        memory = sampler.stop()
        after = os.getloadavg()
        time.sleep(1)  # the last access lines
        cpu = cpu_by_kind(server_log, log_offset, set(pools["fresh_queries"]))
    except BaseException:
        print(f"load run failed; server log, pools and locust output kept in {work}", file=sys.stderr)
        raise
    finally:
        stop_server(server)
    report = {
        "settings": {"server": args.server, "workers": args.workers, "threads": args.threads,
                     "users": args.users, "spawn_rate": args.spawn_rate or args.users,
                     "duration_s": args.duration, "think_s": list(args.think), "warm_pages": args.warm_pages,
                     "data_dir": str(data_dir), "ready_s": round(ready_s, 1),
                     "fresh_share": args.fresh_share, "seed": args.seed,
                     "pools": {name: len(values) for name, values in pools.items()}},
        "loadavg_before": " ".join(f"{x:.2f}" for x in before), "loadavg_after": " ".join(f"{x:.2f}" for x in after),
        **stats, "memory": memory, "cpu_by_kind": cpu,
    }
    report["server_cpu_ms_per_request"] = round(1000 * memory["server_cpu_s"] / max(1, stats["overall"]["requests"]), 1)
    missing = [kind for kind in KINDS if kind not in report["kinds"]]
    if missing:
        print(f"warning: no request of kind {', '.join(missing)}", file=sys.stderr)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
