"""Browser authoring: courses owned by a unit, their lessons (Markdown) and attached files.

Every function takes ``actor`` and ``now``, repeats the permission check (``Perm.COURSE_MANAGE``
over the course's unit), writes one audit entry per change and flushes; the caller commits.
Courses synced from the ``courses/`` folder (``source == "file"``) are read-only here. Files are
written by ``lms.courses.uploads`` before the row exists; deleting returns the stored names for
the caller to remove once the deletion is committed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.courses.models import Attachment, Course, Lesson
from lms.courses.uploads import StoredUpload
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit, PostType

#: Units that may own a course (where trainers are appointed).
OWNER_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)
MAX_TITLE = 200
MAX_SUMMARY = 2000
MAX_BODY = 100_000
MAX_MINUTES = 600
MAX_CREDIT_HOURS = Decimal("200")


@dataclass(frozen=True)
class CourseData:
    title: str
    code: str = ""
    summary: str = ""
    post_types: Sequence[str] = field(default_factory=tuple)
    credit_hours: Decimal = Decimal("0")


@dataclass(frozen=True)
class LessonData:
    title: str
    minutes: int = 0
    body: str = ""


# ---------------------------------------------------------------- checks


def _ensure_editable(actor: Any, course: Course) -> None:
    if course.source != "browser" or course.org_unit is None:
        raise InvalidState(_("这是课程文件中的课程，只能修改课程文件后同步，不能在网页上编辑。"))
    ensure(actor, Perm.COURSE_MANAGE, course.org_unit)


def _clean_course(data: CourseData, course: Course | None) -> CourseData:
    title = data.title.strip()
    if not title:
        raise ValidationFailed(_("请填写课程名称。"), "title")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("课程名称不能超过%(n)s个字符。", n=MAX_TITLE), "title")
    if len(data.summary) > MAX_SUMMARY:
        raise ValidationFailed(_("简介不能超过%(n)s个字符。", n=MAX_SUMMARY), "summary")
    allowed = {p.value for p in PostType}
    if any(p not in allowed for p in data.post_types):
        raise ValidationFailed(_("请从列表中选择适用岗位。"), "post_types")
    if not Decimal("0") <= data.credit_hours <= MAX_CREDIT_HOURS:
        raise ValidationFailed(_("学时应在 0 到 200 之间。"), "credit_hours")
    code = data.code.strip().upper()
    if code and db.session.execute(select(Course.id).where(
            Course.code == code, Course.id != (course.id if course else None))).first():
        raise ValidationFailed(_("课程编号“%(code)s”已被使用，请换一个。", code=code), "code")
    ordered = tuple(p.value for p in PostType if p.value in data.post_types)
    return CourseData(title, code, data.summary.strip(), ordered, data.credit_hours)


def _clean_lesson(data: LessonData) -> LessonData:
    title = data.title.strip()
    if not title:
        raise ValidationFailed(_("请填写课时标题。"), "title")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("课时标题不能超过%(n)s个字符。", n=MAX_TITLE), "title")
    if not 0 <= data.minutes <= MAX_MINUTES:
        raise ValidationFailed(_("学习时长应在 0 到 600 分钟之间。"), "minutes")
    if len(data.body) > MAX_BODY:
        raise ValidationFailed(_("正文不能超过%(n)s个字符，请拆成几个课时。", n=MAX_BODY), "body")
    return LessonData(title, data.minutes, data.body.replace("\r\n", "\n"))


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()


def _new_code() -> str:
    while True:
        code = f"WEB-{secrets.token_hex(3).upper()}"
        if not db.session.execute(select(Course.id).where(Course.code == code)).first():
            return code


def _apply_course(course: Course, data: CourseData) -> None:
    course.title, course.summary = data.title, data.summary
    course.post_types = ",".join(data.post_types)
    course.credit_hours = data.credit_hours
    course.content_hash = _hash(course.code, data.title, data.summary, course.post_types,
                                data.credit_hours)


# ---------------------------------------------------------------- courses


def create_course(unit: OrgUnit, data: CourseData, *, actor: Any, now: datetime) -> Course:
    ensure(actor, Perm.COURSE_MANAGE, unit)
    if Level(unit.level) not in OWNER_LEVELS:
        raise ValidationFailed(_("课程只能由市、县、乡镇（街道）单位创建。"), "unit")
    data = _clean_course(data, None)
    course = Course(slug=f"web-{secrets.token_hex(8)}", code=data.code or _new_code(),
                    source="browser", org_unit_id=unit.id, created_at=now, updated_at=now)
    course.org_unit = unit
    _apply_course(course, data)
    db.session.add(course)
    db.session.flush()
    audit.record(actor, "course.create", course, now=now, title=course.title, code=course.code)
    return course


def update_course(course: Course, data: CourseData, *, actor: Any, now: datetime) -> Course:
    _ensure_editable(actor, course)
    data = _clean_course(data, course)
    before = {"title": course.title, "code": course.code}
    if data.code:
        course.code = data.code
    _apply_course(course, data)
    course.updated_at = now
    db.session.flush()
    audit.record(actor, "course.update", course, now=now, before=before,
                 title=course.title, code=course.code)
    return course


def set_course_retired(course: Course, retired: bool, *, actor: Any, now: datetime) -> None:
    _ensure_editable(actor, course)
    if course.is_retired == retired:
        return
    course.is_retired, course.updated_at = retired, now
    db.session.flush()
    audit.record(actor, "course.retire" if retired else "course.restore", course, now=now)


# ---------------------------------------------------------------- lessons


def add_lesson(course: Course, data: LessonData, *, actor: Any, now: datetime) -> Lesson:
    _ensure_editable(actor, course)
    data = _clean_lesson(data)
    last = db.session.execute(
        select(func.max(Lesson.position)).where(Lesson.course_id == course.id)).scalar()
    lesson = Lesson(course_id=course.id, slug=f"web-{secrets.token_hex(6)}",
                    position=(last or 0) + 1, title=data.title, minutes=data.minutes,
                    body=data.body, content_hash=_hash(data.title, data.minutes, data.body),
                    updated_at=now)
    db.session.add(lesson)
    course.updated_at = now
    db.session.flush()
    audit.record(actor, "lesson.create", lesson, org_unit_id=course.org_unit_id, now=now,
                 course_id=course.id, title=lesson.title)
    return lesson


def update_lesson(lesson: Lesson, data: LessonData, *, actor: Any, now: datetime) -> Lesson:
    course = lesson.course
    _ensure_editable(actor, course)
    data = _clean_lesson(data)
    new_hash = _hash(data.title, data.minutes, data.body)
    if new_hash == lesson.content_hash:
        return lesson
    lesson.title, lesson.minutes, lesson.body = data.title, data.minutes, data.body
    lesson.content_hash, lesson.updated_at, course.updated_at = new_hash, now, now
    db.session.flush()
    audit.record(actor, "lesson.update", lesson, org_unit_id=course.org_unit_id, now=now,
                 course_id=course.id, title=lesson.title, sha256=new_hash)
    return lesson


def set_lesson_retired(lesson: Lesson, retired: bool, *, actor: Any, now: datetime) -> None:
    """Retire (hide from learners, keep progress history) or bring back a lesson."""
    course = lesson.course
    _ensure_editable(actor, course)
    if lesson.is_retired == retired:
        return
    lesson.is_retired, lesson.updated_at, course.updated_at = retired, now, now
    db.session.flush()
    audit.record(actor, "lesson.retire" if retired else "lesson.restore", lesson,
                 org_unit_id=course.org_unit_id, now=now, course_id=course.id)


def _ordered(course: Course) -> list[Lesson]:
    return sorted(course.lessons, key=lambda le: (le.position, le.id))


def reorder_lessons(course: Course, lesson_ids: Sequence[int], *, actor: Any,
                    now: datetime) -> None:
    """Put the course's lessons in the given order (every lesson named once); retired lessons
    not named keep their relative order after the named ones."""
    _ensure_editable(actor, course)
    lessons = _ordered(course)
    by_id = {le.id: le for le in lessons}
    active = {le.id for le in lessons if not le.is_retired}
    named = list(lesson_ids)
    if len(set(named)) != len(named) or not set(named) <= set(by_id) or not active <= set(named):
        raise ValidationFailed(_("课时顺序已在别处改动，请刷新页面后重新排序。"), "order")
    rest = [le.id for le in lessons if le.id not in set(named)]
    order = named + rest
    if order == [le.id for le in lessons]:
        return
    for position, lesson_id in enumerate(order, start=1):
        by_id[lesson_id].position = position
    course.updated_at = now
    db.session.flush()
    audit.record(actor, "lesson.reorder", course, now=now, order=order)


def move_lesson(lesson: Lesson, offset: int, *, actor: Any, now: datetime) -> None:
    """Move a lesson up (-1) or down (+1) among the course's lessons."""
    ids = [le.id for le in _ordered(lesson.course)]
    i = ids.index(lesson.id)
    j = i + offset
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    reorder_lessons(lesson.course, ids, actor=actor, now=now)


