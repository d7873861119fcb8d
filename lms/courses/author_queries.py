"""Reads for the trainer pages: courses in the actor's scope, the shared library, attachments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from lms.auth.access import Scope
from lms.courses.models import Attachment, Course, Lesson
from lms.extensions import db
from lms.org.models import OrgUnit


@dataclass(frozen=True)
class CoursePage:
    courses: list[Course]
    total: int
    lesson_counts: dict[int, int]


def _search(stmt: Select, q: str) -> Select:
    q = q.strip()[:100]
    if not q:
        return stmt
    return stmt.where(or_(Course.title.contains(q, autoescape=True),
                          Course.code.contains(q, autoescape=True)))


def lesson_counts(course_ids: list[int]) -> dict[int, int]:
    """Lessons in use per course, in one query."""
    if not course_ids:
        return {}
    rows = db.session.execute(
        select(Lesson.course_id, func.count(Lesson.id))
        .where(Lesson.course_id.in_(course_ids), Lesson.is_retired.is_(False))
        .group_by(Lesson.course_id)).all()
    return {course_id: n for course_id, n in rows}


def managed_courses(scope: Scope, *, q: str = "", page: int = 1, size: int = 50) -> CoursePage:
    """Browser courses owned by units in the scope: in use first, most recently changed first."""
    unit = aliased(OrgUnit)
    stmt = _search(select(Course).join(unit, Course.org_unit_id == unit.id)
                   .where(scope.where(unit.path), Course.source == "browser"), q)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0
    courses = list(db.session.execute(
        stmt.order_by(Course.is_retired, Course.updated_at.desc(), Course.id.desc())
        .limit(size).offset((page - 1) * size)).scalars().unique())
    return CoursePage(courses, total, lesson_counts([c.id for c in courses]))


def library_courses(*, q: str = "") -> CoursePage:
    """The shared library (course files synced from disk), in use, by code."""
    stmt = _search(select(Course).where(Course.source == "file", Course.org_unit_id.is_(None),
                                        Course.is_retired.is_(False)), q)
    courses = list(db.session.execute(stmt.order_by(Course.code)).scalars().unique())
    return CoursePage(courses, len(courses), lesson_counts([c.id for c in courses]))


def library_course(slug: str) -> Course | None:
    return db.session.execute(select(Course).where(
        Course.slug == slug[:80], Course.source == "file", Course.org_unit_id.is_(None),
        Course.is_retired.is_(False))).scalar()


def attachments_of(course: Course, lesson: Lesson | None = None) -> list[Attachment]:
    """A course's files (or one lesson's), posters excluded: they are shown with their video."""
    posters = select(Attachment.poster_id).where(Attachment.course_id == course.id,
                                                 Attachment.poster_id.is_not(None))
    stmt = select(Attachment).where(Attachment.course_id == course.id,
                                    Attachment.id.not_in(posters))
    if lesson is not None:
        stmt = stmt.where(Attachment.lesson_id == lesson.id)
    stmt = stmt.options(selectinload(Attachment.poster), selectinload(Attachment.lesson))
    return list(db.session.execute(stmt.order_by(Attachment.id)).scalars())
