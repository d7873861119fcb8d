"""The candidate's "我的考试" list: the published exams a person may sit, each with its window,
time limit, attempts used and allowed, and where the person stands.

Two statements whatever the number of exams (plus the audience filter's own look-ups): the
exams, then the person's attempts at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from lms.exams.audience import audience_clause
from lms.exams.models import FINISHED_STATES, Attempt, Exam
from lms.exams.review import review_rights
from lms.exams.scoring import one_place
from lms.extensions import db
from lms.org.models import Person

#: Where the person stands with an exam; ``OPEN`` and ``IN_PROGRESS`` come first in the list.
IN_PROGRESS, OPEN, UPCOMING, DONE, CLOSED = "in_progress", "open", "upcoming", "done", "closed"
ORDER = {IN_PROGRESS: 0, OPEN: 1, UPCOMING: 2, DONE: 3, CLOSED: 4}


@dataclass
class MyExam:
    exam: Exam
    status: str
    used: int = 0
    open_attempt_id: int | None = None
    #: The finished attempt whose result is shown (by the exam's grading method).
    shown_attempt: Attempt | None = None
    #: The counted score when the review policy lets the candidate see it.
    score: Decimal | None = None
    passed: bool | None = None
    needs_marking: bool = False
    finished: list[Attempt] = field(default_factory=list)

    @property
    def attempts_left(self) -> int | None:
        allowed = self.exam.attempts_allowed
        return None if allowed == 0 else max(allowed - self.used, 0)


def counted(exam: Exam, finished: list[Attempt]) -> tuple[Decimal | None, Attempt | None]:
    """The score that counts by the exam's grading method, and the attempt it comes from
    (the latest attempt for ``average``)."""
    scored = [a for a in finished if a.score is not None]
    if not scored:
        return None, (finished[-1] if finished else None)
    method = exam.grading_method
    if method == "first":
        best = min(scored, key=lambda a: a.number)
    elif method == "last":
        best = max(scored, key=lambda a: a.number)
    elif method == "average":
        mean = sum((a.score for a in scored), Decimal(0)) / len(scored)
        return one_place(mean), max(scored, key=lambda a: a.number)
    else:
        best = max(scored, key=lambda a: (a.score, -a.number))
    return best.score, best


def _open(attempt: Attempt, exam: Exam, now: datetime) -> bool:
    """An in-progress attempt still running (past deadline + grace it is only waiting for the
    sweeper, and counts as handed in)."""
    if attempt.deadline is None:
        return True
    return now <= attempt.deadline + timedelta(seconds=exam.grace_seconds)


def _status(exam: Exam, entry: MyExam, now: datetime) -> str:
    if entry.open_attempt_id is not None:
        return IN_PROGRESS
    if exam.closes_at is not None and now >= exam.closes_at:
        return DONE if entry.used else CLOSED
    if exam.opens_at is not None and now < exam.opens_at:
        return UPCOMING
    if entry.attempts_left == 0:
        return DONE
    return OPEN


def my_exams(person: Person | None, now: datetime) -> list[MyExam]:
    if person is None:
        return []
    exams = db.session.execute(
        select(Exam).where(audience_clause(person))).scalars().unique().all()
    if not exams:
        return []
    attempts = db.session.execute(
        select(Attempt).where(Attempt.person_id == person.id,
                              Attempt.exam_id.in_([e.id for e in exams]),
                              Attempt.state != "abandoned")
        .order_by(Attempt.number)).scalars().all()
    by_exam: dict[int, list[Attempt]] = {}
    for a in attempts:
        by_exam.setdefault(a.exam_id, []).append(a)
    rows = []
    for exam in exams:
        entry = MyExam(exam=exam, status=OPEN)
        for a in by_exam.get(exam.id, []):
            if a.state in FINISHED_STATES or not _open(a, exam, now):
                entry.used += 1
                if a.state in FINISHED_STATES:
                    entry.finished.append(a)
            else:
                entry.open_attempt_id = a.id
        score, shown = counted(exam, entry.finished)
        entry.shown_attempt = shown
        if shown is not None and review_rights(exam, shown, now).score:
            entry.needs_marking = any(a.needs_marking for a in entry.finished)
            entry.score = None if entry.needs_marking else score
            entry.passed = None if entry.score is None else entry.score >= exam.pass_score
        entry.status = _status(exam, entry, now)
        rows.append(entry)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (ORDER[r.status], r.exam.closes_at or far, r.exam.id))
    return rows
