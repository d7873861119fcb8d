"""The edge's one transaction for a form action: commit on success, roll back on a refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash

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
