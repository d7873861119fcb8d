"""Social-work qualification preference (domain §2.6): candidate lists for director and assistant
posts that show and sort by the best certificate, and the share of qualified people in post per
unit and post type. Read-only queries; every list is restricted to the caller's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import aliased

from lms.auth.access import Scope
from lms.extensions import db
from lms.org.models import (
    OrgUnit,
    Person,
    Post,
    PostStatus,
    PostType,
    Qualification,
    QualificationLevel,
)

#: Post types a candidate list is kept for (the posts the qualification preference applies to).
CANDIDATE_POST_TYPES = (PostType.OFFICE_DIRECTOR.value, PostType.VILLAGE_ASSISTANT.value)
CANDIDATE_STATUSES = (PostStatus.NOMINATED.value, PostStatus.PENDING_ONBOARDING.value)
SORTS = ("qualification", "name")

#: Rank of each level (higher is better); 0 = no qualification.
RANK = {lv.value: i + 1 for i, lv in enumerate(QualificationLevel)}
LEVEL_OF_RANK = {v: k for k, v in RANK.items()}


def best_rank_subquery() -> Any:
    """``person_id → best rank`` over the qualification table (one row per qualified person)."""
    rank = case(*((Qualification.level == lv, r) for lv, r in RANK.items()), else_=0)
    return (select(Qualification.person_id.label("person_id"), func.max(rank).label("rank"))
            .group_by(Qualification.person_id).subquery("best_qual"))


@dataclass(frozen=True)
class Candidate:
    post: Post
    person: Person
    best: str | None  # QualificationLevel value


def candidates_stmt(scope: Scope, *, post_type: str | None = None,
                    sort: str = "qualification") -> Select[Any]:
    """Posts nominated or pending onboarding (director or assistant) in the scope, with the
    holder and the rank of the best qualification."""
    best = best_rank_subquery()
    unit = aliased(OrgUnit)
    rank = func.coalesce(best.c.rank, 0)
    stmt = (select(Post, Person, rank.label("rank"))
            .join(Person, Person.id == Post.person_id)
            .join(unit, unit.id == Post.org_unit_id)
            .outerjoin(best, best.c.person_id == Post.person_id)
            .where(scope.where(unit.path), Post.status.in_(CANDIDATE_STATUSES),
                   Post.post_type.in_(CANDIDATE_POST_TYPES)))
    if post_type:
        stmt = stmt.where(Post.post_type == post_type)
    if sort == "name":
        return stmt.order_by(Person.name, Person.id, Post.id)
    return stmt.order_by(rank.desc(), Person.name, Person.id, Post.id)


def candidate_count(scope: Scope, *, post_type: str | None = None) -> int:
    stmt = candidates_stmt(scope, post_type=post_type).order_by(None).with_only_columns(Post.id)
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def candidates(scope: Scope, *, post_type: str | None = None, sort: str = "qualification",
               limit: int = 50, offset: int = 0) -> list[Candidate]:
    rows = db.session.execute(candidates_stmt(scope, post_type=post_type, sort=sort)
                              .limit(limit).offset(offset)).all()
    return [Candidate(post, person, LEVEL_OF_RANK.get(r)) for post, person, r in rows]


# ---------------------------------------------------------------- qualified share


@dataclass
class ShareCell:
    in_post: int = 0
    qualified: int = 0

    @property
    def share(self) -> float | None:
        """Percentage with one decimal, None when nobody is in post."""
        return round(self.qualified * 100 / self.in_post, 1) if self.in_post else None


@dataclass
class ShareRow:
    unit: OrgUnit
    cells: dict[str, ShareCell]


def share_counts(parent: OrgUnit) -> dict[int, dict[str, ShareCell]]:
    """``unit id → post type → (in post, qualified)``: people in post anywhere under each child
    unit of *parent*, and (under *parent*'s own id) in posts at *parent* itself (a township's
    director and staff), in one aggregate query whatever the number of units."""
    child = aliased(OrgUnit)
    unit = aliased(OrgUnit)
    qualified = (select(Qualification.person_id.label("person_id")).distinct()
                 .subquery("qualified"))
    rows = db.session.execute(
        select(child.id, Post.post_type, func.count(distinct(Post.person_id)),
               func.count(distinct(qualified.c.person_id)))
        .select_from(child)
        .join(unit, or_(and_(child.id != parent.id, unit.path.startswith(child.path)),
                        and_(child.id == parent.id, unit.id == parent.id)))
        .join(Post, Post.org_unit_id == unit.id)
        .outerjoin(qualified, qualified.c.person_id == Post.person_id)
        .where(or_(child.parent_id == parent.id, child.id == parent.id),
               Post.status == PostStatus.IN_POST.value, Post.is_acting.is_(False))
        .group_by(child.id, Post.post_type)).all()
    out: dict[int, dict[str, ShareCell]] = {}
    for unit_id, post_type, n, q in rows:
        out.setdefault(unit_id, {})[post_type] = ShareCell(int(n), int(q))
    return out


def share_table(parent: OrgUnit) -> tuple[list[ShareRow], dict[str, ShareCell]]:
    """One row per child unit of *parent* (by code) with a cell per post type, preceded by a row
    for *parent* itself when people are in post there; and the totals."""
    children = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == parent.id)
                                  .order_by(OrgUnit.code)).all()
    counts = share_counts(parent)
    types = [t.value for t in PostType]
    units = ([parent] if parent.id in counts else []) + list(children)
    rows = [ShareRow(u, {t: counts.get(u.id, {}).get(t, ShareCell()) for t in types})
            for u in units]
    totals = {t: ShareCell(sum(r.cells[t].in_post for r in rows),
                           sum(r.cells[t].qualified for r in rows)) for t in types}
    return rows, totals


def top_unit(scope: Scope) -> OrgUnit | None:
    """The highest unit of the scope (for a global scope, the root of the tree)."""
    stmt = select(OrgUnit).where(scope.where(OrgUnit.path))
    if scope.is_global:
        stmt = stmt.where(OrgUnit.parent_id.is_(None))
    else:
        stmt = stmt.where(OrgUnit.path.in_(scope.paths))
    return db.session.scalars(stmt.order_by(func.length(OrgUnit.path), OrgUnit.code)
                              .limit(1)).first()
