"""Exam settings and status: each refusal changes nothing, publish names the short slot,
withdrawal and the marking settings lock once someone has started, every change is audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import exam_admin
from lms.exams.exam_admin import ExamSettings, PublishRefused
from lms.exams.models import BlueprintSlot, Exam
from lms.extensions import db
from tests.exams.factories import at, make_attempt, make_bank, make_exam, make_question
from tests.factories import build_world

NOW = at(2026, 5, 10, 2)
GOOD = ExamSettings(title="低保政策测试", description="**闭卷**，独立完成。",
                    opens_at=NOW + timedelta(days=1), closes_at=NOW + timedelta(days=2),
                    time_limit_minutes=90, pass_score=Decimal("6"), passcode="lz2026")


@pytest.fixture
def world(app):  # noqa: ANN001, ANN201
    w = build_world()
    db.session.commit()
    return w


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def _exam_count() -> int:
    return db.session.execute(select(func.count()).select_from(Exam)).scalar()


def test_create_saves_every_setting_as_a_draft(world):
    exam = exam_admin.create_exam(world.county_a, replace(
        GOOD, audience_unit_id=world.town_a.id, audience_post_types=("village_assistant",),
        attempts_allowed=0, grading_method="average", multiple_choice_rule="partial_half",
        show_score="after_close", show_answers="never", grace_seconds=0, query_window_days=0,
        passcode="ＬＺ２０２６"), actor=world.a_admin, now=NOW)
    assert exam.status == "draft" and exam.org_unit_id == world.county_a.id
    assert exam.passcode == "LZ2026"  # full-width typed: stored half-width
    assert exam.audience_unit_id == world.town_a.id
    assert exam.audience_post_types == "village_assistant"
    assert (exam.attempts_allowed, exam.grading_method, exam.multiple_choice_rule) == (
        0, "average", "partial_half")
    assert exam.opens_at == NOW + timedelta(days=1)
    assert _actions() == ["exam.create"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": "  "}, "title"),
    ({"title": "长" * 201}, "title"),
    ({"closes_at": NOW + timedelta(days=1)}, "closes_at"),
    ({"closes_at": NOW}, "closes_at"),
    ({"opens_at": NOW.replace(tzinfo=None)}, "opens_at"),
    ({"time_limit_minutes": 0}, "time_limit_minutes"),
    ({"time_limit_minutes": 601}, "time_limit_minutes"),
    ({"grace_seconds": -1}, "grace_seconds"),
    ({"grace_seconds": 601}, "grace_seconds"),
    ({"attempts_allowed": 21}, "attempts_allowed"),
    ({"attempts_allowed": True}, "attempts_allowed"),
    ({"grading_method": "best"}, "grading_method"),
    ({"multiple_choice_rule": "lenient"}, "multiple_choice_rule"),
    ({"show_score": "sometimes"}, "show_score"),
    ({"show_answers": ""}, "show_answers"),
    ({"paper_mode": "random"}, "paper_mode"),
    ({"pass_score": Decimal("-1")}, "pass_score"),
    ({"pass_score": Decimal("6.25")}, "pass_score"),
    ({"pass_score": Decimal("NaN")}, "pass_score"),
    ({"pass_score": 6.5}, "pass_score"),
    ({"passcode": "123"}, "passcode"),
    ({"passcode": "1" * 21}, "passcode"),
    ({"passcode": "12 34"}, "passcode"),
    ({"query_window_days": 61}, "query_window_days"),
    ({"audience_post_types": ("mayor",)}, "audience_post_types"),
])
def test_create_refuses_bad_settings_and_writes_nothing(world, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        exam_admin.create_exam(world.county_a, replace(GOOD, **changes), actor=world.a_admin,
                               now=NOW)
    assert exc.value.field == field
    assert str(exc.value)
    assert _exam_count() == 0 and _actions() == []


def test_audience_must_lie_in_the_exam_units_subtree(world):
    for unit in (world.town_b, world.city):
        with pytest.raises(ValidationFailed) as exc:
            exam_admin.create_exam(world.county_a, replace(GOOD, audience_unit_id=unit.id),
                                   actor=world.a_admin, now=NOW)
        assert exc.value.field == "audience_unit"
    same = exam_admin.create_exam(world.county_a, replace(
        GOOD, audience_unit_id=world.county_a.id), actor=world.a_admin, now=NOW)
    assert same.audience_unit_id is None  # the exam's own unit is the default


def test_only_an_organiser_of_the_unit_may_create(world):
    with pytest.raises(NotAllowed):
        exam_admin.create_exam(world.county_a, GOOD, actor=world.b_admin, now=NOW)
    with pytest.raises(NotAllowed):
        exam_admin.create_exam(world.county_a, GOOD, actor=world.a_hr, now=NOW)
    with pytest.raises(ValidationFailed):
        exam_admin.create_exam(world.village_a, GOOD, actor=world.a_admin, now=NOW)
    assert _exam_count() == 0


def test_pass_mark_may_not_exceed_the_paper_total(world):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank, points="2") for _ in range(3)],
                     status="draft", pass_score=Decimal("4"))
    settings = replace(GOOD, pass_score=Decimal("6.5"))
    with pytest.raises(ValidationFailed) as exc:
        exam_admin.update_exam(exam, settings, actor=world.a_admin, now=NOW)
    assert exc.value.field == "pass_score" and "6.0" in str(exc.value)
    db.session.rollback()
    assert exam.pass_score == Decimal("4") and exam.title == "低保政策测试"
    exam_admin.update_exam(exam, replace(GOOD, pass_score=Decimal("6")), actor=world.a_admin,
                           now=NOW)
    assert exam.pass_score == Decimal("6.0")


def test_update_audits_the_changes_and_hides_the_passcode(world):
    exam = exam_admin.create_exam(world.county_a, GOOD, actor=world.a_admin, now=NOW)
    assert exam_admin.update_exam(exam, GOOD, actor=world.a_admin, now=NOW) == {}
    changes = exam_admin.update_exam(exam, replace(GOOD, title="低保政策测试（补考）",
                                                   passcode="9876"),
                                     actor=world.a_admin, now=NOW)
    assert set(changes) == {"title", "passcode"}
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.update")).scalar_one()
    assert entry.details["changes"]["title"] == ["低保政策测试", "低保政策测试（补考）"]
    assert entry.details["changes"]["passcode"] == [True, True]
    assert "9876" not in entry.data


def test_publish_names_the_short_slot_and_changes_nothing(world):
    bank = make_bank(world.county_a, title="社会救助题库")
    for _ in range(2):
        make_question(bank, type="multiple_choice", category="特困供养")
    exam = make_exam(world.county_a, status="draft", paper_mode="blueprint",
                     pass_score=Decimal("4"))
    db.session.add(BlueprintSlot(exam_id=exam.id, position=1, bank_id=bank.id,
                                 type="multiple_choice", category="特困供养", count=5,
                                 points=Decimal("2")))
    db.session.commit()
    with pytest.raises(PublishRefused) as exc:
        exam_admin.publish_exam(exam, actor=world.a_admin, now=NOW)
    [problem] = exc.value.problems
    assert "第1组" in problem and "多选题" in problem and "特困供养" in problem
    assert "5" in problem and "2" in problem
    db.session.rollback()
    assert exam.status == "draft" and _actions() == []


def test_publish_refuses_an_empty_paper_and_a_pass_mark_above_the_total(world):
    exam = exam_admin.create_exam(world.county_a, GOOD, actor=world.a_admin, now=NOW)
    with pytest.raises(PublishRefused) as exc:
        exam_admin.publish_exam(exam, actor=world.a_admin, now=NOW)
    assert exc.value.problems == ["试卷还没有试题"]
    bank = make_bank(world.county_a)
    exam2 = make_exam(world.county_a, [make_question(bank)], status="draft",
                      pass_score=Decimal("5"))
    with pytest.raises(PublishRefused) as exc:
        exam_admin.publish_exam(exam2, actor=world.a_admin, now=NOW)
    assert "及格分" in exc.value.problems[0]


def test_status_moves_draft_published_draft_published_archived(world):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)], status="draft")
    exam_admin.publish_exam(exam, actor=world.a_admin, now=NOW)
    assert exam.status == "published" and exam.published_at == NOW
    exam_admin.unpublish_exam(exam, actor=world.a_admin, now=NOW)
    assert exam.status == "draft"
    with pytest.raises(InvalidState):
        exam_admin.archive_exam(exam, actor=world.a_admin, now=NOW)
    exam_admin.publish_exam(exam, actor=world.a_admin, now=NOW)
    exam_admin.archive_exam(exam, actor=world.a_admin, now=NOW)
    assert exam.status == "archived"
    with pytest.raises(InvalidState):
        exam_admin.publish_exam(exam, actor=world.a_admin, now=NOW)
    with pytest.raises(InvalidState):
        exam_admin.update_exam(exam, GOOD, actor=world.a_admin, now=NOW)
    assert _actions() == ["exam.publish", "exam.unpublish", "exam.publish", "exam.archive"]


def test_after_the_first_attempt_marking_settings_lock_but_times_stay_editable(world):
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank, points="10")],
                     pass_score=Decimal("6"))
    make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    settings = ExamSettings(title=exam.title, opens_at=exam.opens_at, closes_at=exam.closes_at,
                            time_limit_minutes=60, pass_score=Decimal("6"),
                            shuffle_questions=False, shuffle_options=False)
    with pytest.raises(InvalidState):
        exam_admin.unpublish_exam(exam, actor=world.a_admin, now=NOW)
    for changes in ({"pass_score": Decimal("7")}, {"multiple_choice_rule": "partial_half"},
                    {"paper_mode": "blueprint"}):
        with pytest.raises(ValidationFailed) as exc:
            exam_admin.update_exam(exam, replace(settings, **changes), actor=world.a_admin,
                                   now=NOW)
        assert "锁定" in str(exc.value)
        db.session.rollback()
    later = exam.closes_at + timedelta(days=1)
    exam_admin.update_exam(exam, replace(settings, closes_at=later, passcode="5566"),
                           actor=world.a_admin, now=NOW)
    db.session.commit()
    assert exam.closes_at == later and exam.passcode == "5566" and exam.status == "published"
    assert _actions() == ["exam.update"]


def test_another_county_may_not_edit(world):
    exam = exam_admin.create_exam(world.county_a, GOOD, actor=world.a_admin, now=NOW)
    with pytest.raises(NotAllowed):
        exam_admin.update_exam(exam, replace(GOOD, title="x"), actor=world.b_admin, now=NOW)
    with pytest.raises(NotAllowed):
        exam_admin.publish_exam(exam, actor=world.b_admin, now=NOW)
    assert exam.title == GOOD.title
