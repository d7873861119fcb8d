"""Factories for the completion and certificate tests: a program with courses, lessons and
sessions, enrolments, lesson progress and attendance (each adds and flushes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from lms.courses.models import Course, Lesson, LessonProgress
from lms.extensions import db
from lms.org.models import OrgUnit, Person
from lms.training.models import (
    Attendance,
    Enrollment,
    Program,
    ProgramCourse,
    TrainingSession,
)

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shandong


def make_course(title: str, lessons: list[str], *, retired_lessons: tuple[str, ...] = (),
                retired: bool = False) -> Course:
    token = secrets.token_hex(4)
    course = Course(slug=f"c-{token}", code=f"C-{token}", title=title, source="file",
                    is_retired=retired)
    db.session.add(course)
    db.session.flush()
    for i, name in enumerate(lessons + list(retired_lessons), start=1):
        db.session.add(Lesson(course_id=course.id, slug=f"{i:02d}-{token}", position=i, title=name,
                              minutes=45, is_retired=name in retired_lessons))
    db.session.flush()
    db.session.refresh(course)
    return course


@dataclass
class ProgramSetup:
    program: Program
    courses: list[Course]
    sessions: list[TrainingSession]

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for c in self.courses for lesson in c.lessons if not lesson.is_retired]


def make_program(organiser: OrgUnit, *, title: str = "2026年村（社区）民政助理员轮训班",
                 courses: list[Course] | None = None, sessions: int = 0, threshold: int = 80,
                 requires_exam: bool = False, audience: str = "village_assistant",
                 kind: str = "rotation", mode: str = "blended") -> ProgramSetup:
    program = Program(org_unit_id=organiser.id, title=title, kind=kind, mode=mode,
                      audience_post_type=audience, status="open", credit_hours=Decimal("24.0"),
                      requires_exam=requires_exam, attendance_threshold_pct=threshold,
                      starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 13))
    db.session.add(program)
    db.session.flush()
    courses = courses if courses is not None else [
        make_course("社会救助政策", ["最低生活保障", "特困人员救助供养", "临时救助"])]
    for i, course in enumerate(courses):
        db.session.add(ProgramCourse(program_id=program.id, course_id=course.id, position=i))
    made = []
    for i in range(sessions):
        start = datetime(2026, 3, 2 + i, 1, 0, tzinfo=UTC)
        made.append(TrainingSession(program_id=program.id, org_unit_id=organiser.id,
                                    title=f"第{i + 1}讲", starts_at=start,
                                    ends_at=start + timedelta(hours=3)))
    db.session.add_all(made)
    db.session.flush()
    return ProgramSetup(program, courses, made)


def enrol(program: Program, person: Person, status: str = "enrolled") -> Enrollment:
    e = Enrollment(program_id=program.id, person_id=person.id, org_unit_id=person.org_unit_id,
                   status=status)
    db.session.add(e)
    db.session.flush()
    return e


def finish(person: Person, lessons: list[Lesson], at: datetime = NOW) -> None:
    for lesson in lessons:
        db.session.add(LessonProgress(person_id=person.id, lesson_id=lesson.id,
                                      org_unit_id=person.org_unit_id, started_at=at,
                                      completed_at=at, updated_at=at))
    db.session.flush()


def attend(person: Person, sessions: list[TrainingSession], status: str = "present") -> None:
    for s in sessions:
        db.session.add(Attendance(session_id=s.id, person_id=person.id, status=status))
    db.session.flush()


def ready(setup: ProgramSetup, person: Person) -> Enrollment:
    """Enrol *person* and meet every requirement (all lessons, every session attended)."""
    e = enrol(setup.program, person)
    finish(person, setup.lessons)
    attend(person, setup.sessions)
    return e
