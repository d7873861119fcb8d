"""Program completion (结业): the rule, the check that names what is missing, and issuing the
completion record with its certificate serial number and verification code. Flush, never commit.

A person completes a program when
- every lesson (not retired) of every course of the program is completed,
- they attended (present or late) at least the program's threshold share of its in-person
  sessions (a program without sessions has no attendance requirement), and
- the closing exam is passed, when the program requires one (``exam_results``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import joinedload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.courses.models import Course, Lesson, LessonProgress
from lms.db import local_date as db_local_date
from lms.errors import InvalidState
from lms.exams.results import CountedResult, counted_for_exams
from lms.extensions import db
from lms.i18n import _
from lms.org.models import CODE_LENGTH, Level, OrgUnit, Person
from lms.training.exam_link import closing_exam_ids
from lms.training.models import (
    Attendance,
    Completion,
    Enrollment,
    Program,
    ProgramCourse,
    TrainingSession,
)
from lms.training.rules import TIER, rotation_due_on

#: Attendance statuses that count as attended.
ATTENDED = ("present", "late")
#: Verification codes avoid characters that are easy to misread (0/O, 1/I/L).
VERIFY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
VERIFY_CODE_LENGTH = 10
#: Lesson titles named per unfinished course before the rest is summed up as "等".
LESSONS_NAMED = 3
#: Enrolment statuses shown on the completion page (waiting list and removed people are not).
ACTIVE = ("enrolled", "completed")
_SERIAL_LOCK = 734202  # PostgreSQL advisory lock key (the audit chain uses 734201)


# ---------------------------------------------------------------- the rule (pure)

@dataclass(frozen=True)
class CourseLessons:
    title: str
    #: ``(lesson id, lesson title)`` in course order.
    lessons: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Requirements:
    courses: tuple[CourseLessons, ...]
    sessions: int
    threshold_pct: int
    requires_exam: bool


@dataclass(frozen=True)
class Progress:
    done_lessons: frozenset[int]
    attended: int
    #: True passed, False failed, None unknown (no result, or no closing exam to take yet).
    exam_passed: bool | None


def required_sessions(sessions: int, threshold_pct: int) -> int:
    """Sessions to attend: the threshold share of *sessions*, rounded up."""
    return -(-sessions * threshold_pct // 100)


def _course_gap(course: CourseLessons, done: frozenset[int]) -> str | None:
    todo = [title for lesson_id, title in course.lessons if lesson_id not in done]
    if not todo:
        return None
    if len(todo) <= LESSONS_NAMED:
        return _("课程“%(course)s”还有 %(n)s 课未学完：%(lessons)s",
                 course=course.title, n=len(todo), lessons="、".join(todo))
    return _("课程“%(course)s”还有 %(n)s 课未学完：%(lessons)s 等",
             course=course.title, n=len(todo), lessons="、".join(todo[:LESSONS_NAMED]))


def _attendance_gap(req: Requirements, attended: int) -> str | None:
    needed = required_sessions(req.sessions, req.threshold_pct)
    if attended >= needed:
        return None
    return _("出勤 %(attended)s/%(sessions)s 次，至少需要 %(needed)s 次",
             attended=attended, sessions=req.sessions, needed=needed)


def _exam_gap(req: Requirements, passed: bool | None) -> str | None:
    if not req.requires_exam or passed is True:
        return None
    if passed is None:
        return _("结业考试尚未开放或尚无成绩，暂不能结业")
    return _("结业考试未通过")


def missing_items(req: Requirements, progress: Progress) -> list[str]:
    """What stands between a person and completion, in words; empty when they may complete."""
    gaps = [_course_gap(c, progress.done_lessons) for c in req.courses]
    gaps += [_attendance_gap(req, progress.attended), _exam_gap(req, progress.exam_passed)]
    return [g for g in gaps if g]


# ---------------------------------------------------------------- the closing exam

@dataclass(frozen=True)
class ExamResult:
    #: True passed, False failed, None unknown.
    passed: bool | None
    score: Decimal | None = None


UNKNOWN_EXAM = ExamResult(passed=None)


def exam_results(program: Program, person_ids: Iterable[int], *,
                 now: datetime) -> dict[int, ExamResult]:
    """Closing-exam results of *person_ids* for *program*, as of *now*; absent means unknown.

    The closing exams are the program's published or archived exams; when there are several,
    passing any of them counts and the score is the best counted score. A result still waiting
    for a marker is unknown (None). Two queries, whatever the number of people.
    """
    exam_ids = closing_exam_ids(program)
    people = list(person_ids)
    if not exam_ids or not people:
        return {}
    found: dict[int, list[CountedResult]] = {}
    for (_exam_id, person_id), result in counted_for_exams(exam_ids, people, until=now).items():
        found.setdefault(person_id, []).append(result)
    return {person_id: _combined(results) for person_id, results in found.items()}


def _combined(results: list[CountedResult]) -> ExamResult:
    scores = [r.score for r in results if r.score is not None]
    best = max(scores) if scores else None
    if any(r.passed is True for r in results):
        return ExamResult(True, max(r.score for r in results if r.passed is True))
    if any(r.passed is None for r in results):
        return ExamResult(None, best)
    return ExamResult(False, best)


def exam_passed(person: Person, program: Program, *, now: datetime) -> bool | None:
    """Whether *person* passed *program*'s closing exam (None: unknown)."""
    return exam_results(program, [person.id], now=now).get(person.id, UNKNOWN_EXAM).passed


