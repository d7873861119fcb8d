"""Training programs (培训班), their courses, enrolments, in-person sessions and attendance,
completions (with certificates) and external training records."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.courses.models import Course
from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person


class Program(db.Model):
    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint("kind IN ('onboarding','rotation','in_service','qualification_prep')",
                        name="kind"),
        CheckConstraint("mode IN ('online','in_person','blended')", name="mode"),
        CheckConstraint("status IN ('draft','open','closed')", name="status"),
        CheckConstraint(
            "audience_post_type IN ('office_director','township_staff','village_assistant')",
            name="audience_post_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The organising unit; the tier rule ties its level to the audience post type.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    audience_post_type: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10), default="online")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    #: Enrolments beyond this go to the waiting list; None = no limit.
    capacity: Mapped[int | None]
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("0"))
    #: Completion needs the closing exam passed (the exam itself arrives with the exams domain).
    requires_exam: Mapped[bool] = mapped_column(default=False)
    #: Minimum share of in-person sessions attended, in percent.
    attendance_threshold_pct: Mapped[int] = mapped_column(default=80)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    courses: Mapped[list[ProgramCourse]] = relationship(
        back_populates="program", order_by="ProgramCourse.position", cascade="all, delete-orphan")
    sessions: Mapped[list[TrainingSession]] = relationship(
        back_populates="program", order_by="TrainingSession.starts_at",
        cascade="all, delete-orphan")


class ProgramCourse(db.Model):
    __tablename__ = "program_course"
    __table_args__ = (UniqueConstraint("program_id", "course_id", name="program_course_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    program: Mapped[Program] = relationship(back_populates="courses")
    course: Mapped[Course] = relationship(lazy="joined")


class Enrollment(db.Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("program_id", "person_id", name="program_person"),
        CheckConstraint("status IN ('enrolled','waitlisted','removed','completed')", name="status"),
        Index("ix_enrollment_person_status", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    #: The person's unit when enrolled (historical records keep their unit, decision 9).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="enrolled")
    #: Waiting-list order (lower first); None when not waitlisted.
    waitlist_position: Mapped[int | None]
    due_on: Mapped[date | None]
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when the person must repeat the course (the last retake failed): lessons, attendance
    #: and exam attempts before this moment no longer count.
    restarted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[Program] = relationship()
    person: Mapped[Person] = relationship()


class TrainingSession(db.Model):
    """An in-person session of a program (class, lecture, field visit)."""

    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    #: Same as the program's unit: the scope key for access checks.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("0"))
    #: Short code trainees type on their phone during the session; valid until signin_until.
    signin_code: Mapped[str | None] = mapped_column(String(12))
    signin_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[Program] = relationship(back_populates="sessions")


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id", name="session_person"),
        CheckConstraint("status IN ('present','late','absent')", name="status"),
        CheckConstraint("method IN ('roll','code','sheet')", name="method"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    #: How it was recorded: roll call by the trainer, sign-in code on a phone, paper sheet.
    method: Mapped[str] = mapped_column(String(10), default="roll")
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    session: Mapped[TrainingSession] = relationship()


class Completion(db.Model):
    """A completed program or onboarding (the training record's rows; certificates hang off it)."""

    __tablename__ = "completion"
    __table_args__ = (
        UniqueConstraint("person_id", "program_id", name="person_program"),
        CheckConstraint("tier IN ('city','county','township')", name="tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    #: The person's unit at completion (decision 9).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: The organiser's tier and the program kind, copied so the record stands on its own.
    tier: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    post_type: Mapped[str] = mapped_column(String(20))
    completed_on: Mapped[date]
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    #: Closing-exam score in points (one decimal), when the program has an exam.
    exam_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    #: Certificate serial number, e.g. 3713-2026-000123.
    serial_no: Mapped[str] = mapped_column(String(30), unique=True)
    #: Random code printed on the certificate for the public verification page.
    verify_code: Mapped[str] = mapped_column(String(16), unique=True)
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship(lazy="joined")
    person: Mapped[Person] = relationship()


class ExternalTraining(db.Model):
    """Hours earned elsewhere (a national or provincial platform, a qualification course); they
    count once the person's unit approves them."""

    __tablename__ = "external_training"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    completed_on: Mapped[date]
    #: Evidence file (certificate scan) under UPLOAD_DIR, random name; None when on paper.
    evidence_name: Mapped[str | None] = mapped_column(String(80))
    evidence_original: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()
