"""A gunicorn gthread worker that slow clients cannot exhaust (`hpkg serve --production`).

gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives;
the thread then reads the rest of the request with blocking, unbounded reads. A client that
sends its request head byte by byte (slowloris) or never finishes its body holds a thread
forever, and `threads` such clients stop the worker.

This worker receives each request (head, and body up to `max_body_kb`) in the event loop,
without a thread, and hands the connection to a thread only once the request is complete.
A request not complete within `request_timeout_s` gets `408 Request Timeout` and is closed.
Reads a thread still makes (a chunked or oversized body) are bounded by the same deadline,
and writing the response by `request_timeout_s`.

Written against gunicorn 27 (pinned in constraints.txt): it overrides `accept`, the
keep-alive wake-up, `handle`, `handle_request` and `murder_pending` of `ThreadWorker`.
"""
from __future__ import annotations

import errno
import logging
import re
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from search_api.settings import load_settings

log = logging.getLogger("hpkg.worker")
HEAD_LIMIT = 64 * 1024  # a longer head is handed to the parser, which refuses it
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*(\d+)")
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def request_complete(buffer: bytes, body_limit: int) -> bool:
    """Whether `buffer` holds a whole request head and the body a thread should not wait for.

    >>> request_complete(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n", 100)
    False
    >>> request_complete(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", 100)
    True
    >>> request_complete(b"POST / HTTP/1.1\\r\\nContent-Length: 5\\r\\n\\r\\nabc", 100)
    False
    >>> request_complete(b"POST / HTTP/1.1\\r\\nContent-Length: 500\\r\\n\\r\\n", 100)  # the app refuses it (413)
    True
    >>> request_complete(b"POST / HTTP/1.1\\r\\nContent-Length: 5\\r\\nExpect: 100-continue\\r\\n\\r\\n", 100)
    True
    """
    end = _HEAD_END.search(buffer)
    if end is None:
        return len(buffer) > HEAD_LIMIT
    head = bytes(buffer[:end.start()]).lower()
    if b"\ntransfer-encoding" in head or b"\nexpect" in head:
        # chunked, or a client waiting for "100 Continue" (gunicorn sends it): the thread
        # reads the body, bounded by the deadline
        return True
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    return length > body_limit or len(buffer) - end.end() >= length


class DeadlineUnreader(SocketUnreader):
    """Socket reads that stop at the connection's deadline: the client is then cut off."""

    def __init__(self, sock, conn: GuardedConn):
        super().__init__(sock)
        self.conn = conn

    def chunk(self, size_hint=None):
        remaining = self.conn.read_deadline - time.monotonic()
        if remaining <= 0:
            return self._give_up()
        prior = self.sock.gettimeout()
        self.sock.settimeout(remaining if prior is None else min(prior, remaining))
        try:
            return super().chunk(size_hint)
        except (socket.timeout, TimeoutError):
            return self._give_up()
        finally:
            try:
                self.sock.settimeout(prior)
            except OSError:
                pass

    def _give_up(self) -> bytes:
        log.warning("request not received in time: connection closed",
                    extra={"event": "slow_client", "remote_addr": _addr(self.conn.client)})
        try:
            self.sock.shutdown(socket.SHUT_RD)  # later reads see the end of the stream
        except OSError:
            pass
        return b""


class GuardedConn(TConn):
    """A connection whose request was (mostly) received by the event loop: `head` holds it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.head = bytearray()
        self.read_deadline = 0.0
        self.deadline_set = False

    def init(self):
        super().init()  # creates the parser on the first call only
        if self.is_http2 or self.parser is None:
            return
        if not isinstance(self.parser.unreader, DeadlineUnreader):
            self.parser.unreader = DeadlineUnreader(self.sock, self)
        if self.head:  # what the event loop received, read first by the parser
            self.parser.unreader.unread(bytes(self.head))
            self.head = bytearray()


class GuardedThreadWorker(ThreadWorker):
    """gthread, with requests received in the event loop under a deadline (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        settings = load_settings()
        self.request_timeout = float(settings["request_timeout_s"])
        self.body_limit = int(settings["max_body_kb"]) * 1024
        self.receiving: deque[GuardedConn] = deque()  # sorted by deadline (same timeout for all)

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = GuardedConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.cfg.is_ssl:
            self.enqueue_req(conn)  # TLS needs its handshake in a thread (hpkg serves plain HTTP)
            return
        self._receive(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request: received in the event loop too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._receive(conn)

    def _receive(self, conn: GuardedConn) -> None:
        conn.read_deadline = time.monotonic() + self.request_timeout
        conn.sock.setblocking(False)
        self.receiving.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_data, conn))

    def _on_data(self, conn: GuardedConn, _sock) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_receiving(conn)
            self.nr_conns -= 1
            conn.close()
            return
        conn.head += data
        if request_complete(conn.head, self.body_limit):
            self._stop_receiving(conn)
            conn.data_ready = True
            conn.deadline_set = True
            self.enqueue_req(conn)

    def _stop_receiving(self, conn: GuardedConn) -> None:
        self.poller.unregister(conn.sock)
        self.receiving.remove(conn)

    def handle(self, conn):
        if not getattr(conn, "deadline_set", True):
            # a pipelined request already buffered by the parser: a fresh deadline for it
            conn.read_deadline = time.monotonic() + self.request_timeout
        conn.deadline_set = False
        return super().handle(conn)

    def handle_request(self, req, conn):
        conn.sock.settimeout(self.request_timeout)  # bounds writing to a client that does not read
        return super().handle_request(req, conn)

    def murder_pending(self):
        """Also close the connections whose request did not arrive in time (408)."""
        super().murder_pending()
        now = time.monotonic()
        while self.receiving and (not self.alive or self.receiving[0].read_deadline <= now):
            conn = self.receiving.popleft()
            try:
                self.poller.unregister(conn.sock)
            except (OSError, KeyError, ValueError):
                pass
            self.nr_conns -= 1
            if self.alive:
                log.warning("request not received in %.0f s: 408 and connection closed", self.request_timeout,
                            extra={"event": "slow_client", "remote_addr": _addr(conn.client),
                                   "received_bytes": len(conn.head)})
                try:
                    conn.sock.send(_TIMEOUT_RESPONSE)
                except OSError:
                    pass
            conn.close()


def _addr(client) -> str | None:
    return client[0] if isinstance(client, tuple) and client else None