# ---------------------------------------------------------------- checking

@dataclass(frozen=True)
class CompletionCheck:
    enrollment: Enrollment
    #: Unmet requirements in words; empty when the person may complete.
    missing: tuple[str, ...]
    attended: int
    sessions: int
    exam: ExamResult

    @property
    def eligible(self) -> bool:
        return not self.missing


def requirements(program: Program) -> Requirements:
    """The program's lessons (non-retired lessons of non-retired courses) and session count."""
    rows = db.session.execute(
        select(Course.id, Course.title, Lesson.id, Lesson.title)
        .select_from(ProgramCourse)
        .join(Course, Course.id == ProgramCourse.course_id)
        .join(Lesson, Lesson.course_id == Course.id)
        .where(ProgramCourse.program_id == program.id, Course.is_retired.is_(False),
               Lesson.is_retired.is_(False))
        .order_by(ProgramCourse.position, ProgramCourse.id, Lesson.position, Lesson.id)).all()
    courses: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for course_id, course_title, lesson_id, lesson_title in rows:
        courses.setdefault(course_id, (course_title, []))[1].append((lesson_id, lesson_title))
    sessions = db.session.scalar(select(func.count(TrainingSession.id))
                                 .where(TrainingSession.program_id == program.id)) or 0
    return Requirements(
        courses=tuple(CourseLessons(title, tuple(ls)) for title, ls in courses.values()),
        sessions=sessions, threshold_pct=program.attendance_threshold_pct,
        requires_exam=program.requires_exam)


def _lesson_ids(req: Requirements) -> list[int]:
    return [lesson_id for c in req.courses for lesson_id, _title in c.lessons]


def _done_lessons(req: Requirements, people: Select[Any] | list[int],
                  since: dict[int, datetime]) -> dict[int, set[int]]:
    """Lessons each person completed (after their restart, for a repeated course)."""
    lesson_ids = _lesson_ids(req)
    if not lesson_ids:
        return {}
    rows = db.session.execute(
        select(LessonProgress.person_id, LessonProgress.lesson_id, LessonProgress.completed_at)
        .where(LessonProgress.person_id.in_(people), LessonProgress.lesson_id.in_(lesson_ids),
               LessonProgress.completed_at.is_not(None))).all()
    done: dict[int, set[int]] = {}
    for person_id, lesson_id, completed_at in rows:
        if person_id not in since or completed_at >= since[person_id]:
            done.setdefault(person_id, set()).add(lesson_id)
    return done


def _attended(program: Program, people: Select[Any] | list[int],
              since: dict[int, datetime]) -> dict[int, int]:
    """Sessions of *program* each person attended (after their restart, for a repeat)."""
    rows = db.session.execute(
        select(Attendance.person_id, TrainingSession.starts_at)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(TrainingSession.program_id == program.id, Attendance.person_id.in_(people),
               Attendance.status.in_(ATTENDED))).all()
    counts: dict[int, int] = {}
    for person_id, starts_at in rows:
        if person_id not in since or starts_at >= since[person_id]:
            counts[person_id] = counts.get(person_id, 0) + 1
    return counts


