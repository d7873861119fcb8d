"""我的考试: only the exams the person may sit, where they stand with each, constant queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lms.db import utcnow
from lms.exams import audience
from lms.exams.models import Attempt, AttemptItem, Exam, PaperItem
from lms.exams.my_exams import counted, my_exams
from lms.extensions import db
from lms.training.models import Program
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.querycount import count_queries


@pytest.fixture
def question(world):  # noqa: ANN001, ANN201
    q = make_question(make_bank(world.county_a))
    db.session.commit()
    return q


def _titles(client) -> str:  # noqa: ANN001
    return client.get("/exams/my").get_data(as_text=True)


def _program(unit) -> Program:  # noqa: ANN001
    program = Program(org_unit_id=unit.id, title="助理员轮训班", kind="rotation",
                      audience_post_type="village_assistant", status="open",
                      credit_hours=Decimal("24"))
    db.session.add(program)
    db.session.flush()
    return program


def test_lists_only_the_exams_the_person_may_sit(client, world, question, monkeypatch) -> None:
    make_exam(world.county_a, [question], title="兰山区低保测试")
    make_exam(world.city, [question], title="全市政策测试")
    make_exam(world.county_b, [question], title="罗庄区专场")
    make_exam(world.county_a, [question], title="草稿考试", status="draft")
    make_exam(world.county_a, [question], title="主任专场", audience_post_types="office_director")
    make_exam(world.county_a, [question], title="助理员专场",
              audience_post_types="township_staff,village_assistant")
    program = _program(world.county_a)
    make_exam(world.county_a, [question], title="轮训班结业考试", program_id=program.id)
    db.session.commit()
    client.login("13800000001")
    html = _titles(client)
    for shown in ("兰山区低保测试", "全市政策测试", "助理员专场"):
        assert shown in html
    for hidden in ("罗庄区专场", "草稿考试", "主任专场", "轮训班结业考试"):
        assert hidden not in html
    monkeypatch.setattr(audience, "_program_ids_for", lambda person_id: {program.id})
    assert "轮训班结业考试" in _titles(client)


def test_states_and_links(client, world, question) -> None:
    now = utcnow()
    running = make_exam(world.county_a, [question], title="进行中的考试")
    done = make_exam(world.county_a, [question], title="考完的考试", show_score="immediately")
    make_exam(world.county_a, [question], title="下周的考试", opens_at=now + timedelta(days=7),
              closes_at=now + timedelta(days=8))
    make_exam(world.county_a, [question], title="错过的考试", opens_at=now - timedelta(days=8),
              closes_at=now - timedelta(days=1))
    make_exam(world.county_a, [question], title="可以考的考试")
    attempt = make_attempt(running, world.person_a, world.trainee.id)
    finished = make_attempt(done, world.person_a, world.trainee.id, state="submitted")
    finished.score, finished.max_score, finished.passed = Decimal("1.0"), Decimal("1.0"), True
    db.session.commit()
    client.login("13800000001")
    html = _titles(client)
    assert f'href="/exams/attempts/{attempt.id}">继续答题' in html
    assert "已交卷" in html and "<strong>1.0</strong>" in html and "通过" in html
    assert "未开始" in html and "已结束" in html and "进入考试" in html
    order = [html.index(t) for t in ("进行中的考试", "可以考的考试", "下周的考试", "考完的考试",
                                     "错过的考试")]
    assert order == sorted(order)


def test_score_hidden_when_the_policy_says_so(world, question) -> None:
    exam = make_exam(world.county_a, [question], show_score="after_close")
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted")
    attempt.score = Decimal("1.0")
    db.session.commit()
    row = my_exams(world.person_a, utcnow())[0]
    assert row.status == "done" and row.score is None
    after = my_exams(world.person_a, exam.closes_at + timedelta(seconds=1))[0]
    assert after.score == Decimal("1.0") and after.passed is True


def test_overdue_running_attempt_counts_as_handed_in(world, question) -> None:
    exam = make_exam(world.county_a, [question], time_limit_minutes=10, attempts_allowed=1)
    make_attempt(exam, world.person_a, world.trainee.id,
                 started_at=utcnow() - timedelta(hours=1))
    db.session.commit()
    row = my_exams(world.person_a, utcnow())[0]
    assert row.open_attempt_id is None and row.used == 1 and row.status == "done"


def test_counted_score_by_grading_method() -> None:
    attempts = [Attempt(number=1, score=Decimal("6.0")), Attempt(number=2, score=Decimal("9.0")),
                Attempt(number=3, score=Decimal("7.5"))]
    for method, want in (("highest", "9.0"), ("first", "6.0"), ("last", "7.5"),
                         ("average", "7.5")):
        assert counted(Exam(grading_method=method), attempts)[0] == Decimal(want)
    assert counted(Exam(grading_method="highest"), []) == (None, None)


def test_user_without_a_person_sees_a_friendly_page(client, world) -> None:
    client.login("a_admin")
    resp = client.get("/exams/my")
    assert resp.status_code == 200
    assert "没有关联学员信息" in resp.get_data(as_text=True)


def test_nav_link_only_for_people(client, world) -> None:
    client.login("13800000001")
    assert 'href="/exams/my">我的考试' in client.get("/privacy").get_data(as_text=True)
    client.logout()
    client.login("a_admin")
    assert 'href="/exams/my"' not in client.get("/privacy").get_data(as_text=True)


def _queries(client, world, question, n: int) -> int:  # noqa: ANN001
    for i in range(n):
        exam = make_exam(world.county_a, [question], title=f"考试{i}")
        if i % 2:
            make_attempt(exam, world.person_a, world.trainee.id, state="submitted")
    db.session.commit()
    client.get("/exams/my")
    with count_queries() as counter:
        assert client.get("/exams/my").status_code == 200
    for model in (AttemptItem, Attempt, PaperItem, Exam):
        db.session.execute(db.delete(model))
    db.session.commit()
    return counter.count


def test_query_count_does_not_grow_with_exams(client, world, question) -> None:
    client.login("13800000001")
    assert _queries(client, world, question, 2) == _queries(client, world, question, 20)
