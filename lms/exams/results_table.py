"""The organiser's results table of an exam (one row per person who started it, with the counted
result) and one attempt item as the organiser sees it (key, response, mark, comment).

The table is one query for a page of rows plus one aggregate for the counts per result,
whatever the number of people and attempts; the page's posts come in one more statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from lms.exams.audience import CURRENT_POST_STATES
from lms.exams.formats.model import CHOICE_TYPES, FILL, OPTION_LETTERS, TRUE_FALSE
from lms.exams.models import Attempt, AttemptItem, Exam
from lms.exams.results import NO_RESULT, CountedResult, counted_subquery, to_result
from lms.exams.scoring import to_original
from lms.extensions import db
from lms.org.models import OrgUnit, Person

RESULT_FILTERS = ("passed", "failed", "pending", NO_RESULT)


@dataclass(frozen=True)
class ResultFilters:
    unit: OrgUnit | None = None
    state: str | None = None
    result: str | None = None
    q: str | None = None


@dataclass
class ResultRow:
    person: Person
    #: The person's latest attempt (its state; the link to the attempts' details).
    latest: Attempt
    #: The candidate's unit when the latest attempt started.
    unit: OrgUnit
    result: CountedResult | None
    last_submitted: datetime | None

    @property
    def posts(self) -> list[str]:
        return [p.post_type for p in self.person.posts if p.status in CURRENT_POST_STATES]


@dataclass
class ResultPage:
    rows: list[ResultRow]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def _statement(exam: Exam, filters: ResultFilters) -> tuple[Select[Any], Any]:
    latest = (select(Attempt.person_id.label("pid"), func.max(Attempt.id).label("aid"))
              .where(Attempt.exam_id == exam.id).group_by(Attempt.person_id).subquery())
    counted = counted_subquery(Exam.id == exam.id)
    unit = aliased(OrgUnit)
    result = func.coalesce(counted.c.status, NO_RESULT)
    stmt = (select(Person, Attempt, unit, counted, result.label("result"))
            .join(latest, latest.c.pid == Person.id)
            .join(Attempt, Attempt.id == latest.c.aid)
            .join(unit, unit.id == Attempt.candidate_unit_id)
            .outerjoin(counted, counted.c.person_id == Person.id))
    if filters.unit is not None:
        stmt = stmt.where(unit.path.startswith(filters.unit.path, autoescape=True))
    if filters.state:
        stmt = stmt.where(Attempt.state == filters.state)
    if filters.q:
        stmt = stmt.where(Person.name.contains(filters.q, autoescape=True))
    if filters.result:
        stmt = stmt.where(result == filters.result)
    return stmt.order_by(unit.path, Person.name, Person.id), unit


def _row(row: Any) -> ResultRow:
    person, attempt, unit = row[0], row[1], row[2]
    counted = to_result(row) if row.attempts is not None else None
    return ResultRow(person, attempt, unit, counted, row.last_submitted)


def result_counts(exam: Exam, filters: ResultFilters) -> dict[str, int]:
    """Rows per result (passed / failed / pending / none) under every filter but the result's."""
    base = ResultFilters(filters.unit, filters.state, None, filters.q)
    sub = _statement(exam, base)[0].order_by(None).subquery()
    return {r: n for r, n in db.session.execute(
        select(sub.c.result, func.count()).group_by(sub.c.result)).all()}


def result_page(exam: Exam, filters: ResultFilters, *, page: int, size: int) -> ResultPage:
    counts = result_counts(exam, filters)
    total = counts.get(filters.result, 0) if filters.result else sum(counts.values())
    stmt = _statement(exam, filters)[0].options(selectinload(Person.posts))
    rows = [_row(r) for r in db.session.execute(
        stmt.limit(size).offset((page - 1) * size)).all()]
    return ResultPage(rows, total, counts)


def all_rows(exam: Exam, filters: ResultFilters, *, batch: int = 500) -> Any:
    """Every row under *filters*, read in batches of *batch* (for the export)."""
    stmt = _statement(exam, filters)[0].options(selectinload(Person.posts))
    offset = 0
    while True:
        rows = db.session.execute(stmt.limit(batch).offset(offset)).all()
        yield from (_row(r) for r in rows)
        if len(rows) < batch:
            return
        offset += batch


# ---------------------------------------------------------------- one attempt's items


@dataclass(frozen=True)
class DetailOption:
    letter: str
    text: str
    correct: bool
    chosen: bool


@dataclass(frozen=True)
class DetailItem:
    item: AttemptItem
    options: list[DetailOption]
    #: true/false: the response and the key; fill in: the text per blank and accepted answers.
    given_bool: bool | None = None
    key_bool: bool | None = None
    blanks: list[tuple[str, list[str]]] = field(default_factory=list)
    text: str = ""


def detail_item(item: AttemptItem) -> DetailItem:
    """The item with the response mapped back to the question's original options."""
    v = item.version
    response = to_original(v.type, item.response, item.option_order)
    if v.type in CHOICE_TYPES:
        chosen = set(response or [])
        key = set(v.answer or [])
        return DetailItem(item, [DetailOption(OPTION_LETTERS[i], text, i in key, i in chosen)
                                 for i, text in enumerate(v.options or [])])
    if v.type == TRUE_FALSE:
        return DetailItem(item, [], given_bool=response if isinstance(response, bool) else None,
                          key_bool=bool(v.answer))
    if v.type == FILL:
        given = response if isinstance(response, list) else []
        return DetailItem(item, [], blanks=[
            (given[i] if i < len(given) and isinstance(given[i], str) else "", list(accepted))
            for i, accepted in enumerate(v.answer or [])])
    return DetailItem(item, [], text=response if isinstance(response, str) else "")


def attempt_items(attempt: Attempt) -> list[DetailItem]:
    rows = db.session.execute(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                              .order_by(AttemptItem.position)).scalars()
    return [detail_item(i) for i in rows]


def person_attempts(attempt: Attempt) -> list[Attempt]:
    """Every attempt of the same person at the same exam, in order."""
    return list(db.session.execute(
        select(Attempt).where(Attempt.exam_id == attempt.exam_id,
                              Attempt.person_id == attempt.person_id)
        .order_by(Attempt.number)).scalars())
