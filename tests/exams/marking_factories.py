"""Finished attempts for the marking, regrade, results and score query tests (flush only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lms.exams.models import Attempt, Exam
from lms.exams.totals import mark_objective
from lms.extensions import db
from lms.org.models import Person
from tests.exams.factories import at, make_attempt
from tests.factories import make_person, make_user

T0 = at(2026, 3, 2, 1)


def finished(exam: Exam, person: Person, user_id: int, responses: dict[int, Any], *,
             number: int = 1, submitted_at: datetime = T0, state: str = "submitted") -> Attempt:
    """A submitted attempt with *responses* by position, objective items marked."""
    attempt = make_attempt(exam, person, user_id, state=state, number=number,
                           started_at=submitted_at - timedelta(minutes=30))
    attempt.submitted_at = submitted_at
    for item in attempt.items:
        item.response = responses.get(item.position)
    mark_objective(attempt, exam)
    db.session.flush()
    return attempt


def set_short(attempt: Attempt, position: int, score: str, now: datetime = T0) -> None:
    """Give a short answer a mark directly (bypassing the marking service)."""
    from lms.exams.totals import recompute

    item = next(i for i in attempt.items if i.position == position)
    item.score = Decimal(score)
    recompute(attempt, attempt.exam)
    if not attempt.needs_marking:
        attempt.marked_at = now
    db.session.flush()


def candidate(unit, name: str) -> tuple[Person, Any]:
    person = make_person(unit, name, post_type="village_assistant")
    user = make_user(f"u{person.id}", unit, person=person)
    return person, user
