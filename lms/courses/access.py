"""Who may see a course and its files (the file route's check; out of reach → 404).

Staff who manage courses see every course of their subtree, retired ones too. Any other
logged-in user sees a course that is in use (not retired) and either belongs to the shared
library (file courses, no unit) or is owned by their unit or a unit above it: the person's unit,
or the account's home unit for staff without a person record.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.auth.access import MAX_ID, scope_for
from lms.auth.models import User
from lms.auth.perms import Perm
from lms.courses.models import Attachment, Course
from lms.extensions import db
from lms.org.models import OrgUnit


def manages(user: User | None, course: Course) -> bool:
    """The user may edit *course* (a browser course inside their course-management scope)."""
    return course.org_unit is not None and scope_for(user, Perm.COURSE_MANAGE).covers(
        course.org_unit)


def home_units(user: User) -> list[OrgUnit]:
    units = []
    if user.person is not None and user.person.org_unit is not None:
        units.append(user.person.org_unit)
    if user.org_unit is not None:
        units.append(user.org_unit)
    return units


def can_view_course(user: User | None, course: Course) -> bool:
    if user is None or not user.is_active:
        return False
    if manages(user, course):
        return True
    if course.is_retired:
        return False
    if course.org_unit is None:
        return course.source == "file"
    return any(u.path.startswith(course.org_unit.path) for u in home_units(user))


def attachment_for(user: User | None, attachment_id: int) -> Attachment | None:
    """The attachment if *user* may open it, else None (the caller answers 404 either way)."""
    if not 0 < attachment_id <= MAX_ID:
        return None
    att = db.session.execute(
        select(Attachment).where(Attachment.id == attachment_id)
        .options(joinedload(Attachment.course), joinedload(Attachment.lesson))).scalar()
    if att is None or not can_view_course(user, att.course):
        return None
    if att.lesson is not None and att.lesson.is_retired and not manages(user, att.course):
        return None
    return att
