"""Rotation coverage (spec decision 5): who is current, due, overdue or never trained, per unit.

The population is the people in post: open posts with status ``in_post`` that are not acting
(legacy posts included: they start as never trained). Each (person, post type) is counted once per
unit. Their rotation date is the last *tier-appropriate* completion: a ``Completion`` whose
``post_type`` is the post's type and whose kind is a rotation or an onboarding (the onboarding
counts as the first, decision 5). The completion keeps the unit it was made in (decision 9), but
the status follows the person: a transfer does not reset the rotation.

Status per person, for a cycle of ``ROTATION_CYCLE_YEARS`` (2–3) years, the same as
``rules.rotation_status``: *overdue* once the cycle has passed, *due* in its last year, *current*
before that, *never trained* without any such completion. *Covered* = current + due.

Everything is counted in SQL: one grouped subquery finds the last completion per person and post
type, a CASE gives the status, and the counts roll up the tree through the materialized paths
(a post counts for every unit whose path prefixes the path of the post's unit), so a county's
numbers are exactly the sum over its townships. Every read takes the actor's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import aliased

from lms.auth.access import Scope
from lms.extensions import db
from lms.i18n import _l
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.org.queries import top_units
from lms.training.models import Completion
from lms.training.rules import Rotation, rotation_due_on

#: Program kinds whose completion counts for rotation (an onboarding counts as the first).
ROTATION_KINDS = ("rotation", "onboarding")
POST_TYPES: tuple[str, ...] = tuple(p.value for p in PostType)
STATUSES: tuple[str, ...] = tuple(s.value for s in Rotation)
ONE_PLACE = Decimal("0.1")
#: Rotation status words (shown with their colour class ``status-<value>``, never colour alone).
ROTATION_LABELS: dict[str, Any] = {
    Rotation.CURRENT.value: _l("周期内"), Rotation.DUE.value: _l("临近到期"),
    Rotation.OVERDUE.value: _l("逾期未训"), Rotation.NEVER_TRAINED.value: _l("从未培训"),
}
DEFAULT_CYCLE_YEARS = 3


def cycle_years(config: Mapping[str, Any]) -> int:
    """``ROTATION_CYCLE_YEARS`` from the configuration (2 or 3; default 3)."""
    years = int(config.get("ROTATION_CYCLE_YEARS", DEFAULT_CYCLE_YEARS))
    if not 2 <= years <= 3:
        raise ValueError("ROTATION_CYCLE_YEARS must be 2 or 3")
    return years


def latest_start(today: date, years: int) -> date:
    """The latest completion date whose cycle of *years* has ended by *today*: a completion on or
    before it is at least *years* old (``rotation_due_on(d, years) <= today``)."""
    day = date(today.year - years, today.month, min(today.day, 28))
    while rotation_due_on(day + timedelta(days=1), years) <= today:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Cutoffs:
    """Completion dates at or before ``overdue`` are overdue; at or before ``due``, due."""

    today: date
    years: int
    overdue: date
    due: date

    @classmethod
    def of(cls, today: date, years: int) -> Cutoffs:
        return cls(today, years, latest_start(today, years), latest_start(today, years - 1))


# ---------------------------------------------------------------- tallies


def percent(part: int, whole: int) -> Decimal | None:
    """Share in percent with one decimal (half up); None when there is nobody to count."""
    if whole <= 0:
        return None
    return (Decimal(part * 100) / Decimal(whole)).quantize(ONE_PLACE, ROUND_HALF_UP)


@dataclass
class Tally:
    current: int = 0
    due: int = 0
    overdue: int = 0
    never_trained: int = 0

    @property
    def in_post(self) -> int:
        return self.current + self.due + self.overdue + self.never_trained

    @property
    def covered(self) -> int:
        return self.current + self.due

    @property
    def coverage(self) -> Decimal | None:
        return percent(self.covered, self.in_post)

    def add(self, other: Tally) -> Tally:
        for name in STATUSES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def minus(self, other: Tally) -> Tally:
        return Tally(**{n: getattr(self, n) - getattr(other, n) for n in STATUSES})

    @property
    def is_empty(self) -> bool:
        return self.in_post == 0


@dataclass
class UnitTally:
    """One unit's counts per post type."""

    by_type: dict[str, Tally] = field(default_factory=lambda: {p: Tally() for p in POST_TYPES})

    def total(self, post_type: str | None = None) -> Tally:
        if post_type:
            return self.by_type[post_type]
        out = Tally()
        for tally in self.by_type.values():
            out.add(tally)
        return out

    def add(self, other: UnitTally) -> UnitTally:
        for p in POST_TYPES:
            self.by_type[p].add(other.by_type[p])
        return self

    def minus(self, other: UnitTally) -> UnitTally:
        return UnitTally({p: self.by_type[p].minus(other.by_type[p]) for p in POST_TYPES})


