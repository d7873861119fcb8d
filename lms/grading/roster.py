"""Who is evaluated and paid, and what the system knows about them (batch queries, one per kind
of fact for a whole county, so the cost does not grow with the statements per assistant).

- ``assistant_posts``: the county's village assistant posts that were in post in a period
  (acting holders and people never set in post excluded: they are neither evaluated nor paid).
- ``histories``: each person's earlier confirmed evaluations as ``(level held, new level, grade)``.
- ``competence_inputs``: credit hours of the year (completions and approved external training) and
  the best exam result of the year as a fraction of its maximum.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from lms.exams.models import FINISHED_STATES, Attempt
from lms.extensions import db
from lms.grading.models import Evaluation, EvaluationRound, RoundStatus
from lms.grading.policy import Grade
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.training.models import Completion, ExternalTraining

#: Post statuses of someone who reached in_post (a removed post keeps its in-post dates).
SERVED = (PostStatus.IN_POST.value, PostStatus.SUSPENDED.value, PostStatus.REMOVED.value)
#: The village and township of a post, aliased once: an alias adapts each column the first time
#: it is used, which costs more than the query when a new alias is made per statement.
_VILLAGE, _TOWN = aliased(OrgUnit, name="village"), aliased(OrgUnit, name="town")


class AssistantPost(NamedTuple):
    """One post of the roster (a tuple: built for every post of a county on every click)."""

    post_id: int
    person_id: int
    name: str
    village_id: int
    village: str
    township_id: int
    township: str
    in_post_on: date | None
    ended_on: date | None


def assistant_posts_select(county: OrgUnit, first: date, last: date) -> Select:
    """Posts of the county's village assistants in post at some time between *first* and
    *last*, not acting, ordered by township, village and post."""
    village, town = _VILLAGE, _TOWN
    return (select(Post.id, Post.person_id, Person.name, village.id, village.name, town.id,
                   town.name, Post.in_post_on, Post.ended_on)
            .join(Person, Person.id == Post.person_id)
            .join(village, village.id == Post.org_unit_id)
            .join(town, town.id == village.parent_id)
            .where(Post.post_type == PostType.VILLAGE_ASSISTANT.value,
                   Post.status.in_(SERVED), Post.is_acting.is_(False),
                   Post.in_post_on.is_not(None), Post.in_post_on <= last,
                   or_(Post.ended_on.is_(None), Post.ended_on >= first),
                   # the county's units first (the planner then reads their posts by index
                   # instead of scanning every post of the city)
                   Post.org_unit_id.in_(select(OrgUnit.id).where(
                       OrgUnit.path.startswith(county.path))))
            .order_by(town.code, village.code, Post.id))


def assistant_posts(county: OrgUnit, first: date, last: date) -> list[AssistantPost]:
    return [AssistantPost._make(row) for row in db.session.execute(
        assistant_posts_select(county, first, last)).all()]


@dataclass(frozen=True)
class Past:
    year: int
    level: int
    new_level: int
    grade: Grade


def histories(person_ids: Select, before_year: int) -> dict[int, list[Past]]:
    """Confirmed evaluations of the people in the *person_ids* subquery before *before_year*,
    oldest first (one per year: the latest row wins if a person had two posts)."""
    rows = db.session.execute(
        select(Evaluation.person_id, Evaluation.year, Evaluation.level, Evaluation.new_level,
               Evaluation.grade)
        .join(EvaluationRound, EvaluationRound.id == Evaluation.round_id)
        .where(EvaluationRound.status == RoundStatus.CONFIRMED,
               Evaluation.year < before_year, Evaluation.person_id.in_(person_ids),
               Evaluation.grade.is_not(None))
        .order_by(Evaluation.person_id, Evaluation.year, Evaluation.id)).all()
    out: dict[int, dict[int, Past]] = defaultdict(dict)
    for person_id, year, level, new_level, grade in rows:
        out[person_id][year] = Past(year, level, new_level, Grade(grade))
    return {pid: [by_year[y] for y in sorted(by_year)] for pid, by_year in out.items()}


@dataclass(frozen=True)
class CompetenceInputs:
    hours: Decimal
    exam_fraction: Decimal | None


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return (datetime.combine(date(year, 1, 1), time(), tzinfo=UTC),
            datetime.combine(date(year + 1, 1, 1), time(), tzinfo=UTC))


def competence_inputs(person_ids: Select, year: int) -> dict[int, CompetenceInputs]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    hours: dict[int, Decimal] = defaultdict(Decimal)
    for model, extra in ((Completion, True), (ExternalTraining,
                                              ExternalTraining.status == "approved")):
        for person_id, total in db.session.execute(
                select(model.person_id, func.sum(model.credit_hours))
                .where(model.person_id.in_(person_ids), model.completed_on >= first,
                       model.completed_on <= last, extra)
                .group_by(model.person_id)).all():
            hours[person_id] += Decimal(total or 0)
    start, end = _year_bounds(year)
    best: dict[int, Decimal] = {}
    for person_id, score, maximum in db.session.execute(
            select(Attempt.person_id, Attempt.score, Attempt.max_score)
            .where(Attempt.person_id.in_(person_ids), Attempt.state.in_(FINISHED_STATES),
                   Attempt.score.is_not(None), Attempt.max_score > 0,
                   and_(Attempt.submitted_at >= start, Attempt.submitted_at < end))).all():
        fraction = Decimal(score) / Decimal(maximum)
        if fraction > best.get(person_id, Decimal(-1)):
            best[person_id] = fraction
    return {pid: CompetenceInputs(hours.get(pid, Decimal(0)), best.get(pid))
            for pid in set(hours) | set(best)}
