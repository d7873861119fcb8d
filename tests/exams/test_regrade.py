"""Correcting the key of a used question version: exactly the affected finished attempts are
re-scored, each change audited with the reason, before and after; a fixed statement count."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import regrade
from lms.exams.models import Attempt, QuestionVersion
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.marking_factories import T0, candidate, finished
from tests.querycount import count_queries

NOW = T0 + timedelta(days=1)


@pytest.fixture
def setup(app, world):
    bank = make_bank(world.county_a)
    choice = make_question(bank, points="10")  # key A
    tf = make_question(bank, type="true_false", points="10")  # key 对
    exam = make_exam(world.county_a, [choice, tf], pass_score=Decimal("15"))
    other = make_exam(world.county_a, [choice], pass_score=Decimal("10"), title="补考")
    people = {}
    for name, exam_, responses in [
        ("甲", exam, {1: [0], 2: True}),    # 20 pass  -> 10 fail
        ("乙", exam, {1: [1], 2: True}),    # 10 fail  -> 20 pass
        ("丙", exam, {1: [1], 2: False}),   # 0 fail   -> 10 fail
        ("丁", exam, {1: [2], 2: True}),    # 10 fail  -> 10 fail (unchanged)
        ("戊", other, {1: [0]}),            # 10 pass  -> 0 fail (another exam)
    ]:
        person, user = candidate(world.village_a, name)
        people[name] = finished(exam_, person, user.id, responses)
    person, user = candidate(world.village_a, "己")
    running = make_attempt(exam, person, user.id)  # in progress: not re-scored
    running.items[0].response = [1]
    db.session.flush()
    return {"bank": bank, "choice": choice, "exam": exam, "attempts": people,
            "running": running}


def _regrades():
    return db.session.execute(select(AuditEntry).where(AuditEntry.action == "exam.regrade")
                              .order_by(AuditEntry.id)).scalars().all()


def test_correction_rescores_exactly_the_affected_attempts(setup, world):
    version = setup["choice"].current
    summary = regrade.correct_key(version, [1], reason="政策调整，正确答案应为B",
                                  actor=world.a_admin, now=NOW)
    a = setup["attempts"]
    assert version.answer == [1]
    assert summary == regrade.RegradeSummary(rescored=5, changed=4, pass_to_fail=2,
                                             fail_to_pass=1)
    assert (a["甲"].score, a["甲"].passed) == (Decimal("10.0"), False)
    assert (a["乙"].score, a["乙"].passed) == (Decimal("20.0"), True)
    assert (a["丙"].score, a["丙"].passed) == (Decimal("10.0"), False)
    assert (a["丁"].score, a["丁"].passed) == (Decimal("10.0"), False)
    assert (a["戊"].score, a["戊"].passed) == (Decimal("0.0"), False)
    assert setup["running"].items[0].score is None
    entries = _regrades()
    assert sorted(e.object_id for e in entries) == sorted(
        a[n].id for n in ("甲", "乙", "丙", "戊"))
    first = json.loads(next(e for e in entries if e.object_id == a["甲"].id).data)
    assert first["reason"] == "政策调整，正确答案应为B"
    assert first["before"] == {"score": "20.0", "passed": True}
    assert first["after"] == {"score": "10.0", "passed": False}
    key = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.key_correct")).scalar_one()
    assert json.loads(key.data)["before"] == [0] and json.loads(key.data)["after"] == [1]


def test_other_versions_are_untouched(setup, world):
    question = setup["choice"]
    v2 = QuestionVersion(question_id=question.id, version=2, type="single_choice",
                         stem="新版题干", options=["甲", "乙", "丙", "丁"], answer=[0],
                         points=Decimal("10"))
    db.session.add(v2)
    db.session.flush()
    person, user = candidate(world.village_a, "庚")
    later = finished(setup["exam"], person, user.id, {1: [0], 2: True})
    later.items[0].question_version_id = v2.id
    db.session.flush()
    db.session.expire(later.items[0])
    summary = regrade.correct_key(setup["choice"].current, [1], reason="更正",
                                  actor=world.a_admin, now=NOW)
    assert summary.rescored == 5
    assert later.score == Decimal("20.0")


@pytest.mark.parametrize(("text", "field"), [("E", "answer"), ("", "answer"), ("AB", "answer")])
def test_bad_keys_are_refused(setup, world, text, field):
    version = setup["choice"].current
    with pytest.raises(ValidationFailed) as exc:
        regrade.correct_key(version, regrade.parse_key(version, text), reason="更正",
                            actor=world.a_admin, now=NOW)
    assert exc.value.field == field
    assert version.answer == [0] and _regrades() == []


def test_same_key_empty_reason_short_answer_and_scope(setup, world):
    version = setup["choice"].current
    with pytest.raises(ValidationFailed):
        regrade.correct_key(version, [0], reason="更正", actor=world.a_admin, now=NOW)
    with pytest.raises(ValidationFailed):
        regrade.correct_key(version, [1], reason="  ", actor=world.a_admin, now=NOW)
    with pytest.raises(NotAllowed):
        regrade.correct_key(version, [1], reason="更正", actor=world.b_admin, now=NOW)
    short = make_question(setup["bank"], type="short_answer").current
    with pytest.raises(InvalidState):
        regrade.parse_key(short, "A")
    assert regrade.parse_key(setup["exam"].items[1].question.current, "错") is False
    fill = make_question(setup["bank"], type="fill_blank").current
    assert regrade.parse_key(fill, "民政局;民政所") == [["民政局", "民政所"]]
    assert regrade.key_text(fill) == "民政局;民政部门"


def _count_correction(world, n):
    bank = make_bank(world.county_a)
    question = make_question(bank, points="10")
    exam = make_exam(world.county_a, [question], pass_score=Decimal("10"))
    for i in range(n):
        person, user = candidate(world.village_a, f"考生{n}-{i}")
        finished(exam, person, user.id, {1: [0]})
    db.session.commit()
    version = db.session.get(QuestionVersion, question.current_version_id)
    actor = world.a_admin
    assert actor.roles and version.question.bank.org_unit
    with count_queries() as c:
        summary = regrade.correct_key(version, [2], reason="更正", actor=actor, now=NOW)
    assert summary.changed == n
    db.session.commit()
    return c.count


def test_statement_count_does_not_grow_with_attempts(app, world):
    assert _count_correction(world, 3) == _count_correction(world, 30)


def test_key_pages(setup, client, world):
    exam, question = setup["exam"], setup["choice"]
    db.session.commit()
    client.login("a_hr")
    assert client.get(f"/exams/{exam.id}/keys").status_code == 403
    client.logout()
    client.login("a_admin")
    listing = client.get(f"/exams/{exam.id}/keys").get_data(as_text=True)
    assert f"/exams/{exam.id}/keys/{question.id}?version=1" in listing
    url = f"/exams/{exam.id}/keys/{question.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="A"' in page
    resp = client.post(url, {"version": "1", "answer": "Z", "reason": "更正"})
    assert "无法识别" in resp.get_data(as_text=True)
    resp = client.post(url, {"version": "1", "answer": "B", "reason": "政策调整"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "重新评分结果" in html
    assert "<dt>成绩有变化</dt><dd>4</dd>" in html
    db.session.expire_all()
    assert db.session.get(Attempt, setup["attempts"]["乙"].id).passed is True
    assert client.get(url + "?version=9").status_code == 302
