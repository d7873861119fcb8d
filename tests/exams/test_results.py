"""Counted results by grading method (highest / first / last / average), pending marking, and
the batched query for many people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lms.exams.results import counted_for_exams, counted_results
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.marking_factories import T0, candidate
from tests.querycount import count_queries

P = None  # a pending attempt (short answers waiting for a marker)


def _exam(world, method: str, mark: str = "60"):
    bank = make_bank(world.county_a)
    return make_exam(world.county_a, [make_question(bank, points="100")], grading_method=method,
                     pass_score=Decimal(mark))


def _attempts(exam, person, user, scores, state="submitted"):
    for n, score in enumerate(scores, start=1):
        a = make_attempt(exam, person, user.id, state=state, number=n, started_at=T0)
        a.score = Decimal("30") if score is P else Decimal(score)
        a.needs_marking = score is P
        a.passed = None if score is P else a.score >= exam.pass_score
    db.session.flush()


@pytest.mark.parametrize(("method", "scores", "score", "passed"), [
    ("highest", ["50", "80", "70"], "80.0", True),
    ("first", ["50", "80", "70"], "50.0", False),
    ("last", ["50", "80", "70"], "70.0", True),
    ("average", ["50", "80", "70"], "66.7", True),
    ("average", ["40", "70"], "55.0", False),
    # 59.95 rounds half up to 60.0: a pass at 60, exactly.
    ("average", ["59.9", "60.0"], "60.0", True),
    ("average", ["59.9", "59.9", "60.0"], "59.9", False),
    ("highest", ["59.9"], "59.9", False),
    ("highest", ["60.0"], "60.0", True),
    # waiting for a marker
    ("highest", ["80", P], "80.0", True),
    ("highest", ["50", P], None, None),
    ("first", [P, "80"], None, None),
    ("first", ["80", P], "80.0", True),
    ("last", ["80", P], None, None),
    ("last", [P, "50"], "50.0", False),
    ("average", ["80", P], None, None),
])
def test_grading_methods(app, world, method, scores, score, passed):
    exam = _exam(world, method)
    person, user = candidate(world.village_a, "张一")
    _attempts(exam, person, user, scores)
    result = counted_results(exam)[person.id]
    assert result.score == (Decimal(score) if score else None)
    assert result.passed is passed
    assert result.attempts == len(scores)
    assert result.pending_marking == sum(1 for s in scores if s is P)


def test_unfinished_attempts_do_not_count(app, world):
    exam = _exam(world, "highest")
    person, user = candidate(world.village_a, "张一")
    _attempts(exam, person, user, ["90"], state="in_progress")
    other, other_user = candidate(world.village_a, "张二")
    _attempts(exam, other, other_user, ["90"], state="abandoned")
    assert counted_results(exam) == {}


def test_pass_mark_of_the_exam(app, world):
    exam = _exam(world, "highest", "85")
    person, user = candidate(world.village_a, "张一")
    _attempts(exam, person, user, ["84.9"])
    assert counted_results(exam)[person.id].passed is False


def test_many_people_in_one_query_and_person_filter(app, world):
    exam = _exam(world, "average")
    other_exam = _exam(world, "highest")
    people = []
    for i in range(12):
        person, user = candidate(world.village_a, f"考生{i}")
        _attempts(exam, person, user, [str(50 + i), str(60 + i)])
        _attempts(other_exam, person, user, [str(40 + i)])
        people.append(person)
    db.session.commit()
    assert exam.id  # loaded before counting
    with count_queries() as c:
        results = counted_results(exam)
    assert c.count == 1
    assert len(results) == 12
    assert results[people[3].id].score == Decimal("58.0")
    some = counted_results(exam, [people[0].id, people[11].id])
    assert set(some) == {people[0].id, people[11].id}
    assert counted_results(exam, []) == {}
    both = counted_for_exams([exam.id, other_exam.id], [people[5].id])
    assert both[(exam.id, people[5].id)].score == Decimal("60.0")
    assert both[(other_exam.id, people[5].id)].score == Decimal("45.0")
    assert both[(other_exam.id, people[5].id)].passed is False
