"""`hpkg crawl` against a real HTTP server on 127.0.0.1 serving an invented ICARS-like site.

The site (`SITE`): a scheme home page linking two orientation pages whose breadcrumbs give the
tree across pages, plus a 404, a redirect loop, a redirect to a real page, a huge page, a CSV
export, a page robots.txt disallows and an off-host link. The module crawls it twice: after
one page changed, only it is fetched again; the others answer 304 to conditional requests.
"""
from __future__ import annotations

import email.utils
import hashlib
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from ingest.crawl import crawl
from ingest.pipeline import iter_documents
from search_api.cli import main

CRUMB = ("Accueil > Région > ARS > Projet régional de santé 2012-2016 > Schémas sectoriels > "
         "Schéma Régional d'Organisation Médico-Sociale")
LAST_MODIFIED = email.utils.formatdate(1_300_000_000, usegmt=True)


def _page(crumb: str, title: str, body: str, links: str = "") -> bytes:
    """An ICARS-like page: the breadcrumb ends with the page's own title."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} | ICARS</title></head>
<body><nav class="breadcrumb">{crumb} &gt; {title}</nav><main><h1>{title}</h1>{body}{links}</main>
<footer>© ICARS - Plan du site</footer></body></html>""".encode("utf-8")


def site(port: int, version: int = 1) -> dict[str, tuple[int, dict, bytes]]:
    """path -> (status, headers, body) of the test site; `version` 2 changes one page."""
    off_host = f"http://localhost:{port}/ailleurs"  # same server, another host name: off the site
    home = _page(CRUMB, "2 Orientations régionales partagées",
                 "<p>Les orientations partagées par les schémas.</p>",
                 '<ul><li><a href="/sroms/2-8">2.8</a></li><li><a href="/sroms/2-9#haut">2.9</a></li>'
                 '<li><a href="/absente">absente</a></li><li><a href="/boucle-a">boucle</a></li>'
                 '<li><a href="/ancienne">ancienne</a></li><li><a href="/enorme">énorme</a></li>'
                 '<li><a href="/export">export</a></li><li><a href="/prive/note">privé</a></li>'
                 f'<li><a href="{off_host}">ailleurs</a></li><li><a href="/logo.png">logo</a></li></ul>')
    crumb2 = CRUMB + " > 2 Orientations régionales partagées"
    text_28 = "<p>Optimiser l'allocation des ressources médico-sociales.</p>"
    if version == 2:
        text_28 = "<p>Optimiser l'allocation des ressources médico-sociales et des crédits d'aide à domicile.</p>"
    page_28 = _page(crumb2, "2.8 S'engager dans l'efficience", "<h2>2.8.1 Optimiser l'allocation</h2>" + text_28)
    page_29 = _page(crumb2, "2.9 Accompagner les aidants", "<p>Développer les plateformes de répit.</p>")
    return {
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /prive/\n"),
        "/sroms/": (200, {"ETag": '"home-1"'}, home),
        "/sroms/2-8": (200, {"ETag": f'"p28-{version}"'}, page_28),
        "/sroms/2-9": (200, {"Last-Modified": LAST_MODIFIED}, page_29),
        "/ancienne": (301, {"Location": "/sroms/2-10"}, b""),
        "/sroms/2-10": (200, {"ETag": '"p210"'}, _page(crumb2, "2.10 Évaluer", "<p>Évaluer le schéma.</p>")),
        "/boucle-a": (302, {"Location": "/boucle-b"}, b""),
        "/boucle-b": (302, {"Location": "/boucle-a"}, b""),
        "/enorme": (200, {}, b"<html><body><p>" + b"x" * 300_000 + b"</p></body></html>"),
        "/export": (200, {"Content-Type": "text/csv"}, b"territoire;places\nVar;640\n"),
        "/prive/note": (200, {}, _page(CRUMB, "Note interne", "<p>Ne pas publier.</p>")),
        "/ailleurs": (200, {}, _page(CRUMB, "Ailleurs", "<p>Une autre page.</p>")),
    }