# ---------------------------------------------------------------- attachments


def add_attachment(course: Course, lesson: Lesson | None, stored: StoredUpload, *, actor: Any,
                   now: datetime) -> Attachment:
    _ensure_editable(actor, course)
    if lesson is not None and lesson.course_id != course.id:
        raise ValidationFailed(_("课时不属于这门课程。"), "file")
    att = Attachment(course_id=course.id, lesson_id=lesson.id if lesson else None,
                     kind=stored.kind, original_name=stored.display_name[:200],
                     stored_name=stored.stored_name, content_type=stored.content_type,
                     size_bytes=stored.size_bytes, sha256=stored.sha256,
                     uploaded_by_id=getattr(actor, "id", None), created_at=now)
    db.session.add(att)
    course.updated_at = now
    db.session.flush()
    audit.record(actor, "attachment.upload", att, org_unit_id=course.org_unit_id, now=now,
                 course_id=course.id, lesson_id=att.lesson_id, name=att.original_name,
                 kind=att.kind, size=att.size_bytes, sha256=att.sha256)
    return att


def set_poster(video: Attachment, stored: StoredUpload, *, actor: Any,
               now: datetime) -> list[str]:
    """Give a video a poster image (replacing an older one); returns stored names to remove."""
    course = video.course
    _ensure_editable(actor, course)
    if video.kind != "video":
        raise ValidationFailed(_("只有视频可以设置封面。"), "poster")
    if stored.kind != "image":
        raise ValidationFailed(_("封面必须是 PNG、JPEG 或 WebP 图片。"), "poster")
    old = video.poster
    poster = add_attachment(course, video.lesson, stored, actor=actor, now=now)
    video.poster_id = poster.id
    db.session.flush()
    audit.record(actor, "attachment.poster", video, org_unit_id=course.org_unit_id, now=now,
                 poster_id=poster.id)
    return delete_attachment(old, actor=actor, now=now) if old is not None else []


