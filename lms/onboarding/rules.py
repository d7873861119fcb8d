"""Pure onboarding rules: which tier trains which post, working-day deadlines, the retake rule.

Working days skip Saturdays and Sundays. Public holidays and their make-up working days
change every year by State Council notice; ``LMS_HOLIDAYS`` is not modelled yet, so a deadline
that spans a holiday is a few days early (the safe side for a reminder). See docs/onboarding.md.
"""

from __future__ import annotations

from datetime import date, timedelta

from lms.org.models import Level, PostType

#: Who runs each post type's onboarding (spec decision 2): city → directors, county → township
#: staff, township → village assistants.
TIER_LEVEL: dict[str, Level] = {
    PostType.OFFICE_DIRECTOR.value: Level.CITY,
    PostType.TOWNSHIP_STAFF.value: Level.COUNTY,
    PostType.VILLAGE_ASSISTANT.value: Level.TOWNSHIP,
}

CONSULTATION_DAYS = 10
FILING_DAYS = 15
STATEMENT_DAYS = 5


def add_working_days(start: date, days: int) -> date:
    """The date *days* working days after *start* (Monday to Friday)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def is_overdue(due_on: date, today: date) -> bool:
    return today > due_on
