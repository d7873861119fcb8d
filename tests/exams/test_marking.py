"""Marking short answers: partial marks, bounds, re-marking with a reason, audit before/after,
the queue (oldest first, fixed query count) and the marking page."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.exams import marking
from lms.exams.models import Attempt
from lms.extensions import db
from tests.exams.factories import make_bank, make_exam, make_question
from tests.exams.marking_factories import T0, candidate, finished
from tests.querycount import count_queries

NOW = T0 + timedelta(hours=2)


def _exam(world):
    bank = make_bank(world.county_a)
    questions = [
        make_question(bank, points="2"),
        make_question(bank, type="short_answer", points="10", stem="简述低保申请流程。",
                      reference_answer="申请、审核、确认"),
        make_question(bank, type="short_answer", points="5", stem="简述临时救助对象。"),
    ]
    return make_exam(world.county_a, questions, pass_score=Decimal("10"))


def _attempt(world, exam, name="张一", submitted=T0, text="先申请<script>alert(1)</script>"):
    person, user = candidate(world.village_a, name)
    return finished(exam, person, user.id, {1: [0], 2: text, 3: "临时遇困家庭"},
                    submitted_at=submitted)


def _audits(action):
    return db.session.execute(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).scalars().all()


def test_partial_marks_total_and_marked_at(app, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    assert attempt.needs_marking and attempt.score == Decimal("2.0") and attempt.passed is None
    short = marking.short_items(attempt)
    marking.mark_item(short[0], "7.5", "要点基本齐全", actor=world.a_admin, now=NOW)
    assert short[0].score == Decimal("7.5") and short[0].marked_by_id == world.a_admin.id
    assert attempt.needs_marking and attempt.marked_at is None
    marking.mark_item(short[1], Decimal("0.5"), "", actor=world.a_admin, now=NOW)
    assert attempt.score == Decimal("10.0") and attempt.passed is True
    assert not attempt.needs_marking and attempt.marked_at == NOW
    entry = _audits("exam.item_mark")[0]
    details = json.loads(entry.data)
    assert details["before"]["item"]["score"] is None
    assert details["after"]["item"] == {"score": "7.5", "comment": "要点基本齐全"}
    assert details["after"]["attempt"]["score"] == "9.5"
    assert entry.actor_id == world.a_admin.id


@pytest.mark.parametrize("bad", ["-1", "10.1", "3.25", "abc", "", "NaN", "Infinity", None, True])
def test_marks_out_of_bounds_are_refused(app, world, bad):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    item = marking.short_items(attempt)[0]
    with pytest.raises(ValidationFailed):
        marking.mark_item(item, bad, "", actor=world.a_admin, now=NOW)
    assert item.score is None and _audits("exam.item_mark") == []


def test_boundaries_are_accepted(app, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    first, second = marking.short_items(attempt)
    marking.mark_item(first, "10", "", actor=world.a_admin, now=NOW)
    marking.mark_item(second, "0", "", actor=world.a_admin, now=NOW)
    assert (first.score, second.score) == (Decimal("10.0"), Decimal("0.0"))


def test_changing_a_mark_needs_a_reason_and_is_audited(app, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    first, second = marking.short_items(attempt)
    marking.mark_item(first, "6", "", actor=world.a_admin, now=NOW)
    marking.mark_item(second, "1", "", actor=world.a_admin, now=NOW)
    assert attempt.passed is False
    with pytest.raises(ValidationFailed) as exc:
        marking.mark_item(first, "8", "", actor=world.a_admin, now=NOW)
    assert exc.value.field == "reason"
    marking.mark_item(first, "8", "", actor=world.a_admin, now=NOW, reason="漏看第二个要点")
    assert attempt.score == Decimal("11.0") and attempt.passed is True
    entry = _audits("exam.item_remark")[0]
    details = json.loads(entry.data)
    assert details["reason"] == "漏看第二个要点"
    assert details["before"]["attempt"] == {"score": "9.0", "passed": False,
                                            "needs_marking": False}
    assert details["after"]["attempt"] == {"score": "11.0", "passed": True,
                                           "needs_marking": False}
    # The same mark again is no change and needs no reason.
    marking.mark_item(first, "8.0", "", actor=world.a_admin, now=NOW)
    assert len(_audits("exam.item_remark")) == 1


def test_objective_items_and_unfinished_attempts_and_other_counties(app, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    objective = attempt.items[0]
    with pytest.raises(InvalidState):
        marking.mark_item(objective, "1", "", actor=world.a_admin, now=NOW)
    with pytest.raises(ValidationFailed):
        marking.override_mark(objective, "1", reason="", actor=world.a_admin, now=NOW)
    marking.override_mark(objective, "1", reason="选项表述有歧义", actor=world.a_admin, now=NOW)
    assert objective.score == Decimal("1.0") and attempt.score == Decimal("1.0")
    assert json.loads(_audits("exam.item_override")[0].data)["before"]["item"]["score"] == "2.0"
    with pytest.raises(NotAllowed):
        marking.mark_item(marking.short_items(attempt)[0], "1", "", actor=world.b_admin,
                          now=NOW)
    attempt.state, attempt.submitted_at = "in_progress", None
    with pytest.raises(InvalidState):
        marking.mark_item(marking.short_items(attempt)[0], "1", "", actor=world.a_admin,
                          now=NOW)


def test_queue_is_oldest_first_and_only_attempts_waiting(app, world):
    exam = _exam(world)
    late = _attempt(world, exam, "晚交", submitted=T0 + timedelta(minutes=5))
    early = _attempt(world, exam, "早交", submitted=T0)
    done = _attempt(world, exam, "已阅", submitted=T0 - timedelta(minutes=5))
    for item in marking.short_items(done):
        marking.mark_item(item, "1", "", actor=world.a_admin, now=NOW)
    rows = marking.marking_queue(exam)
    assert [r.attempt.id for r in rows] == [early.id, late.id]
    assert rows[0].waiting == 2 and marking.queue_count(exam) == 2
    assert marking.next_in_queue(exam, early).id == late.id


def _page_count(client, url):
    db.session.expire_all()
    with count_queries() as c:
        resp = client.get(url)
    assert resp.status_code == 200
    return c.count


def test_queue_page_query_count_does_not_grow(app, client, world):
    exam = _exam(world)
    for i in range(3):
        _attempt(world, exam, f"甲{i}")
    db.session.commit()
    client.login("a_admin")
    url = f"/exams/{exam.id}/marking"
    few = _page_count(client, url)
    for i in range(27):
        _attempt(world, exam, f"乙{i}")
    db.session.commit()
    assert _page_count(client, url) == few
    assert client.get(url).get_data(as_text=True).count("评分</a>") == 30


def test_marking_page_shows_text_escaped_and_saves(app, client, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    first, second = marking.short_items(attempt)
    db.session.commit()
    client.login("a_admin")
    html = client.get(f"/exams/marking/attempts/{attempt.id}").get_data(as_text=True)
    assert "先申请&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "申请、审核、确认" in html
    resp = client.post(f"/exams/marking/attempts/{attempt.id}",
                       {f"score-{first.id}": "12", f"score-{second.id}": "3"})
    assert resp.status_code == 200 and "得分应在 0 到 10.0 分之间。" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).items[2].score is None  # nothing saved
    resp = client.post(f"/exams/marking/attempts/{attempt.id}",
                       {f"score-{first.id}": "9.5", f"comment-{first.id}": "很好",
                        f"score-{second.id}": "3"})
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Attempt, attempt.id)
    assert saved.score == Decimal("14.5") and saved.passed is True and not saved.needs_marking


def test_hr_cannot_mark_and_county_b_gets_404(app, client, world):
    exam = _exam(world)
    attempt = _attempt(world, exam)
    db.session.commit()
    client.login("a_hr")
    assert client.get(f"/exams/{exam.id}/marking").status_code == 403
    assert client.get(f"/exams/marking/attempts/{attempt.id}").status_code == 403
    client.logout()
    client.login("b_admin")
    assert client.get(f"/exams/{exam.id}/marking").status_code == 404
    assert client.post(f"/exams/marking/attempts/{attempt.id}", {}).status_code == 404
