"""`hpkg crawl URL --out DIR`: save a plan's pages from one site, for `hpkg ingest DIR`.

Rules, each for a reason:
- only the start page's host (and scheme), and below `prefix` when given: a plan is one site,
  and a crawler must not wander off it;
- robots.txt is obeyed (fetched once; none, or a 404, allows everything);
- one request at a time, at least `delay_s` apart: the sites are public services;
- at most `max_pages` pages and `max_bytes` per page: a large or endless site stops cleanly;
- HTML pages and PDF documents are saved, anything else is skipped (with its content type);
- redirects are followed by hand (at most MAX_REDIRECTS, loops and off-site targets refused);
- a page saved before is asked for again with If-None-Match / If-Modified-Since, so an
  unchanged page costs a 304 and keeps its file (its links are read from the saved copy).
Each saved page is recorded in DIR/manifest.toml with its `url`, `fetched` date and
validators. A page that fails is reported with its reason and never stops the crawl; a page
saved by an earlier crawl is never deleted (a 404 now keeps the old copy).
"""
from __future__ import annotations

import hashlib
import re
import sys
import time
import urllib.robotparser
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import urllib3
from tqdm import tqdm

from ingest.pipeline import load_manifest
from ingest.site_manifest import write_atomic, write_manifest

USER_AGENT = "hpkg-crawl/0.1 (+healthpolicy-kg)"
MAX_REDIRECTS = 5
SAVE_EVERY = 20  # pages between manifest writes: an interrupted crawl keeps what it saved
_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf"}
# Links that are never pages: not worth a request.
_NOT_PAGES = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|ico|css|js|zip|gz|docx?|xlsx?|pptx?|odt|ods|mp[34]|avi|woff2?)$",
                        re.IGNORECASE)


@dataclass
class CrawlReport:
    """What one crawl did: pages saved (new or changed), unchanged (304), skipped with reasons."""

    saved: list[str] = field(default_factory=list)  # URLs
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason)
    requests: int = 0
    seconds: float = 0.0
    capped: bool = False

    def summary(self) -> str:
        """The counts, then each skipped URL and why.

        >>> print(CrawlReport(["u1"], ["u2"], [("u3", "404 Not Found")], 4, 1.25).summary())
        crawled 2 pages in 1.2 s (4 requests): 1 new or changed, 1 unchanged (304)
        skipped 1 URL:
          u3: 404 Not Found
        """
        lines = [f"crawled {len(self.saved) + len(self.unchanged)} pages in {self.seconds:.1f} s "
                 f"({self.requests} requests): {len(self.saved)} new or changed, {len(self.unchanged)} unchanged (304)"]
        if self.capped:
            lines.append("stopped at the page cap (--max-pages): the site has more pages")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} URL{'s' if len(self.skipped) > 1 else ''}:")
            lines.extend(f"  {url}: {reason}" for url, reason in self.skipped)
        return "\n".join(lines)


class CrawlError(ValueError):
    """The crawl cannot start (bad start URL, unwritable folder)."""


@dataclass
class _Response:
    status: int
    url: str
    headers: dict
    body: bytes = b""


class _Skip(Exception):
    """One URL that is not saved, with the reason shown in the report."""