def delete_attachment(att: Attachment, *, actor: Any, now: datetime) -> list[str]:
    """Delete the row (a video's poster with it); returns the stored names to remove from disk
    once the deletion is committed."""
    course = att.course
    _ensure_editable(actor, course)
    names = [att.stored_name]
    for video in db.session.execute(
            select(Attachment).where(Attachment.poster_id == att.id)).scalars():
        video.poster_id = None
    poster = att.poster
    att.poster_id = None
    db.session.flush()
    audit.record(actor, "attachment.delete", att, org_unit_id=course.org_unit_id, now=now,
                 course_id=course.id, name=att.original_name, kind=att.kind,
                 sha256=att.sha256)
    db.session.delete(att)
    course.updated_at = now
    db.session.flush()
    if poster is not None:
        names += delete_attachment(poster, actor=actor, now=now)
    return names


def record_rejected_upload(course: Course, lesson: Lesson | None, filename: str | None,
                           reason: str, *, actor: Any, now: datetime) -> None:
    """A refused upload is a security event (ASVS 16.3.3): who tried which file, and why."""
    name = "".join(c for c in (filename or "") if c.isprintable())[:200]
    audit.record(actor, "attachment.reject", course, now=now,
                 lesson_id=lesson.id if lesson else None, name=name, reason=reason)
