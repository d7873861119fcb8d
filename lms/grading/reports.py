"""HR reports of the annual evaluation and the stipends (issue 6 point 6): plain functions that
return rows aggregated in the database (GROUP BY), never a loop over assistants.

Every report reads through a ``Frame``: the actor's ``GRADING_REPORTS`` scope, the unit drilled
into (None: the whole scope) and the year. Rows are kept when their village lies in the scope
and under the unit (the same rule as ``scoped_select``); they are grouped by the level below the
unit: counties in a city view, townships in a county view, villages in a township view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select, union
from sqlalchemy.orm import aliased

from lms.auth.access import Scope
from lms.extensions import db
from lms.grading.models import Evaluation, EvaluationRound, RoundStatus, StipendLine
from lms.grading.policy import LEVELS, Grade
from lms.org.models import Level, OrgUnit, Person

GRADES = tuple(Grade)
QUARTERS = (1, 2, 3, 4)
#: The column naming the unit of each grouping level, on Evaluation and StipendLine alike.
GROUP_COLUMN = {Level.COUNTY: "county_id", Level.TOWNSHIP: "township_id",
                Level.VILLAGE: "org_unit_id"}


@dataclass(frozen=True)
class Frame:
    scope: Scope
    unit: OrgUnit | None
    year: int

    @property
    def group_level(self) -> Level:
        level = Level(self.unit.level) if self.unit is not None else Level.CITY
        if level.rank <= Level.CITY.rank:
            return Level.COUNTY
        return Level.TOWNSHIP if level == Level.COUNTY else Level.VILLAGE


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str


def _in_frame(stmt: Select[Any], model: Any, frame: Frame) -> Select[Any]:
    """Keep the rows whose village is in the scope and under the frame's unit."""
    village = aliased(OrgUnit)
    stmt = stmt.join(village, village.id == model.org_unit_id).where(
        frame.scope.where(village.path))
    if frame.unit is not None:
        stmt = stmt.where(village.path.startswith(frame.unit.path, autoescape=True))
    return stmt


def _group_col(model: Any, frame: Frame) -> Any:
    return getattr(model, GROUP_COLUMN[frame.group_level])


def units(frame: Frame) -> list[UnitRef]:
    """The units of the grouping level under the frame's unit that the scope reaches (in scope,
    or above a scope root), in code order (one query)."""
    scope = frame.scope
    reach = scope.where(OrgUnit.path)
    if not scope.is_global:
        reach = or_(reach, *(literal(p).startswith(OrgUnit.path) for p in scope.paths))
    stmt = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.level == frame.group_level.value, reach)
    if frame.unit is not None:
        stmt = stmt.where(OrgUnit.path.startswith(frame.unit.path, autoescape=True))
    return [UnitRef(*row) for row in db.session.execute(stmt.order_by(OrgUnit.code)).all()]


def years(scope: Scope, unit: OrgUnit | None) -> list[int]:
    """Years with an evaluation or a stipend line in the frame, latest first (one query)."""
    frame = Frame(scope, unit, 0)
    parts = [_in_frame(select(m.year), m, frame) for m in (Evaluation, StipendLine)]
    sub = union(*parts).subquery()
    return list(db.session.scalars(select(sub.c.year).order_by(sub.c.year.desc())))


# ---------------------------------------------------------------- 1. grades per unit


@dataclass
class GradeRow:
    unit: UnitRef | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _grade_sums() -> list[Any]:
    return [func.sum(case((Evaluation.grade == g.value, 1), else_=0)).label(g.value)
            for g in GRADES]


def _counts(row: Any) -> dict[str, int]:
    return {g.value: int(getattr(row, g.value) or 0) for g in GRADES}


def grade_distribution(frame: Frame) -> tuple[list[GradeRow], GradeRow]:
    """Graded sheets per unit and grade, and the total row (two queries)."""
    group = _group_col(Evaluation, frame)
    stmt = _in_frame(select(group.label("unit_id"), *_grade_sums()), Evaluation, frame)
    stmt = stmt.where(Evaluation.year == frame.year, Evaluation.grade.is_not(None)).group_by(group)
    found = {r.unit_id: _counts(r) for r in db.session.execute(stmt).all()}
    rows = [GradeRow(u, found.get(u.id, {g.value: 0 for g in GRADES})) for u in units(frame)]
    total = GradeRow(None, {g.value: sum(r.counts[g.value] for r in rows) for g in GRADES})
    return rows, total


# ---------------------------------------------------------------- 2. levels


@dataclass
class LevelRow:
    level: int | None              # None: the total row
    held: int = 0
    new: int = 0
    to: dict[int, int] = field(default_factory=dict)   # new level → people
    pending: int = 0               # no new level yet (not scored)
    promoted: int = 0
    kept: int = 0
    demoted: int = 0


def level_changes(frame: Frame) -> list[LevelRow]:
    """Per level held: people, people reaching it, the matrix level → new level and the
    promoted / kept / demoted counts; the last row is the total (one query)."""
    stmt = _in_frame(select(Evaluation.level, Evaluation.new_level, func.count(Evaluation.id)),
                     Evaluation, frame)
    stmt = stmt.where(Evaluation.year == frame.year).group_by(Evaluation.level,
                                                               Evaluation.new_level)
    rows = {lv: LevelRow(lv, to={n: 0 for n in LEVELS}) for lv in LEVELS}
    total = LevelRow(None, to={n: 0 for n in LEVELS})
    for level, new_level, n in db.session.execute(stmt).all():
        row = rows.setdefault(level, LevelRow(level, to={k: 0 for k in LEVELS}))
        for r in (row, total):
            r.held += n
            if new_level is None:
                r.pending += n
                continue
            r.to[new_level] = r.to.get(new_level, 0) + n
            if new_level < level:      # 1 is the highest level
                r.promoted += n
            elif new_level == level:
                r.kept += n
            else:
                r.demoted += n
        if new_level is not None:
            rows.setdefault(new_level, LevelRow(new_level, to={k: 0 for k in LEVELS})).new += n
            total.new += n
    return [rows[lv] for lv in sorted(rows, reverse=True)] + [total]


