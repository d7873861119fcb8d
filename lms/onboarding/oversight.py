"""Oversight lists for the county and the city (issue 5 §7): people pending onboarding and for how
long, acting posts, overdue consultations, filings needing attention, vacant villages and legacy
posts with their rotation status.

One function builds the filtered ``Select`` of each list (``BUILDERS``); a count is always
``select count(*)`` from that very select, and the roll-up joins the same select to the target
units through the materialized paths (a row counts for every unit whose path prefixes the path of
the row's unit), so every count equals the rows of its list and a county's numbers are exactly the
sum over its townships plus its own rows. Everything is read through the actor's scope, in a fixed
number of queries (none per row or per unit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, literal, select, union_all
from sqlalchemy.orm import aliased

from lms.auth.access import Scope
from lms.extensions import db
from lms.i18n import _l
from lms.onboarding.gate import CONSULTATION_WORDS
from lms.onboarding.models import Consultation, Filing, OnboardingRecord
from lms.org.models import Level, OrgUnit, Person, Post, PostStatus, PostType
from lms.org.queries import top_units
from lms.training.coverage import ROTATION_LABELS, Cutoffs, rotation_rows
from lms.training.models import Program

PENDING = "pending"
ACTING = "acting"
CONSULTATIONS = "overdue-consultations"
FILINGS = "filings-attention"
VACANCIES = "vacancies"
LEGACY = "legacy"
LIST_NAMES: tuple[str, ...] = (PENDING, ACTING, CONSULTATIONS, FILINGS, VACANCIES, LEGACY)

TITLES: dict[str, Any] = {
    PENDING: _l("待岗前培训"), ACTING: _l("代理岗位"), CONSULTATIONS: _l("逾期未答复的征求意见"),
    FILINGS: _l("需处理的备案"), VACANCIES: _l("空缺村（社区）"), LEGACY: _l("上线前在岗人员"),
}
HINTS: dict[str, Any] = {
    PENDING: _l("岗位状态为“已提名”或“待培训”的人员，按等待时间从长到短排列；"
                "等待天数从岗位进入当前状态之日算起。"),
    ACTING: _l("标记为代理的未免职岗位。代理人员不计发补贴，也不计入在岗人数。"),
    CONSULTATIONS: _l("已超过答复期限、县级民政部门仍未同意或不同意的主任人选征求意见"
                      "（待答复或要求补充材料）。"),
    FILINGS: _l("超过备案期限仍未接收的助理员备案，以及被县级退回、需要更正的备案。"),
    VACANCIES: _l("没有非代理的村(社区)民政助理员“已上岗”的村（社区）；"
                  "空缺天数从最近一位助理员免职之日算起。"),
    LEGACY: _l("系统上线时按原有人员导入、没有岗前培训记录的在岗人员，以及他们的轮训状态。"),
}

FILING_WORDS: dict[str, Any] = {
    "overdue": _l("逾期未接收"), "returned": _l("已退回待更正"),
}

#: The status filter of each list: value → words (a list without one takes no status filter).
STATUS_CHOICES: dict[str, dict[str, Any]] = {
    PENDING: {PostStatus.NOMINATED.value: _l("已提名"),
              PostStatus.PENDING_ONBOARDING.value: _l("待培训")},
    ACTING: {s.value: w for s, w in (
        (PostStatus.NOMINATED, _l("已提名")), (PostStatus.PENDING_ONBOARDING, _l("待培训")),
        (PostStatus.ONBOARDED, _l("已通过岗前培训")), (PostStatus.IN_POST, _l("已上岗")),
        (PostStatus.SUSPENDED, _l("暂停")))},
    CONSULTATIONS: {k: CONSULTATION_WORDS[k] for k in ("submitted", "info_requested")},
    FILINGS: FILING_WORDS,
    LEGACY: dict(ROTATION_LABELS),
}

VA = PostType.VILLAGE_ASSISTANT.value
OPEN_CONSULTATION = ("submitted", "info_requested")


@dataclass(frozen=True)
class Filters:
    """What every list is read with: the day (local), the rotation cutoffs, and the filters."""

    today: date
    cut: Cutoffs
    q: str = ""
    post_type: str | None = None
    status: str | None = None

    def unfiltered(self) -> Filters:
        return Filters(self.today, self.cut, post_type=self.post_type)


def _within(stmt: Select[Any], home: Any, scope: Scope, unit: OrgUnit | None) -> Select[Any]:
    stmt = stmt.where(scope.where(home.path))
    if unit is not None:
        stmt = stmt.where(home.path.startswith(unit.path, autoescape=True))
    return stmt


def _name_like(column: Any, q: str) -> ColumnElement[bool] | None:
    term = q.strip()[:50]
    return column.contains(term, autoescape=True) if term else None


def _person_filters(stmt: Select[Any], f: Filters, post_type_col: Any) -> Select[Any]:
    cond = _name_like(Person.name, f.q)
    if cond is not None:
        stmt = stmt.where(cond)
    if f.post_type:
        stmt = stmt.where(post_type_col == f.post_type)
    return stmt


# ---------------------------------------------------------------- the lists


def pending_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Posts nominated or pending onboarding, longest waiting first, with the assigned program."""
    home = aliased(OrgUnit)
    stmt = (select(Post.id.label("post_id"), Person.id.label("person_id"),
                   Person.name.label("person_name"), home.id.label("unit_id"),
                   home.path.label("unit_path"), Post.post_type, Post.status, Post.is_acting,
                   Post.status_changed_at.label("since"), Program.id.label("program_id"),
                   Program.title.label("program_title"))
            .select_from(Post)
            .join(home, home.id == Post.org_unit_id)
            .join(Person, Person.id == Post.person_id)
            .outerjoin(OnboardingRecord, OnboardingRecord.post_id == Post.id)
            .outerjoin(Program, Program.id == OnboardingRecord.program_id)
            .where(Post.status.in_([PostStatus.NOMINATED.value,
                                    PostStatus.PENDING_ONBOARDING.value])))
    stmt = _person_filters(_within(stmt, home, scope, unit), f, Post.post_type)
    if f.status in STATUS_CHOICES[PENDING]:
        stmt = stmt.where(Post.status == f.status)
    return stmt.order_by(Post.status_changed_at, Post.id)


