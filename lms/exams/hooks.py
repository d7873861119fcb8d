"""What later domains plug into the exams domain (which never imports them): a listener told
when an attempt's result becomes a pass, and the moment from which a person's attempts count
against an exam's limit (a course repeated after the last failed retake starts afresh)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from lms.exams.models import Attempt, Exam

PassListener = Callable[[Attempt, Any, datetime], None]
AttemptFloor = Callable[[Exam, int], datetime | None]

_pass_listeners: list[PassListener] = []
_floors: list[AttemptFloor] = []


def register_pass_listener(fn: PassListener) -> None:
    if fn not in _pass_listeners:
        _pass_listeners.append(fn)


def register_attempt_floor(fn: AttemptFloor) -> None:
    if fn not in _floors:
        _floors.append(fn)


def passed(attempt: Attempt, actor: Any, now: datetime) -> None:
    """Tell the listeners that *attempt* now counts as a pass (flush only; same transaction)."""
    if attempt.passed is True and attempt.exam.program_id is not None:
        for fn in _pass_listeners:
            fn(attempt, actor, now)


def attempt_floor(exam: Exam, person_id: int) -> datetime | None:
    """Attempts started before this moment do not count against the limit (None: all count)."""
    if exam.program_id is None:
        return None
    found = [f for f in (fn(exam, person_id) for fn in _floors) if f is not None]
    return max(found) if found else None
