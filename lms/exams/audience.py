"""Who may sit an exam: the SQL filter behind the candidate's routes and "my exams" list.

A published exam is open to a person when
- it is a program's closing exam and the person is enrolled in that program, or
- it has no program and the person's unit lies in the audience unit's subtree (the exam's own unit
  when none is set) and, when the exam names post types, the person holds a current post of one.

Programs belong to the training domain, which comes after this one; training registers
``program_ids_for`` at start-up (``register_program_membership``) so this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select

from lms.exams.models import Exam
from lms.extensions import db
from lms.org.models import Person, Post, PostStatus

#: Post states in which a person counts as holding the post for an exam's audience (candidates
#: for onboarding sit their exam before they are posted).
CURRENT_POST_STATES = (PostStatus.NOMINATED.value, PostStatus.PENDING_ONBOARDING.value,
                       PostStatus.ONBOARDED.value, PostStatus.IN_POST.value)

ProgramMembership = Callable[[int], set[int]]
_program_ids_for: ProgramMembership = lambda person_id: set()  # noqa: E731


def register_program_membership(fn: ProgramMembership) -> None:
    """Install the function that returns the ids of the programs a person is enrolled in."""
    global _program_ids_for
    _program_ids_for = fn


def program_ids_for(person_id: int) -> set[int]:
    return _program_ids_for(person_id)


def audience_clause(person: Person | None) -> ColumnElement[bool]:
    """SQL: the exams *person* may sit (published only; the window is checked at start)."""
    if person is None:
        return false()
    programs = program_ids_for(person.id)
    ancestors = [int(i) for i in person.org_unit.path.strip("/").split("/") if i]
    unit_ok = func.coalesce(Exam.audience_unit_id, Exam.org_unit_id).in_(ancestors)
    post_types = db.session.execute(
        select(Post.post_type).where(Post.person_id == person.id,
                                     Post.status.in_(CURRENT_POST_STATES))).scalars().all()
    padded = literal(",") + Exam.audience_post_types + literal(",")
    type_ok = or_(Exam.audience_post_types == "",
                  *[padded.contains(f",{t},") for t in set(post_types)])
    by_program = Exam.program_id.in_(programs) if programs else false()
    return and_(Exam.status == "published",
                or_(by_program, and_(Exam.program_id.is_(None), unit_ok, type_ok)))


def may_sit(person: Person | None, exam: Exam) -> bool:
    if person is None:
        return False
    return db.session.execute(
        select(Exam.id).where(Exam.id == exam.id, audience_clause(person))).first() is not None


def owner_clause(user: Any) -> ColumnElement[bool]:
    """For ``lms.auth.access.owned``: the exams the logged-in user may sit."""
    return audience_clause(user.person if user is not None else None)
