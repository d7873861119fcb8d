"""Programs and their closing exams: membership feeds the exam audience, completion waits for a
passed counted result, the certificate carries the exam score, the program page links exams,
and the trainee home points to the exam once the lessons are done."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.errors import InvalidState
from lms.exams.audience import may_sit
from lms.exams.models import Exam
from lms.extensions import db
from lms.training import completion, exam_link
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.marking_factories import finished
from tests.querycount import count_queries
from tests.training.completion_factories import NOW, enrol, finish, make_program, ready


@pytest.fixture
def setup(app, world):
    setup = make_program(world.town_a, requires_exam=True)
    bank = make_bank(world.town_a)
    questions = [make_question(bank, points="50"), make_question(bank, points="50")]
    exam = make_exam(world.town_a, questions, pass_score=Decimal("60"),
                     program_id=setup.program.id, grading_method="highest")
    return setup, exam


def _sit(exam, world, responses, number=1, at=NOW - timedelta(hours=1)):
    return finished(exam, world.person_a, world.trainee.id, responses, number=number,
                    submitted_at=at)


def test_membership_feeds_the_exam_audience(setup, world):
    program_setup, exam = setup
    assert not may_sit(world.person_a, exam)
    enrol(program_setup.program, world.person_a)
    assert exam_link.program_ids_for(world.person_a.id) == {program_setup.program.id}
    assert may_sit(world.person_a, exam)
    assert not may_sit(world.person_b, exam)


def test_completion_waits_for_a_passed_counted_result(setup, world):
    program_setup, exam = setup
    e = ready(program_setup, world.person_a)
    check = completion.check_completion(e, now=NOW)
    assert check.missing == ("结业考试尚未开放或尚无成绩，暂不能结业",)
    _sit(exam, world, {1: [0], 2: [1]})  # 50: fail
    assert completion.check_completion(e, now=NOW).missing == ("结业考试未通过",)
    second = _sit(exam, world, {1: [0], 2: [0]}, number=2)  # 100: pass
    second.needs_marking, second.passed = True, None  # waiting for a marker: unknown
    db.session.flush()
    assert completion.exam_passed(world.person_a, program_setup.program, now=NOW) is None
    second.needs_marking, second.passed = False, True
    db.session.flush()
    # Not yet submitted as of an earlier moment: it does not count then.
    assert completion.exam_passed(world.person_a, program_setup.program,
                                  now=NOW - timedelta(days=1)) is None
    check = completion.check_completion(e, now=NOW)
    assert check.eligible and check.exam.score == Decimal("100.0")
    made = completion.complete(e, actor=world.town_a_admin, now=NOW)
    assert made.exam_score == Decimal("100.0")


def test_drafts_do_not_count_and_any_passed_exam_counts(setup, world):
    program_setup, exam = setup
    e = ready(program_setup, world.person_a)
    draft = make_exam(world.town_a, [exam.items[0].question], status="draft",
                      program_id=program_setup.program.id, pass_score=Decimal("10"))
    finished(draft, world.person_a, world.trainee.id, {1: [0]}, submitted_at=NOW)
    assert completion.check_completion(e, now=NOW).missing == (
        "结业考试尚未开放或尚无成绩，暂不能结业",)
    makeup = make_exam(world.town_a, [exam.items[0].question], title="补考",
                       program_id=program_setup.program.id, pass_score=Decimal("30"))
    _sit(exam, world, {1: [0], 2: [1]})  # 50 of 100: fail
    finished(makeup, world.person_a, world.trainee.id, {1: [0]}, submitted_at=NOW)
    result = completion.exam_results(program_setup.program, [world.person_a.id], now=NOW)
    assert result[world.person_a.id] == completion.ExamResult(True, Decimal("50.0"))


def test_completion_overview_query_count_does_not_grow(setup, world):
    from tests.factories import make_person

    program_setup, exam = setup

    def run():
        db.session.expire_all()
        with count_queries() as c:
            completion.completion_overview(program_setup.program, now=NOW)
        return c.count

    for i in range(2):
        person = make_person(world.village_a, f"学员{i}", post_type="village_assistant")
        ready(program_setup, person)
        finished(exam, person, world.trainee.id, {1: [0], 2: [0]}, submitted_at=NOW)
    db.session.commit()
    few = run()
    for i in range(2, 12):
        person = make_person(world.village_a, f"学员{i}", post_type="village_assistant")
        ready(program_setup, person)
        finished(exam, person, world.trainee.id, {1: [0]}, submitted_at=NOW)
    db.session.commit()
    assert run() == few


def test_link_and_unlink(app, world):
    setup = make_program(world.town_a, requires_exam=True)
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank)])
    county = make_exam(world.county_a, [make_question(bank)], title="县级考试")
    section = exam_link.exam_section(setup.program, world.town_a_admin)
    assert exam in section.choices and county not in section.choices
    exam_link.link_exam(setup.program, exam, actor=world.town_a_admin, now=NOW)
    assert exam.program_id == setup.program.id
    other = make_program(world.town_a, title="另一个培训班")
    with pytest.raises(InvalidState):
        exam_link.link_exam(other.program, exam, actor=world.town_a_admin, now=NOW)
    make_attempt(exam, world.person_a, world.trainee.id)
    with pytest.raises(InvalidState, match="不能取消关联"):
        exam_link.unlink_exam(setup.program, exam, actor=world.town_a_admin, now=NOW)
    actions = db.session.execute(select(AuditEntry.action).where(
        AuditEntry.action.like("exam.program_%"))).scalars().all()
    assert actions == ["exam.program_link"]


def test_program_page_links_an_exam(app, client, world):
    setup = make_program(world.town_a, requires_exam=True)
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank)], title="结业测试卷")
    db.session.commit()
    client.login("town_a_admin")
    url = f"/training/programs/{setup.program.id}"
    page = client.get(url).get_data(as_text=True)
    assert "结业考试" in page and "结业测试卷</option>" in page
    assert client.post(url + "/exams/link", {"exam": "abc"}).status_code == 302
    assert client.post(url + "/exams/link", {"exam": str(exam.id)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Exam, exam.id).program_id == setup.program.id
    page = client.get(url).get_data(as_text=True)
    assert "取消关联" in page
    client.post(url + "/exams/unlink", {"exam": str(exam.id)})
    db.session.expire_all()
    assert db.session.get(Exam, exam.id).program_id is None
    client.logout()
    client.login("b_admin")
    assert client.post(url + "/exams/link", {"exam": str(exam.id)}).status_code == 404


def test_home_points_to_the_closing_exam(app, client, world):
    setup = make_program(world.town_a, requires_exam=True)
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank, points="10")], title="结业测试卷",
                     program_id=setup.program.id)
    enrol(setup.program, world.person_a)
    db.session.commit()
    client.login("13800000001")
    home = client.get("/").get_data(as_text=True)
    assert "参加结业考试" not in home  # lessons first
    finish(world.person_a, setup.lessons)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert f'href="/exams/{exam.id}">参加结业考试' in home
    finished(exam, world.person_a, world.trainee.id, {1: [0]}, submitted_at=utcnow())
    db.session.commit()
    assert "参加结业考试" not in client.get("/").get_data(as_text=True)
