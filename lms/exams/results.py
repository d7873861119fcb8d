"""Counted results (计分成绩): one per person and exam, by the exam's grading method, over the
person's finished attempts; and the organiser's results table with its filters.

- ``highest``: the best fully marked attempt; passed as soon as one passes, pending while none
  passes and an attempt still waits for a marker;
- ``first`` / ``last``: the first / last finished attempt; pending while it waits for a marker;
- ``average``: the mean of the finished attempts, rounded to one place half up; pending while any
  of them waits for a marker.

A pass is a counted score of at least the exam's pass mark. Everything is one SQL statement for
any number of people and exams (``counted_subquery``), so lists and exports filter and page on
it; the average's pass test compares integer tenths, exactly, on every database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased

from lms.exams.models import FINISHED_STATES, Attempt, Exam
from lms.exams.scoring import one_place
from lms.extensions import db

PASSED, FAILED, PENDING = "passed", "failed", "pending"
#: Result filter values of the results table; ``none`` = no finished attempt yet.
NO_RESULT = "none"


@dataclass(frozen=True)
class CountedResult:
    #: The counted score; None while it waits for marking.
    score: Decimal | None
    #: True passed, False failed, None unknown (waiting for marking).
    passed: bool | None
    #: Finished attempts.
    attempts: int
    #: Finished attempts still waiting for a marker.
    pending_marking: int


def _tenths(score: Any) -> ColumnElement[int]:
    return cast(func.round(score * 10), Integer)


def counted_subquery(exam_filter: ColumnElement[bool]) -> Any:
    """Per (exam, person) with a finished attempt at an exam matching *exam_filter*: attempts,
    pending, ``status`` (passed / failed / pending) and the columns of the counted score."""
    marked = and_(Attempt.needs_marking.is_(False), Attempt.score.is_not(None))
    agg = (select(Attempt.exam_id.label("exam_id"), Attempt.person_id.label("person_id"),
                  func.count(Attempt.id).label("attempts"),
                  func.sum(case((marked, 0), else_=1)).label("pending"),
                  func.min(Attempt.number).label("first_no"),
                  func.max(Attempt.number).label("last_no"),
                  func.max(case((marked, Attempt.score))).label("best"),
                  func.sum(case((marked, _tenths(Attempt.score)))).label("sum_tenths"),
                  func.sum(case((marked, 1), else_=0)).label("n_marked"),
                  func.max(Attempt.submitted_at).label("last_submitted"))
           .join(Exam, Exam.id == Attempt.exam_id)
           .where(Attempt.state.in_(FINISHED_STATES), exam_filter)
           .group_by(Attempt.exam_id, Attempt.person_id).subquery())
    first, last = aliased(Attempt), aliased(Attempt)
    method, pass_score = Exam.grading_method, Exam.pass_score

    def one(a: Any) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
        waiting = or_(a.needs_marking.is_(True), a.score.is_(None))
        return waiting, case((waiting, PENDING), (a.score >= pass_score, PASSED), else_=FAILED)

    first_waiting, first_status = one(first)
    last_waiting, last_status = one(last)
    average_pass = 2 * agg.c.sum_tenths >= (2 * _tenths(pass_score) - 1) * agg.c.n_marked
    status = case(
        (method == "highest", case((agg.c.best >= pass_score, PASSED),
                                   (agg.c.pending > 0, PENDING), else_=FAILED)),
        (method == "first", first_status),
        (method == "last", last_status),
        else_=case((agg.c.pending > 0, PENDING), (average_pass, PASSED), else_=FAILED))
    return (select(agg.c.exam_id, agg.c.person_id, agg.c.attempts, agg.c.pending,
                   agg.c.best, agg.c.sum_tenths, agg.c.n_marked, agg.c.last_submitted,
                   method.label("method"),
                   case((first_waiting, None), else_=first.score).label("first_score"),
                   case((last_waiting, None), else_=last.score).label("last_score"),
                   status.label("status"))
            .select_from(agg)
            .join(Exam, Exam.id == agg.c.exam_id)
            .join(first, and_(first.exam_id == agg.c.exam_id, first.person_id == agg.c.person_id,
                              first.number == agg.c.first_no))
            .join(last, and_(last.exam_id == agg.c.exam_id, last.person_id == agg.c.person_id,
                             last.number == agg.c.last_no))
            .subquery())


def counted_score(row: Any) -> Decimal | None:
    """The counted score of a ``counted_subquery`` row (None while waiting for marking)."""
    if row.status == PENDING:
        return None
    if row.method == "first":
        value = row.first_score
    elif row.method == "last":
        value = row.last_score
    elif row.method == "average":
        if not row.n_marked:
            return None
        return one_place(Decimal(int(row.sum_tenths)) / Decimal(int(row.n_marked)) / 10)
    else:
        value = row.best
    return one_place(Decimal(str(value))) if value is not None else None


def to_result(row: Any) -> CountedResult:
    passed = {PASSED: True, FAILED: False}.get(row.status)
    score = counted_score(row) if passed is not None else None
    return CountedResult(score, passed, int(row.attempts), int(row.pending))


def counted_results(exam: Exam, person_ids: Iterable[int] | None = None
                    ) -> dict[int, CountedResult]:
    """Counted result per person with a finished attempt at *exam* (one query)."""
    return {pid: r for (_e, pid), r in
            counted_for_exams([exam.id], person_ids).items()}


def counted_for_exams(exam_ids: Iterable[int], person_ids: Iterable[int] | None = None, *,
                      until: datetime | None = None) -> dict[tuple[int, int], CountedResult]:
    """Counted results keyed by ``(exam id, person id)`` for several exams (one query); with
    *until*, only attempts submitted by then count."""
    ids = list(exam_ids)
    if not ids:
        return {}
    which = Exam.id.in_(ids)
    if until is not None:
        which = and_(which, Attempt.submitted_at <= until)
    sub = counted_subquery(which)
    stmt = select(sub)
    if person_ids is not None:
        people = list(person_ids)
        if not people:
            return {}
        stmt = stmt.where(sub.c.person_id.in_(people))
    return {(row.exam_id, row.person_id): to_result(row)
            for row in db.session.execute(stmt).all()}
