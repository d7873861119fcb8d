"""Factories for the program, enrolment and session tests (each adds and flushes)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from lms.courses.models import Course
from lms.extensions import db
from lms.org.models import OrgUnit, Person, PostType
from lms.training.models import Completion, Enrollment, Program, TrainingSession
from tests.factories import make_person

#: A fixed clock: 2026-03-20 10:00 in Shandong.
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def program_data(**changes: object) -> dict:
    data = {"title": "2026年乡镇民政工作人员轮训班", "kind": "rotation",
            "audience_post_type": PostType.TOWNSHIP_STAFF.value, "mode": "blended",
            "description": "", "starts_on": date(2026, 3, 1), "ends_on": date(2026, 4, 30),
            "capacity": None, "credit_hours": Decimal("24"), "requires_exam": False,
            "attendance_threshold_pct": 80}
    data.update(changes)
    return data


def make_program(unit: OrgUnit, *, audience: str = PostType.TOWNSHIP_STAFF.value,
                 capacity: int | None = None, status: str = "open", mode: str = "blended",
                 title: str = "轮训班", starts_on: date | None = date(2026, 3, 1),
                 ends_on: date | None = date(2026, 4, 30)) -> Program:
    program = Program(org_unit_id=unit.id, title=title, kind="rotation", mode=mode,
                      audience_post_type=audience, capacity=capacity, status=status,
                      starts_on=starts_on, ends_on=ends_on, credit_hours=Decimal("24"))
    db.session.add(program)
    db.session.flush()
    return program


def make_session(program: Program, starts_at: datetime = NOW, *, hours: str = "3",
                 length: timedelta = timedelta(hours=3), title: str = "第一讲") -> TrainingSession:
    session = TrainingSession(program_id=program.id, org_unit_id=program.org_unit_id,
                              title=title, location="三楼会议室", starts_at=starts_at,
                              ends_at=starts_at + length, credit_hours=Decimal(hours))
    db.session.add(session)
    db.session.flush()
    return session


def staff(unit: OrgUnit, name: str, *, post_type: str = PostType.TOWNSHIP_STAFF.value,
          status: str = "in_post", acting: bool = False) -> Person:
    person = make_person(unit, name, post_type=post_type, status=status)
    if acting:
        person.posts[0].is_acting = True
        db.session.flush()
    return person


def complete(person: Person, organiser: OrgUnit, on: date, *,
             post_type: str = PostType.TOWNSHIP_STAFF.value) -> Completion:
    """A past completion of a tier-appropriate program (rotation status counts from it)."""
    past = make_program(organiser, audience=post_type, status="closed", title="往期轮训班",
                        starts_on=None, ends_on=None)
    token = secrets.token_hex(6)
    done = Completion(person_id=person.id, program_id=past.id, org_unit_id=person.org_unit_id,
                      tier="county", kind="rotation", post_type=post_type, completed_on=on,
                      credit_hours=Decimal("24"), serial_no=f"T-{token}", verify_code=token)
    db.session.add(done)
    db.session.flush()
    return done


def enrol(program: Program, person: Person, status: str = "enrolled",
          position: int | None = None) -> Enrollment:
    e = Enrollment(program_id=program.id, person_id=person.id, org_unit_id=person.org_unit_id,
                   status=status, waitlist_position=position)
    db.session.add(e)
    db.session.flush()
    return e


def library_course(title: str = "社会救助政策", *, unit: OrgUnit | None = None,
                   retired: bool = False) -> Course:
    token = secrets.token_hex(4)
    course = Course(slug=f"p-{token}", code=f"P-{token}", title=title,
                    source="browser" if unit else "file", org_unit_id=unit.id if unit else None,
                    is_retired=retired)
    db.session.add(course)
    db.session.flush()
    return course


def statuses(program: Program) -> dict[str, str]:
    """Person name → enrolment status (waitlisted as ``waitlisted#n``)."""
    from sqlalchemy import select

    rows = db.session.execute(select(Enrollment).where(Enrollment.program_id == program.id)
                              .order_by(Enrollment.id)).scalars()
    return {e.person.name: e.status + (f"#{e.waitlist_position}" if e.waitlist_position else "")
            for e in rows}
