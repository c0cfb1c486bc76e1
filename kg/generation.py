"""The store's generation: a token that changes after every write, seen by every process that
shares one data directory (the web workers, `hpkg ingest`, `hpkg load`).

Whatever is computed from the store (the web app's rendered pages) can be kept as long as the
token it was computed under is still the current one. The token is a random string in
`{data_dir}/store.generation`, replaced (write, then rename) after each write has returned, so a
reader that read the new token sees the new data. When the file cannot be replaced (a full
disk), it is removed instead: the old token is then gone and nothing kept under it is served
again. A missing file gets a fresh token from the first reader; where even that fails,
`current()` is None and nothing should be kept.

>>> g = Generation(None)
>>> before = g.current()
>>> g.bump()
>>> g.current() != before
True
"""
from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

GENERATION_FILE = "store.generation"


class Generation:
    """The token of the store of `data_dir` (in this process only when `data_dir` is None)."""

    def __init__(self, data_dir):
        self.path = None if data_dir is None else Path(data_dir) / GENERATION_FILE
        self._token = uuid.uuid4().hex  # used when there is no data directory

    def current(self) -> str | None:
        if self.path is None:
            return self._token
        try:
            return self.path.read_text(encoding="ascii") or None  # empty: a first reader is writing it
        except FileNotFoundError:
            return self._create()
        except (OSError, UnicodeDecodeError):
            return None

    def bump(self) -> None:
        """A new token, after a write (or an attempted one: a spurious change costs nothing)."""
        if self.path is None:
            self._token = uuid.uuid4().hex
            return
        temporary = self.path.with_name(f".{GENERATION_FILE}.{os.getpid()}.{threading.get_ident()}")
        try:
            temporary.write_text(uuid.uuid4().hex, encoding="ascii")
            os.replace(temporary, self.path)
        except OSError:
            for path in (temporary, self.path):  # the old token must not outlive the write
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass

    def _create(self) -> str | None:
        token = uuid.uuid4().hex
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another reader or a writer was first: theirs is the token
            try:
                return self.path.read_text(encoding="ascii") or None
            except (OSError, UnicodeDecodeError):
                return None
        except OSError:
            return None
        try:
            written = os.write(fd, token.encode("ascii"))
        except OSError:
            written = 0
        finally:
            os.close(fd)
        if written != len(token):  # a partial token would be read as another one: no caching
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
            return None
        return token