class Crawler:
    """One crawl of one site; `crawl()` is the function to call."""

    def __init__(self, start: str, out: Path, *, max_pages: int, delay_s: float, max_bytes: int,
                 timeout_s: float, prefix: str | None, user_agent: str):
        parts = urlsplit(start)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CrawlError(f"{start}: not an http(s) URL")
        self.start = urldefrag(start)[0]
        self.origin = (parts.scheme, parts.netloc.lower())
        self.prefix = prefix
        self.out = out
        self.max_pages, self.delay_s, self.max_bytes = max_pages, delay_s, max_bytes
        self.user_agent = user_agent
        self.http = urllib3.PoolManager(num_pools=2, headers={"User-Agent": user_agent},
                                        timeout=urllib3.Timeout(total=timeout_s), retries=False)
        self.last_request = 0.0
        self.done: set[str] = set()  # final URLs crawled in this run
        self.report = CrawlReport()
        try:
            out.mkdir(parents=True, exist_ok=True)
            self.manifest = load_manifest(out) or {"defaults": {}, "files": {}}
        except OSError as error:
            raise CrawlError(f"{out}: cannot create the folder ({error.strerror or error})") from None
        except Exception as error:  # an IngestError naming the manifest
            raise CrawlError(str(error)) from None
        self.by_url = {entry["url"]: name for name, entry in self.manifest["files"].items() if entry.get("url")}

    # ------------------------------------------------------------ the loop
    def run(self) -> CrawlReport:
        started = time.perf_counter()
        self.robots = self._robots()
        queue: deque[str] = deque([self.start])
        seen = {self.start}
        progress = tqdm(total=self.max_pages, desc="crawl", unit="page", file=sys.stderr, disable=None)
        try:
            while queue:
                if len(self.report.saved) + len(self.report.unchanged) >= self.max_pages:
                    self.report.capped = True
                    break
                url = queue.popleft()
                try:
                    links = self._visit(url)
                except _Skip as skip:
                    self.report.skipped.append((url, str(skip)))
                    continue
                progress.update(1)
                for link in links:
                    if link not in seen:
                        seen.add(link)
                        queue.append(link)
                if (len(self.report.saved) + 1) % SAVE_EVERY == 0:
                    write_manifest(self.out, self.manifest)
        finally:
            progress.close()
            write_manifest(self.out, self.manifest)
            self.http.clear()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _visit(self, url: str) -> list[str]:
        """Fetch (or revalidate) one page, save it, and return the site links it holds."""
        if not self.robots.can_fetch(self.user_agent, url):
            raise _Skip("disallowed by robots.txt")
        response = self._get(url)
        if response.url != url:  # redirected: the page is known by where it lives
            if not self.robots.can_fetch(self.user_agent, response.url):
                raise _Skip(f"redirects to {response.url}, disallowed by robots.txt")
            if response.url in self.done:
                raise _Skip(f"redirects to {response.url}, crawled under that URL")
            url = response.url
        self.done.add(url)
        name = self.by_url.get(url)
        saved = self.out / name if name else None
        if response.status == 304 and saved is not None and saved.is_file():
            self.report.unchanged.append(url)
            return self._links(saved.read_bytes(), url) if saved.suffix == ".html" else []
        if response.status != 200:
            kept = " (the copy saved earlier is kept)" if saved is not None and saved.is_file() else ""
            raise _Skip(f"HTTP {response.status}{kept}")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = _TYPES.get(kind)
        if suffix is None:
            raise _Skip(f"not an HTML page or a PDF (Content-Type: {kind or 'none'})")
        name = name if name and name.endswith(suffix) else file_name(url, suffix)
        write_atomic(self.out / name, response.body)
        record = {key: value for key, value in self.manifest["files"].get(name, {}).items()
                  if key not in ("url", "fetched", "etag", "last_modified")}
        record["url"] = url
        record["fetched"] = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        if response.headers.get("etag"):
            record["etag"] = response.headers["etag"]
        if response.headers.get("last-modified"):
            record["last_modified"] = response.headers["last-modified"]
        self.manifest["files"][name] = record
        self.by_url[url] = name
        self.report.saved.append(url)
        return self._links(response.body, url) if suffix == ".html" else []

    # ------------------------------------------------------------ HTTP
    def _validators(self, url: str) -> dict:
        """Conditional request headers for a page saved earlier (its file still there)."""
        name = self.by_url.get(url)
        if not name or not (self.out / name).is_file():
            return {}
        entry = self.manifest["files"][name]
        headers = {}
        if entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if entry.get("last_modified"):
            headers["If-Modified-Since"] = entry["last_modified"]
        return headers

    def _get(self, url: str) -> _Response:
        """GET with redirects followed by hand (each hop asked conditionally when saved before);
        _Skip for loops, off-site targets, size and network errors."""
        chain = [url]
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(url, self._validators(url))
            if response.status not in (301, 302, 303, 307, 308):
                response.url = url
                return response
            target = response.headers.get("location")
            if not target:
                raise _Skip(f"HTTP {response.status} without a Location")
            url = urldefrag(urljoin(url, target))[0]
            if url in chain:
                raise _Skip(f"redirect loop ({' -> '.join(chain + [url])})")
            if not self.in_site(url):
                raise _Skip(f"redirects off the site, to {url}")
            chain.append(url)
        raise _Skip(f"more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, headers: dict) -> _Response:
        wait = self.last_request + self.delay_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_request = time.monotonic()
        self.report.requests += 1
        try:
            raw = self.http.request("GET", url, headers=headers, redirect=False, preload_content=False)
        except urllib3.exceptions.HTTPError as error:
            raise _Skip(f"cannot fetch: {type(error).__name__}: {error}") from None
        try:
            declared = raw.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise _Skip(f"page is {int(declared)} bytes, over the {self.max_bytes}-byte limit")
            body = b""
            if raw.status == 200:
                chunks, size = [], 0
                for chunk in raw.stream(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _Skip(f"page is over the {self.max_bytes}-byte limit")
                    chunks.append(chunk)
                body = b"".join(chunks)
            headers = {key.lower(): value for key, value in raw.headers.items()}
            return _Response(raw.status, url, headers, body)
        except urllib3.exceptions.HTTPError as error:
            raise _Skip(f"cannot fetch: {type(error).__name__}: {error}") from None
        finally:
            raw.release_conn()

    def _robots(self) -> urllib.robotparser.RobotFileParser:
        parser = urllib.robotparser.RobotFileParser()
        url = f"{self.origin[0]}://{self.origin[1]}/robots.txt"
        try:
            response = self._request(url, {})
        except _Skip:
            response = _Response(404, url, {})
        if response.status == 200:
            parser.parse(response.body.decode("utf-8", "replace").splitlines())
        else:  # no robots.txt: everything is allowed
            parser.parse([])
        return parser

    # ------------------------------------------------------------ links
    def in_site(self, url: str) -> bool:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc.lower()) != self.origin:
            return False
        return self.prefix is None or parts.path.startswith(self.prefix)

    def _links(self, html: bytes, base: str) -> list[str]:
        import lxml.html
        from lxml import etree

        try:
            root = lxml.html.document_fromstring(html)
        except (etree.ParserError, ValueError):
            return []
        base_href = root.find(".//base[@href]")
        if base_href is not None:
            base = urljoin(base, base_href.get("href"))
        links = []
        for element in root.iter("a", "area"):
            href = (element.get("href") or "").strip()
            if not href or href.startswith(("mailto:", "tel:", "javascript:", "#")):
                continue
            url = urldefrag(urljoin(base, href))[0]
            if self.in_site(url) and not _NOT_PAGES.search(urlsplit(url).path):
                links.append(url)
        return links


def file_name(url: str, suffix: str) -> str:
    """A stable file name for a page: a slug of its path and a hash of the whole URL.

    >>> file_name("https://www.icars.fr/sroms/2.8-Soutenir?id=4", ".html")
    'sroms-2-8-soutenir-d73b4bdf.html'
    """
    parts = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", parts.path.lower()).strip("-")[:60].strip("-") or "index"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}{suffix}"


def crawl(start: str, out: str | Path, *, max_pages: int = 200, delay_s: float = 1.0,
          max_bytes: int = 5 * 2**20, timeout_s: float = 20.0, prefix: str | None = None,
          user_agent: str = USER_AGENT) -> CrawlReport:
    """Crawl the site of `start` into folder `out` (pages + manifest.toml); CrawlError if it cannot start."""
    return Crawler(start, Path(out), max_pages=max_pages, delay_s=delay_s, max_bytes=max_bytes,
                   timeout_s=timeout_s, prefix=prefix, user_agent=user_agent).run()
