"""Question banks, versioned questions, exams (settings, paper, overrides), attempts with their
answered items, and score queries.

Shapes of the JSON columns (the same as ``lms.exams.formats.model``):

- ``QuestionVersion.options``: list of option texts (choice types), else ``[]``;
- ``QuestionVersion.answer``: choice → sorted list of 0-based option indexes; true/false → bool;
  fill in → list (per blank) of lists of accepted answers; short answer → null (the reference
  answer is ``reference_answer``);
- ``AttemptItem.option_order``: the original option indexes in the order the candidate sees them
  (null when the type has no options); the candidate answers with *shown* positions;
- ``AttemptItem.response``: what the candidate answered, in shown positions — choice → list of
  shown indexes; true/false → bool; fill in → list of strings (one per blank); short → string.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, joinedload, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person

QUESTION_TYPES_SQL = ("'single_choice','multiple_choice','true_false','fill_blank',"
                      "'short_answer'")


class QuestionBank(db.Model):
    """A unit's question bank (题库); usable by exams of that unit and every unit below it."""

    __tablename__ = "question_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short unique code, used by ``flask exams import --bank CODE``.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class Question(db.Model):
    """A question's stable identity; what it says lives in its versions."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id"), index=True)
    #: The bank's unit, copied: the scope key for access checks.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: The version new attempts get. Deliberately no foreign key: question and question_version
    #: would reference each other, which SQLite cannot drop or alter; services keep it valid.
    current_version_id: Mapped[int | None]
    #: SHA-256 of the current version's normalised stem and options (duplicate detection).
    dup_key: Mapped[str] = mapped_column(String(64), index=True, default="")
    #: Retired questions stay for old attempts and statistics but are never drawn again.
    is_retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bank: Mapped[QuestionBank] = relationship()
    current: Mapped[QuestionVersion | None] = relationship(
        primaryjoin="Question.current_version_id == foreign(QuestionVersion.id)",
        viewonly=True, uselist=False)


class QuestionVersion(db.Model):
    """One immutable-once-used text of a question (editing a used question adds a version)."""

    __tablename__ = "question_version"
    __table_args__ = (
        UniqueConstraint("question_id", "version", name="question_version_no"),
        CheckConstraint(f"type IN ({QUESTION_TYPES_SQL})", name="type"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
        Index("ix_question_version_draw", "type", "difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    type: Mapped[str] = mapped_column(String(20))
    #: Markdown, rendered through the nh3 sanitiser.
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[Any] = mapped_column(JSON, nullable=True)
    reference_answer: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    difficulty: Mapped[int | None]
    knowledge_point: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    #: Comma-separated post types ("" = every post).
    post_types: Mapped[str] = mapped_column(String(100), default="")
    #: Comma-separated tags.
    tags: Mapped[str] = mapped_column(String(500), default="")
    #: Source / policy basis (政策依据).
    source: Mapped[str] = mapped_column(String(500), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship(foreign_keys=[question_id])


class Exam(db.Model):
    """An exam (考试): settings, audience and paper. Owned by the organising unit."""

    __tablename__ = "exam"
    __table_args__ = (
        CheckConstraint("status IN ('draft','published','archived')", name="status"),
        CheckConstraint("paper_mode IN ('fixed','blueprint')", name="paper_mode"),
        CheckConstraint("grading_method IN ('highest','first','last','average')",
                        name="grading_method"),
        CheckConstraint("multiple_choice_rule IN ('all_or_nothing','partial_half')",
                        name="multiple_choice_rule"),
        CheckConstraint("show_score IN ('immediately','after_close','never')",
                        name="show_score"),
        CheckConstraint("show_answers IN ('immediately','after_close','never')",
                        name="show_answers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Instructions shown before the start (Markdown, sanitised).
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: Audience: a program's enrolled people (closing exam), else everyone in ``audience_unit``'s
    #: subtree (the exam's unit when unset), narrowed to ``audience_post_types`` when given.
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    audience_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    audience_post_types: Mapped[str] = mapped_column(String(100), default="")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: None = no time limit (the window's close still ends the attempt).
    time_limit_minutes: Mapped[int | None]
    #: Saves up to this long after the deadline are still accepted (network latency).
    grace_seconds: Mapped[int] = mapped_column(default=60)
    #: 0 = unlimited.
    attempts_allowed: Mapped[int] = mapped_column(default=1)
    grading_method: Mapped[str] = mapped_column(String(10), default="highest")
    pass_score: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("60"))
    multiple_choice_rule: Mapped[str] = mapped_column(String(20), default="all_or_nothing")
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    show_score: Mapped[str] = mapped_column(String(12), default="immediately")
    show_answers: Mapped[str] = mapped_column(String(12), default="after_close")
    #: Room passcode (考场口令) read out by the invigilator; None = none needed.
    passcode: Mapped[str | None] = mapped_column(String(20))
    #: Days after marking in which a candidate may raise a score query (成绩复核); 0 = none.
    query_window_days: Mapped[int] = mapped_column(default=7)
    paper_mode: Mapped[str] = mapped_column(String(10), default="fixed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", foreign_keys=[org_unit_id])
    audience_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[audience_unit_id])
    items: Mapped[list[PaperItem]] = relationship(
        back_populates="exam", order_by="PaperItem.position", cascade="all, delete-orphan")
    slots: Mapped[list[BlueprintSlot]] = relationship(
        back_populates="exam", order_by="BlueprintSlot.position", cascade="all, delete-orphan")
    overrides: Mapped[list[ExamOverride]] = relationship(
        back_populates="exam", cascade="all, delete-orphan")

    @property
    def post_type_list(self) -> list[str]:
        return [p for p in self.audience_post_types.split(",") if p]

    @classmethod
    def owner_clause(cls, user: Any) -> Any:
        """Candidates' routes (``lms.auth.access.owned``) load only exams the user may sit."""
        from lms.exams.audience import owner_clause

        return owner_clause(user)