def acting_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Open posts held by an acting person (代理)."""
    home = aliased(OrgUnit)
    stmt = (select(Post.id.label("post_id"), Person.id.label("person_id"),
                   Person.name.label("person_name"), home.id.label("unit_id"),
                   home.path.label("unit_path"), Post.post_type, Post.status, Post.is_acting,
                   Post.started_on, Post.created_at)
            .select_from(Post)
            .join(home, home.id == Post.org_unit_id)
            .join(Person, Person.id == Post.person_id)
            .where(Post.is_acting.is_(True), Post.status != PostStatus.REMOVED.value))
    stmt = _person_filters(_within(stmt, home, scope, unit), f, Post.post_type)
    if f.status in STATUS_CHOICES[ACTING]:
        stmt = stmt.where(Post.status == f.status)
    return stmt.order_by(home.code, Person.name, Post.id)


def consultations_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Open director consultations (submitted / more asked) past their reply date."""
    home = aliased(OrgUnit)
    stmt = (select(Consultation.id.label("consultation_id"), Person.id.label("person_id"),
                   Person.name.label("person_name"), home.id.label("unit_id"),
                   home.path.label("unit_path"), Post.post_type, Post.is_acting,
                   Consultation.status, Consultation.submitted_at, Consultation.due_on)
            .select_from(Consultation)
            .join(home, home.id == Consultation.org_unit_id)
            .join(Person, Person.id == Consultation.person_id)
            .join(Post, Post.id == Consultation.post_id)
            .where(Consultation.status.in_(OPEN_CONSULTATION), Consultation.due_on < f.today))
    stmt = _person_filters(_within(stmt, home, scope, unit), f, Post.post_type)
    if f.status in STATUS_CHOICES[CONSULTATIONS]:
        stmt = stmt.where(Consultation.status == f.status)
    return stmt.order_by(Consultation.due_on, Consultation.id)


