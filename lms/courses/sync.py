"""Bring the file courses in the database in line with a course folder (``flask courses sync``).

Courses are keyed by slug (the folder name), lessons by (course, slug); content hashes decide
what changed, so a second run with the same files writes nothing at all (not even ``updated_at``)
and an edited lesson file changes exactly that lesson. A lesson file removed from disk is retired
(hidden from learners, progress history kept); a course folder removed from disk retires the
course and its lessons; putting a file back brings its row back. Every created, updated or
retired course or lesson gets one audit entry. Flushes, never commits: the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms import audit
from lms.courses.files import CourseFile, CourseFilesInvalid, LessonFile, read_courses
from lms.courses.models import Course, Lesson
from lms.extensions import db
from lms.i18n import _

SOURCE = "file"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    retired: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "retired": self.retired}


@dataclass
class SyncResult:
    courses: Counts = field(default_factory=Counts)
    lessons: Counts = field(default_factory=Counts)
    #: (action, object, details) in the order the changes were made; written to the audit log.
    events: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.events)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"courses": self.courses.as_dict(), "lessons": self.lessons.as_dict()}


def sync_from_disk(path: Path | str, *, actor: Any, now: datetime) -> SyncResult:
    """Read every course under *path*, then create, update or retire rows to match.

    Raises ``CourseFilesInvalid`` (every problem, each naming its file) before writing anything.
    """
    files = read_courses(Path(path))
    existing = _existing_courses()
    _check_clashes(files, existing)
    result = SyncResult()
    for course_file in files:
        _sync_course(course_file, existing.get(course_file.slug), result, now)
    on_disk = {c.slug for c in files}
    for course in existing.values():
        if course.source == SOURCE and course.slug not in on_disk and not course.is_retired:
            _retire_course(course, result, now)
    db.session.flush()
    _audit(result, actor, now)
    return result


def _existing_courses() -> dict[str, Course]:
    rows = db.session.execute(select(Course).options(selectinload(Course.lessons))).scalars()
    return {c.slug: c for c in rows}


def _check_clashes(files: list[CourseFile], existing: dict[str, Course]) -> None:
    """A folder may not take the slug of a browser course, nor a code another course keeps."""
    problems = []
    final_codes = {c.code: c.slug for c in existing.values()
                   if c.source != SOURCE or c.slug not in {f.slug for f in files}}
    for course_file in files:
        current = existing.get(course_file.slug)
        if current is not None and current.source != SOURCE:
            problems.append(_("%(file)s：文件夹名 %(slug)s 已被浏览器中编写的课程使用，请改名",
                              file=course_file.path, slug=course_file.slug))
        holder = final_codes.get(course_file.code)
        if holder is not None and holder != course_file.slug:
            problems.append(_("%(file)s：课程代码 %(code)s 已被课程 %(other)s 使用",
                              file=course_file.path, code=course_file.code, other=holder))
    if problems:
        raise CourseFilesInvalid(problems)


def _sync_course(course_file: CourseFile, course: Course | None, result: SyncResult,
                 now: datetime) -> None:
    if course is None:
        course = Course(slug=course_file.slug, source=SOURCE, org_unit_id=None, created_at=now)
        _apply_course(course, course_file, now)
        db.session.add(course)
        result.courses.created += 1
        result.events.append(("course.create", course, _course_details(course)))
    elif course.content_hash != course_file.content_hash or course.is_retired:
        restored = course.is_retired
        _apply_course(course, course_file, now)
        result.courses.updated += 1
        result.events.append(("course.update", course,
                              {**_course_details(course), "restored": restored}))
    _sync_lessons(course, course_file.lessons, result, now)


def _apply_course(course: Course, course_file: CourseFile, now: datetime) -> None:
    course.code = course_file.code
    course.title = course_file.title
    course.summary = course_file.summary
    course.post_types = ",".join(course_file.post_types)
    course.credit_hours = course_file.credit_hours
    course.content_hash = course_file.content_hash
    course.is_retired = False
    course.updated_at = now


def _course_details(course: Course) -> dict[str, Any]:
    return {"slug": course.slug, "code": course.code, "title": course.title}


def _sync_lessons(course: Course, files: tuple[LessonFile, ...], result: SyncResult,
                  now: datetime) -> None:
    by_slug = {lesson.slug: lesson for lesson in course.lessons}
    for lesson_file in files:
        lesson = by_slug.get(lesson_file.slug)
        if lesson is None:
            lesson = Lesson(slug=lesson_file.slug)
            _apply_lesson(lesson, lesson_file, now)
            course.lessons.append(lesson)
            result.lessons.created += 1
            result.events.append(("lesson.create", lesson, _lesson_details(course, lesson)))
        elif _lesson_changed(lesson, lesson_file):
            restored = lesson.is_retired
            _apply_lesson(lesson, lesson_file, now)
            result.lessons.updated += 1
            result.events.append(("lesson.update", lesson,
                                  {**_lesson_details(course, lesson), "restored": restored}))
    on_disk = {f.slug for f in files}
    for lesson in list(by_slug.values()):
        if lesson.slug not in on_disk and not lesson.is_retired:
            _retire_lesson(course, lesson, result, now)


def _lesson_changed(lesson: Lesson, lesson_file: LessonFile) -> bool:
    return (lesson.content_hash != lesson_file.content_hash or lesson.is_retired
            or lesson.position != lesson_file.position)


def _apply_lesson(lesson: Lesson, lesson_file: LessonFile, now: datetime) -> None:
    lesson.position = lesson_file.position
    lesson.title = lesson_file.title
    lesson.minutes = lesson_file.minutes
    lesson.body = lesson_file.body
    lesson.content_hash = lesson_file.content_hash
    lesson.is_retired = False
    lesson.updated_at = now


def _lesson_details(course: Course, lesson: Lesson) -> dict[str, Any]:
    return {"course": course.slug, "slug": lesson.slug, "title": lesson.title,
            "position": lesson.position}


def _retire_lesson(course: Course, lesson: Lesson, result: SyncResult, now: datetime) -> None:
    lesson.is_retired = True
    lesson.updated_at = now
    result.lessons.retired += 1
    result.events.append(("lesson.retire", lesson, _lesson_details(course, lesson)))


def _retire_course(course: Course, result: SyncResult, now: datetime) -> None:
    course.is_retired = True
    course.updated_at = now
    result.courses.retired += 1
    result.events.append(("course.retire", course, _course_details(course)))
    for lesson in course.lessons:
        if not lesson.is_retired:
            _retire_lesson(course, lesson, result, now)


def _audit(result: SyncResult, actor: Any, now: datetime) -> None:
    """One entry per change, in the order made (after the flush, so every row has its id)."""
    for action, obj, details in result.events:
        audit.record(actor, action, obj, now=now, source="courses sync", **details)
