"""The candidate's attempt API over HTTP: start, state, autosave, submit — refusals, forged
timing fields (R22), keys never in the JSON (R25), 503 on database failure (P5)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.exams.models import Attempt, AttemptItem
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question


def _exam(world, n: int = 3, **settings):
    bank = make_bank(world.county_a)
    questions = [make_question(bank) for _ in range(n)]
    exam = make_exam(world.county_a, questions, **settings)
    db.session.commit()
    return exam


@pytest.fixture
def trainee(client, world):
    assert client.login("13800000001").status_code == 302
    return client


def _start(client, exam, **form):
    resp = client.post(f"/exams/{exam.id}/start", form)
    assert resp.status_code == 302
    return resp


def _attempt(exam) -> Attempt:
    return db.session.execute(select(Attempt).where(Attempt.exam_id == exam.id)
                              .execution_options(populate_existing=True)).scalar_one()


def _json_post(client, url: str, body, *, csrf: bool = True):
    headers = {"X-CSRFToken": client.csrf()} if csrf else {}
    client._fresh_g()
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.http.post(url, data=data, headers=headers, content_type="application/json")


def _save(client, attempt_id: int, answers, **extra):
    return _json_post(client, f"/exams/attempts/{attempt_id}/save", {"answers": answers, **extra})


def _submit(client, attempt_id: int):
    return _json_post(client, f"/exams/attempts/{attempt_id}/submit", {})


def _state(client, attempt_id: int) -> dict:
    resp = client.get(f"/exams/attempts/{attempt_id}/state")
    assert resp.status_code == 200
    return resp.get_json()


# ---------------------------------------------------------------- start

def test_start_opens_the_attempt_page(trainee, world):
    exam = _exam(world)
    resp = _start(trainee, exam)
    attempt = _attempt(exam)
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}")
    again = _start(trainee, exam)  # a double click: the same attempt
    assert again.headers["Location"] == resp.headers["Location"]
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 1


def test_start_refusal_goes_back_to_the_intro_with_the_reason(trainee, world):
    exam = _exam(world, passcode="2468")
    resp = _start(trainee, exam, passcode="1357")
    assert resp.headers["Location"].endswith(f"/exams/{exam.id}")
    page = trainee.get(resp.headers["Location"]).get_data(as_text=True)
    assert "考场口令不正确" in page
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0
    _start(trainee, exam, passcode="2468")
    assert _attempt(exam).state == "in_progress"


def test_forged_timing_fields_are_ignored(trainee, world):
    exam = _exam(world, time_limit_minutes=30)
    before = utcnow()
    _start(trainee, exam, started_at="2030-01-01T00:00:00", begin="99999999999",
           deadline="2030-01-01T00:00:00", time_limit_minutes="600")
    attempt = _attempt(exam)
    assert before <= attempt.started_at <= utcnow()
    assert attempt.deadline == attempt.started_at + timedelta(minutes=30)
    resp = _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": [0],
                                        "started_at": "2030-01-01T00:00:00"}],
                 deadline="2030-01-01T00:00:00", remaining_seconds=99999, begin=1)
    assert resp.status_code == 200 and resp.get_json()["remaining_seconds"] <= 30 * 60
    assert _attempt(exam).deadline == attempt.deadline


def test_someone_elses_attempt_is_not_found(trainee, world):
    exam = _exam(world)
    other = make_attempt(exam, world.person_b, world.b_admin.id)
    db.session.commit()
    assert trainee.get(f"/exams/attempts/{other.id}/state").status_code == 404
    assert _save(trainee, other.id, [{"position": 1, "seq": 1, "response": [0]}]).status_code \
        == 404
    assert _submit(trainee, other.id).status_code == 404


# ---------------------------------------------------------------- state and save

def test_state_and_save(trainee, world):
    exam = _exam(world, time_limit_minutes=45)
    _start(trainee, exam)
    attempt = _attempt(exam)
    state = _state(trainee, attempt.id)
    assert state["state"] == "in_progress" and state["last_seq"] == 0
    assert 44 * 60 <= state["remaining_seconds"] <= 45 * 60
    assert state["items"] == [{"position": p, "response": None, "flagged": False}
                              for p in (1, 2, 3)]
    resp = _save(trainee, attempt.id, [{"position": 2, "seq": 1, "response": [3]},
                                       {"position": 3, "seq": 2, "response": None,
                                        "flagged": True}])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["saved"] == [2, 3] and body["last_seq"] == 2
    assert 0 < body["remaining_seconds"] <= 45 * 60 and body["saved_at"]
    state = _state(trainee, attempt.id)
    assert state["last_seq"] == 2
    assert state["items"][1:] == [{"position": 2, "response": [3], "flagged": False},
                                  {"position": 3, "response": None, "flagged": True}]


def test_out_of_order_saves_over_http(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    assert _save(trainee, attempt.id, [{"position": 1, "seq": 5, "response": [2]}]).status_code \
        == 200
    late = _save(trainee, attempt.id, [{"position": 1, "seq": 4, "response": [1]}])
    assert late.status_code == 200 and late.get_json()["last_seq"] == 5
    assert _state(trainee, attempt.id)["items"][0]["response"] == [2]


@pytest.mark.parametrize("body", [
    "not json", "[]", '{"answers": {}}', '{"answers": "x"}', '{"x": []}',
    '{"answers": [{"position": 1, "seq": 1, "response": [9]}]}',
    '{"answers": [{"position": 1, "seq": "1", "response": [0]}]}',
])
def test_malformed_saves_are_400(trainee, world, body):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    resp = _json_post(trainee, f"/exams/attempts/{attempt.id}/save", body)
    assert resp.status_code == 400 and resp.get_json()["error"]
    assert all(i["response"] is None for i in _state(trainee, attempt.id)["items"])


def test_save_without_csrf_is_refused(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    resp = _json_post(trainee, f"/exams/attempts/{attempt.id}/save",
                      {"answers": [{"position": 1, "seq": 1, "response": [0]}]}, csrf=False)
    assert resp.status_code == 400
    assert _state(trainee, attempt.id)["items"][0]["response"] is None


def test_save_after_submit_is_409(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    assert _submit(trainee, attempt.id).status_code == 200
    resp = _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": [0]}])
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["state"] == "submitted" and body["error"]
    assert body["review_url"].endswith(f"/exams/attempts/{attempt.id}/review")


def test_save_after_deadline_and_grace_is_409_and_finalises(trainee, world):
    exam = _exam(world, time_limit_minutes=30)
    _start(trainee, exam)
    attempt = _attempt(exam)
    _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": [0]}])
    attempt.deadline = utcnow() - timedelta(seconds=exam.grace_seconds + 1)
    db.session.commit()
    resp = _save(trainee, attempt.id, [{"position": 2, "seq": 2, "response": [0]}])
    assert resp.status_code == 409 and resp.get_json()["state"] == "auto_submitted"
    done = _attempt(exam)
    assert done.state == "auto_submitted" and str(done.score) == "1.0"
    assert _state(trainee, attempt.id)["items"][1]["response"] is None


def test_save_within_the_grace_is_accepted(trainee, world):
    exam = _exam(world, time_limit_minutes=30)
    _start(trainee, exam)
    attempt = _attempt(exam)
    attempt.deadline = utcnow() - timedelta(seconds=exam.grace_seconds - 5)
    db.session.commit()
    resp = _save(trainee, attempt.id, [{"position": 2, "seq": 2, "response": [0]}])
    assert resp.status_code == 200 and resp.get_json()["remaining_seconds"] == 0


def test_state_finalises_an_overdue_attempt(trainee, world):
    exam = _exam(world, time_limit_minutes=30)
    _start(trainee, exam)
    attempt = _attempt(exam)
    attempt.deadline = utcnow() - timedelta(minutes=5)
    db.session.commit()
    state = _state(trainee, attempt.id)
    assert state["state"] == "auto_submitted" and state["remaining_seconds"] == 0
    assert state["review_url"].endswith("/review")


# ---------------------------------------------------------------- submit

def test_submit_json_is_idempotent(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": [0]}])
    first = _submit(trainee, attempt.id)
    second = _submit(trainee, attempt.id)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert first.get_json()["state"] == "submitted"
    assert first.get_json()["review_url"].endswith(f"/exams/attempts/{attempt.id}/review")
    assert db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exam.attempt_submitted")).scalar_one() == 1
    assert str(_attempt(exam).score) == "1.0"


def test_submit_form_redirects_to_the_review(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    resp = trainee.post(f"/exams/attempts/{attempt.id}/submit")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}/review")
    assert _attempt(exam).state == "submitted"


def test_submitting_an_abandoned_attempt_is_409(trainee, world):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    attempt.state = "abandoned"
    db.session.commit()
    resp = _submit(trainee, attempt.id)
    assert resp.status_code == 409 and resp.get_json()["state"] == "abandoned"


# ---------------------------------------------------------------- database failure (P5)

class FailOn:
    """Make every statement starting with *prefix* fail like a locked or lost database."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.upper()

    def __call__(self, conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        if statement.lstrip().upper().startswith(self.prefix):
            raise OperationalError(statement, {}, Exception("database is locked"))

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):  # noqa: ANN002
        event.remove(db.engine, "before_cursor_execute", self)