def filings_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Assistant filings submitted and past their due date, or returned for correction."""
    home = aliased(OrgUnit)
    overdue = and_(Filing.status == "submitted", Filing.due_on < f.today)
    returned = Filing.status == "returned"
    stmt = (select(Filing.id.label("filing_id"), Person.id.label("person_id"),
                   Person.name.label("person_name"), home.id.label("unit_id"),
                   home.path.label("unit_path"), Post.post_type, Post.is_acting,
                   Filing.status, Filing.submitted_at, Filing.due_on, Filing.decided_at,
                   Filing.note)
            .select_from(Filing)
            .join(home, home.id == Filing.org_unit_id)
            .join(Person, Person.id == Filing.person_id)
            .join(Post, Post.id == Filing.post_id))
    if f.status == "overdue":
        stmt = stmt.where(overdue)
    elif f.status == "returned":
        stmt = stmt.where(returned)
    else:
        stmt = stmt.where(overdue | returned)
    stmt = _person_filters(_within(stmt, home, scope, unit), f, Post.post_type)
    return stmt.order_by(Filing.due_on, Filing.id)


def vacancies_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Villages with no (non-acting) village assistant in post, with an acting holder if any and
    the day the last assistant left (the latest ``ended_on`` of a removed assistant post)."""
    home = aliased(OrgUnit)
    held = (select(Post.id).where(Post.org_unit_id == home.id, Post.post_type == VA,
                                  Post.status == PostStatus.IN_POST.value,
                                  Post.is_acting.is_(False)).exists())
    acting = (select(Post.org_unit_id, func.min(Post.id).label("post_id"))
              .where(Post.post_type == VA, Post.is_acting.is_(True),
                     Post.status != PostStatus.REMOVED.value)
              .group_by(Post.org_unit_id).subquery("acting"))
    ended = (select(Post.org_unit_id, func.max(Post.ended_on).label("vacant_since"))
             .where(Post.post_type == VA, Post.status == PostStatus.REMOVED.value)
             .group_by(Post.org_unit_id).subquery("ended"))
    acting_post, acting_person = aliased(Post), aliased(Person)
    stmt = (select(home.id.label("unit_id"), home.path.label("unit_path"),
                   home.name.label("unit_name"), acting_person.id.label("person_id"),
                   acting_person.name.label("person_name"), ended.c.vacant_since)
            .select_from(home)
            .outerjoin(acting, acting.c.org_unit_id == home.id)
            .outerjoin(acting_post, acting_post.id == acting.c.post_id)
            .outerjoin(acting_person, acting_person.id == acting_post.person_id)
            .outerjoin(ended, ended.c.org_unit_id == home.id)
            .where(home.level == Level.VILLAGE.value, ~held))
    stmt = _within(stmt, home, scope, unit)
    cond = _name_like(home.name, f.q)
    if cond is not None:
        stmt = stmt.where(cond)
    return stmt.order_by(home.code)


def legacy_select(scope: Scope, unit: OrgUnit | None, f: Filters) -> Select[Any]:
    """Posts in post from the go-live import without an onboarding record, with the rotation
    status of training coverage (the same last tier-appropriate completion and cutoffs)."""
    home = aliased(OrgUnit)
    rot = rotation_rows(f.cut)
    recorded = select(OnboardingRecord.id).where(OnboardingRecord.post_id == Post.id).exists()
    stmt = (select(Post.id.label("post_id"), Person.id.label("person_id"),
                   Person.name.label("person_name"), home.id.label("unit_id"),
                   home.path.label("unit_path"), Post.post_type, Post.is_acting,
                   Post.started_on, rot.c.last_on, rot.c.status.label("rotation"))
            .select_from(Post)
            .join(home, home.id == Post.org_unit_id)
            .join(Person, Person.id == Post.person_id)
            .outerjoin(rot, and_(rot.c.org_unit_id == Post.org_unit_id,
                                 rot.c.post_type == Post.post_type,
                                 rot.c.person_id == Post.person_id))
            .where(Post.status == PostStatus.IN_POST.value, Post.is_legacy.is_(True),
                   ~recorded))
    stmt = _person_filters(_within(stmt, home, scope, unit), f, Post.post_type)
    if f.status in STATUS_CHOICES[LEGACY]:
        stmt = stmt.where(rot.c.status == f.status)
    return stmt.order_by(home.code, Person.name, Post.id)