class PaperItem(db.Model):
    """A question of a fixed paper; the candidate sees the question's current version at start."""

    __tablename__ = "paper_item"
    __table_args__ = (UniqueConstraint("exam_id", "question_id", name="paper_question_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: Points in this paper; None = the question's own points.
    points: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))

    exam: Mapped[Exam] = relationship(back_populates="items")
    question: Mapped[Question] = relationship()


class BlueprintSlot(db.Model):
    """Draw ``count`` questions of ``type`` from ``bank`` (narrowed by category or knowledge point
    and difficulty), each worth ``points``."""

    __tablename__ = "blueprint_slot"
    __table_args__ = (
        CheckConstraint(f"type IN ({QUESTION_TYPES_SQL})", name="type"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
        CheckConstraint("count >= 1", name="count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    #: "" = any.
    category: Mapped[str] = mapped_column(String(200), default="")
    knowledge_point: Mapped[str] = mapped_column(String(200), default="")
    difficulty: Mapped[int | None]
    count: Mapped[int] = mapped_column(default=1)
    points: Mapped[Decimal] = mapped_column(Numeric(5, 1))

    exam: Mapped[Exam] = relationship(back_populates="slots")
    bank: Mapped[QuestionBank] = relationship()


class ExamOverride(db.Model):
    """Extra time for one person, or for everyone in a unit's subtree (a group)."""

    __tablename__ = "exam_override"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (group_unit_id IS NULL)", name="one_target"),
        CheckConstraint("extra_minutes BETWEEN 1 AND 600", name="extra_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    group_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    extra_minutes: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    exam: Mapped[Exam] = relationship(back_populates="overrides")
    person: Mapped[Person | None] = relationship()
    group_unit: Mapped[OrgUnit | None] = relationship()


ATTEMPT_STATES = ("in_progress", "submitted", "auto_submitted", "abandoned")
FINISHED_STATES = frozenset({"submitted", "auto_submitted"})


class Attempt(db.Model):
    """One candidate's attempt at an exam. ``deadline`` is fixed by the server at start (R22)."""

    __tablename__ = "exam_attempt"
    __table_args__ = (
        CheckConstraint(
            "state IN ('in_progress','submitted','auto_submitted','abandoned')", name="state"),
        UniqueConstraint("exam_id", "person_id", "number", name="exam_person_number"),
        # One open attempt per person and exam: twenty concurrent starts give one attempt.
        Index("uq_exam_attempt_open", "exam_id", "person_id", unique=True,
              sqlite_where=text("state = 'in_progress'"),
              postgresql_where=text("state = 'in_progress'")),
        Index("ix_exam_attempt_sweep", "state", "deadline"),
        Index("ix_exam_attempt_person", "person_id", "exam_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    #: The exam's unit: the organisers' scope key.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: The candidate's unit when the attempt started (historical records keep it, decision 9).
    candidate_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    #: Seeds the draw and the shuffles: the same attempt always shows the same paper.
    seed: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Highest client sequence number accepted (the page continues from it after a reload).
    last_seq: Mapped[int] = mapped_column(default=0)
    last_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Issued at start; doubles as the submit idempotency key.
    submit_token: Mapped[str] = mapped_column(String(36))
    max_score: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("0"))
    #: Set once when submitted (and again only by an audited regrade or manual marking).
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    passed: Mapped[bool | None]
    #: True while short answers wait for a marker (score is then provisional).
    needs_marking: Mapped[bool] = mapped_column(default=False)
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    exam: Mapped[Exam] = relationship()
    person: Mapped[Person] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan")

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @classmethod
    def owned_load_options(cls) -> tuple[Any, ...]:
        """The candidate's routes (``lms.auth.access.get_owned``) read the attempt's exam on every
        request (deadline grace, settings): loaded in the same statement."""
        return (joinedload(cls.exam),)


class AttemptItem(db.Model):
    """A question as one candidate saw it, their answer and its mark."""

    __tablename__ = "attempt_item"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position", name="attempt_position"),
        UniqueConstraint("attempt_id", "question_id", name="attempt_question"),
        Index("ix_attempt_item_version", "question_version_id"),
        Index("ix_attempt_item_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id"))
    #: 1-based order on the candidate's paper.
    position: Mapped[int]
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    max_points: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    option_order: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: The client sequence number of the stored response; older saves never overwrite it.
    client_seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flagged: Mapped[bool] = mapped_column(default=False)
    #: None until marked (objective items at submit; short answers by a marker).
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    version: Mapped[QuestionVersion] = relationship(lazy="joined")
    #: The attempt's unit (an SQL expression): scoped loading of a single item.
    org_unit_id: Mapped[int] = column_property(
        select(Attempt.org_unit_id).where(Attempt.id == attempt_id)
        .correlate_except(Attempt).scalar_subquery())


class ScoreQuery(db.Model):
    """A candidate's request to re-check a marked attempt (成绩复核) and the organiser's answer."""

    __tablename__ = "score_query"
    __table_args__ = (
        CheckConstraint("status IN ('open','upheld','changed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id"), index=True)
    #: The attempt's (exam's) unit: the scope key for the organisers who answer.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The queried question's position on the paper; None = the whole attempt.
    item_position: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    reply: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[Attempt] = relationship()
