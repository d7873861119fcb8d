"""The quarterly stipend ledger (issue 6 point 4; decision 7; reference/domain.md §2.5).

Townships enter a quarterly grade (季度考核) for each assistant; after the quarter the county
computes the quarter: one line per assistant in post in it =
``rules.quarter_fen(level held this year,
months in post, quarterly grade)``. The level held is last year's confirmed new level (entry level
without one); a month counts with ≥ 15 days in post, a removal's month counts to its end; acting
holders and people never set in post have no line. Computing again with the same inputs changes
nothing (lines are matched by post and only rewritten when their amount's inputs change), so the
computation is idempotent and reproducible. The county confirms the quarter for payment; a
confirmed line changes only through ``lms.grading.changes``. Lines carry integrity codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import lazyload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.db import local_date
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.grading import integrity, policy_store, roster, rules
from lms.grading.cycle import check_previous_confirmed
from lms.grading.models import PayStatus, QuarterGrade, StipendLine, StipendQuarter
from lms.grading.policy import Grade
from lms.i18n import _
from lms.org.models import Level, OrgUnit

QUARTERS = (1, 2, 3, 4)


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def _check_quarter(year: int, quarter: int, now: datetime) -> None:
    if quarter not in QUARTERS or not 2000 <= year <= local_date(now).year:
        raise ValidationFailed(_("请选择有效的年度和季度。"), "quarter")


def run_for(county: OrgUnit, year: int, quarter: int) -> StipendQuarter | None:
    return db.session.scalar(select(StipendQuarter).where(
        StipendQuarter.org_unit_id == county.id, StipendQuarter.year == year,
        StipendQuarter.quarter == quarter))


def county_of(unit: OrgUnit) -> OrgUnit | None:
    current: OrgUnit | None = unit
    while current is not None and current.level != Level.COUNTY.value:
        current = current.parent
    return current


# ---------------------------------------------------------------- quarterly grades


def quarter_roster(township: OrgUnit, year: int, quarter: int) -> list[tuple[roster.AssistantPost,
                                                                           str | None]]:
    """The township's assistants in post in the quarter with their grade so far (2 queries)."""
    county = county_of(township)
    if county is None:
        return []
    first, last = quarter_bounds(year, quarter)
    posts = [p for p in roster.assistant_posts(county, first, last)
             if p.township_id == township.id]
    grades = dict(db.session.execute(select(QuarterGrade.post_id, QuarterGrade.grade).where(
        QuarterGrade.township_id == township.id, QuarterGrade.year == year,
        QuarterGrade.quarter == quarter)).all())
    return [(p, grades.get(p.post_id)) for p in posts]


def enter_quarter_grades(township: OrgUnit, year: int, quarter: int, grades: Mapping[int, str],
                         *, actor: Any, now: datetime) -> int:
    """Store the township's quarterly grades (post id → grade value); returns how many changed.
    Refused once the county has confirmed the quarter (use a change request then)."""
    ensure(actor, Perm.EVALUATION_SCORE, township)
    _check_quarter(year, quarter, now)
    county = county_of(township)
    run = run_for(county, year, quarter) if county else None
    if run is not None and run.status == PayStatus.CONFIRMED:
        raise InvalidState(_(
            "该季度补贴已确认发放，季度等次只能通过更正申请（经另一人审核）修改。"))
    allowed = {p.post_id: p for p, _g in quarter_roster(township, year, quarter)}
    existing = {q.post_id: q for q in db.session.scalars(select(QuarterGrade).where(
        QuarterGrade.township_id == township.id, QuarterGrade.year == year,
        QuarterGrade.quarter == quarter))}
    changed = []
    for post_id, value in grades.items():
        if post_id not in allowed:
            raise ValidationFailed(_("名单中有不属于本乡镇该季度在岗的人员，请刷新页面后重试。"),
                                   "grades")
        if value not in {g.value for g in Grade}:
            raise ValidationFailed(_("请为每个人选择季度等次。"), "grades")
        row = existing.get(post_id)
        if row is not None and row.grade == value:
            continue
        before = row.grade if row else None
        if row is None:
            p = allowed[post_id]
            row = QuarterGrade(post_id=post_id, person_id=p.person_id, org_unit_id=p.village_id,
                               township_id=township.id, year=year, quarter=quarter, grade=value,
                               entered_at=now, entered_by_id=getattr(actor, "id", None))
            db.session.add(row)
        else:
            row.grade, row.entered_at = value, now
            row.entered_by_id = getattr(actor, "id", None)
        changed.append((row, {"post_id": post_id, "person_id": row.person_id, "year": year,
                              "quarter": quarter, "before": before, "after": value}))
    db.session.flush()
    audit.record_many(actor, "stipend.quarter_grade", changed, now=now)
    return len(changed)


# ---------------------------------------------------------------- computing a quarter


@dataclass(frozen=True)
class Missing:
    name: str
    village: str
    township: str


class MissingGrades(InvalidState):
    def __init__(self, missing: list[Missing]) -> None:
        names = "、".join(f"{m.township}{m.village} {m.name}" for m in missing[:5])
        super().__init__(_("还有 %(n)s 名在岗人员没有季度等次（%(names)s%(more)s），请乡镇先录入。",
                           n=len(missing), names=names, more="……" if len(missing) > 5 else ""))
        self.missing = missing


def levels_held(county: OrgUnit, year: int, people: Any) -> dict[int, int]:
    history = roster.histories(people, year)
    return {pid: rules.level_held([(h.level, h.new_level) for h in past])
            for pid, past in history.items()}


