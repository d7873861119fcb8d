"""Who sits an exam and how far they are: the organiser's live view and the printable roster.

Candidates are the people with an attempt at the exam and, for an exam whose audience is a unit
subtree (not a program), everyone the audience rule admits (``lms.exams.audience``: people in
the subtree, with a current post of one of the audience post types when the exam names any).
A program exam's enrolled people are known only to the training domain, so its live view and
roster list the people who have started. Each person shows their latest attempt.

Queries do not grow with the number of candidates: one for the page of people with their
attempts, one aggregate for the counts, one for the answered items of the page's attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import selectinload

from lms.exams.audience import CURRENT_POST_STATES
from lms.exams.models import Attempt, AttemptItem, Exam
from lms.extensions import db
from lms.org.models import Level, OrgUnit, Person, Post

NOT_STARTED = "not_started"
#: Live states in display order (``abandoned`` attempts are shown as they are).
LIVE_STATES = (NOT_STARTED, "in_progress", "submitted", "auto_submitted", "abandoned")


def audience_root(exam: Exam) -> OrgUnit:
    return exam.audience_unit or exam.org_unit


def _latest_attempts(exam: Exam) -> Any:
    return (select(Attempt.person_id.label("pid"), func.max(Attempt.id).label("aid"))
            .where(Attempt.exam_id == exam.id).group_by(Attempt.person_id).subquery())


def _audience(exam: Exam) -> ColumnElement[bool]:
    """SQL: the people the exam's unit audience admits (nobody for a program exam)."""
    if exam.program_id is not None:
        return false()
    root = audience_root(exam)
    in_tree = OrgUnit.path.startswith(root.path, autoescape=True)
    types = exam.post_type_list
    if not types:
        return in_tree
    holds = exists().where(Post.person_id == Person.id, Post.status.in_(CURRENT_POST_STATES),
                           Post.post_type.in_(types))
    return and_(in_tree, holds)


def _state() -> ColumnElement[str]:
    return func.coalesce(Attempt.state, NOT_STARTED)


def candidates(exam: Exam, *, unit: OrgUnit | None = None, state: str | None = None) -> Select:
    """``select(Person, Attempt)`` of every candidate (Attempt None before they start)."""
    latest = _latest_attempts(exam)
    stmt = (select(Person, Attempt)
            .join(OrgUnit, OrgUnit.id == Person.org_unit_id)
            .outerjoin(latest, latest.c.pid == Person.id)
            .outerjoin(Attempt, Attempt.id == latest.c.aid)
            .where(or_(latest.c.aid.is_not(None), _audience(exam))))
    if unit is not None:
        stmt = stmt.where(OrgUnit.path.startswith(unit.path, autoescape=True))
    if state:
        stmt = stmt.where(_state() == state)
    return stmt


def state_counts(stmt: Select) -> dict[str, int]:
    sub = stmt.with_only_columns(_state().label("state")).subquery()
    rows = db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state)).all()
    return {s: n for s, n in rows}


@dataclass
class LiveRow:
    person: Person
    attempt: Attempt | None
    answered: int = 0
    total: int = 0

    @property
    def state(self) -> str:
        return self.attempt.state if self.attempt is not None else NOT_STARTED

    def remaining_seconds(self, now: datetime) -> int | None:
        a = self.attempt
        if a is None or a.state != "in_progress" or a.deadline is None:
            return None
        return max(0, int((a.deadline - now).total_seconds()))


@dataclass
class LivePage:
    rows: list[LiveRow]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def live_page(exam: Exam, *, unit: OrgUnit | None, state: str | None, page: int,
              size: int) -> LivePage:
    base = candidates(exam, unit=unit)
    counts = state_counts(base)
    stmt = base.where(_state() == state) if state else base
    total = counts.get(state, 0) if state else sum(counts.values())
    rows = [LiveRow(p, a) for p, a in db.session.execute(
        stmt.order_by(OrgUnit.path, Person.name, Person.id)
        .limit(size).offset((page - 1) * size)).all()]
    _count_answers(rows)
    return LivePage(rows, total, counts)


def is_answered(response: Any) -> bool:
    """A stored response that says something (not empty, not only blanks)."""
    if response is None:
        return False
    if isinstance(response, bool):
        return True
    if isinstance(response, str):
        return bool(response.strip())
    if isinstance(response, list):
        return any(is_answered(r) if isinstance(r, str) else r is not None for r in response)
    return True


def _count_answers(rows: list[LiveRow]) -> None:
    by_attempt = {r.attempt.id: r for r in rows if r.attempt is not None}
    if not by_attempt:
        return
    for attempt_id, response in db.session.execute(
            select(AttemptItem.attempt_id, AttemptItem.response)
            .where(AttemptItem.attempt_id.in_(list(by_attempt)))).all():
        row = by_attempt[attempt_id]
        row.total += 1
        row.answered += is_answered(response)


# ---------------------------------------------------------------- rooms and the roster


def room_units(exam: Exam) -> list[OrgUnit]:
    """The units the organiser may print separately (考场): the audience unit's children,
    or the audience unit itself when it is a township or village (one room)."""
    root = audience_root(exam)
    if root.level in (Level.TOWNSHIP.value, Level.VILLAGE.value):
        return [root]
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.parent_id == root.id).order_by(OrgUnit.code)).scalars())


@dataclass
class RosterGroup:
    unit: OrgUnit | None
    people: list[Person] = field(default_factory=list)


def _room_of(person: Person, rooms: dict[int, OrgUnit]) -> int | None:
    ids = [int(i) for i in person.org_unit.path.strip("/").split("/") if i]
    return next((i for i in reversed(ids) if i in rooms), None)


def roster(exam: Exam, rooms: list[OrgUnit], *, room: OrgUnit | None) -> list[RosterGroup]:
    """Candidates grouped by room in room order (people outside every room last), sorted by
    unit and name; only *room* when given."""
    stmt = (candidates(exam, unit=room).options(selectinload(Person.posts))
            .order_by(OrgUnit.path, Person.name, Person.id))
    by_id = {u.id: u for u in rooms}
    groups: dict[int | None, RosterGroup] = {u.id: RosterGroup(u) for u in rooms}
    for person, _attempt in db.session.execute(stmt).all():
        key = _room_of(person, by_id)
        groups.setdefault(key, RosterGroup(None)).people.append(person)
    return [g for g in groups.values() if g.people]


def current_posts(person: Person) -> list[str]:
    return [p.post_type for p in person.posts if p.status in CURRENT_POST_STATES]
