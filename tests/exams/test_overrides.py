"""Extra time for a person or a group: the largest applicable override counts, every change is
audited, bad input changes nothing, and only people and units inside the exam may get it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import NotAllowed, ValidationFailed
from lms.exams import overrides
from lms.exams.models import ExamOverride
from lms.exams.overrides import extra_minutes_for
from lms.exams.scoring import deadline
from lms.extensions import db
from tests.exams.factories import at, make_bank, make_exam, make_question
from tests.factories import build_world, make_person

NOW = at(2026, 5, 10, 2)


@pytest.fixture
def setup(app):  # noqa: ANN001, ANN201
    world = build_world()
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)])
    db.session.commit()
    return world, exam


def _count(model) -> int:  # noqa: ANN001
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def test_no_override_gives_zero(setup):
    world, exam = setup
    assert extra_minutes_for(exam, world.person_a) == 0


def test_the_largest_of_person_and_containing_groups_counts(setup):
    world, exam = setup
    overrides.set_group_override(exam, world.county_a, 10, "全县网络慢", actor=world.a_admin,
                                 now=NOW)
    overrides.set_group_override(exam, world.town_a, 25, "街道停电", actor=world.a_admin, now=NOW)
    overrides.set_person_override(exam, world.person_a, 15, "视力障碍", actor=world.a_admin,
                                  now=NOW)
    assert extra_minutes_for(exam, world.person_a) == 25
    neighbour = make_person(world.county_a, "赵六")
    assert extra_minutes_for(exam, neighbour) == 10  # only the county group contains them
    overrides.set_person_override(exam, world.person_a, 40, "视力障碍，需读屏",
                                  actor=world.a_admin, now=NOW)
    assert extra_minutes_for(exam, world.person_a) == 40
    assert _count(ExamOverride) == 3  # the person's override was replaced, not added


def test_groups_outside_the_persons_branch_and_other_exams_do_not_count(setup):
    world, exam = setup
    other = make_exam(world.county_a, title="另一场")
    overrides.set_person_override(other, world.person_a, 30, "另一场考试", actor=world.a_admin,
                                  now=NOW)
    overrides.set_group_override(exam, world.village_a, 5, "社区", actor=world.a_admin, now=NOW)
    assert extra_minutes_for(exam, world.person_a) == 5
    assert extra_minutes_for(exam, make_person(world.town_a, "钱七")) == 0


def test_the_deadline_uses_the_extra_time_but_never_passes_the_close(setup):
    world, exam = setup
    overrides.set_person_override(exam, world.person_a, 30, "视力障碍", actor=world.a_admin,
                                  now=NOW)
    extra = extra_minutes_for(exam, world.person_a)
    assert deadline(NOW, 60, extra, NOW + timedelta(days=1)) == NOW + timedelta(minutes=90)
    assert deadline(NOW, 60, extra, NOW + timedelta(minutes=70)) == NOW + timedelta(minutes=70)


def test_set_and_remove_are_audited(setup):
    world, exam = setup
    o = overrides.set_person_override(exam, world.person_a, 20, " 手机故障 ", actor=world.a_admin,
                                      now=NOW)
    assert o.reason == "手机故障"
    overrides.set_person_override(exam, world.person_a, 30, "手机故障", actor=world.a_admin,
                                  now=NOW)
    overrides.remove_override(o, actor=world.a_admin, now=NOW)
    db.session.commit()
    assert _count(ExamOverride) == 0
    entries = list(db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    assert [e.action for e in entries] == ["exam.override_set", "exam.override_set",
                                           "exam.override_remove"]
    assert entries[0].details["extra_minutes"] == 20
    assert entries[0].details["before"] is None
    assert entries[1].details["before"] == 20
    assert entries[1].details["target"] == "李四"
    assert entries[2].details["extra_minutes"] == 30
    assert all(e.object_type == "Exam" and e.object_id == exam.id for e in entries)


@pytest.mark.parametrize(("minutes", "reason", "field"), [
    (0, "停电", "extra_minutes"), (601, "停电", "extra_minutes"), (-5, "停电", "extra_minutes"),
    ("10", "停电", "extra_minutes"), (True, "停电", "extra_minutes"),
    (None, "停电", "extra_minutes"), (10, "", "reason"), (10, "  ", "reason"),
    (10, None, "reason"), (10, "x" * 501, "reason"),
])
def test_bad_input_is_refused_and_changes_nothing(setup, minutes, reason, field):
    world, exam = setup
    for call, target in ((overrides.set_person_override, world.person_a),
                         (overrides.set_group_override, world.town_a)):
        with pytest.raises(ValidationFailed) as exc:
            call(exam, target, minutes, reason, actor=world.a_admin, now=NOW)
        assert exc.value.field == field
    assert _count(ExamOverride) == 0
    assert _actions() == []


def test_targets_must_lie_inside_the_exam(setup):
    world, exam = setup
    with pytest.raises(ValidationFailed):
        overrides.set_person_override(exam, world.person_b, 10, "x", actor=world.a_admin, now=NOW)
    with pytest.raises(ValidationFailed):
        overrides.set_group_override(exam, world.town_b, 10, "x", actor=world.a_admin, now=NOW)
    with pytest.raises(ValidationFailed):  # above the exam's unit
        overrides.set_group_override(exam, world.city, 10, "x", actor=world.a_admin, now=NOW)
    exam.audience_unit_id = world.town_a.id
    db.session.flush()
    db.session.refresh(exam)
    neighbour_town = make_person(world.county_a, "孙八")
    with pytest.raises(ValidationFailed):  # outside the audience subtree
        overrides.set_group_override(exam, world.county_a, 10, "x", actor=world.a_admin, now=NOW)
    overrides.set_group_override(exam, world.village_a, 10, "x", actor=world.a_admin, now=NOW)
    assert extra_minutes_for(exam, neighbour_town) == 0
    assert _count(ExamOverride) == 1


def test_an_organiser_of_another_county_may_not(setup):
    world, exam = setup
    with pytest.raises(NotAllowed):
        overrides.set_person_override(exam, world.person_a, 10, "x", actor=world.b_admin, now=NOW)
    o = overrides.set_person_override(exam, world.person_a, 10, "x", actor=world.a_admin, now=NOW)
    with pytest.raises(NotAllowed):
        overrides.remove_override(o, actor=world.b_admin, now=NOW)
    assert _count(ExamOverride) == 1
