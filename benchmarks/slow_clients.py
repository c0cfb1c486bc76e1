"""Slow clients (slowloris) against gunicorn's stock gthread worker and hpkg's guarded one,
side by side in one run, over the same data directory and Oxigraph server.

For each worker class: gunicorn on `search_api.wsgi:app` (2 workers x 2 threads) on a free port
of 127.0.0.1; N clients trickle a request head one byte every 0.3 s; after 1 s a normal
`GET /health` is timed; then how long each slow client stayed connected and what it got.

    .venv/bin/hpkg ingest corpus/ --data-dir data
    .venv/bin/python benchmarks/slow_clients.py --data-dir data [--clients 6] [--timeout 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_api.serving import StoreServer  # noqa: E402
from search_api.serving import free_port  # noqa: E402
from tests.serving_support import get, slow_client  # noqa: E402

WORKERS = {"gthread (stock)": "gthread", "guarded (hpkg)": "search_api.worker.GuardedThreadWorker"}
HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 200


def measure(worker_class: str, store_url: str, data_dir: str, clients: int, timeout_s: float, limit_s: float) -> dict:
    port = free_port()
    env = {**os.environ, "HPKG_DATA_DIR": data_dir, "HPKG_STORE": store_url,
           "HPKG_REQUEST_TIMEOUT_S": str(timeout_s), "HPKG_LOG_LEVEL": "warning"}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [gunicorn, "-k", worker_class, "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
         "--no-control-socket", "--log-level", "warning", "search_api.wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if get(url + "/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn ({worker_class}) did not start")
            time.sleep(0.2)
        results = {}

        def run(i):
            results[i] = slow_client(port, HEAD[:1], HEAD[1:], limit_s=limit_s)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        started = time.monotonic()
        try:
            status = get(url + "/health", timeout=limit_s + 5)[0]
        except OSError as error:
            status = type(error).__name__
        normal_s = time.monotonic() - started
        for thread in threads:
            thread.join()
        held = [seconds for seconds, _ in results.values()]
        answers = {answer.split(b"\r\n", 1)[0].decode() or "(none)" for _, answer in results.values()}
        return {"normal_status": status, "normal_s": normal_s, "held_median_s": statistics.median(held),
                "held_max_s": max(held), "answers": ", ".join(sorted(answers))}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--clients", type=int, default=6, help="slow clients (more than the 4 threads)")
    parser.add_argument("--timeout", type=float, default=3.0, help="HPKG_REQUEST_TIMEOUT_S")
    parser.add_argument("--limit", type=float, default=15.0, help="a slow client gives up after this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = str(Path(tmp) / "data")
        shutil.copytree(args.data_dir, data_dir)  # the store server takes the store's lock
        server = StoreServer(Path(data_dir) / "store")
        server.start()
        try:
            rows = {name: measure(cls, server.url, data_dir, args.clients, args.timeout, args.limit)
                    for name, cls in WORKERS.items()}
        finally:
            server.stop()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.clients} slow clients, 2 workers x 2 threads, request timeout {args.timeout:g} s, "
          f"client gives up after {args.limit:g} s; load average {' '.join(load)}")
    print(f"{'worker':<18} {'normal GET /health':>20} {'slow client held (median/max)':>30}  slow clients got")
    for name, row in rows.items():
        normal = f"{row['normal_status']} in {row['normal_s']:.2f} s"
        held = f"{row['held_median_s']:.1f} / {row['held_max_s']:.1f} s"
        print(f"{name:<18} {normal:>20} {held:>30}  {row['answers']}")


if __name__ == "__main__":
    main()
