"""The one error hierarchy of the project below the web: each class says what went wrong.

Nothing here knows HTTP: `search_api/handlers.py` alone maps each class to a status and renders
it (JSON, the French error page, or plain text for SPARQL clients). `message` is shown to the
user as it is (French on the web, English for SPARQL clients and the CLI); `errors` lists one
message per field or CSV line (`[message]` when there is one).

>>> error = BadInput("titre : obligatoire")
>>> isinstance(error, ValueError), error.errors
(True, ['titre : obligatoire'])
"""
from __future__ import annotations


class HpkgError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = list(errors) if errors else [message]


class BadInput(HpkgError, ValueError):
    """The caller's input is wrong: a field, a parameter, a query, a file; the message names it."""


class NoAcceptableFormat(BadInput):
    """No answer format fits the one asked for (`format=`, `Accept`)."""


class UnsupportedMediaType(BadInput):
    """A request body of a type or charset that is not read."""


class TooLarge(BadInput):
    """A request, a body or a text over its limit."""


class NotAuthenticated(HpkgError):
    """The operation needs a logged-in user (or the login failed)."""


class Forbidden(HpkgError):
    """Refused whoever asks: an update on the read-only endpoint, a missing CSRF token."""


class NotFound(HpkgError):
    """The thing named does not exist: a project, a section, a format."""


class MethodNotAllowed(HpkgError):
    """A method the resource does not take; `allowed` lists those it does."""

    def __init__(self, message: str, allowed: str):
        super().__init__(message)
        self.allowed = allowed

    def __reduce__(self):  # pickled across the SPARQL worker's pipe
        return type(self), (self.message, self.allowed)


class Conflict(HpkgError):
    """The thing changed since the caller read it (a stale version)."""


class TooManyAttempts(HpkgError):
    """Too many tries in a short time (failed logins)."""


class Unavailable(HpkgError):
    """A resource the operation needs is not there now: the store, the index, a worker."""


class Timeout(Unavailable):
    """The operation ran out of time."""


class Failed(HpkgError):
    """The operation failed for a reason that is not the caller's (a crashed query worker)."""
