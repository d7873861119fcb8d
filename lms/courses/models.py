"""Courses, lessons, attachments and per-person lesson progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (CheckConstraint("source IN ('file','browser')", name="source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key: the folder name under courses/ for file courses; generated for browser ones.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: Comma-separated PostType values the course is meant for ("" = everyone).
    post_types: Mapped[str] = mapped_column(String(100), default="")
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("0"))
    #: "file": synced from the courses/ folder (read-only in the browser); "browser": authored.
    source: Mapped[str] = mapped_column(String(10), default="browser")
    #: Owning unit of a browser-authored course (shared down its subtree); None for the shared
    #: library of file courses, which every unit may use.
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: SHA-256 of course.yml (file courses) or of the editable fields (browser courses).
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    is_retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit | None] = relationship(lazy="joined")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan")

    @property
    def post_type_list(self) -> list[str]:
        return [p for p in self.post_types.split(",") if p]


class Lesson(db.Model):
    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "slug", name="course_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    #: File name without extension for file lessons ("01-dibao"); generated for browser ones.
    slug: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    #: Expected reading/watching time; credit hours accrue from completed lessons' minutes.
    minutes: Mapped[int] = mapped_column(default=0)
    #: Markdown source (untrusted even for files: always rendered through nh3).
    body: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    #: Removed from disk or by the author: hidden from learners, progress history kept.
    is_retired: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The course's unit (an SQL expression, not a column): ``scoped_select`` and the audit log
    #: place a lesson where its course is.
    org_unit_id: Mapped[int | None] = column_property(
        select(Course.org_unit_id).where(Course.id == course_id)
        .correlate_except(Course).scalar_subquery())

    course: Mapped[Course] = relationship(back_populates="lessons")


class Attachment(db.Model):
    """An uploaded file, stored under a random name outside any static folder."""

    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint("kind IN ('pdf','image','video')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lesson.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: The uploader's file name, for display only (escaped; never used as a path).
    original_name: Mapped[str] = mapped_column(String(200))
    #: Random file name under UPLOAD_DIR/attachments/.
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    #: Poster image shown before a video plays.
    poster_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The course's unit (an SQL expression, not a column), as for ``Lesson.org_unit_id``.
    org_unit_id: Mapped[int | None] = column_property(
        select(Course.org_unit_id).where(Course.id == course_id)
        .correlate_except(Course).scalar_subquery())

    course: Mapped[Course] = relationship()
    lesson: Mapped[Lesson | None] = relationship()
    poster: Mapped[Attachment | None] = relationship(remote_side=[id])


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("person_id", "lesson_id", name="person_lesson"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    #: The person's unit when the record was made (historical records keep their unit).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Verified time on the lesson (page visible / video playing), for online credit.
    seconds_spent: Mapped[int] = mapped_column(default=0)
    #: Video resume position in seconds.
    position_s: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lesson: Mapped[Lesson] = relationship()
