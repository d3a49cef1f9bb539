"""Errors every service returns in the same structured shape."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """A command that was refused. Nothing was appended.

    ``code`` is stable and machine-readable, ``message`` is for people (Vietnamese first when the
    error is shown to clerks, English in ``message_en``), ``field`` names the offending input.
    """

    code: str = "rejected"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        message_en: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.message_en = message_en or message
        self.details = details or {}
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "message_en": self.message_en}
        if self.field is not None:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class ValidationFailed(CommandError):
    code = "invalid"


class NotFound(CommandError):
    code = "not_found"


class InvalidState(CommandError):
    code = "invalid_state"


class Conflict(CommandError):
    """Another writer appended to the same aggregate first (optimistic concurrency)."""

    code = "conflict"


class Unavailable(CommandError):
    """The event store could not be reached or did not confirm in time; the command may be retried
    with the same command id (it is idempotent)."""

    code = "unavailable"


class Unauthenticated(CommandError):
    """The request carries no credential, or one that is forged, expired or revoked."""

    code = "unauthenticated"


class Forbidden(CommandError):
    """The verified actor may not do this: its role does not allow it, or the aggregate is outside
    its unit's area. Nothing was appended."""

    code = "forbidden"
