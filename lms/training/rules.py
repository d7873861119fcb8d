"""Pure training rules: who may train whom (spec decision 2) and rotation status (decision 5)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from lms.i18n import _
from lms.labels import label, level_label
from lms.org.models import Level, PostType

#: The tier each organiser level trains (city → directors, county → staff, township → assistants).
TIER: dict[Level, PostType] = {
    Level.CITY: PostType.OFFICE_DIRECTOR,
    Level.COUNTY: PostType.TOWNSHIP_STAFF,
    Level.TOWNSHIP: PostType.VILLAGE_ASSISTANT,
}
ORGANISER_OF = {post: level for level, post in TIER.items()}


def tier_refusal(organiser_level: Level | str, audience: PostType | str) -> str | None:
    """Why a unit of *organiser_level* may not train *audience*, or None when it may.

    The audience must also lie inside the organiser's subtree; enrolment enforces that.
    """
    level, post = Level(organiser_level), PostType(audience)
    if TIER.get(level) == post:
        return None
    if level not in TIER:
        return _("%(level)s不组织分级培训：市级培训乡镇民政办主任，县级培训乡镇民政工作人员，"
                 "乡镇培训村(社区)民政助理员。", level=level_label(level))
    return _("%(level)s只能培训%(own)s；%(post)s应由%(right)s组织培训。",
             level=level_label(level), own=label(TIER[level]), post=label(post),
             right=level_label(ORGANISER_OF[post]))


class Rotation(StrEnum):
    NEVER_TRAINED = "never_trained"
    CURRENT = "current"
    DUE = "due"
    OVERDUE = "overdue"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year + years, day=28)


def rotation_status(last_completed: date | None, today: date, cycle_years: int = 3) -> Rotation:
    """Decision 5: due in the last year of the cycle, overdue after it, never trained without any
    tier-appropriate completion (an onboarding completion counts as the first)."""
    if not 2 <= cycle_years <= 3:
        raise ValueError("the rotation cycle is 2 or 3 years")
    if last_completed is None:
        return Rotation.NEVER_TRAINED
    if today >= _add_years(last_completed, cycle_years):
        return Rotation.OVERDUE
    if today >= _add_years(last_completed, cycle_years - 1):
        return Rotation.DUE
    return Rotation.CURRENT


def rotation_due_on(last_completed: date, cycle_years: int = 3) -> date:
    """The day a person must have completed the next rotation by."""
    return _add_years(last_completed, cycle_years)
