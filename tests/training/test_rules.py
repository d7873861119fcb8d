"""The tier rule for every (organiser level × audience post type) pair, and rotation status."""

from __future__ import annotations

from datetime import date

import pytest

from lms.org.models import Level, PostType
from lms.training.rules import Rotation, rotation_due_on, rotation_status, tier_refusal

ALLOWED = {
    (Level.CITY, PostType.OFFICE_DIRECTOR),
    (Level.COUNTY, PostType.TOWNSHIP_STAFF),
    (Level.TOWNSHIP, PostType.VILLAGE_ASSISTANT),
}


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("post", list(PostType))
def test_tier_rule_for_every_pair(app, level, post):
    reason = tier_refusal(level, post)
    if (level, post) in ALLOWED:
        assert reason is None
    else:
        assert reason and ("只能培训" in reason or "不组织分级培训" in reason)


def test_refusal_names_who_should_organise(app):
    reason = tier_refusal(Level.COUNTY, PostType.OFFICE_DIRECTOR)
    assert "乡镇民政工作人员" in reason and "乡镇民政办主任" in reason and "市" in reason


@pytest.mark.parametrize(("last", "today", "cycle", "expected"), [
    (None, date(2026, 1, 1), 3, Rotation.NEVER_TRAINED),
    (date(2024, 6, 1), date(2026, 5, 31), 3, Rotation.CURRENT),
    (date(2024, 6, 1), date(2026, 6, 1), 3, Rotation.DUE),
    (date(2024, 6, 1), date(2027, 5, 31), 3, Rotation.DUE),
    (date(2024, 6, 1), date(2027, 6, 1), 3, Rotation.OVERDUE),
    (date(2024, 6, 1), date(2025, 5, 31), 2, Rotation.CURRENT),
    (date(2024, 6, 1), date(2025, 6, 1), 2, Rotation.DUE),
    (date(2024, 6, 1), date(2026, 6, 1), 2, Rotation.OVERDUE),
    (date(2024, 2, 29), date(2027, 2, 28), 3, Rotation.OVERDUE),
    (date(2024, 2, 29), date(2027, 2, 27), 3, Rotation.DUE),
])
def test_rotation_status(last, today, cycle, expected):
    assert rotation_status(last, today, cycle) == expected


def test_rotation_cycle_is_two_or_three_years():
    with pytest.raises(ValueError):
        rotation_status(date(2024, 1, 1), date(2025, 1, 1), 4)
    assert rotation_due_on(date(2024, 3, 1), 2) == date(2026, 3, 1)
