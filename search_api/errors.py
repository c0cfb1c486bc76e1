"""Errors that carry their HTTP status; one handler renders them as JSON or French HTML."""
from __future__ import annotations


class HpkgError(Exception):
    """Base error: `message` is shown to the user as is."""

    status = 500

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(HpkgError):
    status = 400


class NotFound(HpkgError):
    status = 404


class Forbidden(HpkgError):
    status = 403
