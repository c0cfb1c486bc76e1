"""Structured logs: one JSON object per line on stderr (or plain text), a request id per request.

`RequestLog` wraps the WSGI app: it takes the client's `X-Request-ID` when it is sane (else
makes one), sends it back in the response, and logs one `request` line when the response has
been sent (status, bytes, duration). Every other log line written while a request is served
(an error and its traceback, a gunicorn message) carries the same `request_id`.
`logging_config()` is the one configuration: the dev server applies it, gunicorn receives it
as `logconfig_dict` so that its own error log is in the same format.

Never logged: cookies, headers, request bodies, the query string of the login routes, and
query parameters whose name says they are secret.
"""
from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import os
import re
import time
import traceback
import uuid
from urllib.parse import parse_qsl, urlencode

LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error")
ACCESS_LOGGER = "hpkg.access"
REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_KEY = "hpkg.request_id"
# A client's id is kept when it is short and plain (it lands in every log line).
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# Login routes: their query string is never logged (a password may be put there by mistake).
_SECRET_PATHS = ("/connexion", "/api/login", "/login")
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|csrf|api_?key|session|auth", re.IGNORECASE)
_MAX_QUERY_CHARS = 500
# Attributes every LogRecord has; anything else was given as `extra=` and is logged as a field.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hpkg_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread is serving (None outside a request)."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record logged while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, event, pid, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": _iso(record.created),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
            "logger": record.name,
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            payload["request_id"] = request_id
        if payload["event"] == "log" or record.msg:
            payload["message"] = record.getMessage()
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in payload and key not in ("event", "request_id"):
                payload[key] = value
        if record.exc_info:
            payload["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            payload["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`ts level [pid] event message key=value ...`: for a developer's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "event", None) or record.name
        fields = " ".join(f"{k}={v}" for k, v in vars(record).items()
                          if k not in _RECORD_ATTRS and k not in ("event", "request_id"))
        rid = getattr(record, "request_id", None)
        line = f"{_iso(record.created)} {record.levelname} [{record.process}] {event} {record.getMessage()}"
        line = " ".join(part for part in (line.rstrip(), fields, f"request_id={rid}" if rid else "") if part)
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


def logging_config(fmt: str = "json", level: str = "info") -> dict:
    """The `logging.config.dictConfig` mapping of hpkg (and of gunicorn's own loggers)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log_format: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log_level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": "hpkg", "filters": ["request_id"]}
    quiet = {"level": level.upper(), "handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"hpkg": {"()": formatter}},
        "handlers": {"stderr": handler},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # gunicorn's access log is off (RequestLog writes ours); its error log goes here.
        "loggers": {"gunicorn.error": quiet, "gunicorn.access": {**quiet, "level": "CRITICAL"},
                    "faiss": {"level": "WARNING"}},  # faiss says at info which CPU build it loaded
    }


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    """Apply `logging_config` to this process (dev server, `gunicorn search_api.wsgi:app`)."""
    logging.config.dictConfig(logging_config(fmt, level))
    # werkzeug's dev server logs its own access line per request: ours replaces it.
    logging.getLogger("werkzeug").addFilter(_drop_werkzeug_access)


def _drop_werkzeug_access(record: logging.LogRecord) -> bool:
    return " - - [" not in str(record.msg)


class RequestLog:
    """WSGI middleware: request id in and out, one access line per request once it is sent."""

    def __init__(self, app, logger: logging.Logger | None = None):
        self.app = app
        self.log = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        environ["hpkg.cpu_start"] = time.thread_time()  # this thread's CPU: cost per request
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        environ[ENVIRON_KEY] = rid
        token = _request_id.set(rid)
        state = {"status": None, "bytes": 0}

        def _start_response(status, headers, exc_info=None):
            state["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, rid))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, _start_response)
        except BaseException:
            state["status"] = state["status"] or 500
            self._log(environ, rid, state, started)
            _request_id.reset(token)
            raise
        return _LoggedBody(body, lambda: self._log(environ, rid, state, started), state, token)

    def _log(self, environ, rid, state, started) -> None:
        status = state["status"] or 0
        level = logging.ERROR if status >= 500 else logging.INFO
        fields = {
            "event": "request", "request_id": rid,
            "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO") or "/",
            "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR"), "bytes": state["bytes"], "worker_pid": os.getpid(),
        }
        if "hpkg.cpu_start" in environ:  # CPU of the serving thread (not of a forked query worker)
            fields["cpu_ms"] = round((time.thread_time() - environ["hpkg.cpu_start"]) * 1000, 1)
        query = safe_query(fields["path"], environ.get("QUERY_STRING", ""))
        if query:
            fields["query"] = query
        self.log.log(level, "", extra=fields)


class _LoggedBody:
    """The response iterable, counting bytes; logs the request when the server closes it."""

    def __init__(self, body, on_close, state, token):
        self._body, self._on_close, self._state, self._token = body, on_close, state, token

    def __iter__(self):
        for chunk in self._body:
            self._state["bytes"] += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._on_close()
            try:
                _request_id.reset(self._token)
            except (ValueError, RuntimeError):  # closed in another context, or twice
                pass


def safe_query(path: str, query: str) -> str:
    """The query string as it may be logged: none for login routes, secret parameters masked.

    >>> safe_query("/search", "q=soins&k=5")
    'q=soins&k=5'
    >>> safe_query("/api/login", "user=a&password=x")
    ''
    >>> safe_query("/search", "q=x&csrf_token=abc")
    'q=x&csrf_token=%2A%2A%2A'
    """
    if not query or path.rstrip("/").startswith(_SECRET_PATHS):
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(_SECRET_PARAM.search(name) for name, _ in pairs):
        query = urlencode([(n, "***" if _SECRET_PARAM.search(n) else v) for n, v in pairs])
    return query[:_MAX_QUERY_CHARS]


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"