# ---------------------------------------------------------------- SQL building blocks


def _last_done(person_id: int | None = None) -> Any:
    """Last rotation-counting completion per (person, post type)."""
    stmt = (select(Completion.person_id, Completion.post_type,
                   func.max(Completion.completed_on).label("last_on"))
            .where(Completion.kind.in_(ROTATION_KINDS))
            .group_by(Completion.person_id, Completion.post_type))
    if person_id is not None:
        stmt = stmt.where(Completion.person_id == person_id)
    return stmt.subquery("last_done")


def _status(last_on: Any, cut: Cutoffs) -> ColumnElement[str]:
    return case(
        (last_on.is_(None), Rotation.NEVER_TRAINED.value),
        (last_on <= cut.overdue, Rotation.OVERDUE.value),
        (last_on <= cut.due, Rotation.DUE.value),
        else_=Rotation.CURRENT.value)


def rotation_rows(cut: Cutoffs, post_type: str | None = None,
                  person_id: int | None = None) -> Any:
    """People in post with their last completion and status: one row per (unit, post type,
    person); a subquery with columns org_unit_id, post_type, person_id, last_on, status."""
    held = (select(Post.org_unit_id, Post.post_type, Post.person_id)
            .where(Post.status == PostStatus.IN_POST.value, Post.is_acting.is_(False))
            .distinct())
    if post_type:
        held = held.where(Post.post_type == post_type)
    if person_id is not None:
        held = held.where(Post.person_id == person_id)
    held = held.subquery("held")
    last = _last_done(person_id)
    return (select(held.c.org_unit_id, held.c.post_type, held.c.person_id, last.c.last_on,
                   _status(last.c.last_on, cut).label("status"))
            .outerjoin(last, and_(last.c.person_id == held.c.person_id,
                                  last.c.post_type == held.c.post_type))).subquery("rotation")


def tallies(unit_ids: Iterable[int], *, scope: Scope, cut: Cutoffs) -> dict[int, UnitTally]:
    """Counts for each unit (its whole subtree) in one query; units out of scope are left out."""
    ids = list(unit_ids)
    out = {uid: UnitTally() for uid in ids}
    if not ids:
        return out
    target, home = aliased(OrgUnit), aliased(OrgUnit)
    rot = rotation_rows(cut)
    stmt = (select(target.id, rot.c.post_type, rot.c.status, func.count())
            .select_from(target)
            .join(home, home.path.startswith(target.path))
            .join(rot, rot.c.org_unit_id == home.id)
            .where(target.id.in_(ids), scope.where(target.path))
            .group_by(target.id, rot.c.post_type, rot.c.status))
    for uid, post_type, status, n in db.session.execute(stmt):
        tally = out[uid].by_type.get(post_type)
        if tally is not None:
            setattr(tally, status, n)
    return out


# ---------------------------------------------------------------- the coverage report


def children(unit: OrgUnit, scope: Scope) -> list[OrgUnit]:
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.parent_id == unit.id, scope.where(OrgUnit.path))
        .order_by(OrgUnit.code)).scalars())


