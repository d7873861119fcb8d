"""Paper editing: questions come only from usable banks, order and points change as asked, the
blueprint shows live pool sizes, the paper locks once someone has started, a change that would
break a published exam is undone, and every change is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import paper_admin
from lms.exams.exam_admin import PublishRefused, paper_total
from lms.exams.models import BlueprintSlot, PaperItem
from lms.exams.paper_admin import QuestionFilter, SlotData
from lms.extensions import db
from tests.exams.factories import at, make_attempt, make_bank, make_exam, make_question
from tests.factories import build_world

NOW = at(2026, 5, 10, 2)


@pytest.fixture
def setup(app):  # noqa: ANN001, ANN201
    world = build_world()
    city_bank = make_bank(world.city, title="市级题库")
    county_bank = make_bank(world.county_a, title="兰山题库")
    other_bank = make_bank(world.county_b, title="罗庄题库")
    exam = make_exam(world.county_a, status="draft", pass_score=Decimal("1"))
    db.session.commit()
    return world, exam, city_bank, county_bank, other_bank


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def _order(exam) -> list[int]:  # noqa: ANN001
    return [i.question_id for i in exam.items]


def test_search_offers_own_and_ancestor_banks_only(setup):
    world, exam, city_bank, county_bank, other_bank = setup
    q_city = make_question(city_bank, stem="临时救助的对象是谁？")
    q_county = make_question(county_bank, type="true_false", difficulty=5, category="社会事务")
    make_question(other_bank)
    retired = make_question(county_bank)
    retired.is_retired = True
    db.session.flush()
    found = [q.id for q, _v in db.session.execute(
        paper_admin.question_search(exam, QuestionFilter())).all()]
    assert found == [q_city.id, q_county.id]
    for f, want in [(QuestionFilter(bank_id=city_bank.id), [q_city.id]),
                    (QuestionFilter(type="true_false"), [q_county.id]),
                    (QuestionFilter(difficulty=5), [q_county.id]),
                    (QuestionFilter(category="社会事务"), [q_county.id]),
                    (QuestionFilter(text="临时救助"), [q_city.id]),
                    (QuestionFilter(text="%"), [])]:
        assert [q.id for q, _v in db.session.execute(
            paper_admin.question_search(exam, f)).all()] == want


def test_add_move_points_remove(setup):
    world, exam, city_bank, county_bank, _other = setup
    qs = [make_question(county_bank, points="2") for _ in range(3)]
    assert paper_admin.add_questions(exam, [q.id for q in qs], actor=world.a_admin, now=NOW) == 3
    assert paper_admin.add_questions(exam, [qs[0].id], actor=world.a_admin, now=NOW) == 0
    assert _order(exam) == [q.id for q in qs]
    assert paper_total(exam) == Decimal("6.0")
    second = exam.items[1]
    paper_admin.move_item(exam, second.id, "up", actor=world.a_admin, now=NOW)
    assert _order(exam) == [qs[1].id, qs[0].id, qs[2].id]
    assert [i.position for i in exam.items] == [1, 2, 3]
    paper_admin.move_item(exam, exam.items[0].id, "up", actor=world.a_admin, now=NOW)  # no-op
    paper_admin.set_item_points(exam, exam.items[2].id, Decimal("4.5"), actor=world.a_admin,
                                now=NOW)
    assert paper_total(exam) == Decimal("8.5")
    paper_admin.remove_item(exam, exam.items[0].id, actor=world.a_admin, now=NOW)
    db.session.commit()
    assert _order(exam) == [qs[0].id, qs[2].id]
    assert [i.position for i in exam.items] == [1, 2]
    assert _actions() == ["exam.paper_add", "exam.paper_move", "exam.paper_points",
                          "exam.paper_remove"]
    points = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.paper_points")).scalar_one()
    assert (points.details["before"], points.details["after"]) == (None, "4.5")


@pytest.mark.parametrize("ids", [[], ["1"], [True]])
def test_add_refuses_nothing_chosen(setup, ids):
    world, exam, *_ = setup
    with pytest.raises(ValidationFailed):
        paper_admin.add_questions(exam, ids, actor=world.a_admin, now=NOW)


def test_add_refuses_questions_from_other_banks_and_changes_nothing(setup):
    world, exam, _city, county_bank, other_bank = setup
    mine, theirs = make_question(county_bank), make_question(other_bank)
    with pytest.raises(ValidationFailed):
        paper_admin.add_questions(exam, [mine.id, theirs.id], actor=world.a_admin, now=NOW)
    assert db.session.execute(select(func.count()).select_from(PaperItem)).scalar() == 0
    assert _actions() == []


@pytest.mark.parametrize("points", [Decimal("0"), Decimal("1000"), Decimal("1.25"), "2", 2.0,
                                    Decimal("Infinity")])
def test_bad_points_change_nothing(setup, points):
    world, exam, _city, county_bank, _other = setup
    paper_admin.add_questions(exam, [make_question(county_bank).id], actor=world.a_admin,
                              now=NOW)
    with pytest.raises(ValidationFailed):
        paper_admin.set_item_points(exam, exam.items[0].id, points, actor=world.a_admin, now=NOW)
    assert exam.items[0].points is None


def test_unknown_items_are_refused(setup):
    world, exam, *_ = setup
    for bad in (999, "1", None):
        with pytest.raises(InvalidState):
            paper_admin.remove_item(exam, bad, actor=world.a_admin, now=NOW)


def test_the_paper_locks_once_an_attempt_exists(setup):
    world, exam, _city, county_bank, _other = setup
    q1, q2 = make_question(county_bank), make_question(county_bank)
    paper_admin.add_questions(exam, [q1.id], actor=world.a_admin, now=NOW)
    exam.status = "published"
    make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    item = exam.items[0]
    calls = [
        lambda: paper_admin.add_questions(exam, [q2.id], actor=world.a_admin, now=NOW),
        lambda: paper_admin.remove_item(exam, item.id, actor=world.a_admin, now=NOW),
        lambda: paper_admin.move_item(exam, item.id, "down", actor=world.a_admin, now=NOW),
        lambda: paper_admin.set_item_points(exam, item.id, Decimal("3"), actor=world.a_admin,
                                            now=NOW),
    ]
    for call in calls:
        with pytest.raises(InvalidState) as exc:
            call()
        assert "锁定" in str(exc.value)
    assert _order(exam) == [q1.id] and item.points is None
    assert [a for a in _actions() if a.startswith("exam.paper")] == ["exam.paper_add"]


def test_removing_the_last_question_of_a_published_exam_is_undone(setup):
    world, exam, _city, county_bank, _other = setup
    q = make_question(county_bank)
    paper_admin.add_questions(exam, [q.id], actor=world.a_admin, now=NOW)
    exam.status = "published"
    db.session.commit()
    with pytest.raises(PublishRefused):
        paper_admin.remove_item(exam, exam.items[0].id, actor=world.a_admin, now=NOW)
    assert _order(exam) == [q.id]
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(PaperItem)).scalar() == 1


def test_blueprint_slots_with_live_pool_sizes(setup):
    world, exam, city_bank, county_bank, other_bank = setup
    exam.paper_mode = "blueprint"
    for _ in range(4):
        make_question(county_bank, type="single_choice", category="社会救助", difficulty=2)
    make_question(county_bank, type="single_choice", category="社会事务", difficulty=2)
    make_question(city_bank, type="true_false", knowledge_point="临时救助")
    slot = paper_admin.add_slot(exam, SlotData(county_bank.id, "single_choice", "社会救助", "",
                                               2, 3, Decimal("2")), actor=world.a_admin, now=NOW)
    paper_admin.add_slot(exam, SlotData(city_bank.id, "true_false", "", "临时救助", None, 2,
                                        Decimal("1.5")), actor=world.a_admin, now=NOW)
    sizes = paper_admin.slot_pool_sizes(exam)
    assert [sizes[s.id] for s in exam.slots] == [4, 1]
    assert paper_total(exam) == Decimal("9.0")
    paper_admin.update_slot(exam, 1, SlotData(county_bank.id, "single_choice", "", "", None, 5,
                                              Decimal("2")), actor=world.a_admin, now=NOW)
    assert paper_admin.slot_pool_sizes(exam)[slot.id] == 5
    paper_admin.remove_slot(exam, 1, actor=world.a_admin, now=NOW)
    assert [s.position for s in exam.slots] == [1]
    assert exam.slots[0].type == "true_false"
    assert _actions() == ["exam.slot_add", "exam.slot_add", "exam.slot_update", "exam.slot_remove"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"bank_id": None}, "bank"), ({"type": "essay"}, "type"), ({"difficulty": 6}, "difficulty"),
    ({"count": 0}, "count"), ({"count": 201}, "count"), ({"points": Decimal("0")}, "points"),
    ({"category": "类" * 201}, "category"),
])
def test_bad_slots_change_nothing(setup, changes, field):
    world, exam, _city, county_bank, other_bank = setup
    exam.paper_mode = "blueprint"
    data = {"bank_id": county_bank.id, "type": "single_choice", "count": 2,
            "points": Decimal("1")} | changes
    with pytest.raises(ValidationFailed) as exc:
        paper_admin.add_slot(exam, SlotData(**data), actor=world.a_admin, now=NOW)
    assert exc.value.field == field
    with pytest.raises(ValidationFailed):
        paper_admin.add_slot(exam, SlotData(other_bank.id, "single_choice"),
                             actor=world.a_admin, now=NOW)
    assert db.session.execute(select(func.count()).select_from(BlueprintSlot)).scalar() == 0
    assert _actions() == []


def test_fixed_and_blueprint_operations_do_not_mix(setup):
    world, exam, _city, county_bank, _other = setup
    with pytest.raises(InvalidState):
        paper_admin.add_slot(exam, SlotData(county_bank.id, "single_choice"),
                             actor=world.a_admin, now=NOW)
    exam.paper_mode = "blueprint"
    with pytest.raises(InvalidState):
        paper_admin.add_questions(exam, [make_question(county_bank).id], actor=world.a_admin,
                                  now=NOW)


def test_another_county_may_not_edit_the_paper(setup):
    world, exam, _city, county_bank, _other = setup
    with pytest.raises(NotAllowed):
        paper_admin.add_questions(exam, [make_question(county_bank).id], actor=world.b_admin,
                                  now=NOW)
