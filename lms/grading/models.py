"""The evaluation policy of one year for one city (issue 6 point 1; docs/grading.md).

``data`` holds every field of ``lms.grading.policy.Policy`` except the year (which is the row's):
Decimals as strings, money as integer fen, maps keyed by component, level (as text) and grade.
``lms.grading.policy_store`` converts both ways and is the only writer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit


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