@dataclass
class CoverageReport:
    """The counts of a unit (or of the whole scope when ``unit`` is None) and of its parts."""

    unit: OrgUnit | None
    total: UnitTally
    rows: list[tuple[OrgUnit, UnitTally]]
    #: Posts placed at the unit itself (e.g. a township's own staff beside its villages).
    own: UnitTally | None
    cut: Cutoffs


def report(unit: OrgUnit | None, *, scope: Scope, cut: Cutoffs) -> CoverageReport:
    """A unit and its children, or (``unit`` None) the top units of the scope (3 queries)."""
    if unit is None:
        parts = top_units(scope)
        counts = tallies([u.id for u in parts], scope=scope, cut=cut)
        total = UnitTally()
        for part in parts:
            total.add(counts[part.id])
        return CoverageReport(None, total, [(u, counts[u.id]) for u in parts], None, cut)
    parts = children(unit, scope)
    counts = tallies([unit.id, *(u.id for u in parts)], scope=scope, cut=cut)
    summed = UnitTally()
    for part in parts:
        summed.add(counts[part.id])
    own = counts[unit.id].minus(summed)
    return CoverageReport(unit, counts[unit.id], [(u, counts[u.id]) for u in parts],
                          None if own.total().is_empty else own, cut)


# ---------------------------------------------------------------- lists of people


@dataclass(frozen=True)
class RotationRow:
    person_id: int
    name: str
    unit_code: str
    unit_name: str
    post_type: str
    last_on: date | None
    status: str
    due_on: date | None


def people_select(unit: OrgUnit | None, status: str | None, *, scope: Scope, cut: Cutoffs,
                  post_type: str | None = None, q: str = "") -> Select[Any]:
    """People in post under *unit* (or the whole scope) with the given rotation status, whose
    name contains *q*."""
    home = aliased(OrgUnit)
    rot = rotation_rows(cut, post_type)
    stmt = (select(Person.id, Person.name, home.code, home.name, rot.c.post_type,
                   rot.c.last_on, rot.c.status)
            .select_from(rot)
            .join(home, home.id == rot.c.org_unit_id)
            .join(Person, Person.id == rot.c.person_id)
            .where(scope.where(home.path)))
    if unit is not None:
        stmt = stmt.where(home.path.startswith(unit.path, autoescape=True))
    if status:
        stmt = stmt.where(rot.c.status == status)
    if q.strip():
        stmt = stmt.where(Person.name.contains(q.strip()[:50], autoescape=True))
    return stmt.order_by(home.code, Person.name, Person.id, rot.c.post_type)


def as_rows(result: Iterable[Any], cut: Cutoffs) -> Iterable[RotationRow]:
    for pid, name, code, unit_name, post_type, last_on, status in result:
        due_on = rotation_due_on(last_on, cut.years) if last_on is not None else None
        yield RotationRow(pid, name, code, unit_name, post_type, last_on, status, due_on)


def people_page(unit: OrgUnit | None, status: str | None, *, scope: Scope, cut: Cutoffs,
                post_type: str | None = None, q: str = "", page: int = 1,
                size: int = 50) -> tuple[int, list[RotationRow]]:
    """The total and one page of the list (2 queries)."""
    stmt = people_select(unit, status, scope=scope, cut=cut, post_type=post_type, q=q)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    result = db.session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    return total, list(as_rows(result, cut))


# ---------------------------------------------------------------- one person


def person_rotation(person_id: int, *, cut: Cutoffs) -> list[RotationRow]:
    """The person's posts in post, each with its last completion and status (1 query)."""
    home = aliased(OrgUnit)
    rot = rotation_rows(cut, person_id=person_id)
    stmt = (select(Person.id, Person.name, home.code, home.name, rot.c.post_type,
                   rot.c.last_on, rot.c.status)
            .select_from(rot)
            .join(home, home.id == rot.c.org_unit_id)
            .join(Person, Person.id == rot.c.person_id)
            .order_by(rot.c.post_type, home.code))
    return list(as_rows(db.session.execute(stmt).all(), cut))
