"""A private Virtuoso 7 (Debian's `virtuoso-opensource`) for the tests: its own ini, database
directory and free ports on 127.0.0.1, started once per test session and shut down at the end.

The Debian package may also run a system Virtuoso (ports 1111/8890, /var/lib/virtuoso-opensource-7):
nothing here reads, writes or connects to it.
"""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from search_api.serving import free_port

VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
ISQL = shutil.which("isql-vt") or "/usr/bin/isql-vt"
START_TIMEOUT_S = 90  # a fresh database takes ~15 s to create on a loaded 2-core machine

INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {dir}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 2
MaxSortedTopRows = 1000000  # the app asks LIMIT sparql_max_rows + 1 with ORDER BY

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""


# What docs/deploy.md asks of a Virtuoso holding the graph: the anonymous /sparql user may
# update, and Virtuoso's own graphs are private, so that the default graph (the union) holds
# the data graphs only, as on the other backends.
SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#",
                 "http://localuriqaserver/sparql")
PRIVATE = "http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs"
SETUP_SQL = " ".join([
    'GRANT SPARQL_UPDATE TO "SPARQL";',
    f"DB.DBA.RDF_GRAPH_GROUP_CREATE ('{PRIVATE}', 1);",
    *(f"DB.DBA.RDF_GRAPH_GROUP_INS ('{PRIVATE}', '{graph}');" for graph in SYSTEM_GRAPHS),
    "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);",  # read, write, sponge: public graphs
    "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1);",  # nothing: private graphs
])


def missing_virtuoso() -> str | None:
    """Why Virtuoso cannot run here (None when it can)."""
    for path in (VIRTUOSO, ISQL):
        if not Path(path).is_file():
            return f"{path} is missing: run `make sysdeps` (apt-get install virtuoso-opensource)"
    return None


@dataclass
class VirtuosoServer:
    directory: Path
    http_port: int
    sql_port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        """The SPARQL endpoint (query and update), as given to `open_store` / HPKG_STORE."""
        return f"http://127.0.0.1:{self.http_port}/sparql"

    def isql(self, sql: str) -> str:
        """Run SQL as dba (the fresh database's default password) through isql-vt."""
        done = subprocess.run([ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={sql}"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0 or "Error" in done.stdout:
            raise RuntimeError(f"isql-vt {sql!r} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
        return done.stdout

    def update(self, text: str) -> None:
        """A SPARQL update straight to the endpoint (test set-up, bypassing the store)."""
        body = urllib.parse.urlencode({"update": text}).encode()
        urllib.request.urlopen(urllib.request.Request(self.url, data=body), timeout=60).read()

    def log(self) -> str:
        path = self.directory / "virtuoso.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        """Clean shutdown (checkpoint, then exit); kill only when it does not exit in time."""
        if self.process.poll() is not None:
            return
        try:
            self.isql("shutdown;")
        except (RuntimeError, subprocess.TimeoutExpired, OSError):
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_virtuoso(directory: Path, max_rows: int = 1_000_000) -> VirtuosoServer:
    """Create a database in `directory` and start Virtuoso on it; returns once /sparql answers
    and the anonymous SPARQL user may update (GRANT SPARQL_UPDATE TO "SPARQL")."""
    directory.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    (directory / "virtuoso.ini").write_text(INI.format(
        dir=directory, http_port=http_port, sql_port=sql_port, max_rows=max_rows))
    output = (directory / "stdout.log").open("wb")  # a file, not a pipe: a full pipe blocks it
    process = subprocess.Popen([VIRTUOSO, "+configfile", str(directory / "virtuoso.ini"), "+foreground"],
                               cwd=directory, stdout=output, stderr=subprocess.STDOUT)
    server = VirtuosoServer(directory, http_port, sql_port, process)
    probe = server.url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            urllib.request.urlopen(probe, timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Virtuoso did not start in {directory}: {server.log()}")
            time.sleep(0.25)
    server.isql(SETUP_SQL)
    return server


_SHARED: dict[str, VirtuosoServer] = {}


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory) -> VirtuosoServer:
    """One private Virtuoso for the whole session, whichever test modules import this fixture
    (each importing module gets its own fixture definition: the server is shared through
    `_SHARED`, and the first finalizer stops it)."""
    reason = missing_virtuoso()
    if reason:
        pytest.skip(reason)
    if "server" not in _SHARED or _SHARED["server"].process.poll() is not None:
        _SHARED["server"] = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    server = _SHARED["server"]
    yield server
    server.stop()
