"""Questions: every type created with the import's rules, each broken rule reported at its
field with nothing written, edits in place while unused and as a new version once an attempt
used the question (the old attempt keeps its text), retire / restore, duplicates."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import questions
from lms.exams.formats.model import ParsedQuestion
from lms.exams.models import AttemptItem, Question, QuestionVersion
from lms.exams.questions import QuestionProblems
from lms.extensions import db
from tests.exams.factories import at, make_attempt, make_bank, make_exam

NOW = at(2026, 3, 1, 2)
LATER = at(2026, 3, 2, 2)


def q(type_: str = "single_choice", stem: str = "低保审核确认由哪一级负责？", options=("乡镇",
      "县级民政部门"), answer=(1,), points: str = "1", **kw) -> ParsedQuestion:
    return ParsedQuestion(type_, stem, tuple(options), answer, Decimal(points), **kw)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _audit(action: str) -> list[dict]:
    return [json.loads(e.data) for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()]


@pytest.fixture
def bank(world):  # noqa: ANN001, ANN201
    return make_bank(world.county_a)


@pytest.mark.parametrize("parsed", [
    q(explanation="见《社会救助暂行办法》", difficulty=2, knowledge_point="最低生活保障",
      category="社会救助", post_types=("village_assistant",), tags=("低保", "审核"),
      source="《社会救助暂行办法》第十一条"),
    q("multiple_choice", "下列属于社会救助的有", ("低保", "特困供养", "养老保险"), (0, 1), "2"),
    q("true_false", "低保按户施保。", (), True),
    q("fill_blank", "办法自（ ）年____月1日起施行。", (), (("2014",), ("5", "五")), "2"),
    q("short_answer", "简述低保申请程序。", (), "书面申请、调查、审核、公示、确认。", "5"),
    q("short_answer", "谈谈你对兜底保障的理解。", (), None, "10"),
])
def test_every_type_round_trips(world, bank, parsed):
    question = questions.create_question(bank, parsed, actor=world.a_admin, now=NOW)
    v = question.current
    assert (v.version, v.type, question.org_unit_id) == (1, parsed.type, world.county_a.id)
    back = questions.to_parsed(v)
    expected = questions.tidy(parsed)
    assert back == expected
    assert question.dup_key == questions.dup_key(expected) and len(question.dup_key) == 64
    assert _audit("exam.question_create")[0]["type"] == parsed.type


def test_fill_in_blanks_are_marked_and_answers_stored_per_blank(world, bank):
    question = questions.create_question(
        bank, q("fill_blank", "办法自（ ）年＿＿月1日起施行。", (), (("2014",), ("5", "五"))),
        actor=world.a_admin, now=NOW)
    assert question.current.stem == "办法自____年____月1日起施行。"
    assert question.current.answer == [["2014"], ["5", "五"]]


@pytest.mark.parametrize(("parsed", "field", "message"), [
    (q(stem=""), "stem", "题干不能为空"),
    (q(stem="x" * 2001), "stem", "题干不能超过2000个字"),
    (q(options=("甲",), answer=(0,)), "options", "选择题至少需要两个选项"),
    (q(options=tuple("ABCDEFGHI"), answer=(0,)), "options", "最多支持8个选项（A–H）"),
    (q(options=("甲", "", "丙"), answer=(0,)), "options", "选项B不能为空"),
    (q(options=("甲", "甲")), "options", "选项A与选项B相同"),
    (q(answer=()), "options", "答案不能为空"),
    (q(answer=(0, 1)), "options", "单选题只能有一个答案"),
    (q(answer=(5,)), "options", "答案“F”不在选项中"),
    (q("multiple_choice", answer=(0,)), "options", "多选题至少应有两个答案"),
    (q("true_false", options=(), answer=None), "truth", "请选择“对”或“错”。"),
    (q("fill_blank", "没有空", (), (("甲",),)), "blanks",
     "填空题题干中没有空，请用 ____ 标出每个空"),
    (q("fill_blank", "两个空____和____", (), (("甲",),)), "blanks",
     "题干中有2个空，答案有1个空"),
    (q(points="0"), "points", "分值应为正数（可为0.5的倍数）"),
    (q(points="1.3"), "points", "分值应为正数（可为0.5的倍数）"),
    (q(points="100.5"), "points", "分值不能超过100"),
    (q(difficulty=6), "difficulty", "难度应为1–5或 易/较易/中等/较难/难"),
    (q(post_types=("mayor",)), "post_types", "请从列表中选择适用岗位。"),
    (q(category="类" * 201), "category", "分类不能超过200个字"),
    (q(explanation="解" * 2001), "explanation", "解析不能超过2000个字"),
])
def test_each_broken_rule_is_reported_at_its_field_and_nothing_is_written(
        world, bank, parsed, field, message):
    with pytest.raises(QuestionProblems) as refused:
        questions.create_question(bank, parsed, actor=world.a_admin, now=NOW)
    assert (field, message) in refused.value.problems
    assert _count(Question) == 0 and _count(QuestionVersion) == 0
    assert _audit("exam.question_create") == []


def test_control_characters_are_dropped(world, bank):
    question = questions.create_question(bank, q(stem="低保\x00审核\u200b由谁负责？"),
                                         actor=world.a_admin, now=NOW)
    assert question.current.stem == "低保审核由谁负责？"


def test_another_county_may_not_add_questions(world, bank):
    with pytest.raises(NotAllowed):
        questions.create_question(bank, q(), actor=world.b_admin, now=NOW)


def test_a_duplicate_of_a_bank_question_is_refused(world, bank):
    first = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    again = q(stem=" 低保审核确认由哪一级负责？ ", options=("县级民政部门", "乡镇"), answer=(0,))
    with pytest.raises(ValidationFailed, match=f"与题库中已有试题重复（题号 {first.id}）"):
        questions.create_question(bank, again, actor=world.a_admin, now=NOW)
    questions.set_question_retired(first, True, actor=world.a_admin, now=NOW)
    second = questions.create_question(bank, again, actor=world.a_admin, now=NOW)
    with pytest.raises(InvalidState, match=f"题号 {second.id}"):
        questions.set_question_retired(first, False, actor=world.a_admin, now=NOW)


def test_editing_an_unused_question_changes_it_in_place(world, bank):
    question = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    v1 = question.current_version_id
    changes = questions.update_question(
        question, q(stem="低保由哪一级审核确认？", points="2"), actor=world.a_admin, now=LATER)
    assert changes == {"stem": ["低保审核确认由哪一级负责？", "低保由哪一级审核确认？"],
                       "points": [Decimal("1.0"), Decimal("2")]}
    assert question.current_version_id == v1 and question.current.version == 1
    assert question.current.stem == "低保由哪一级审核确认？"
    assert _count(QuestionVersion) == 1
    [entry] = _audit("exam.question_update")
    assert entry["new_version"] is False and entry["changes"]["points"] == ["1.0", "2"]
    assert question.dup_key == questions.dup_key(questions.tidy(q(stem="低保由哪一级审核确认？")))


def test_editing_a_used_question_adds_a_version_and_old_attempts_keep_theirs(world, bank):
    question = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    exam = make_exam(world.county_a, [question])
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted")
    v1 = question.current_version_id
    questions.update_question(question, q(stem="新题干：低保由谁确认？", answer=(0,)),
                              actor=world.a_admin, now=LATER)
    db.session.commit()
    assert question.current_version_id != v1
    assert (question.current.version, question.current.stem) == (2, "新题干：低保由谁确认？")
    assert question.current.created_at == LATER
    item = db.session.execute(select(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id)).scalar_one()
    assert item.question_version_id == v1
    assert item.version.stem == "低保审核确认由哪一级负责？" and item.version.answer == [1]
    [entry] = _audit("exam.question_update")
    assert entry["new_version"] is True and entry["version"] == 2
    assert entry["changes"]["answer"] == [[1], [0]]
    history = questions.history(question)
    assert [(v.version, name, used) for v, name, used in history] == [
        (2, world.a_admin.display_name, 0), (1, world.a_admin.display_name, 1)]
    # the new version is unused: the next edit changes it in place
    questions.update_question(question, q(stem="再改一次", answer=(0,)), actor=world.a_admin,
                              now=LATER)
    assert question.current.version == 2 and _count(QuestionVersion) == 2


def test_an_edit_that_changes_nothing_records_nothing(world, bank):
    question = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    assert questions.update_question(question, q(stem=" 低保审核确认由哪一级负责？\n"),
                                     actor=world.a_admin, now=LATER) == {}
    assert _audit("exam.question_update") == []


def test_a_refused_edit_changes_nothing(world, bank):
    question = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    db.session.commit()
    with pytest.raises(QuestionProblems):
        questions.update_question(question, q(stem="", points="0"), actor=world.a_admin,
                                  now=LATER)
    db.session.rollback()
    assert question.current.stem == "低保审核确认由哪一级负责？"
    assert _audit("exam.question_update") == []


def test_retire_and_restore_are_audited(world, bank):
    question = questions.create_question(bank, q(), actor=world.a_admin, now=NOW)
    questions.set_question_retired(question, True, actor=world.a_admin, now=NOW)
    questions.set_question_retired(question, True, actor=world.a_admin, now=NOW)
    assert question.is_retired and len(_audit("exam.question_retire")) == 1
    questions.set_question_retired(question, False, actor=world.a_admin, now=NOW)
    assert not question.is_retired and len(_audit("exam.question_restore")) == 1
