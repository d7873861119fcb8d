"""Programs and their closing exams (结业考试): who is in a program (for the exams domain's
audience rule, registered at import), the exams linked to a program, and linking or unlinking an
exam of the program's unit (audited; flush only, the view commits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure, scope_for, scoped_select
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.audience import register_program_membership
from lms.exams.models import Attempt, Exam
from lms.extensions import db
from lms.i18n import _
from lms.training.models import Enrollment, Program

#: Enrolment statuses whose people may sit the program's closing exam.
MEMBERS = ("enrolled", "completed")
#: Exams whose results count for completion.
COUNTING = ("published", "archived")


def program_ids_for(person_id: int) -> set[int]:
    """Ids of the programs *person_id* is enrolled in (or has completed)."""
    return set(db.session.execute(select(Enrollment.program_id).where(
        Enrollment.person_id == person_id, Enrollment.status.in_(MEMBERS))).scalars())


register_program_membership(program_ids_for)


def closing_exam_ids(program: Program) -> list[int]:
    """The program's published or archived closing exams (their results count)."""
    return list(db.session.execute(select(Exam.id).where(
        Exam.program_id == program.id, Exam.status.in_(COUNTING)).order_by(Exam.id)).scalars())


@dataclass(frozen=True)
class LinkedExam:
    exam: Exam
    attempts: int


@dataclass(frozen=True)
class ExamSection:
    linked: list[LinkedExam]
    #: Exams the user may link: their EXAM_MANAGE scope, the program's unit, no program yet.
    choices: list[Exam]


def exam_section(program: Program, user: Any) -> ExamSection:
    """The program page's 结业考试 block (two queries, three when the user may link)."""
    attempts = (select(Attempt.exam_id, func.count(Attempt.id).label("n"))
                .group_by(Attempt.exam_id).subquery())
    rows = db.session.execute(
        select(Exam, func.coalesce(attempts.c.n, 0))
        .outerjoin(attempts, attempts.c.exam_id == Exam.id)
        .where(Exam.program_id == program.id).order_by(Exam.id)).all()
    choices: list[Exam] = []
    scope = scope_for(user, Perm.EXAM_MANAGE)
    if scope.covers(program.org_unit):
        choices = list(db.session.execute(
            scoped_select(Exam, scope).where(Exam.org_unit_id == program.org_unit_id,
                                             Exam.program_id.is_(None),
                                             Exam.status != "archived")
            .order_by(Exam.created_at.desc(), Exam.id.desc()).limit(200)).scalars())
    return ExamSection([LinkedExam(e, n) for e, n in rows], choices)


def _check(program: Program, exam: Exam | None, actor: Any) -> Exam:
    if exam is None or exam.org_unit_id != program.org_unit_id:
        raise ValidationFailed(_("请从列表中选择本单位的考试。"), "exam")
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    return exam


def link_exam(program: Program, exam: Exam | None, *, actor: Any, now: datetime) -> Exam:
    """Make *exam* (of the program's unit, not linked elsewhere) the program's closing exam."""
    exam = _check(program, exam, actor)
    if exam.program_id == program.id:
        return exam
    if exam.program_id is not None:
        raise InvalidState(_("这场考试已是其他培训班的结业考试。"))
    if exam.status == "archived":
        raise InvalidState(_("已归档的考试不能设为结业考试。"))
    exam.program_id = program.id
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.program_link", exam, now=now, program_id=program.id)
    return exam


def unlink_exam(program: Program, exam: Exam | None, *, actor: Any, now: datetime) -> Exam:
    """Undo the link while nobody has started the exam."""
    exam = _check(program, exam, actor)
    if exam.program_id != program.id:
        raise ValidationFailed(_("这场考试不是本培训班的结业考试。"), "exam")
    started = db.session.execute(select(func.count(Attempt.id))
                                 .where(Attempt.exam_id == exam.id)).scalar_one()
    if started:
        raise InvalidState(_("已有考生参加这场考试，不能取消关联。"))
    exam.program_id = None
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.program_unlink", exam, now=now, program_id=program.id)
    return exam
