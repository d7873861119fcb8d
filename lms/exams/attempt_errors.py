"""The one refusal of the attempt engine: a translated message and the HTTP status it maps to."""

from __future__ import annotations

from lms.errors import DomainError

#: Not allowed for this person or at this time (audience, window, passcode, attempt limit).
FORBIDDEN = 403
#: The attempt's state does not allow it (finished, too late).
CONFLICT = 409
#: Malformed or impossible answers.
BAD_REQUEST = 400


class AttemptRefused(DomainError):
    """``str(exc)`` is the translated message shown to the candidate; ``status`` the HTTP
    status of the JSON API (400, 403 or 409) and ``state`` the attempt's state when known."""

    def __init__(self, message: str, status: int = FORBIDDEN, *,
                 state: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.state = state