class SiteServer:
    """A ThreadingHTTPServer serving `pages`, logging (path, status, conditional?) per request."""

    def __init__(self):
        self.pages: dict = {}
        self.log: list[tuple[str, int, bool, float]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                status, headers, body = server.pages.get(self.path, (404, {}, b"<html><body>absente</body></html>"))
                conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
                if status == 200 and self._not_modified(headers):
                    status, body = 304, b""
                server.log.append((self.path, status, conditional, time.monotonic()))
                self.send_response(status)
                if status != 304:
                    self.send_header("Content-Type", headers.get("Content-Type", "text/html; charset=utf-8"))
                for key, value in headers.items():
                    if key != "Content-Type":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _not_modified(self, headers) -> bool:
                if "If-None-Match" in self.headers:
                    return self.headers["If-None-Match"] == headers.get("ETag")
                since = self.headers.get("If-Modified-Since")
                return bool(since and headers.get("Last-Modified") == since)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Two crawls of the site into one folder, the page 2.8 changed in between."""
    server = SiteServer()
    out = tmp_path_factory.mktemp("site")
    (out / "manifest.toml").write_text('[defaults]\nregion = "Provence-Alpes-Côte d\'Azur"\nregion_code = "93"\n',
                                       encoding="utf-8")
    try:
        server.pages = site(server.port, version=1)
        first = crawl(server.url("/sroms/"), out, delay_s=0.1, max_bytes=100_000)
        first_log = list(server.log)
        first_manifest = tomllib.loads((out / "manifest.toml").read_text(encoding="utf-8"))
        server.log.clear()
        server.pages = site(server.port, version=2)
        second = crawl(server.url("/sroms/"), out, delay_s=0.0, max_bytes=100_000)
        yield {"server": server, "out": out, "first": first, "second": second, "first_log": first_log,
               "second_log": list(server.log), "first_manifest": first_manifest,
               "manifest": tomllib.loads((out / "manifest.toml").read_text(encoding="utf-8"))}
    finally:
        server.close()


def test_first_crawl_saves_the_site_pages_with_url_and_date(crawled):
    server, manifest = crawled["server"], crawled["first_manifest"]
    urls = sorted(entry["url"] for entry in manifest["files"].values())
    assert urls == [server.url(p) for p in ("/sroms/", "/sroms/2-10", "/sroms/2-8", "/sroms/2-9")]
    for name, entry in manifest["files"].items():
        assert (crawled["out"] / name).is_file() and name.endswith(".html")
        assert entry["fetched"].endswith("+00:00")
    assert manifest["defaults"] == {"region": "Provence-Alpes-Côte d'Azur", "region_code": "93"}  # kept


def test_every_skipped_url_is_reported_with_its_reason(crawled):
    server = crawled["server"]
    skipped = dict(crawled["first"].skipped)
    assert skipped[server.url("/absente")] == "HTTP 404"
    assert skipped[server.url("/boucle-a")].startswith("redirect loop (")
    huge = len(site(server.port)["/enorme"][2])
    assert skipped[server.url("/enorme")] == f"page is {huge} bytes, over the 100000-byte limit"
    assert skipped[server.url("/export")] == "not an HTML page or a PDF (Content-Type: text/csv)"
    assert skipped[server.url("/prive/note")] == "disallowed by robots.txt"
    assert len(skipped) == 5


def test_never_requests_what_it_must_not(crawled):
    paths = [path for path, *_ in crawled["first_log"]]
    assert "/prive/note" not in paths  # robots.txt
    assert "/ailleurs" not in paths  # off-host link (localhost is not 127.0.0.1)
    assert "/logo.png" not in paths  # never a page
    assert paths.count("/sroms/2-9") == 1  # `#haut` is the same page
    assert paths[0] == "/robots.txt"


def test_requests_are_spaced_by_the_delay(crawled):
    times = [t for *_, t in crawled["first_log"]]  # seen by the server: scheduling jitter aside
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.07 and sum(gaps) >= 0.095 * len(gaps)


def test_recrawl_fetches_only_the_changed_page(crawled):
    server, second = crawled["server"], crawled["second"]
    assert second.saved == [server.url("/sroms/2-8")]
    assert sorted(second.unchanged) == [server.url(p) for p in ("/sroms/", "/sroms/2-10", "/sroms/2-9")]
    statuses = {(path, status, conditional) for path, status, conditional, _ in crawled["second_log"]}
    assert ("/sroms/2-8", 200, True) in statuses
    assert {("/sroms/", 304, True), ("/sroms/2-9", 304, True), ("/sroms/2-10", 304, True)} <= statuses
    name = next(n for n, e in crawled["manifest"]["files"].items() if e["url"] == server.url("/sroms/2-8"))
    assert crawled["manifest"]["files"][name]["etag"] == '"p28-2"'
    assert "crédits d'aide à domicile" in (crawled["out"] / name).read_text(encoding="utf-8")
    assert crawled["manifest"]["files"].keys() == crawled["first_manifest"]["files"].keys()  # same names


def test_page_cap_stops_the_crawl(tmp_path, crawled):
    report = crawl(crawled["server"].url("/sroms/"), tmp_path / "capped", delay_s=0, max_pages=2, max_bytes=100_000)
    assert len(report.saved) == 2 and report.capped
    assert "stopped at the page cap" in report.summary()


def test_saved_site_ingests_as_one_tree_across_pages(crawled):
    documents = [d for d in iter_documents([crawled["out"]]) if not isinstance(d, Exception)]
    assert len(documents) == 4
    by_title = {d.title: d for d in documents}
    page_28 = by_title["2.8 S'engager dans l'efficience"]
    assert [(s.key, s.parent, s.from_breadcrumb) for s in page_28.sections] == [
        ("2", None, True), ("2.8", "2", False), ("2.8.1", "2.8", False)]
    home = by_title["2 Orientations régionales partagées"]
    assert home.sections[0].key == "2" and not home.sections[0].from_breadcrumb  # the same node, with text
    assert page_28.region_code == "93" and page_28.url.endswith("/sroms/2-8") and page_28.fetched


def test_cli_crawl_then_ingest(tmp_path, crawled):
    out, data = tmp_path / "site", tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(main, ["crawl", crawled["server"].url("/sroms/"), "--out", str(out), "--delay", "0",
                                  "--max-mb", "0.1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("crawled 4 pages in ")
    assert "skipped 5 URLs:" in result.output
    result = runner.invoke(main, ["ingest", str(out), "--data-dir", str(data), "--no-index"])
    assert result.exit_code == 0, result.output
    assert "ingested 4 documents" in result.output


def test_cli_crawl_refuses_a_bad_start_url(tmp_path):
    result = CliRunner().invoke(main, ["crawl", "ftp://example.org/", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "ftp://example.org/: not an http(s) URL" in result.output


def test_file_names_are_stable_per_url():
    from ingest.crawl import file_name

    assert file_name("http://a/b", ".html") == file_name("http://a/b", ".html") != file_name("http://a/c", ".html")
    assert hashlib.sha1(b"http://a/b").hexdigest()[:8] in file_name("http://a/b", ".html")
