"""What a closing exam's result does to a program: a pass completes the program when every
other requirement is met (the system issues the certificate, domain §3.3 step 5); after the
last allowed attempt fails, the person must repeat the course (onboarding retakes, §2.6), which
restarts their enrolment so that lessons, attendance and attempts count afresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState
from lms.exams import hooks
from lms.exams.attempts import attempts_left
from lms.exams.models import Attempt, Exam
from lms.extensions import db
from lms.i18n import _
from lms.training.completion import _issue, check_completion, exam_passed
from lms.training.exam_link import closing_exam_ids
from lms.training.models import Enrollment, Program


def _enrollment(program_id: int, person_id: int) -> Enrollment | None:
    return db.session.scalar(select(Enrollment).where(
        Enrollment.program_id == program_id, Enrollment.person_id == person_id))


def _complete_on_pass(attempt: Attempt, actor: Any, now: datetime) -> None:
    enrollment = _enrollment(attempt.exam.program_id, attempt.person_id)
    if enrollment is None or enrollment.status != "enrolled":
        return
    check = check_completion(enrollment, now=now)
    if check.eligible:
        _issue(enrollment.program, [check], actor=None, now=now)


def _restart_floor(exam: Exam, person_id: int) -> datetime | None:
    return db.session.scalar(select(Enrollment.restarted_at).where(
        Enrollment.program_id == exam.program_id, Enrollment.person_id == person_id))


hooks.register_pass_listener(_complete_on_pass)
hooks.register_attempt_floor(_restart_floor)


@dataclass(frozen=True)
class Retakes:
    #: Attempts left on the program's closing exams (None: unlimited or no limit applies).
    left: int | None
    #: Every allowed attempt was used without a pass: the course must be repeated.
    exhausted: bool


def retakes(enrollment: Enrollment, *, now: datetime) -> Retakes:
    """Where the person stands with the closing exam's attempts (a few queries)."""
    ids = closing_exam_ids(enrollment.program)
    if not ids or enrollment.status != "enrolled":
        return Retakes(None, False)
    exams = db.session.scalars(select(Exam).where(Exam.id.in_(ids))).all()
    lefts = [attempts_left(e, enrollment.person_id) for e in exams]
    if any(n is None for n in lefts):
        return Retakes(None, False)
    left = sum(n for n in lefts if n is not None)
    failed = exam_passed(enrollment.person, enrollment.program, now=now) is False
    return Retakes(left, left == 0 and failed)


def repeat_course(enrollment: Enrollment, *, actor: Any, now: datetime) -> Enrollment:
    """Restart an enrolment whose closing-exam attempts are all used without a pass."""
    program: Program = enrollment.program
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    if not retakes(enrollment, now=now).exhausted:
        raise InvalidState(_("只有用完全部考试机会仍未通过的学员才需要重修。"))
    enrollment.restarted_at = now
    db.session.flush()
    audit.record(actor, "enrolment.restart", enrollment, now=now, program_id=program.id,
                 person_id=enrollment.person_id)
    return enrollment
