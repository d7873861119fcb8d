"""The edge's one transaction for a form action: commit on success, roll back on a refusal;
where a refusal shows on the form; a write from a GET; the page number a list was asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request

from lms.db import write_intent
from lms.errors import DomainError
from lms.extensions import db


def commit_or_flash(action: Callable[[], Any], success: str) -> bool:
    """Run *action* (a service call); commit and flash *success*, or roll back and flash the
    service's translated refusal. Returns True when the change was committed."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def begin_write() -> None:
    """For a GET that must record something (an export's audit entry): end the request's read
    transaction and open the next one for writing (SQLite: BEGIN IMMEDIATE, which waits for the
    write lock; upgrading a read transaction would fail at once under concurrent writers)."""
    db.session.commit()
    write_intent.set(True)


def form_refusal(form: Any, exc: DomainError) -> None:
    """Undo what the service flushed; show its message at its field (or above the form)."""
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def page_number(limit: int = 100_000) -> int:
    """The ``page`` query argument, 1 when missing or not a number, at most *limit*."""
    try:
        return max(1, min(int(request.args.get("page", "1")), limit))
    except ValueError:
        return 1
