"""The attempt engine as services: the server-fixed deadline (R22), saves and their boundaries
(R23), the state machine and attempt limit (R24), exactly-once submission, the sweeper, and
statement counts that do not grow with the paper."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.exams import attempts as engine
from lms.exams.attempt_errors import AttemptRefused
from lms.exams.candidate_view import candidate_paper
from lms.exams.models import Attempt, AttemptItem, ExamOverride
from lms.extensions import db
from tests.exams.factories import at, make_bank, make_exam, make_question
from tests.querycount import count_queries

NOW = at(2026, 3, 2, 1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


def _exam(world, n: int = 3, **settings):
    bank = make_bank(world.county_a)
    questions = [make_question(bank) for _ in range(n)]
    settings.setdefault("opens_at", NOW - timedelta(days=1))
    settings.setdefault("closes_at", NOW + timedelta(days=7))
    return make_exam(world.county_a, questions, **settings)


def _start(exam, world, now=NOW, **kw):
    attempt = engine.start_attempt(exam, world.trainee, now=now, **kw)
    db.session.commit()
    return attempt


def _audit_count(action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == action)).scalar_one()


def _responses(attempt) -> dict[int, object]:
    rows = db.session.execute(select(AttemptItem.position, AttemptItem.response)
                              .where(AttemptItem.attempt_id == attempt.id)).all()
    return dict(rows)


# ---------------------------------------------------------------- deadline (R22)

# (time limit, extra minutes for the person, window close after the start, expected end)
DEADLINES = [
    (60, 0, timedelta(days=7), 60 * M),
    (60, 0, 30 * M, 30 * M),                  # the window closes before the limit
    (60, 0, None, 60 * M),                    # no close
    (None, 0, 2 * 60 * M, 2 * 60 * M),        # no limit: the close ends it
    (None, 0, None, None),                    # neither: no deadline
    (60, 15, timedelta(days=7), 75 * M),      # extra time lengthens the limit
    (60, 15, 70 * M, 70 * M),                 # ... but never moves the close
    (60, 15, None, 75 * M),
    (None, 30, 2 * 60 * M, 2 * 60 * M),       # extra time without a limit changes nothing
    (None, 30, None, None),
    (150, 0, timedelta(days=7), 150 * M),
    (150, 30, 180 * M, 180 * M),
    (1, 0, timedelta(days=7), 1 * M),
    (60, 0, 60 * M, 60 * M),                  # limit and close at the same instant
    (60, 0, 59 * M, 59 * M),
    (90, 600, None, 690 * M),
    (45, 5, 50 * M, 50 * M),
    (45, 5, 49 * M, 49 * M),
    (120, 0, 1 * M, 1 * M),
    (None, 0, 1 * M, 1 * M),
]


@pytest.mark.parametrize(("limit", "extra", "close", "expected"), DEADLINES)
def test_deadline_is_fixed_by_the_server_at_start(world, limit, extra, close, expected):
    exam = _exam(world, time_limit_minutes=limit,
                 closes_at=NOW + close if close is not None else None)
    if extra:
        db.session.add(ExamOverride(exam_id=exam.id, person_id=world.person_a.id,
                                    extra_minutes=extra, reason="视力障碍"))
    db.session.commit()
    attempt = _start(exam, world)
    assert attempt.started_at == NOW
    assert attempt.deadline == (NOW + expected if expected is not None else None)


def test_group_extra_time_applies_to_the_units_subtree(world):
    exam = _exam(world, time_limit_minutes=60)
    db.session.add(ExamOverride(exam_id=exam.id, group_unit_id=world.town_a.id,
                                extra_minutes=20, reason="网络较差的乡镇"))
    db.session.commit()
    assert _start(exam, world).deadline == NOW + 80 * M


def test_remaining_seconds_counts_down_from_the_server_deadline(world):
    attempt = _start(_exam(world, time_limit_minutes=60), world)
    assert engine.remaining_seconds(attempt, NOW) == 3600
    assert engine.remaining_seconds(attempt, NOW + 59 * M + 30 * S) == 30
    assert engine.remaining_seconds(attempt, NOW + 2 * 60 * M) == 0
    no_limit = _start(_exam(world, time_limit_minutes=None, closes_at=None), world)
    assert engine.remaining_seconds(no_limit, NOW) is None


# ---------------------------------------------------------------- start

def test_start_draws_the_paper_and_is_audited(world):
    exam = _exam(world, n=4, shuffle_questions=True, shuffle_options=True)
    db.session.commit()
    attempt = _start(exam, world)
    assert attempt.state == "in_progress" and attempt.number == 1
    assert attempt.person_id == world.person_a.id
    assert attempt.candidate_unit_id == world.village_a.id
    assert attempt.org_unit_id == exam.org_unit_id
    assert attempt.max_score == Decimal("4.0") and len(attempt.submit_token) == 32
    items = db.session.execute(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                               .order_by(AttemptItem.position)).scalars().all()
    assert [i.position for i in items] == [1, 2, 3, 4]
    assert {i.question_id for i in items} == {p.question_id for p in exam.items}
    assert all(sorted(i.option_order) == [0, 1, 2, 3] for i in items)
    assert _audit_count("exam.attempt_started") == 1


def test_start_is_idempotent_while_an_attempt_is_open(world):
    exam = _exam(world)
    db.session.commit()
    first = _start(exam, world)
    again = _start(exam, world, now=NOW + 5 * M)
    assert again.id == first.id and again.started_at == NOW
    assert _audit_count("exam.attempt_started") == 1


def test_an_overdue_open_attempt_is_finalised_before_a_new_start(world):
    exam = _exam(world, time_limit_minutes=10, attempts_allowed=2)
    db.session.commit()
    first = _start(exam, world)
    second = _start(exam, world, now=NOW + 12 * M)
    assert second.id != first.id and second.number == 2
    assert db.session.get(Attempt, first.id).state == "auto_submitted"


@pytest.mark.parametrize(("settings", "message"), [
    ({"status": "draft"}, "考生范围"),
    ({"opens_at": NOW + M}, "还没有开始"),
    ({"closes_at": NOW}, "已经结束"),
    ({"closes_at": NOW - M}, "已经结束"),
])
def test_start_refused_outside_the_window_or_unpublished(world, settings, message):
    exam = _exam(world, **settings)
    db.session.commit()
    with pytest.raises(AttemptRefused) as exc:
        engine.start_attempt(exam, world.trainee, now=NOW)
    assert exc.value.status == 403 and message in str(exc.value)
    db.session.rollback()
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0


def test_start_refused_outside_the_audience(world):
    exam = make_exam(world.county_b, [make_question(make_bank(world.county_b))],
                     opens_at=NOW - M, closes_at=NOW + 60 * M)
    db.session.commit()
    with pytest.raises(AttemptRefused) as exc:
        engine.start_attempt(exam, world.trainee, now=NOW)
    assert exc.value.status == 403


def test_room_passcode(world):
    exam = _exam(world, passcode="8341")
    db.session.commit()
    for wrong in (None, "", "8342", "83411"):
        with pytest.raises(AttemptRefused) as exc:
            engine.start_attempt(exam, world.trainee, now=NOW, passcode=wrong)
        assert exc.value.status == 403 and "口令" in str(exc.value)
    assert _start(exam, world, passcode=" 8341 ").state == "in_progress"


@pytest.mark.parametrize("allowed", [1, 2])
def test_attempt_limit(world, allowed):
    exam = _exam(world, attempts_allowed=allowed)
    db.session.commit()
    for n in range(allowed):
        attempt = _start(exam, world, now=NOW + n * M)
        engine.submit_attempt(attempt, now=NOW + n * M + S)
        db.session.commit()
    with pytest.raises(AttemptRefused) as exc:
        engine.start_attempt(exam, world.trainee, now=NOW + 10 * M)
    assert exc.value.status == 403 and "次作答机会" in str(exc.value)


def test_unlimited_attempts(world):
    exam = _exam(world, attempts_allowed=0)
    db.session.commit()
    for n in range(4):
        attempt = _start(exam, world, now=NOW + n * M)
        assert attempt.number == n + 1
        engine.submit_attempt(attempt, now=NOW + n * M + S)
        db.session.commit()


# ---------------------------------------------------------------- save (R23, R24)

def _save(attempt, world, answers, now):
    result = engine.save_answers(attempt, world.trainee, answers, now=now)
    db.session.commit()
    return result


def test_save_stores_answers_and_the_sequence(world):
    attempt = _start(_exam(world), world)
    result = _save(attempt, world, [{"position": 1, "seq": 1, "response": [2]},
                                    {"position": 2, "seq": 2, "response": [1], "flagged": True}],
                   NOW + M)
    assert result.saved == [1, 2] and result.last_seq == 2
    assert result.remaining_seconds == 59 * 60
    assert _responses(attempt) == {1: [2], 2: [1], 3: None}
    db.session.refresh(attempt)
    assert attempt.last_seq == 2 and attempt.last_saved_at == NOW + M
    assert [i.flagged for i in candidate_paper(attempt)] == [False, True, False]


def test_out_of_order_saves_keep_the_newest(world):
    attempt = _start(_exam(world), world)
    _save(attempt, world, [{"position": 1, "seq": 5, "response": [3]}], NOW + M)
    result = _save(attempt, world, [{"position": 1, "seq": 4, "response": [0]}], NOW + 2 * M)
    assert result.saved == [1] and result.last_seq == 5
    assert _responses(attempt)[1] == [3]
    _save(attempt, world, [{"position": 1, "seq": 5, "response": [1]}], NOW + 3 * M)
    assert _responses(attempt)[1] == [3]  # the same sequence number again: a retry, no change
    _save(attempt, world, [{"position": 1, "seq": 6, "response": None}], NOW + 4 * M)
    assert _responses(attempt)[1] is None


def test_a_flag_alone_keeps_the_answer(world):
    attempt = _start(_exam(world), world)
    _save(attempt, world, [{"position": 1, "seq": 1, "response": [1]}], NOW + M)
    _save(attempt, world, [{"position": 1, "seq": 2, "response": [1], "flagged": True}], NOW + M)
    _save(attempt, world, [{"position": 1, "seq": 3, "response": [1]}], NOW + M)
    item = candidate_paper(attempt)[0]
    assert item.response == [1] and item.flagged is True


@pytest.mark.parametrize(("offset", "accepted"), [
    (-S, True), (timedelta(0), True), (60 * S - S, True), (60 * S, True), (60 * S + S, False),
])
def test_save_at_the_deadline_and_grace_boundary(world, offset, accepted):
    attempt = _start(_exam(world, time_limit_minutes=30, grace_seconds=60), world)
    when = attempt.deadline + offset
    answers = [{"position": 1, "seq": 1, "response": [1]}]
    if accepted:
        assert _save(attempt, world, answers, when).saved == [1]
        return
    with pytest.raises(AttemptRefused) as exc:
        engine.save_answers(attempt, world.trainee, answers, now=when)
    assert exc.value.status == 409 and exc.value.state == "in_progress"
    db.session.rollback()
    assert _responses(attempt)[1] is None


def test_no_answers_after_submit(world):
    attempt = _start(_exam(world), world)
    engine.submit_attempt(attempt, now=NOW + M)
    db.session.commit()
    with pytest.raises(AttemptRefused) as exc:
        engine.save_answers(attempt, world.trainee, [{"position": 1, "seq": 9, "response": [1]}],
                            now=NOW + 2 * M)
    assert exc.value.status == 409 and exc.value.state == "submitted"


MIXED = ["single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer"]


def _mixed_exam(world, repeat: int = 1):
    bank = make_bank(world.county_a)
    questions = [make_question(bank, type=t, points="2") for _ in range(repeat) for t in MIXED]
    exam = make_exam(world.county_a, questions, opens_at=NOW - M, closes_at=NOW + 600 * M)
    db.session.commit()
    return exam


@pytest.mark.parametrize(("position", "response"), [
    (1, [0, 1]),            # single choice: one answer at most
    (1, [4]),               # no such option
    (1, [-1]),
    (1, ["0"]),
    (1, [True]),
    (1, 0),
    (2, [1, 1]),            # the same option twice
    (3, "对"),              # true/false is a boolean
    (3, 1),
    (4, "民政局"),           # fill-in: a list, one string per blank
    (4, ["民政局", "多余"]),
    (4, ["x" * 501]),
    (4, [1]),
    (5, ["答案"]),           # short answer: a string
    (5, "x" * 10_001),
    (5, "含\x00空字符"),
    (9, [0]),               # no such question
])
def test_malformed_answers_are_refused_and_nothing_is_stored(world, position, response):
    attempt = _start(_mixed_exam(world), world)
    answers = [{"position": 3, "seq": 1, "response": True},
               {"position": position, "seq": 2, "response": response}]
    with pytest.raises(AttemptRefused) as exc:
        engine.save_answers(attempt, world.trainee, answers, now=NOW + M)
    assert exc.value.status == 400
    db.session.rollback()
    assert set(_responses(attempt).values()) == {None}


@pytest.mark.parametrize("answers", [
    None, {}, "x", [1], [{"position": "1", "seq": 1}], [{"position": 1, "seq": 0}],
    [{"position": 1, "seq": 2**31}], [{"position": 1, "seq": True}],
    [{"position": 1, "seq": 1, "response": [0], "flagged": "yes"}],
    [{"position": 0, "seq": 1}], [{"position": 1, "seq": 1}] * 501,
])
def test_malformed_requests_are_refused(world, answers):
    attempt = _start(_mixed_exam(world), world)
    with pytest.raises(AttemptRefused) as exc:
        engine.save_answers(attempt, world.trainee, answers, now=NOW + M)
    assert exc.value.status == 400


def test_every_type_saves_in_shown_positions_and_is_marked_at_submit(world):
    attempt = _start(_mixed_exam(world), world)
    _save(attempt, world, [
        {"position": 1, "seq": 1, "response": [0]},
        {"position": 2, "seq": 2, "response": [2, 0]},
        {"position": 3, "seq": 3, "response": True},
        {"position": 4, "seq": 4, "response": ["  民政部门 "]},
        {"position": 5, "seq": 5, "response": "按规定审核"},
    ], NOW + M)
    assert _responses(attempt) == {1: [0], 2: [0, 2], 3: True, 4: ["  民政部门 "],
                                   5: "按规定审核"}
    done = engine.submit_attempt(attempt, now=NOW + 2 * M, actor=world.trainee)
    db.session.commit()
    assert done.state == "submitted" and done.score == Decimal("8.0")
    assert done.needs_marking is True and done.passed is None


# ---------------------------------------------------------------- submit (P4)

def test_submit_is_exactly_once(world):
    attempt = _start(_exam(world), world)
    _save(attempt, world, [{"position": 1, "seq": 1, "response": [0]}], NOW + M)
    first = engine.submit_attempt(attempt, now=NOW + 2 * M, actor=world.trainee)
    db.session.commit()
    again = engine.submit_attempt(attempt, now=NOW + 3 * M, actor=world.trainee)
    db.session.commit()
    assert first.state == again.state == "submitted"
    assert again.submitted_at == NOW + 2 * M and again.score == Decimal("1.0")
    assert _audit_count("exam.attempt_submitted") == 1


def test_a_late_submit_is_the_automatic_submission_of_what_was_saved(world):
    attempt = _start(_exam(world, time_limit_minutes=10), world)
    _save(attempt, world, [{"position": 1, "seq": 1, "response": [0]}], NOW + M)
    done = engine.submit_attempt(attempt, now=NOW + 12 * M, actor=world.trainee)
    db.session.commit()
    assert done.state == "auto_submitted" and done.score == Decimal("1.0")
    assert _audit_count("exam.attempt_auto_submitted") == 1


def test_an_abandoned_attempt_cannot_be_submitted(world):
    attempt = _start(_exam(world), world)
    attempt.state = "abandoned"
    db.session.commit()
    with pytest.raises(AttemptRefused) as exc:
        engine.submit_attempt(attempt, now=NOW + M)
    assert exc.value.status == 409


# ---------------------------------------------------------------- sweeper and touch (R23)

def test_sweeper_finalises_overdue_attempts_once(world):
    exam = _exam(world, time_limit_minutes=10, grace_seconds=60)
    db.session.commit()
    attempt = _start(exam, world)
    _save(attempt, world, [{"position": 2, "seq": 1, "response": [0]}], NOW + M)
    assert engine.finalise_overdue(NOW + 11 * M) == 0  # within the grace
    db.session.commit()
    assert engine.finalise_overdue(NOW + 11 * M + S) == 1
    db.session.commit()
    swept = db.session.get(Attempt, attempt.id)
    assert swept.state == "auto_submitted" and swept.score == Decimal("1.0")
    assert swept.submitted_at == NOW + 11 * M + S
    assert engine.finalise_overdue(NOW + 20 * M) == 0
    db.session.commit()
    assert _audit_count("exam.attempt_auto_submitted") == 1
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.attempt_auto_submitted")).scalar_one()
    assert entry.actor_name == "system"


def test_sweeper_leaves_running_and_deadline_free_attempts(world):
    _start(_exam(world, time_limit_minutes=None, closes_at=None), world)
    assert engine.finalise_overdue(NOW + timedelta(days=30)) == 0


def test_sweep_command(world, runner):
    exam = _exam(world, time_limit_minutes=1)
    db.session.commit()
    attempt = engine.start_attempt(exam, world.trainee, now=NOW - 10 * M)
    db.session.commit()
    result = runner.invoke(args=["exams", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "auto_submitted"
    again = runner.invoke(args=["exams", "sweep"])
    assert again.exit_code == 0 and "0" in again.output


def test_touch_finalises_lazily(world):
    attempt = _start(_exam(world, time_limit_minutes=10), world)
    assert engine.touch(attempt, NOW + 5 * M).state == "in_progress"
    assert engine.touch(attempt, NOW + 12 * M).state == "auto_submitted"


# ---------------------------------------------------------------- what the candidate sees (R25)

def test_candidate_paper_shows_options_in_the_attempts_order_without_keys(world):
    bank = make_bank(world.county_a)
    q = make_question(bank, options=["甲方案", "乙方案", "丙方案"], answer=[1],
                      explanation="唯一的解析文字", stem="{{7*7}} 低保审批")
    exam = make_exam(world.county_a, [q], opens_at=NOW - M, closes_at=NOW + 60 * M,
                     shuffle_options=True)
    db.session.commit()
    attempt = _start(exam, world)
    (item,) = candidate_paper(attempt)
    order = db.session.execute(select(AttemptItem.option_order)).scalar_one()
    assert item.options == [["甲方案", "乙方案", "丙方案"][i] for i in order]
    assert item.stem == "{{7*7}} 低保审批" and item.blanks == 0 and item.points == Decimal("1.0")
    assert not {"answer", "explanation", "reference_answer", "score", "key"} & set(
        item.__dataclass_fields__)


# ---------------------------------------------------------------- statement counts

def _statements(world, repeat: int) -> tuple[int, int, int]:
    exam = _mixed_exam(world, repeat)
    with count_queries() as start:
        attempt = engine.start_attempt(exam, world.trainee, now=NOW)
    db.session.commit()
    answers = [{"position": p, "seq": p, "response": None} for p in (1, 2, 3)]
    with count_queries() as save:
        engine.save_answers(attempt, world.trainee, answers, now=NOW + M)
    db.session.commit()
    with count_queries() as submit:
        engine.submit_attempt(attempt, now=NOW + 2 * M, actor=world.trainee)
    db.session.commit()
    db.session.expire_all()
    return start.count, save.count, submit.count


def test_statement_counts_do_not_grow_with_the_paper(world):
    small = _statements(world, 1)   # 5 questions
    large = _statements(world, 10)  # 50 questions
    assert small == large
