"""Score queries (成绩复核): the window, one open query at a time, the organiser's answer
(upheld, or changed through the audited marking path) and the pages on both sides."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.errors import InvalidState, ValidationFailed
from lms.exams import score_queries as sq
from lms.exams.models import Attempt, ScoreQuery
from lms.extensions import db
from tests.exams.factories import make_bank, make_exam, make_question
from tests.exams.marking_factories import T0, candidate, finished

SOON = T0 + timedelta(days=1)


@pytest.fixture
def case(app, world):
    bank = make_bank(world.county_a)
    questions = [make_question(bank, points="6"), make_question(bank, points="4"),
                 make_question(bank, type="short_answer", points="5")]
    exam = make_exam(world.county_a, questions, pass_score=Decimal("9"), query_window_days=7,
                     show_score="immediately")
    attempt = finished(exam, world.person_a, world.trainee.id, {1: [1], 2: [0], 3: "答案"})
    item = attempt.items[2]
    item.score, item.marked_at = Decimal("4"), T0
    attempt.needs_marking, attempt.marked_at = False, T0
    from lms.exams.totals import recompute

    recompute(attempt, exam)
    db.session.flush()
    assert attempt.score == Decimal("8.0") and attempt.passed is False
    return {"exam": exam, "attempt": attempt}


def _raise(case, world, **kw):
    args = {"position": 1, "message": "第1题答案应为B", "actor": world.trainee, "now": SOON}
    args.update(kw)
    return sq.raise_query(case["attempt"], **args)


def test_window_and_one_open_query(case, world):
    attempt = case["attempt"]
    assert sq.window(attempt, SOON).allowed
    query = _raise(case, world)
    assert query.status == "open" and query.org_unit_id == world.county_a.id
    with pytest.raises(InvalidState, match="正在处理"):
        _raise(case, world)
    sq.answer_query(query, reply="答案无误", outcome="upheld", actor=world.a_admin, now=SOON)
    second = _raise(case, world, position=None, message="请复核整份答卷")
    assert second.item_position is None
    assert not sq.window(attempt, T0 + timedelta(days=7, seconds=1)).allowed


@pytest.mark.parametrize("change", ["late", "closed", "unmarked", "unfinished"])
def test_queries_outside_the_window_are_refused(case, world, change):
    attempt = case["attempt"]
    now = SOON
    if change == "late":
        now = T0 + timedelta(days=8)
    elif change == "closed":
        case["exam"].query_window_days = 0
    elif change == "unmarked":
        attempt.needs_marking = True
    else:
        attempt.state = "in_progress"
    with pytest.raises(InvalidState):
        _raise(case, world, now=now)
    assert db.session.execute(select(ScoreQuery)).first() is None


@pytest.mark.parametrize(("kw", "field"), [
    ({"message": ""}, "message"), ({"message": "字" * 1001}, "message"),
    ({"position": 4}, "position"), ({"position": 0}, "position")])
def test_bad_requests_are_refused(case, world, kw, field):
    with pytest.raises(ValidationFailed) as exc:
        _raise(case, world, **kw)
    assert exc.value.field == field


def test_only_the_candidate_may_raise(case, world):
    with pytest.raises(InvalidState):
        _raise(case, world, actor=world.a_admin)


def test_changed_objective_mark_goes_through_the_audited_path(case, world):
    query = _raise(case, world)
    with pytest.raises(ValidationFailed):
        sq.answer_query(query, reply="", outcome="changed", position=1, score="6",
                        actor=world.a_admin, now=SOON)
    with pytest.raises(ValidationFailed):
        sq.answer_query(query, reply="同意", outcome="changed", position=1, score="0",
                        actor=world.a_admin, now=SOON)  # the same mark as before
    sq.answer_query(query, reply="题目有歧义，给分", outcome="changed", position=1, score="6",
                    actor=world.a_admin, now=SOON)
    attempt = case["attempt"]
    assert query.status == "changed" and query.reply == "题目有歧义，给分"
    assert attempt.score == Decimal("14.0") and attempt.passed is True
    override = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.item_override")).scalar_one()
    details = json.loads(override.data)
    assert details["reason"] == "题目有歧义，给分"
    assert details["before"]["attempt"]["passed"] is False
    assert details["after"]["attempt"]["passed"] is True
    with pytest.raises(InvalidState):
        sq.answer_query(query, reply="再答", outcome="upheld", actor=world.a_admin, now=SOON)


def test_changed_short_answer_is_re_marked(case, world):
    query = _raise(case, world, position=3, message="简答题要点都答到了")
    sq.answer_query(query, reply="复核后加1分", outcome="changed", position=3, score="5",
                    actor=world.a_admin, now=SOON)
    assert case["attempt"].items[2].score == Decimal("5.0")
    remark = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.item_remark")).scalar_one()
    assert json.loads(remark.data)["reason"] == "复核后加1分"


def test_candidate_and_organiser_pages(case, client, world):
    attempt = case["attempt"]
    attempt.submitted_at = attempt.marked_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    client.login("13800000001")
    review = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "申请复核" in review
    resp = client.post(f"/exams/attempts/{attempt.id}/query",
                       {"position": "1", "message": "<b>第1题</b>应为B"})
    assert resp.status_code == 302
    review = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "待答复" in review and "&lt;b&gt;第1题&lt;/b&gt;应为B" in review
    assert "申请复核</button>" not in review
    client.logout()
    query = db.session.execute(select(ScoreQuery)).scalar_one()
    client.login("a_hr")
    assert client.get("/exams/score-queries").status_code == 403
    client.logout()
    client.login("b_admin")
    assert client.get(f"/exams/score-queries/{query.id}").status_code == 404
    assert "第1题" not in client.get("/exams/score-queries").get_data(as_text=True)
    client.logout()
    client.login("a_admin")
    listing = client.get("/exams/score-queries").get_data(as_text=True)
    assert f"/exams/score-queries/{query.id}" in listing
    page = client.get(f"/exams/score-queries/{query.id}").get_data(as_text=True)
    assert "&lt;b&gt;第1题&lt;/b&gt;应为B" in page
    resp = client.post(f"/exams/score-queries/{query.id}",
                       {"reply": "经复核，给分", "outcome": "changed", "position": "1",
                        "score": "abc"})
    assert "得分应为数字" in resp.get_data(as_text=True)
    resp = client.post(f"/exams/score-queries/{query.id}",
                       {"reply": "经复核，给分", "outcome": "changed", "position": "1",
                        "score": "6"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).passed is True
    client.logout()
    client.login("13800000001")
    review = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "已更改成绩" in review and "经复核，给分" in review


def test_someone_elses_attempt_is_404(case, client, world):
    person, user = candidate(world.village_a, "别人")
    other = finished(case["exam"], person, user.id, {1: [0]})
    db.session.commit()
    client.login("13800000001")
    assert client.post(f"/exams/attempts/{other.id}/query",
                       {"message": "请复核"}).status_code == 404