def compute_quarter(county: OrgUnit, year: int, quarter: int, *, actor: Any,
                    now: datetime) -> StipendQuarter:
    """Compute (or recompute) a county's quarter; idempotent. Refused before the quarter ends,
    after it is confirmed, and while an assistant in post lacks a quarterly grade."""
    ensure(actor, Perm.EVALUATION_REVIEW, county)
    if county.level != Level.COUNTY.value:
        raise ValidationFailed(_("补贴按县（市、区）计算，请选择一个县。"), "unit")
    _check_quarter(year, quarter, now)
    first, last = quarter_bounds(year, quarter)
    if local_date(now) <= last:
        raise InvalidState(_("该季度尚未结束（%(day)s 结束），结束后才能计算补贴。",
                             day=last.isoformat()))
    run = run_for(county, year, quarter)
    if run is not None and run.status == PayStatus.CONFIRMED:
        raise InvalidState(_("该季度补贴已确认发放，不能重新计算。"))
    check_previous_confirmed(county, year)
    policy = policy_store.policy_for(county, year)
    posts = roster.assistant_posts(county, first, last)
    sub = roster.assistant_posts_select(county, first, last).subquery()
    levels = levels_held(county, year, select(sub.c.person_id))
    grades = dict(db.session.execute(select(QuarterGrade.post_id, QuarterGrade.grade).where(
        QuarterGrade.post_id.in_(select(sub.c[0])), QuarterGrade.year == year,
        QuarterGrade.quarter == quarter)).all())
    wanted: dict[int, dict[str, Any]] = {}
    missing = []
    for p in posts:
        months = rules.months_in_post(p.in_post_on, p.ended_on, year, quarter)
        if months == 0:
            continue
        grade = grades.get(p.post_id)
        if grade is None:
            missing.append(Missing(p.name, p.village, p.township))
            continue
        level = levels.get(p.person_id, rules.level_held([]))
        wanted[p.post_id] = {
            "person_id": p.person_id, "org_unit_id": p.village_id, "township_id": p.township_id,
            "county_id": county.id, "level": level, "months": months, "grade": grade,
            "amount_fen": rules.quarter_fen(level, months, Grade(grade), policy)}
    if missing:
        raise MissingGrades(missing)
    if run is None:
        run = StipendQuarter(org_unit_id=county.id, year=year, quarter=quarter,
                             status=PayStatus.COMPUTED, computed_at=now)
        db.session.add(run)
        db.session.flush()
    changed = _write_lines(run, wanted)
    run.lines = len(wanted)
    run.total_fen = sum(v["amount_fen"] for v in wanted.values())
    run.computed_at, run.computed_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "stipend.compute", run, now=now, year=year, quarter=quarter,
                 lines=run.lines, total_fen=run.total_fen, changed=changed)
    return run


#: The columns a line's amount is computed into (the keys of ``compute_quarter``'s values).
LINE_VALUES = ("person_id", "org_unit_id", "township_id", "county_id", "level", "months", "grade",
               "amount_fen")


def _write_lines(run: StipendQuarter, wanted: dict[int, dict[str, Any]]) -> int:
    # The computed columns only, as rows: a line object is loaded only when its values changed
    # (a recomputation, and the one in every confirmation, usually changes none).
    existing = {post_id: (line_id, values) for line_id, post_id, *values in db.session.execute(
        select(StipendLine.id, StipendLine.post_id,
               *(StipendLine.__table__.c[k] for k in LINE_VALUES))
        .where(StipendLine.run_id == run.id)).all()}
    gone = [line_id for post_id, (line_id, _v) in existing.items() if post_id not in wanted]
    if gone:
        db.session.execute(delete(StipendLine).where(StipendLine.id.in_(gone)))
    changed = len(gone)
    fresh = []
    key = integrity.code_key()
    for post_id, values in wanted.items():
        found = existing.get(post_id)
        if found is None:
            new = {"run_id": run.id, "post_id": post_id, "year": run.year,
                   "quarter": run.quarter, **values}
            fresh.append({**new, "mac": integrity.mac_of("stipend_line", SimpleNamespace(**new),
                                                         key)})
        elif found[1] != [values[k] for k in LINE_VALUES]:
            line = db.session.get(StipendLine, found[0], options=[lazyload("*")])
            assert line is not None
            for k, v in values.items():
                setattr(line, k, v)
            integrity.seal(line)
            changed += 1
    if fresh:  # one (Core) executemany: a county's quarter is hundreds of lines
        db.session.execute(insert(StipendLine.__table__), fresh)
        changed += len(fresh)
    db.session.flush()
    return changed


def confirm_quarter(run: StipendQuarter, *, actor: Any, now: datetime) -> None:
    """Confirm for payment what the inputs say now: the quarter is computed again first (grades
    corrected or posts changed since the last computation are taken in, or refused)."""
    ensure(actor, Perm.EVALUATION_REVIEW, run.org_unit)
    if run.status == PayStatus.CONFIRMED:
        raise InvalidState(_("该季度补贴已确认发放。"))
    compute_quarter(run.org_unit, run.year, run.quarter, actor=actor, now=now)
    run.status = PayStatus.CONFIRMED
    run.confirmed_at, run.confirmed_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "stipend.confirm", run, now=now, year=run.year, quarter=run.quarter,
                 lines=run.lines, total_fen=run.total_fen)


def refresh_total(run: StipendQuarter) -> None:
    lines, total = db.session.execute(select(func.count(StipendLine.id),
                                             func.coalesce(func.sum(StipendLine.amount_fen), 0))
                                      .where(StipendLine.run_id == run.id)).one()
    run.lines, run.total_fen = lines, int(total)
