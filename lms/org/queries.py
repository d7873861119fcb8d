"""Read helpers for the org tree and people; every one takes the actor's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from lms.auth.access import Scope
from lms.errors import ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit, Person, Post, PostStatus, PostType, Qualification
from lms.org.rules import required_staff


def children_with_counts(unit: OrgUnit, *, scope: Scope) -> list[tuple[OrgUnit, dict[str, int]]]:
    """Direct children of *unit*, each with the number of descendants per level (2 queries)."""
    kids = list(db.session.execute(
        select(OrgUnit).where(OrgUnit.parent_id == unit.id, scope.where(OrgUnit.path))
        .order_by(OrgUnit.code)).scalars())
    if not kids:
        return []
    child = aliased(OrgUnit)
    rows = db.session.execute(
        select(OrgUnit.id, child.level, func.count())
        .join(child, child.path.startswith(OrgUnit.path))
        .where(OrgUnit.parent_id == unit.id, child.id != OrgUnit.id)
        .group_by(OrgUnit.id, child.level)).all()
    counts: dict[int, dict[str, int]] = {}
    for uid, level, n in rows:
        counts.setdefault(uid, {})[level] = n
    return [(k, counts.get(k.id, {})) for k in kids]


def subtree_level_counts(unit: OrgUnit) -> dict[str, int]:
    rows = db.session.execute(
        select(OrgUnit.level, func.count()).where(
            OrgUnit.path.startswith(unit.path, autoescape=True), OrgUnit.id != unit.id)
        .group_by(OrgUnit.level)).all()
    return {lv: n for lv, n in rows}


def top_units(scope: Scope) -> list[OrgUnit]:
    """The units at the top of the scope (the roots for a global scope)."""
    where = OrgUnit.parent_id.is_(None) if scope.is_global else OrgUnit.path.in_(scope.paths)
    return list(db.session.execute(select(OrgUnit).where(where).order_by(OrgUnit.code)).scalars())


def search_units(q: str, *, scope: Scope, limit: int = 100) -> list[OrgUnit]:
    q = q.strip()[:50]
    if not q:
        return []
    cond = or_(OrgUnit.name.contains(q, autoescape=True),
               OrgUnit.code.startswith(q, autoescape=True))
    return list(db.session.execute(
        select(OrgUnit).where(cond, scope.where(OrgUnit.path))
        .order_by(func.length(OrgUnit.code), OrgUnit.code).limit(limit)).scalars())


@dataclass(frozen=True)
class QuotaRow:
    unit_id: int
    code: str
    name: str
    county_code: str | None
    county_name: str | None
    resident_population: int | None
    required: int | None
    in_post: int

    @property
    def shortfall(self) -> int:
        return max(0, (self.required or 0) - self.in_post)


def quota_rows(*, scope: Scope) -> list[QuotaRow]:
    """Every township in scope with required vs in-post civil-affairs staff (one query)."""
    county = aliased(OrgUnit)
    in_post = (
        select(Post.org_unit_id, func.count().label("n"))
        .where(Post.status == PostStatus.IN_POST.value, Post.is_acting.is_(False),
               Post.post_type.in_([PostType.OFFICE_DIRECTOR.value, PostType.TOWNSHIP_STAFF.value]))
        .group_by(Post.org_unit_id).subquery())
    stmt = (
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, county.code, county.name,
               OrgUnit.resident_population, func.coalesce(in_post.c.n, 0))
        .outerjoin(county, OrgUnit.parent_id == county.id)
        .outerjoin(in_post, in_post.c.org_unit_id == OrgUnit.id)
        .where(OrgUnit.level == Level.TOWNSHIP.value, scope.where(OrgUnit.path))
        .order_by(OrgUnit.code))
    return [QuotaRow(uid, code, name, cc, cn, pop, required_staff(pop), n)
            for uid, code, name, cc, cn, pop, n in db.session.execute(stmt).all()]


def people_select(*, scope: Scope, unit: OrgUnit | None = None, q: str = "",
                  post_type: str | None = None, status: str | None = None,
                  qualified: str | None = None) -> Select:
    """People in scope (by their unit), filtered; the filters never widen the scope."""
    home = aliased(OrgUnit)
    stmt = select(Person).join(home, Person.org_unit_id == home.id).where(scope.where(home.path))
    if unit is not None:
        stmt = stmt.where(home.path.startswith(unit.path, autoescape=True))
    if q.strip():
        term = q.strip()[:50]
        stmt = stmt.where(or_(Person.name.contains(term, autoescape=True),
                              Person.phone.startswith(term, autoescape=True)))
    if post_type or status:
        sub = select(Post.person_id)
        if post_type:
            sub = sub.where(Post.post_type == post_type)
        if status:
            sub = sub.where(Post.status == status)
        stmt = stmt.where(Person.id.in_(sub))
    if qualified == "yes":
        stmt = stmt.where(Person.id.in_(select(Qualification.person_id)))
    elif qualified == "no":
        stmt = stmt.where(Person.id.not_in(select(Qualification.person_id)))
    elif qualified:
        stmt = stmt.where(Person.id.in_(
            select(Qualification.person_id).where(Qualification.level == qualified)))
    return stmt.order_by(home.code, Person.name, Person.id)


@dataclass(frozen=True)
class UnitChoice:
    id: int
    code: str
    name: str
    level: str
    path: str


def unit_choices(*, scope: Scope, levels: tuple[Level, ...], within: OrgUnit | None = None,
                 limit: int = 6000) -> list[UnitChoice]:
    """Units of the given levels in scope (and under *within*), in code order, for pickers."""
    stmt = select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.path).where(
        scope.where(OrgUnit.path), OrgUnit.level.in_([lv.value for lv in levels]))
    if within is not None:
        stmt = stmt.where(OrgUnit.path.startswith(within.path, autoescape=True))
    rows = db.session.execute(stmt.order_by(OrgUnit.code).limit(limit)).all()
    return [UnitChoice(*row) for row in rows]


def unit_in_scope(unit_id: int, scope: Scope) -> OrgUnit | None:
    return db.session.execute(
        select(OrgUnit).where(OrgUnit.id == unit_id, scope.where(OrgUnit.path))).scalar()


def chosen_unit(unit_id: object, scope: Scope) -> OrgUnit:
    """The unit picked in a form's list, when the scope covers it; otherwise the form's refusal
    (the choices come from the scope, so this is a stale page or a forged value)."""
    unit = unit_in_scope(unit_id, scope) if isinstance(unit_id, int) else None
    if unit is None:
        raise ValidationFailed(_("请从列表中选择单位。"), "unit")
    return unit
