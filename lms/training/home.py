"""The trainee home's programs (我的培训): the person's enrolments with status, due date and
progress of the program's courses, and whether one of their sessions is open for sign-in now.

Pure reads in a fixed number of statements (three; five when a closing exam is due) whatever
the number of enrolments, courses and lessons: the trainee home is query-budgeted in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from lms.courses.learning import percent
from lms.courses.models import Course, Lesson, LessonProgress
from lms.exams.models import Exam
from lms.exams.results import counted_for_exams
from lms.extensions import db
from lms.i18n import _l
from lms.org.models import Person
from lms.training.models import Attendance, Enrollment, Program, ProgramCourse, TrainingSession

#: Enrolments shown on the home page (removed ones are not).
SHOWN = ("enrolled", "waitlisted", "completed")
#: The trainee's view of an enrolment: words and colour class (see app.css ``.status-*``).
STATES: dict[str, tuple[Any, str]] = {
    "todo": (_l("待学习"), "todo"),
    "learning": (_l("学习中"), "learning"),
    "waitlisted": (_l("候补"), "warn"),
    "completed": (_l("已结业"), "ok"),
}


@dataclass(frozen=True)
class ProgramLesson:
    id: int
    #: Number of the lesson within its course (1-based), as on the lesson page.
    number: int
    title: str
    course_title: str
    completed: bool


@dataclass
class ProgramProgress:
    enrollment: Enrollment
    lessons: list[ProgramLesson] = field(default_factory=list)

    @property
    def program(self) -> Program:
        return self.enrollment.program

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.completed)

    @property
    def percent(self) -> Decimal:
        return percent(self.done, self.total)

    @property
    def next_lesson(self) -> ProgramLesson | None:
        return next((lesson for lesson in self.lessons if not lesson.completed), None)

    @property
    def state(self) -> str:
        status = self.enrollment.status
        if status != "enrolled":
            return status
        return "learning" if self.done else "todo"

    @property
    def state_label(self) -> Any:
        return STATES[self.state][0]

    @property
    def state_tone(self) -> str:
        return STATES[self.state][1]


@dataclass(frozen=True)
class ExamStep:
    program: Program
    exam: Exam


@dataclass
class ProgramHome:
    #: Enrolled and waitlisted programs, the soonest due first.
    current: list[ProgramProgress]
    completed: list[ProgramProgress]
    #: A session of an enrolled program whose sign-in is open now (the next step is 去签到).
    signin_session: TrainingSession | None
    #: The closing exam of an enrolled program whose lessons are all done and whose exam is not
    #: passed yet (the next step is 参加结业考试).
    exam_step: ExamStep | None = None

    @property
    def next_program(self) -> ProgramProgress | None:
        """The first enrolled program with an unfinished lesson (its next lesson is 继续学习)."""
        return next((p for p in self.current
                     if p.enrollment.status == "enrolled" and p.next_lesson), None)

    @property
    def is_empty(self) -> bool:
        return not (self.current or self.completed)


def _enrolments(person: Person) -> list[Enrollment]:
    return list(db.session.execute(
        select(Enrollment).where(Enrollment.person_id == person.id,
                                 Enrollment.status.in_(SHOWN))
        .options(joinedload(Enrollment.program).joinedload(Program.org_unit))
        .order_by(Enrollment.due_on.is_(None), Enrollment.due_on, Enrollment.enrolled_at,
                  Enrollment.id)).scalars())


def _lessons(person: Person, program_ids: list[int]) -> dict[int, list[ProgramLesson]]:
    """Each program's active lessons in course then lesson order, with the person's completion."""
    out: dict[int, list[ProgramLesson]] = {pid: [] for pid in program_ids}
    if not program_ids:
        return out
    rows = db.session.execute(
        select(ProgramCourse.program_id, Lesson.id, Lesson.course_id, Lesson.title,
               Course.title.label("course_title"), LessonProgress.completed_at)
        .join(Course, Course.id == ProgramCourse.course_id)
        .join(Lesson, Lesson.course_id == Course.id)
        .outerjoin(LessonProgress, and_(LessonProgress.lesson_id == Lesson.id,
                                        LessonProgress.person_id == person.id))
        .where(ProgramCourse.program_id.in_(program_ids), Course.is_retired.is_(False),
               Lesson.is_retired.is_(False))
        .order_by(ProgramCourse.program_id, ProgramCourse.position, ProgramCourse.id,
                  Lesson.position, Lesson.id))
    numbers: dict[tuple[int, int], int] = {}
    for row in rows:
        key = (row.program_id, row.course_id)
        numbers[key] = numbers.get(key, 0) + 1
        out[row.program_id].append(ProgramLesson(row.id, numbers[key], row.title,
                                                 row.course_title, row.completed_at is not None))
    return out


def open_signin_session(person: Person, now: datetime) -> TrainingSession | None:
    """A session of one of the person's enrolled programs with sign-in open at *now* that the
    person has no attendance for yet."""
    attended = select(Attendance.id).where(Attendance.session_id == TrainingSession.id,
                                           Attendance.person_id == person.id)
    return db.session.execute(
        select(TrainingSession)
        .join(Enrollment, Enrollment.program_id == TrainingSession.program_id)
        .where(Enrollment.person_id == person.id, Enrollment.status == "enrolled",
               TrainingSession.signin_code.is_not(None), TrainingSession.signin_until > now,
               ~attended.exists())
        .options(joinedload(TrainingSession.program))
        .order_by(TrainingSession.starts_at, TrainingSession.id).limit(1)).scalar()


def exam_step(person: Person, rows: list[ProgramProgress]) -> ExamStep | None:
    """The first enrolled program that requires an exam, whose lessons are all done and whose
    published closing exam the person has not passed (nor waits for its marking). Two queries,
    and none when no program is at that point."""
    ready = [r.program for r in rows if r.enrollment.status == "enrolled"
             and r.program.requires_exam and r.next_lesson is None]
    if not ready:
        return None
    exams = db.session.execute(
        select(Exam).where(Exam.program_id.in_([p.id for p in ready]),
                           Exam.status == "published")
        .order_by(Exam.opens_at.is_(None), Exam.opens_at, Exam.id)).scalars().all()
    results = counted_for_exams([e.id for e in exams], [person.id])
    by_program: dict[int, list[Exam]] = {}
    for exam in exams:
        by_program.setdefault(exam.program_id, []).append(exam)
    for program in ready:
        mine = by_program.get(program.id, [])
        counted = [results.get((e.id, person.id)) for e in mine]
        if any(c is not None and c.passed is not False for c in counted):
            continue  # passed, or waiting for a marker
        if mine:
            return ExamStep(program, mine[0])
    return None


def program_home(person: Person, now: datetime) -> ProgramHome:
    enrolments = _enrolments(person)
    lessons = _lessons(person, [e.program_id for e in enrolments])
    rows = [ProgramProgress(e, lessons[e.program_id]) for e in enrolments]
    return ProgramHome(current=[r for r in rows if r.enrollment.status != "completed"],
                       completed=[r for r in rows if r.enrollment.status == "completed"],
                       signin_session=open_signin_session(person, now) if rows else None,
                       exam_step=exam_step(person, rows))
