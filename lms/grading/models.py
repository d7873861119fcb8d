"""The evaluation of village assistants (issue 6; docs/grading.md): the policy of one year for one
city, the county's annual round with one score sheet per assistant, appeals, quarterly grades and
the stipend ledger, and maker-checker change requests.

The policy:

``data`` holds every field of ``lms.grading.policy.Policy`` except the year (which is the row's):
Decimals as strings, money as integer fen, maps keyed by component, level (as text) and grade.
``lms.grading.policy_store`` converts both ways and is the only writer.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person


class PolicyStatus:
    DRAFT = "draft"          # being prepared; not used by any computation
    EFFECTIVE = "effective"  # in force from ``effective_from``; still editable (audited)
    LOCKED = "locked"        # the year was confirmed; nothing may change it

    ALL = (DRAFT, EFFECTIVE, LOCKED)


class EvaluationPolicy(db.Model):
    """评价政策: score sheet, grade thresholds, level ladder and stipend rules of one year."""

    __tablename__ = "evaluation_policy"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "year", name="uq_evaluation_policy_unit_year"),
        CheckConstraint("status IN ('draft','effective','locked')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The city unit the policy applies to (and every unit below it).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    effective_from: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default=PolicyStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @property
    def is_locked(self) -> bool:
        return self.status == PolicyStatus.LOCKED


# ---------------------------------------------------------------- the annual cycle


class RoundStatus:
    OPEN = "open"            # scores being entered (totals and grades recomputed on every entry)
    PUBLISHED = "published"  # 公示: the assistants see their result and may appeal until the end
    CONFIRMED = "confirmed"  # 审定 by the county; changes only through maker-checker

    ALL = (OPEN, PUBLISHED, CONFIRMED)


class EvaluationRound(db.Model):
    """年度考评: one county's evaluation of its village assistants for one year."""

    __tablename__ = "evaluation_round"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "year", name="uq_evaluation_round_unit_year"),
        CheckConstraint("status IN ('open','published','confirmed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The county unit.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Last day of the publication (公示) window; appeals are accepted up to and including it.
    publish_until: Mapped[date | None]
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @classmethod
    def scope_clause(cls, scope: Any) -> Any:
        """The county's round is seen in the county and from every unit inside it (a township
        enters its scores there); another county's round stays out of scope (404)."""
        above = {p[:i + 1] for p in scope.paths for i, ch in enumerate(p) if ch == "/" and i}
        return cls.org_unit_id.in_(select(OrgUnit.id).where(
            or_(scope.where(OrgUnit.path), OrgUnit.path.in_(sorted(above)))))


class Evaluation(db.Model):
    """One assistant's score sheet of one year, with the computed total, grade and level.

    ``mac`` is an HMAC over the canonical fields (``lms.grading.integrity``); every writer goes
    through ``lms.grading.cycle`` which reseals the row, so a raw SQL edit is detected."""

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("round_id", "post_id", name="uq_evaluation_round_post"),
        Index("ix_evaluation_township_year", "township_id", "year"),
        Index("ix_evaluation_county_year", "county_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id"))
    year: Mapped[int]
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The village of the post at the time (decision 9: records keep their unit).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    county_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    #: Level held during the year (3 entry … 1 highest) and the history the level rule used.
    level: Mapped[int]
    prior_grades: Mapped[str] = mapped_column(String(200), default="")
    since_change: Mapped[int] = mapped_column(default=0)
    work: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    diligence: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    integrity: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    satisfaction: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    competence: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    #: Inputs of the competence score: credit hours in the year, best exam percentage.
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("0"))
    exam_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    veto: Mapped[bool] = mapped_column(default=False)
    veto_reason: Mapped[str] = mapped_column(String(500), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    grade: Mapped[str | None] = mapped_column(String(20))
    new_level: Mapped[int | None]
    replace: Mapped[bool] = mapped_column(default=False)
    #: The replacement case opened from the flag at confirmation.
    replacement_case_id: Mapped[int | None] = mapped_column(ForeignKey("replacement_case.id"))
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    mac: Mapped[str] = mapped_column(String(64), default="")

    round: Mapped[EvaluationRound] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(lazy="joined")
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")

    @property
    def complete(self) -> bool:
        return None not in (self.work, self.diligence, self.integrity, self.satisfaction,
                            self.competence)

    @classmethod
    def owner_clause(cls, user: Any) -> Any:
        """The assistant sees their own sheet once it is published."""
        return (cls.person_id == user.person_id) & cls.round_id.in_(
            select(EvaluationRound.id).where(EvaluationRound.status != RoundStatus.OPEN))


class AppealStatus:
    OPEN = "open"
    ANSWERED = "answered"


class Appeal(db.Model):
    """申诉: an assistant's objection to a published result, answered by the county."""

    __tablename__ = "evaluation_appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The village of the evaluation (scope).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=AppealStatus.OPEN)
    reply: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    evaluation: Mapped[Evaluation] = relationship(lazy="joined")


# ---------------------------------------------------------------- quarterly pay


class QuarterGrade(db.Model):
    """季度考核: the township's quarterly grade of an assistant (drives the top-up)."""

    __tablename__ = "quarter_grade"
    __table_args__ = (UniqueConstraint("post_id", "year", "quarter", name="uq_quarter_grade"),
                      Index("ix_quarter_grade_township", "township_id", "year", "quarter"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    year: Mapped[int]
    quarter: Mapped[int]
    grade: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class PayStatus:
    COMPUTED = "computed"    # may be recomputed (idempotent) as grades are corrected
    CONFIRMED = "confirmed"  # handed to finance; lines change only through maker-checker


class StipendQuarter(db.Model):
    """One county's stipend computation for one quarter (the payroll run)."""

    __tablename__ = "stipend_quarter"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "year", "quarter", name="uq_stipend_quarter"),
        CheckConstraint("status IN ('computed','confirmed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int]
    quarter: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default=PayStatus.COMPUTED)
    lines: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class StipendLine(db.Model):
    """One assistant's stipend for one quarter, in fen, sealed with a MAC."""

    __tablename__ = "stipend_line"
    __table_args__ = (UniqueConstraint("post_id", "year", "quarter", name="uq_stipend_line"),
                      Index("ix_stipend_line_county", "county_id", "year", "quarter"),
                      Index("ix_stipend_line_township", "township_id", "year", "quarter"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stipend_quarter.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    county_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    year: Mapped[int]
    quarter: Mapped[int]
    level: Mapped[int]
    months: Mapped[int]
    grade: Mapped[str | None] = mapped_column(String(20))
    amount_fen: Mapped[int]
    mac: Mapped[str] = mapped_column(String(64), default="")


# ---------------------------------------------------------------- maker-checker


class ChangeStatus:
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class ChangeRequest(db.Model):
    """A change to a confirmed grade or stipend: proposed with a reason, decided by another person
    of the county (security R20)."""

    __tablename__ = "grading_change"
    __table_args__ = (
        CheckConstraint("kind IN ('evaluation','quarter')", name="kind"),
        CheckConstraint("status IN ('proposed','approved','rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id"), index=True)
    stipend_line_id: Mapped[int | None] = mapped_column(ForeignKey("stipend_line.id"), index=True)
    #: The village of the row (scope); the county decides.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ChangeStatus.PROPOSED)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship(lazy="joined")
