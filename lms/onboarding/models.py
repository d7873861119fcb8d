"""Onboarding records, director consultations, assistant filings and replacement cases.

Every row keeps the unit it was made in (decision 9): ``org_unit_id`` is the post's unit (the
township for a director, the village for an assistant) and ``county_unit_id`` the county bureau
that answers. Status changes are audited by the services; the rows hold the current state.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post


class OnboardingRecord(db.Model):
    """The onboarding of one post: the program assigned when the post entered
    ``pending_onboarding`` and how the gate was passed (a completion of that program, or a
    recorded equivalent: an earlier completion still valid, e.g. after a transfer)."""

    __tablename__ = "onboarding_record"
    __table_args__ = (
        CheckConstraint("how IN ('completion','equivalent')", name="how"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the gate is passed.
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completion.id"))
    how: Mapped[str | None] = mapped_column(String(12))
    onboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()


class Consultation(db.Model):
    """征求意见: the township asks the county bureau about its office-director candidate."""

    __tablename__ = "director_consultation"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted','info_requested','concurred','objected','withdrawn')",
            name="status"),
        Index("ix_director_consultation_county_status", "county_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The township appointing.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    county_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The county's last reply (reasons for an objection, what more is needed, remarks).
    reply: Mapped[str] = mapped_column(Text, default="")
    #: The township's answer to a request for more information.
    supplement: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date]
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    post: Mapped[Post] = relationship()
    person: Mapped[Person] = relationship()
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")
    county_unit: Mapped[OrgUnit] = relationship(foreign_keys=[county_unit_id])


class Filing(db.Model):
    """备案: a village assistant set in post is registered with the county (not an approval)."""

    __tablename__ = "assistant_filing"
    __table_args__ = (
        CheckConstraint("status IN ('submitted','acknowledged','returned')", name="status"),
        Index("ix_assistant_filing_county_status", "county_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The village of the post.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    county_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(14), default="submitted")
    #: What was filed (name, masked ID number, village code, education, phone, certificate
    #: number, appointment date), frozen at filing time.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[Post] = relationship()
    person: Mapped[Person] = relationship()
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")


class ReplacementCase(db.Model):
    """撤换: a case against a village assistant who cannot do the job."""

    __tablename__ = "replacement_case"
    __table_args__ = (
        CheckConstraint("status IN ('open','dismissed','kept','withdrawn')", name="status"),
        CheckConstraint(
            "trigger IN ('annual_incompetent','basic_twice','veto','exam_failures','absence',"
            "'manual')", name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The village of the post.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: The township that decides.
    township_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The person's own statement (申辩), due within 5 working days of opening.
    statement: Mapped[str] = mapped_column(Text, default="")
    statement_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    statement_due_on: Mapped[date]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: A named township staff member covering the village meanwhile (optional).
    cover_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    post: Mapped[Post] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")
