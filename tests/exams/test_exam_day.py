"""Exam-day operations: extending an attempt's time and reopening a submitted attempt (audited,
refused without a reason or in the wrong state), the live board's counts and the roster."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import exam_day, live_board
from lms.exams.models import Attempt
from lms.extensions import db
from lms.org.models import PostType
from tests.exams.factories import at, make_attempt, make_bank, make_exam, make_question
from tests.factories import build_world, make_person

NOW = at(2026, 5, 10, 2)


@pytest.fixture
def setup(app):  # noqa: ANN001, ANN201
    world = build_world()
    bank = make_bank(world.county_a)
    questions = [make_question(bank) for _ in range(3)]
    exam = make_exam(world.county_a, questions, opens_at=NOW - timedelta(hours=1),
                     closes_at=NOW + timedelta(hours=2),
                     audience_post_types=PostType.VILLAGE_ASSISTANT.value)
    db.session.commit()
    return world, exam


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_extend_moves_the_deadline_and_is_audited(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    old = attempt.deadline
    exam_day.extend_time(attempt, 15, " 考生手机没电 ", actor=world.a_admin, now=NOW)
    assert attempt.deadline == old + timedelta(minutes=15)
    [entry] = _entries("exam.attempt_extend")
    assert entry.details["reason"] == "考生手机没电"
    assert entry.details["minutes"] == 15
    assert entry.details["before"]["deadline"] == old.isoformat()
    assert entry.details["after"]["deadline"] == (old + timedelta(minutes=15)).isoformat()


def test_extend_may_pass_the_window_close(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    assert attempt.deadline == NOW + timedelta(minutes=60)
    exam_day.extend_time(attempt, 600, "停电", actor=world.a_admin, now=NOW)
    assert attempt.deadline > exam.closes_at


def test_extend_after_the_deadline_counts_from_now(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    later = attempt.deadline + timedelta(minutes=5)
    exam_day.extend_time(attempt, 10, "网络故障", actor=world.a_admin, now=later)
    assert attempt.deadline == later + timedelta(minutes=10)


@pytest.mark.parametrize(("minutes", "reason", "field"), [
    (10, "", "reason"), (10, "   ", "reason"), (10, None, "reason"), (10, "x" * 501, "reason"),
    (0, "停电", "minutes"), (601, "停电", "minutes"), ("10", "停电", "minutes"),
    (True, "停电", "minutes"),
])
def test_extend_refuses_bad_input_and_changes_nothing(setup, minutes, reason, field):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    old = attempt.deadline
    with pytest.raises(ValidationFailed) as exc:
        exam_day.extend_time(attempt, minutes, reason, actor=world.a_admin, now=NOW)
    assert exc.value.field == field
    assert attempt.deadline == old
    assert _entries("exam.attempt_extend") == []


def test_extend_refused_for_a_submitted_attempt(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted",
                           started_at=NOW)
    with pytest.raises(InvalidState, match="重新开放"):
        exam_day.extend_time(attempt, 10, "停电", actor=world.a_admin, now=NOW)


def test_extend_refused_outside_the_actors_unit(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    with pytest.raises(NotAllowed):
        exam_day.extend_time(attempt, 10, "停电", actor=world.b_admin, now=NOW)


def test_reopen_puts_the_attempt_back_and_clears_the_marks(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="auto_submitted",
                           started_at=NOW)
    for item in attempt.items:
        item.score = Decimal("1.0")
    attempt.score, attempt.passed = Decimal("3.0"), True
    db.session.flush()
    later = NOW + timedelta(hours=3)  # after the window's close
    exam_day.reopen_attempt(attempt, 20, "考场断网", actor=world.a_admin, now=later)
    assert attempt.state == "in_progress"
    assert attempt.deadline == later + timedelta(minutes=20)
    assert attempt.score is None and attempt.passed is None and attempt.submitted_at is None
    assert all(item.score is None for item in attempt.items)
    [entry] = _entries("exam.attempt_reopen")
    assert entry.details["before"]["state"] == "auto_submitted"
    assert entry.details["before"]["score"] == "3.0"
    assert entry.details["after"]["state"] == "in_progress"
    assert entry.details["reason"] == "考场断网"


def test_reopen_refused_without_reason(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted",
                           started_at=NOW)
    with pytest.raises(ValidationFailed):
        exam_day.reopen_attempt(attempt, 20, "", actor=world.a_admin, now=NOW)
    assert attempt.state == "submitted"
    assert _entries("exam.attempt_reopen") == []


def test_reopen_of_an_attempt_in_progress_is_refused(setup):
    world, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    with pytest.raises(InvalidState, match="仍在答题中"):
        exam_day.reopen_attempt(attempt, 20, "停电", actor=world.a_admin, now=NOW)


def test_reopen_refused_while_another_attempt_is_open(setup):
    world, exam = setup
    first = make_attempt(exam, world.person_a, world.trainee.id, state="submitted",
                         started_at=NOW)
    make_attempt(exam, world.person_a, world.trainee.id, number=2, started_at=NOW)
    with pytest.raises(InvalidState, match="正在作答"):
        exam_day.reopen_attempt(first, 20, "停电", actor=world.a_admin, now=NOW)
    assert db.session.get(Attempt, first.id).state == "submitted"


def test_live_counts_and_rows(setup):
    world, exam = setup
    third = make_person(world.village_a, "赵六", post_type=PostType.VILLAGE_ASSISTANT.value)
    make_person(world.village_a, "钱七", post_type=PostType.TOWNSHIP_STAFF.value)  # not invited
    make_person(world.village_b, "孙八", post_type=PostType.VILLAGE_ASSISTANT.value)  # county B
    attempt = make_attempt(exam, world.person_a, world.trainee.id, started_at=NOW)
    attempt.items[0].response = [1]
    attempt.items[1].response = ""
    db.session.flush()
    board = live_board.live_page(exam, unit=None, state=None, page=1, size=50)
    assert board.counts == {"in_progress": 1, "not_started": 1}
    assert board.total == 2
    rows = {r.person.name: r for r in board.rows}
    assert set(rows) == {"李四", third.name}
    assert (rows["李四"].answered, rows["李四"].total) == (1, 3)
    assert rows["李四"].remaining_seconds(NOW + timedelta(minutes=10)) == 50 * 60
    assert rows[third.name].state == "not_started"


def test_roster_lists_the_audience_by_room(setup):
    world, exam = setup
    make_person(world.village_a, "赵六", post_type=PostType.VILLAGE_ASSISTANT.value,
                phone="13900001234")
    rooms = live_board.room_units(exam)
    assert [u.name for u in rooms] == ["兰山街道"]
    groups = live_board.roster(exam, rooms, room=None)
    assert [(g.unit.name, [p.name for p in g.people]) for g in groups] == [
        ("兰山街道", ["李四", "赵六"])]
