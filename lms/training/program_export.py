"""XLSX exports of the program list and of a program's roster (write-only workbooks; every text
cell goes through ``lms.org.export.cell_text``). Data is read in batches: the number of queries
does not grow with the number of programs or people."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.org.export import cell_text
from lms.org.models import Person
from lms.training.models import Attendance, Enrollment, Program, TrainingSession
from lms.training.program_labels import training_label
from lms.training.sessions import CREDITED


def _save(wb: Workbook) -> io.BytesIO:
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _hours(value: Decimal | None) -> str:
    return f"{Decimal(value or 0).normalize():f}"


# ---------------------------------------------------------------- the program list


def list_headers() -> list[str]:
    return [_("培训班"), _("主办单位"), _("类别"), _("对象"), _("方式"), _("开始"), _("结束"),
            _("人数上限"), _("已报名"), _("候补"), _("状态")]


def seat_counts(stmt: Any) -> dict[int, dict[str, int]]:
    """Enrolments per status for every program *stmt* selects (one query)."""
    ids = select(stmt.subquery().c.id)
    seats: dict[int, dict[str, int]] = {}
    for pid, status, n in db.session.execute(
            select(Enrollment.program_id, Enrollment.status, func.count())
            .where(Enrollment.program_id.in_(ids))
            .group_by(Enrollment.program_id, Enrollment.status)).all():
        seats.setdefault(pid, {})[status] = n
    return seats


def program_row(p: Program, seats: dict[str, int]) -> list[Any]:
    return [
        p.title, p.org_unit.name, str(training_label("kind", p.kind)),
        str(label(p.audience_post_type)), str(training_label("mode", p.mode)),
        p.starts_on.isoformat() if p.starts_on else None,
        p.ends_on.isoformat() if p.ends_on else None,
        p.capacity if p.capacity else _("不限"),
        seats.get("enrolled", 0) + seats.get("completed", 0), seats.get("waitlisted", 0),
        str(training_label("program", p.status)),
    ]


def programs_workbook(stmt: Any) -> io.BytesIO:
    """Every program *stmt* selects (scoped and filtered by the caller), newest first."""
    seats = seat_counts(stmt)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("培训班"))
    ws.append(list_headers())
    rows = db.session.execute(stmt.order_by(Program.created_at.desc(), Program.id.desc()))
    for p in rows.scalars():
        ws.append([cell_text(v) for v in program_row(p, seats.get(p.id, {}))])
    return _save(wb)


# ---------------------------------------------------------------- a program's roster


def roster_headers() -> list[str]:
    return [_("姓名"), _("单位"), _("岗位"), _("状态"), _("候补顺序"), _("截止日期"),
            _("已学课时/总课时"), _("出勤次数")]


def roster_enrolments(program: Program) -> list[Enrollment]:
    """Enrolled people (by enrolment time), then the waiting list in order (two queries)."""
    waiting = Enrollment.status == "waitlisted"
    return list(db.session.execute(
        select(Enrollment)
        .where(Enrollment.program_id == program.id,
               Enrollment.status.in_(("enrolled", "waitlisted")))
        .options(joinedload(Enrollment.person).selectinload(Person.posts))
        .order_by(case((waiting, 1), else_=0), case((waiting, Enrollment.waitlist_position)),
                  Enrollment.enrolled_at, Enrollment.id)).unique().scalars())


def attendance_totals(program: Program) -> dict[int, tuple[Decimal, int]]:
    """Per person: credited hours and credited (present or late) sessions (one query)."""
    rows = db.session.execute(
        select(Attendance.person_id, func.sum(TrainingSession.credit_hours), func.count())
        .join(TrainingSession, Attendance.session_id == TrainingSession.id)
        .where(TrainingSession.program_id == program.id, Attendance.status.in_(CREDITED))
        .group_by(Attendance.person_id)).all()
    return {pid: (Decimal(hours or 0), n) for pid, hours, n in rows}


def roster_workbook(program: Program) -> io.BytesIO:
    totals = attendance_totals(program)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("学员名单"))
    ws.append(roster_headers())
    rank = 0
    for e in roster_enrolments(program):
        person = e.person
        if e.status == "waitlisted":
            rank += 1
        hours, times = totals.get(e.person_id, (Decimal(0), 0))
        posts = "、".join(str(label(p.post_type)) for p in person.posts if p.is_open)
        ws.append([cell_text(v) for v in (
            person.name, person.org_unit.name, posts or None,
            str(training_label("enrolment", e.status)),
            rank if e.status == "waitlisted" else None,
            e.due_on.isoformat() if e.due_on else None,
            f"{_hours(hours)}/{_hours(program.credit_hours)}", times)])
    return _save(wb)
