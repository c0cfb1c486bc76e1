"""Helpers of tests/test_serving.py: `hpkg serve` as a real subprocess on a free port of
127.0.0.1, its JSON log, its child processes, and raw sockets for slow clients."""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from search_api.serving import free_port

HPKG = str(Path(sys.executable).parent / "hpkg")


class Server:
    """`hpkg serve ARGS --data-dir D --port P`, its stderr kept in a file (a pipe could fill up)."""

    def __init__(self, data_dir: str, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(data_dir).parent / f"serve-{self.port}.log"
        self.command = [HPKG, "serve", *args, "--port", str(self.port), "--data-dir", data_dir]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 120) -> Server:
        """Start it and wait until /health answers (200 or 503)."""
        self.process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=self.log_path.open("wb"))
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status, _, _ = get(self.url + "/health", timeout=5)
                if status in (200, 503):
                    return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"hpkg serve did not start: {self.log_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict]:
        """Every line of its stderr parsed as JSON (ValueError naming a line that is not)."""
        records = []
        for number, line in enumerate(self.log_text().splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    raise ValueError(f"log line {number} is not JSON: {line[:200]!r}") from None
        return records

    def children(self) -> dict[int, str]:
        """pid -> command name of its child processes (workers, the oxigraph server)."""
        return children_of(self.process.pid)


def children_of(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            if int(rest[1]) == pid:
                found[int(entry.name)] = name
    return found


def alive(pid: int) -> bool:
    """True when `pid` runs (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def get(url: str, headers: dict | None = None, method: str = "GET", timeout: float = 30):
    """(status, headers, body) of one request on a new connection; HTTP errors included."""
    request = urllib.request.Request(url, headers={"Connection": "close", **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def slow_client(port: int, payload: bytes, rest: bytes = b"", interval_s: float = 0.3,
                limit_s: float = 60) -> tuple[float, bytes]:
    """Send `payload` at once, then `rest` one byte per `interval_s`, until the server answers
    or closes; (seconds until then, what it sent). (limit_s, b"") when it never did."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        pending = list(rest)
        while time.monotonic() - started < limit_s:
            readable, _, _ = select.select([sock], [], [], interval_s)
            if readable:
                return time.monotonic() - started, _read_all(sock)
            if pending:
                try:
                    sock.send(bytes([pending.pop(0)]))
                except OSError:
                    return time.monotonic() - started, _read_all(sock)
    return limit_s, b""


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError:  # reset after the answer
        pass
    return b"".join(chunks)
