"""The one exception type of the domain layer.

Services raise ``DomainError(code, message)``; the HTML layer shows ``message`` (already
translated, lazily) next to the form or as a page message, the API answers 400 (or 409 for
conflicts) with ``{"code": ..., "detail": ...}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(
        self, code: str, message: Any, *, field: str | None = None, status: int | None = None
    ):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class ConflictError(DomainError):
    """A rule about the current state of data: capacity reached, already done, stale."""

    status = 409


class PermissionDenied(DomainError):
    status = 403
