"""The numbers a user's home page opens with, per role and unit (a few aggregate queries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.courses.learning import TraineeHome, trainee_home
from lms.db import utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post, PostStatus
from lms.training.home import ProgramHome, program_home


@dataclass
class Dashboard:
    units: list[OrgUnit] = field(default_factory=list)
    posts_by_status: dict[str, int] = field(default_factory=dict)
    people: int = 0
    my_posts: list[Post] = field(default_factory=list)
    is_staff: bool = False
    #: 我的培训: the person's courses, progress and next step (None: not a learner).
    training: TraineeHome | None = None
    #: 我的培训: the person's programs (enrolments) and whether sign-in is open for them now.
    programs: ProgramHome | None = None
    #: Things the person must act on (a replacement case waiting for their statement, …).
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    text: str
    url: str


#: Later domains add the person's notices: ``fn(person_id) -> list[Notice]`` (one query each).
_notice_sources: list[Callable[[int], list[Notice]]] = []


def register_notices(fn: Callable[[int], list[Notice]]) -> Callable[[int], list[Notice]]:
    if fn not in _notice_sources:
        _notice_sources.append(fn)
    return fn


def dashboard_for(user: Any) -> Dashboard:
    dash = Dashboard()
    scope = scope_for(user, Perm.PERSON_VIEW)
    if user.person_id:
        dash.my_posts = list(db.session.execute(
            select(Post).where(Post.person_id == user.person_id).order_by(Post.id.desc())
        ).scalars())
        dash.training = trainee_home(user.person_id)
        person = db.session.get(Person, user.person_id)
        if person is not None:
            dash.programs = program_home(person, utcnow())
        dash.notices = [n for fn in _notice_sources for n in fn(user.person_id)]
    if scope.is_empty:
        return dash
    dash.is_staff = True
    roots = (OrgUnit.parent_id.is_(None) if scope.is_global else OrgUnit.path.in_(scope.paths))
    dash.units = list(db.session.execute(
        select(OrgUnit).where(roots).order_by(OrgUnit.code).limit(20)).scalars())
    rows = db.session.execute(
        select(Post.status, func.count()).join(OrgUnit, Post.org_unit_id == OrgUnit.id)
        .where(scope.where(OrgUnit.path)).group_by(Post.status)).all()
    dash.posts_by_status = {s: n for s, n in rows}
    dash.people = db.session.execute(
        select(func.count(Person.id)).join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(scope.where(OrgUnit.path))).scalar_one()
    return dash


STATUS_ORDER = [s.value for s in PostStatus]
