"""Org tree, people, qualifications and posts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self]


LEVEL_RANK = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2, Level.TOWNSHIP: 3, Level.VILLAGE: 4}
#: NBS division code length per level.
CODE_LENGTH = {Level.PROVINCE: 2, Level.CITY: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}


class UnitKind(StrEnum):
    TOWN = "town"
    RURAL_TOWNSHIP = "rural_township"
    SUBDISTRICT = "subdistrict"
    VILLAGE = "village"
    COMMUNITY = "community"


class PostType(StrEnum):
    OFFICE_DIRECTOR = "office_director"
    TOWNSHIP_STAFF = "township_staff"
    VILLAGE_ASSISTANT = "village_assistant"


#: Where each post type sits (a director or staff post is at a township, an assistant at a village).
POST_LEVEL = {
    PostType.OFFICE_DIRECTOR: Level.TOWNSHIP,
    PostType.TOWNSHIP_STAFF: Level.TOWNSHIP,
    PostType.VILLAGE_ASSISTANT: Level.VILLAGE,
}


class PostStatus(StrEnum):
    NOMINATED = "nominated"
    PENDING_ONBOARDING = "pending_onboarding"
    ONBOARDED = "onboarded"
    IN_POST = "in_post"
    SUSPENDED = "suspended"
    REMOVED = "removed"


class QualificationLevel(StrEnum):
    JUNIOR = "sw_junior"
    INTERMEDIATE = "sw_intermediate"
    SENIOR = "sw_senior"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class OrgUnit(db.Model):
    __tablename__ = "org_unit"
    __table_args__ = (
        CheckConstraint("level IN ('province','city','county','township','village')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NBS statistical division code (2/4/6/9/12 digits), kept as a string.
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str | None] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Materialized id path with trailing slash ("/1/7/42/"); only org.services writes it.
    path: Mapped[str] = mapped_column(String(255), unique=True)
    resident_population: Mapped[int | None]
    registered_population: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="joined", innerjoin=False)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    @property
    def level_enum(self) -> Level:
        return Level(self.level)

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/")]

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


class Person(db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None]
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    education: Mapped[str | None] = mapped_column(String(30))
    #: HMAC of the normalised ID-card number, for matching; never the number itself.
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Masked display form, e.g. 371302********123X.
    id_masked: Mapped[str | None] = mapped_column(String(18))
    #: Encrypted ID-card number (Fernet); decrypted only by an audited reveal.
    id_encrypted: Mapped[str | None] = mapped_column(Text)
    #: The unit whose people list shows this person: the unit of the latest post.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    qualifications: Mapped[list[Qualification]] = relationship(
        back_populates="person", order_by="Qualification.obtained_on", cascade="all, delete-orphan"
    )
    posts: Mapped[list[Post]] = relationship(back_populates="person", order_by="Post.id")

    @property
    def best_qualification(self) -> str | None:
        order = list(QualificationLevel)
        levels = [q.level for q in self.qualifications]
        return max(levels, key=lambda lv: order.index(QualificationLevel(lv))) if levels else None


class Qualification(db.Model):
    __tablename__ = "qualification"
    __table_args__ = (
        CheckConstraint("level IN ('sw_junior','sw_intermediate','sw_senior')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    certificate_no: Mapped[str | None] = mapped_column(String(50))
    obtained_on: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="qualifications")


class Post(db.Model):
    __tablename__ = "post"
    __table_args__ = (
        CheckConstraint(
            "post_type IN ('office_director','township_staff','village_assistant')", name="post_type"
        ),
        CheckConstraint(
            "status IN ('nominated','pending_onboarding','onboarded','in_post','suspended','removed')",
            name="status",
        ),
        Index("ix_post_unit_status", "org_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: Unit of the post at the time (a transfer ends this post and opens another).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    post_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.NOMINATED.value)
    #: In post through the go-live import of staff already serving (no recorded onboarding).
    is_legacy: Mapped[bool] = mapped_column(default=False)
    #: Acting holder while the real holder is onboarded; never paid.
    is_acting: Mapped[bool] = mapped_column(default=False)
    started_on: Mapped[date | None]
    #: First day in post (set when the post first reaches in_post; pay counts from it).
    in_post_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="posts")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status != PostStatus.REMOVED