Builder = Callable[[Scope, "OrgUnit | None", Filters], Select[Any]]
BUILDERS: dict[str, Builder] = {
    PENDING: pending_select, ACTING: acting_select, CONSULTATIONS: consultations_select,
    FILINGS: filings_select, VACANCIES: vacancies_select, LEGACY: legacy_select,
}


def count_select(stmt: Select[Any]) -> Select[Any]:
    """``select count(*)`` from the list's own select."""
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def list_page(name: str, scope: Scope, unit: OrgUnit | None, f: Filters, *, page: int = 1,
              size: int = 50) -> tuple[int, list[Any]]:
    """The total and one page of a list (2 queries)."""
    stmt = BUILDERS[name](scope, unit, f)
    total = db.session.execute(count_select(stmt)).scalar_one()
    rows = list(db.session.execute(stmt.limit(size).offset((page - 1) * size)).all())
    return total, rows


# ---------------------------------------------------------------- counts and roll-up


def rollup(unit_ids: Iterable[int], scope: Scope, f: Filters) -> dict[int, dict[str, int]]:
    """For each unit, the number of rows of every list in its subtree (one query)."""
    ids = list(dict.fromkeys(unit_ids))
    out = {uid: dict.fromkeys(LIST_NAMES, 0) for uid in ids}
    if not ids:
        return out
    parts = []
    for name in LIST_NAMES:
        rows = BUILDERS[name](scope, None, f).order_by(None).subquery()
        target = aliased(OrgUnit)
        parts.append(select(cast(literal(name), String(30)).label("list"),
                            target.id.label("unit_id"), func.count().label("n"))
                     .select_from(rows)
                     .join(target, rows.c.unit_path.startswith(target.path))
                     .where(target.id.in_(ids))
                     .group_by(target.id))
    for name, uid, n in db.session.execute(union_all(*parts)).all():
        out[uid][name] = n
    return out


def _sum(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(LIST_NAMES, 0)
    for c in counts:
        for name in LIST_NAMES:
            total[name] += c[name]
    return total


@dataclass
class Hub:
    """The counts of a unit (or, ``unit`` None, of the whole scope) and of its parts."""

    unit: OrgUnit | None
    total: dict[str, int]
    rows: list[tuple[OrgUnit, dict[str, int]]]
    #: Rows placed at the unit itself (e.g. a township's director beside its villages).
    own: dict[str, int] | None = None
    names: tuple[str, ...] = field(default=LIST_NAMES)


def children(unit: OrgUnit, scope: Scope) -> list[OrgUnit]:
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.parent_id == unit.id, scope.where(OrgUnit.path))
        .order_by(OrgUnit.code)).scalars())


def hub(unit: OrgUnit | None, scope: Scope, f: Filters) -> Hub:
    """A unit and its children, or the top units of the scope (2 queries)."""
    if unit is None:
        parts = top_units(scope)
        counts = rollup([u.id for u in parts], scope, f)
        return Hub(None, _sum(counts.values()), [(u, counts[u.id]) for u in parts])
    parts = children(unit, scope)
    counts = rollup([unit.id, *(u.id for u in parts)], scope, f)
    summed = _sum(counts[u.id] for u in parts)
    own = {n: counts[unit.id][n] - summed[n] for n in LIST_NAMES}
    return Hub(unit, counts[unit.id], [(u, counts[u.id]) for u in parts],
               own if parts and any(own.values()) else None)


# ---------------------------------------------------------------- unit paths of a page


def unit_paths(paths: Iterable[str]) -> dict[str, str]:
    """The names along each unit path below the city ("兰山区 › 兰山街道 › 某村"), one query."""
    wanted = {p: [int(i) for i in p.strip("/").split("/")] for p in set(paths) if p}
    ids = {i for chain in wanted.values() for i in chain}
    if not ids:
        return {}
    units = {uid: (name, level) for uid, name, level in db.session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.level).where(OrgUnit.id.in_(ids))).all()}
    skip = {Level.PROVINCE.value, Level.CITY.value}
    out = {}
    for path, chain in wanted.items():
        names = [units[i][0] for i in chain if i in units and units[i][1] not in skip]
        out[path] = " › ".join(names) or " › ".join(units[i][0] for i in chain if i in units)
    return out


def days_between(start: date | None, today: date) -> int | None:
    return None if start is None else (today - start).days
