"""Item analysis from stored marks: first attempts only, hand-computed figures, flags and their
thresholds, the n < 30 rule, undefined values, pooled figures across exams."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lms.exams import analysis
from lms.exams.analysis import FLAG_LABELS, flags
from lms.exams.statistics import QuestionStats
from lms.exams.totals import recompute
from lms.extensions import db
from lms.org.models import PostType
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.factories import build_world, make_person, make_user


def marked(exam, person, user_id, scores, *, number=1, state="submitted"):  # noqa: ANN001, ANN201
    """A finished attempt whose items have *scores* (in paper order), totals recomputed."""
    attempt = make_attempt(exam, person, user_id, state=state, number=number)
    for item, score in zip(attempt.items, scores, strict=True):
        item.score = None if score is None else Decimal(str(score))
    recompute(attempt, exam)
    db.session.flush()
    return attempt


def people(world, n: int, start: int = 0) -> list:  # noqa: ANN001
    out = []
    for i in range(start, start + n):
        p = make_person(world.village_a, f"考生{i:02d}",
                        post_type=PostType.VILLAGE_ASSISTANT.value)
        out.append((p, make_user(f"u{i}", world.village_a, person=p).id))
    return out


@pytest.fixture
def world(app):  # noqa: ANN001, ANN201
    return build_world()


def _stats(**kw) -> QuestionStats:  # noqa: ANN003
    base = {"name": "q", "facility": 50.0, "sd": 40.0, "discrimination_index": 40.0,
            "discriminative_efficiency": 60.0}
    return QuestionStats(**{**base, **kw})


@pytest.mark.parametrize(("change", "expected"), [
    ({}, ()),
    ({"discrimination_index": -5.0}, ("wrong_key",)),
    ({"facility": 90.5}, ("too_easy",)),
    ({"facility": 90.0}, ()),
    ({"facility": 9.9}, ("too_hard",)),
    ({"facility": 10.0}, ()),
    ({"discrimination_index": 19.9}, ("low_discrimination",)),
    ({"discrimination_index": 20.0}, ()),
    ({"discriminative_efficiency": 14.9}, ("low_discrimination",)),
    ({"discrimination_index": None, "discriminative_efficiency": None, "facility": 100.0},
     ("too_easy",)),
])
def test_flag_thresholds(change, expected):
    assert flags(_stats(**change), 30) == expected


def test_no_flags_below_thirty_attempts():
    assert flags(_stats(discrimination_index=-50.0), 29) == ()


def test_small_matrix_by_hand(world):
    bank = make_bank(world.county_a)
    q1, q2 = make_question(bank), make_question(bank)
    exam = make_exam(world.county_a, [q1, q2])
    ps = people(world, 3)
    for (p, uid), scores in zip(ps, ([1, 1], [1, 0], [0, 0]), strict=True):
        marked(exam, p, uid, scores)
    # a second attempt and an attempt still being marked are not counted
    marked(exam, ps[2][0], ps[2][1], [1, 1], number=2)
    other = make_person(world.village_a, "待阅")
    marked(exam, other, make_user("pending", world.village_a, person=other).id, [1, None])
    a = analysis.analyse_exam(exam)
    assert a.n == 3 and a.same_paper
    first, second = a.questions
    assert first.exam.stats.facility == pytest.approx(200 / 3)
    assert second.exam.stats.facility == pytest.approx(100 / 3)
    # D = corr(x1, x2) = (1/6) / sqrt(1/3 · 1/3) = 50 %
    assert first.exam.stats.discrimination_index == pytest.approx(50.0)
    assert a.test.mean == pytest.approx(1.0)
    assert a.test.sd == pytest.approx(1.0)
    assert a.indicative
    assert first.exam.flags == ()


def test_zero_variance_is_undefined(world):
    bank = make_bank(world.county_a)
    q1, q2 = make_question(bank), make_question(bank)
    exam = make_exam(world.county_a, [q1, q2])
    for (p, uid), scores in zip(people(world, 3), ([1, 1], [1, 0], [1, 0]), strict=True):
        marked(exam, p, uid, scores)
    first = analysis.analyse_exam(exam).questions[0]
    assert first.exam.stats.facility == 100.0
    assert first.exam.stats.discrimination_index is None
    assert first.exam.stats.discriminative_efficiency is None


def test_flags_on_thirty_attempts(world):
    bank = make_bank(world.county_a)
    qs = [make_question(bank) for _ in range(6)]
    exam = make_exam(world.county_a, qs)
    for i, (p, uid) in enumerate(people(world, 30)):  # i: from the weakest to the best
        marked(exam, p, uid, [
            int(i != 0),    # everybody but one: too easy
            int(i < 6),     # the weakest get it right: the key is probably wrong
            int(i >= 15),   # good questions
            int(i >= 10),
            int(i >= 12),
            int(i == 29),   # only the best: too hard
        ])
    a = analysis.analyse_exam(exam)
    assert not a.indicative
    got = [q.exam.flags for q in a.questions]
    assert "too_easy" in got[0]
    assert got[1][0] == "wrong_key"
    assert got[2] == got[3] == got[4] == ()
    assert got[5] == ("too_hard", "low_discrimination")
    assert got[0] == ("too_easy", "low_discrimination")
    assert str(FLAG_LABELS["wrong_key"]) == "可能答案有误"


def test_pooled_across_two_exams(world):
    bank = make_bank(world.county_a)
    shared = make_question(bank, points="2")
    r, s = make_question(bank), make_question(bank)
    one = make_exam(world.county_a, [shared, r], title="一")
    two = make_exam(world.county_a, [shared, s], title="二")
    ps = people(world, 2)
    marked(one, *ps[0], [2, 1])
    marked(one, *ps[1], [0, 0])
    marked(two, *ps[0], [1, 1])
    marked(two, *ps[1], [2, 0])
    a = analysis.analyse_exam(one)
    row = a.questions[0]
    assert row.question_id == shared.id
    assert row.exam.n == 2 and row.exam.stats.facility == pytest.approx(50.0)
    assert row.pooled.n == 4 and row.pooled.stats.facility == pytest.approx(62.5)
    [bank_row] = [q for q in analysis.bank_questions(bank.id, limit=None)
                  if q.question_id == shared.id]
    assert bank_row.pooled.stats.facility == pytest.approx(62.5)
    # normalised pairs: (1, 1), (0, 0), (0.5, 1), (1, 0) → D from those
    expected = analysis.question_figures(
        [(1, 1), (0, 0), (Decimal("0.5"), 1), (1, 0)], 1).stats.discrimination_index
    assert row.pooled.stats.discrimination_index == pytest.approx(expected)


def test_blueprint_like_papers_leave_cic_undefined(world):
    bank = make_bank(world.county_a)
    q1, q2, q3 = (make_question(bank) for _ in range(3))
    exam = make_exam(world.county_a, [q1, q2, q3])
    ps = people(world, 3)
    for (p, uid), scores in zip(ps, ([1, 1, 0], [0, 1, 1], [1, 0, 1]), strict=True):
        marked(exam, p, uid, scores)
    # drop one question from one attempt: papers differ
    from lms.exams.models import Attempt, AttemptItem

    attempt = db.session.query(Attempt).filter_by(person_id=ps[0][0].id).one()
    db.session.delete(db.session.query(AttemptItem).filter_by(attempt_id=attempt.id,
                                                             question_id=q3.id).one())
    db.session.flush()
    a = analysis.analyse_exam(exam)
    assert not a.same_paper
    assert a.test.cic is None and a.test.error_ratio is None
    assert a.test.mean is not None
    assert a.questions[2].exam.n == 2
