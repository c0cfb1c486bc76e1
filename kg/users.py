"""Users who may edit projects and links: name, role (editor | admin), scrypt password hash.

Stored in `{data_dir}/users.sqlite`, apart from the graph: credentials are not facts about the
plan and must never be exported with it or reachable through the public SPARQL endpoint.

>>> import tempfile
>>> users = UserStore(tempfile.mkdtemp())
>>> users.add("alice", "correct horse battery", role="editor").role
'editor'
>>> users.authenticate("alice", "correct horse battery").name
'alice'
>>> users.authenticate("alice", "wrong") is None
True
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ontology.errors import BadInput

ROLES = ("editor", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
MIN_PASSWORD = 8
# scrypt cost: n=2**14, r=8, p=1 is the interactive-login setting recommended by its author.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)
"""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_edit(self) -> bool:
        return self.role in ROLES


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (hex); a fresh random salt each time."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """True when `password` matches the `stored` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), dklen=32,
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


# Computed once: authenticating an unknown name costs as much as a known one (no timing oracle).
_DUMMY_HASH = None


class UserStore:
    """The users table of one data directory."""

    def __init__(self, data_dir: str | Path):
        self.path = Path(data_dir) / "users.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, name: str, password: str, role: str = "editor", replace: bool = False) -> User:
        """Create a user (or change its password and role with `replace=True`)."""
        if not NAME_RE.match(name or ""):
            raise BadInput(f"name: {name!r} must be 2-64 letters, digits or . _ @ -")
        if role not in ROLES:
            raise BadInput(f"role: {role!r} is not one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise BadInput(f"password: must have at least {MIN_PASSWORD} characters")
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self._connect() as db:
                db.execute(f"{verb} INTO users (name, role, password) VALUES (?, ?, ?)",
                           (name, role, hash_password(password)))
        except sqlite3.IntegrityError as error:
            raise BadInput(f"name: user {name!r} already exists") from error
        return User(name, role)

    def get(self, name: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def list(self) -> list[User]:
        with self._connect() as db:
            return [User(*row) for row in db.execute("SELECT name, role FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when name and password match, else None."""
        global _DUMMY_HASH
        with self._connect() as db:
            row = db.execute("SELECT name, role, password FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            _DUMMY_HASH = _DUMMY_HASH or hash_password("not a password")
            check_password(_DUMMY_HASH, password or "")
            return None
        return User(row[0], row[1]) if check_password(row[2], password or "") else None