# ---------------------------------------------------------------- 3. stipends


@dataclass
class StipendRow:
    unit: UnitRef | None
    fen: dict[int, int] = field(default_factory=dict)      # quarter → fen
    people: dict[int, int] = field(default_factory=dict)   # quarter → people paid

    @property
    def total_fen(self) -> int:
        return sum(self.fen.values())


def stipend_totals(frame: Frame) -> tuple[list[StipendRow], StipendRow]:
    """Stipend paid per unit and quarter (fen, people), and the total row (two queries)."""
    group = _group_col(StipendLine, frame)
    stmt = _in_frame(select(group.label("unit_id"), StipendLine.quarter,
                            func.coalesce(func.sum(StipendLine.amount_fen), 0),
                            func.count(func.distinct(StipendLine.person_id))), StipendLine, frame)
    stmt = stmt.where(StipendLine.year == frame.year).group_by(group, StipendLine.quarter)
    found: dict[int, dict[int, tuple[int, int]]] = {}
    for unit_id, quarter, fen, people in db.session.execute(stmt).all():
        found.setdefault(unit_id, {})[quarter] = (int(fen), int(people))
    rows = []
    for u in units(frame):
        got = found.get(u.id, {})
        rows.append(StipendRow(u, {q: got.get(q, (0, 0))[0] for q in QUARTERS},
                               {q: got.get(q, (0, 0))[1] for q in QUARTERS}))
    total = StipendRow(None, {q: sum(r.fen[q] for r in rows) for q in QUARTERS},
                       {q: sum(r.people[q] for r in rows) for q in QUARTERS})
    return rows, total


# ---------------------------------------------------------------- 4. progress


@dataclass
class ProgressRow:
    unit: UnitRef | None
    sheets: int = 0
    scored: int = 0
    published: int = 0
    confirmed: int = 0

    @property
    def percent_scored(self) -> int:
        return self.scored * 100 // self.sheets if self.sheets else 0


def progress(frame: Frame) -> tuple[list[ProgressRow], ProgressRow]:
    """Score sheets, scored, published and confirmed per unit; units whose county has not
    opened the year show zeros (two queries)."""
    group = _group_col(Evaluation, frame)
    shown = EvaluationRound.status.in_([RoundStatus.PUBLISHED, RoundStatus.CONFIRMED])
    stmt = select(group.label("unit_id"), func.count(Evaluation.id), func.count(Evaluation.total),
                  func.sum(case((shown, 1), else_=0)),
                  func.sum(case((EvaluationRound.status == RoundStatus.CONFIRMED, 1), else_=0))
                  ).join(EvaluationRound, EvaluationRound.id == Evaluation.round_id)
    stmt = _in_frame(stmt, Evaluation, frame).where(Evaluation.year == frame.year).group_by(group)
    found = {r[0]: tuple(int(v or 0) for v in r[1:]) for r in db.session.execute(stmt).all()}
    rows = [ProgressRow(u, *found.get(u.id, (0, 0, 0, 0))) for u in units(frame)]
    total = ProgressRow(None, *(sum(getattr(r, k) for r in rows)
                                for k in ("sheets", "scored", "published", "confirmed")))
    return rows, total


# ---------------------------------------------------------------- 5. flagged assistants


@dataclass(frozen=True)
class FlaggedRow:
    evaluation_id: int
    name: str
    village: str
    township: str
    grade: str | None
    total: Decimal | None
    case_id: int | None


def flagged_select(frame: Frame) -> Select[Any]:
    town = aliased(OrgUnit)
    village = aliased(OrgUnit)
    stmt = (select(Evaluation.id, Person.name, village.name, town.name, Evaluation.grade,
                   Evaluation.total, Evaluation.replacement_case_id)
            .join(Person, Person.id == Evaluation.person_id)
            .join(village, village.id == Evaluation.org_unit_id)
            .join(town, town.id == Evaluation.township_id))
    stmt = _in_frame(stmt, Evaluation, frame).where(Evaluation.year == frame.year,
                                                   Evaluation.replace.is_(True))
    return stmt.order_by(town.code, village.code, Person.name, Evaluation.id)


def flagged_count(frame: Frame) -> int:
    sub = flagged_select(frame).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


def flagged(frame: Frame, *, page: int | None = None, size: int = 50) -> list[FlaggedRow]:
    """Assistants flagged for replacement (the page, or all rows when *page* is None)."""
    stmt = flagged_select(frame)
    if page is not None:
        stmt = stmt.limit(size).offset((page - 1) * size)
    return [FlaggedRow(*row) for row in db.session.execute(stmt).all()]


# ---------------------------------------------------------------- 6. year over year


@dataclass
class YearRow:
    year: int | None               # None: all years together
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def year_over_year(frame: Frame) -> list[YearRow]:
    """The grade distribution of every year with graded sheets in the frame, oldest first
    (one query; the frame's year is not used)."""
    stmt = _in_frame(select(Evaluation.year.label("year"), *_grade_sums()), Evaluation, frame)
    stmt = stmt.where(Evaluation.grade.is_not(None)).group_by(Evaluation.year)
    return [YearRow(r.year, _counts(r))
            for r in db.session.execute(stmt.order_by(Evaluation.year)).all()]