@pytest.mark.parametrize("prefix", ["UPDATE attempt_item", "UPDATE exam_attempt"])
def test_save_database_failure_is_503_and_nothing_is_stored(trainee, world, prefix):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    answers = [{"position": 1, "seq": 1, "response": [0]}, {"position": 2, "seq": 2,
                                                           "response": [1]}]
    with FailOn(prefix):
        resp = _save(trainee, attempt.id, answers)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]
    state = _state(trainee, attempt.id)
    assert state["last_seq"] == 0 and all(i["response"] is None for i in state["items"])
    assert _save(trainee, attempt.id, answers).status_code == 200
    assert [i["response"] for i in _state(trainee, attempt.id)["items"]] == [[0], [1], None]


@pytest.mark.parametrize("prefix", ["UPDATE exam_attempt", "UPDATE attempt_item",
                                    "INSERT INTO audit_entry"])
def test_submit_database_failure_leaves_nothing_partial(trainee, world, prefix):
    exam = _exam(world)
    _start(trainee, exam)
    attempt = _attempt(exam)
    _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": [0]}])
    with FailOn(prefix):
        resp = _submit(trainee, attempt.id)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "2"
    still = _attempt(exam)
    assert still.state == "in_progress" and still.score is None and still.submitted_at is None
    scores = db.session.execute(select(AttemptItem.score, AttemptItem.response)
                                .where(AttemptItem.attempt_id == attempt.id)
                                .order_by(AttemptItem.position)).all()
    assert [tuple(r) for r in scores] == [(None, [0]), (None, None), (None, None)]
    assert _submit(trainee, attempt.id).get_json()["state"] == "submitted"
    assert _submit(trainee, attempt.id).status_code == 200
    assert db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exam.attempt_submitted")).scalar_one() == 1


