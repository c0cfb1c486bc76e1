"""Path traversal on the routes that serve files (/static/<path>, the project exports): dot-dot
in every spelling, absolute paths, NUL bytes, backslashes, over-long names -> 400/404, never a
file from outside search_api/static. Through the in-process client and, since HTTP clients
normalise `..` before sending, as raw bytes to a real server on 127.0.0.1."""
from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from search_api import create_app
from tests.sparql_support import LiveServer

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "search_api" / "static"
# Text of files outside the static folder: none may ever come back.
SECRETS = [b"def create_app", b"[project]", b"root:x:0:0", b"hostile-traversal-canary"]
TRAVERSALS = [
    "../__init__.py", "../../pyproject.toml", "..%2f__init__.py", "%2e%2e%2f__init__.py",
    "%2e%2e/%2e%2e/pyproject.toml", "..%2F..%2Fpyproject.toml", "%252e%252e%252fpyproject.toml",
    "vendor/../../__init__.py", "vendor/yasgui/../../../__init__.py", "..\\__init__.py",
    "..%5c__init__.py", "%5c..%5c__init__.py", "/etc/passwd", "%2fetc%2fpasswd", "//etc/passwd",
    "....//....//pyproject.toml", "..;/__init__.py", "%c0%ae%c0%ae/__init__.py", "style.css%00.py",
    "style.css%00", "%00", "x" * 5000 + ".css", "a/" * 2000 + "style.css", "../data/secret_key",
    "C:\\Windows\\win.ini", "file:///etc/passwd", "%2e%2e",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("hostile-traversal")
    (data_dir / "canary.txt").write_text("hostile-traversal-canary")
    return create_app({"data_dir": str(data_dir), "secret_key": "traversal"})


def _static_files() -> set[bytes]:
    return {p.read_bytes() for p in STATIC.rglob("*") if p.is_file()}


def _check(status: int, body: bytes, what: str) -> None:
    assert status < 500, (what, status)
    for secret in SECRETS:
        assert secret not in body, (what, secret)
    if status == 200:  # a path that normalises inside the folder (vendor/../style.css) is fine
        assert body in _static_files(), what


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_traversal_in_process(app, path):
    client = app.test_client()
    for prefix in ("/static/", "/static/vendor/"):
        response = client.get(prefix + path)
        _check(response.status_code, response.data, prefix + path)
        assert response.status_code in (400, 404, 308, 200), (path, response.status_code)


def test_static_still_serves_its_files(app):
    client = app.test_client()
    for name in ("style.css", "sparql.js", "vendor/yasgui/yasgui.min.js"):
        response = client.get("/static/" + name)
        assert response.status_code == 200 and response.data == (STATIC / name).read_bytes()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


@pytest.mark.parametrize("fmt", ["../../etc/passwd", "..%2f..%2fpyproject.toml", "csv%00", "csv/../ttl",
                                 "ttl\\..\\x", "x" * 3000])
def test_export_format_is_a_fixed_choice(app, fmt):
    for prefix in ("/projets/export.", "/api/projects/export."):
        response = app.test_client().get(prefix + fmt)
        assert response.status_code == 404, (prefix + fmt, response.status_code)
        _check(response.status_code, response.data, prefix + fmt)


def _raw_get(url: str, target: bytes) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), data


@pytest.mark.parametrize("target", [
    b"/static/../__init__.py", b"/static/../../pyproject.toml", b"/static/%2e%2e/__init__.py",
    b"/static/..%2f..%2fpyproject.toml", b"/static/..\\__init__.py", b"/static/%2e%2e%5c__init__.py",
    b"/static//etc/passwd", b"/static/style.css%00", b"/../../etc/passwd", b"/static/vendor/../../__init__.py",
])
def test_static_traversal_over_real_http(app, target):
    with LiveServer(app) as live:
        status, data = _raw_get(live.url, target)
        _check(status, data.split(b"\r\n\r\n", 1)[1], target.decode())
        if status == 308:  # werkzeug merges `//`: the redirect stays in the folder, then 404s
            location = next(line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.lower().startswith(b"location:"))
            location = urlsplit(location.decode()).path.encode()
            assert location.startswith(b"/static/") and b".." not in location, location
            status, data = _raw_get(live.url, location)
    assert status in (400, 404), (target, status)
