"""Domain errors raised by services; views turn them into form errors or flashes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation a user can cause. ``str(exc)`` is a translated message."""


class NotAllowed(DomainError):
    """The actor may not do this (beyond the route check)."""


class InvalidState(DomainError):
    """The object is not in a state that allows this change."""


class ValidationFailed(DomainError):
    """Input broke a business rule; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