# ---------------------------------------------------------------- no keys in the JSON (R25)

def test_state_json_holds_no_key_or_explanation(trainee, world):
    bank = make_bank(world.county_a)
    questions = [
        make_question(bank, type="fill_blank", stem="{{7*7}} 低保由县级____审批",
                      answer=[["钥匙文字甲乙丙"]], explanation="解析文字丁戊己"),
        make_question(bank, type="short_answer", reference_answer="参考答案庚辛壬"),
        make_question(bank, type="single_choice", options=["选项一", "选项二"], answer=[1],
                      explanation="解析文字癸子丑"),
    ]
    exam = make_exam(world.county_a, questions, shuffle_options=True)
    db.session.commit()
    _start(trainee, exam)
    attempt = _attempt(exam)
    _save(trainee, attempt.id, [{"position": 1, "seq": 1, "response": ["县民政局"]}])
    raw = trainee.get(f"/exams/attempts/{attempt.id}/state").get_data(as_text=True)
    page = trainee.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    for secret in ("钥匙文字甲乙丙", "解析文字丁戊己", "参考答案庚辛壬", "解析文字癸子丑"):
        assert secret not in raw and secret not in page
    assert '"answer"' not in raw and '"score"' not in raw and '"option_order"' not in raw
    assert "{{7*7}}" in page and "49" not in page.split("{{7*7}}")[1][:20]