def _checks(program: Program, enrollments: list[Enrollment], people: Select[Any] | list[int],
            *, now: datetime) -> list[CompletionCheck]:
    """Check *enrollments* with a fixed number of queries (*people*: their person ids)."""
    req = requirements(program)
    since = {e.person_id: e.restarted_at for e in enrollments if e.restarted_at is not None}
    done = _done_lessons(req, people, since)
    attended = _attended(program, people, since)
    exams = exam_results(program, [e.person_id for e in enrollments], now=now)
    checks = []
    for e in enrollments:
        exam = exams.get(e.person_id, UNKNOWN_EXAM)
        progress = Progress(frozenset(done.get(e.person_id, ())), attended.get(e.person_id, 0),
                            exam.passed)
        checks.append(CompletionCheck(e, tuple(missing_items(req, progress)),
                                      progress.attended, req.sessions, exam))
    return checks


def check_completion(enrollment: Enrollment, *, now: datetime) -> CompletionCheck:
    """Whether the enrolled person meets the program's completion rule, and what is missing."""
    return _checks(enrollment.program, [enrollment], [enrollment.person_id], now=now)[0]


@dataclass(frozen=True)
class CompletionRow:
    enrollment: Enrollment
    check: CompletionCheck
    completion: Completion | None


def program_enrollments(program: Program) -> list[Enrollment]:
    """Enrolled and completed people of *program* (person and unit loaded)."""
    return list(db.session.scalars(
        select(Enrollment).options(joinedload(Enrollment.person))
        .where(Enrollment.program_id == program.id, Enrollment.status.in_(ACTIVE))
        .order_by(Enrollment.id)).unique())


def completions_by_person(program: Program) -> dict[int, Completion]:
    rows = db.session.scalars(select(Completion).where(Completion.program_id == program.id))
    return {c.person_id: c for c in rows}


def completion_overview(program: Program, *, now: datetime) -> list[CompletionRow]:
    """Every enrolled or completed person with their check and completion, in a fixed number of
    queries: ready to complete first, then those still missing something, then the completed."""
    enrollments = program_enrollments(program)
    people = select(Enrollment.person_id).where(Enrollment.program_id == program.id,
                                                Enrollment.status.in_(ACTIVE))
    done = completions_by_person(program)
    rows = [CompletionRow(c.enrollment, c, done.get(c.enrollment.person_id))
            for c in _checks(program, enrollments, people, now=now)]
    return sorted(rows, key=lambda r: (r.completion is not None, not r.check.eligible,
                                       r.enrollment.id))


# ---------------------------------------------------------------- issuing

#: Told of every batch of new completions (the onboarding gate onboards the posts waiting on
#: them); same transaction, flush only.
CompletionListener = Callable[[list[Completion], Any, datetime], None]
_listeners: list[CompletionListener] = []


def register_completion_listener(fn: CompletionListener) -> None:
    if fn not in _listeners:
        _listeners.append(fn)


def local_date(now: datetime) -> date:
    return db_local_date(now)


def rotation_cycle_years() -> int:
    years = int(current_app.config["ROTATION_CYCLE_YEARS"])
    if not 2 <= years <= 3:
        raise ValueError("ROTATION_CYCLE_YEARS must be 2 or 3 (spec decision 5)")
    return years


def city_code(unit: OrgUnit) -> str:
    """The 4-digit city part of a city, county or township's division code."""
    return unit.code[:CODE_LENGTH[Level.CITY]]


def _tier(program: Program) -> str:
    level = program.org_unit.level
    if level not in TIER:
        raise InvalidState(_("只有市、县、乡镇三级组织的培训班才能颁发结业证书。"))
    return str(level)


