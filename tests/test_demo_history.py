"""The year of training and exams that size L adds (``lms.demo.history``), tested at size S with
``with_history=True`` (the same code; L itself is built by ``bench/template.py``)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lms import audit
from lms.auth.models import User
from lms.demo import load
from lms.exams.models import Attempt, AttemptItem, Exam
from lms.extensions import db
from lms.grading import integrity
from lms.grading.models import Evaluation
from lms.org.models import Person, Post
from lms.training.models import Completion, Enrollment, Program

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LAST = NOW.year - 1


def _count(model, *where) -> int:  # noqa: ANN001
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


@pytest.fixture
def history(app):  # noqa: ANN001, ANN201
    stages: Counter[str] = Counter()
    result = load.load("S", 7, now=NOW, with_history=True,
                       progress=lambda stage, _d, _t: stages.update([stage]))
    db.session.commit()
    return result, stages


def test_every_person_has_an_account_sharing_one_hash(history):
    result, stages = history
    assert result.history["accounts"] == _count(Person)
    assert _count(User, User.person_id.is_not(None)) == _count(Person)
    hashes = set(db.session.scalars(select(User.password_hash)))
    assert len(hashes) == 1
    assert {"accounts", "enrolments", "attempts", "evaluation", "stipends"} <= set(stages)


def test_programs_follow_the_tier_rule_and_completions_are_unique(history):
    from lms.org.models import OrgUnit
    from lms.training.rules import tier_refusal

    for program in db.session.scalars(select(Program).where(Program.kind == "in_service")):
        unit = db.session.get(OrgUnit, program.org_unit_id)
        assert tier_refusal(unit.level, program.audience_post_type) is None
    served = _count(Post, Post.is_legacy.is_(True))
    last_year = _count(Enrollment, Enrollment.due_on == datetime(LAST, 11, 30).date())
    assert last_year == served
    completions = _count(Completion)
    assert 0.85 * served < completions < served
    assert completions == _count(Enrollment, Enrollment.status == "completed")
    assert db.session.scalar(select(func.count(func.distinct(Completion.serial_no)))) \
        == completions


def test_a_year_of_marked_attempts_feeds_competence(history):
    exams = db.session.scalars(select(Exam).where(Exam.title.like(f"{LAST}年%"))).all()
    assert len(exams) == 2
    attempts = _count(Attempt, Attempt.exam_id.in_([e.id for e in exams]))
    served = _count(Post, Post.is_legacy.is_(True))
    assert 0.9 * 2 * served < attempts <= 2 * served
    assert _count(AttemptItem) >= attempts * 10
    sample = db.session.scalar(select(Attempt).where(Attempt.exam_id == exams[0].id).limit(1))
    assert sample.score == sum(i.score for i in sample.items)
    with_exam = _count(Evaluation, Evaluation.year == LAST, Evaluation.exam_percent.is_not(None))
    assert with_exam > 0.9 * _count(Evaluation, Evaluation.year == LAST)
    assert _count(Evaluation, Evaluation.year == LAST, Evaluation.hours > 0) > 0


def test_the_data_stays_valid_and_new_rows_get_fresh_ids(history):
    assert integrity.first_problem() is None
    assert audit.verify_chain() is None
    user = User(username="new-after-load", display_name="新", password_hash="x")  # noqa: S106
    db.session.add(user)
    db.session.flush()
    assert user.id == db.session.scalar(select(func.max(User.id)))


def test_history_follows_the_seed(app):
    def digest(seed: int) -> list[object]:
        db.session.remove()
        db.drop_all()
        db.create_all()
        load.load("S", seed, now=NOW, with_history=True, with_grading=False)
        db.session.commit()
        return list(db.session.execute(select(Attempt.person_id, Attempt.score)
                                       .order_by(Attempt.id).limit(200)).all())

    first = digest(7)
    assert digest(7) == first
    assert digest(8) != first
