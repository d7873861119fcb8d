"""Factories for the onboarding tests (each adds and flushes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.training.models import Program
from tests.factories import make_person

TIER = {PostType.OFFICE_DIRECTOR.value: "city", PostType.TOWNSHIP_STAFF.value: "county",
        PostType.VILLAGE_ASSISTANT.value: "township"}


def onboarding_program(unit: OrgUnit, post_type: str, *, requires_exam: bool = False,
                       title: str | None = None, status: str = "open") -> Program:
    """An open onboarding program of *unit* (the tier's unit) for *post_type*; without courses,
    sessions or exam it is completed as soon as someone issues the completion."""
    program = Program(org_unit_id=unit.id, title=title or f"{unit.name}岗前培训班",
                      kind="onboarding", mode="online", audience_post_type=post_type,
                      status=status, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                      credit_hours=Decimal("16"), requires_exam=requires_exam)
    db.session.add(program)
    db.session.flush()
    return program


def nominee(unit: OrgUnit, name: str, post_type: str) -> tuple[Person, Post]:
    """A person with one nominated post of *post_type* at *unit*."""
    person = make_person(unit, name, post_type=post_type, status=PostStatus.NOMINATED.value)
    return person, person.posts[0]