def _lock_serials() -> None:
    """Serialise serial-number allocation on PostgreSQL (SQLite writers already hold the lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SELECT pg_advisory_xact_lock({_SERIAL_LOCK})"))


def serial_numbers(organiser: OrgUnit, year: int, count: int) -> list[str]:
    """The next *count* serial numbers ``<city code>-<year>-<6-digit sequence>``."""
    prefix = f"{city_code(organiser)}-{year}-"
    _lock_serials()
    last = db.session.scalar(select(func.max(Completion.serial_no))
                             .where(Completion.serial_no.startswith(prefix, autoescape=True)))
    start = int(last[len(prefix):]) + 1 if last else 1
    return [f"{prefix}{n:06d}" for n in range(start, start + count)]


def _random_code() -> str:
    return "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(VERIFY_CODE_LENGTH))


def verify_codes(count: int) -> list[str]:
    """*count* fresh verification codes, none already in use."""
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {_random_code() for _ in range(count - len(codes))} - codes
        taken = set(db.session.scalars(select(Completion.verify_code)
                                       .where(Completion.verify_code.in_(fresh))))
        codes |= fresh - taken
    return list(codes)


def _issue(program: Program, checks: list[CompletionCheck], *, actor: Any,
           now: datetime) -> list[Completion]:
    completed_on = local_date(now)
    tier = _tier(program)
    valid_until = rotation_due_on(completed_on, rotation_cycle_years())
    serials = serial_numbers(program.org_unit, completed_on.year, len(checks))
    codes = verify_codes(len(checks))
    made = []
    for check, serial, code in zip(checks, serials, codes, strict=True):
        e = check.enrollment
        made.append(Completion(
            person_id=e.person_id, program_id=program.id, org_unit_id=e.person.org_unit_id,
            tier=tier, kind=program.kind, post_type=program.audience_post_type,
            completed_on=completed_on, credit_hours=program.credit_hours,
            exam_score=check.exam.score, serial_no=serial, verify_code=code,
            valid_until=valid_until, created_at=now))
        e.status, e.completed_at, e.waitlist_position = "completed", now, None
    db.session.add_all(made)
    db.session.flush()
    audit.record_many(actor, "completion.create", [
        (c, {"program_id": program.id, "person_id": c.person_id, "serial_no": c.serial_no})
        for c in made], now=now)
    for listener in _listeners:
        listener(made, actor, now)
    return made


def _existing(enrollment: Enrollment) -> Completion | None:
    return db.session.scalar(select(Completion).where(
        Completion.program_id == enrollment.program_id,
        Completion.person_id == enrollment.person_id))


def complete(enrollment: Enrollment, *, actor: Any, now: datetime) -> Completion:
    """Record the completion of an enrolled person who meets the rule (idempotent: an existing
    completion is returned unchanged)."""
    program = enrollment.program
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    existing = _existing(enrollment)
    if existing is not None:
        return existing
    if enrollment.status != "enrolled":
        raise InvalidState(_("只有已报名的学员才能结业。"))
    check = check_completion(enrollment, now=now)
    if not check.eligible:
        raise InvalidState(_("%(name)s尚不能结业：%(missing)s。", name=enrollment.person.name,
                             missing="；".join(check.missing)))
    return _issue(program, [check], actor=actor, now=now)[0]


def complete_all_eligible(program: Program, *, actor: Any, now: datetime) -> list[Completion]:
    """Complete every enrolled person of *program* who meets the rule; the new completions."""
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ready = [r.check for r in completion_overview(program, now=now)
             if r.completion is None and r.check.eligible and r.enrollment.status == "enrolled"]
    return _issue(program, ready, actor=actor, now=now) if ready else []


def enrollment_in(program: Program, enrollment_id: int) -> Enrollment | None:
    """The enrolment *enrollment_id* if it belongs to *program*."""
    return db.session.scalar(select(Enrollment).where(Enrollment.id == enrollment_id,
                                                      Enrollment.program_id == program.id))


def validity(completion: Completion, today: date) -> str:
    """"current" until the end of ``valid_until`` (or for ever without one), then "expired"."""
    if completion.valid_until is None or today <= completion.valid_until:
        return "current"
    return "expired"


def find_by_code(raw: str) -> Completion | None:
    """The completion whose verification code is *raw* (case, spaces and dashes ignored)."""
    code = "".join(ch for ch in raw.upper() if ch not in " -\t")
    if len(code) != VERIFY_CODE_LENGTH or any(ch not in VERIFY_ALPHABET for ch in code):
        return None
    return db.session.scalar(select(Completion).options(joinedload(Completion.person))
                             .where(Completion.verify_code == code))
