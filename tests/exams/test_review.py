"""The review policy (what a candidate sees of a finished attempt, and when) and the review page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lms.db import utcnow
from lms.exams.models import Attempt, Exam
from lms.exams.review import ReviewRights, review_item, review_rights
from lms.exams.totals import mark_objective
from lms.extensions import db
from tests.exams.factories import at, make_attempt, make_bank, make_exam, make_question

CLOSE = at(2026, 5, 1, 8)
BEFORE, AFTER = CLOSE - timedelta(seconds=1), CLOSE


def _exam(show_score: str, show_answers: str, closes_at=CLOSE) -> Exam:  # noqa: ANN001
    return Exam(show_score=show_score, show_answers=show_answers, closes_at=closes_at)


FINISHED = Attempt(state="submitted")


@pytest.mark.parametrize(("policy", "now", "closes_at", "allowed"), [
    ("immediately", BEFORE, CLOSE, True),
    ("immediately", AFTER, CLOSE, True),
    ("immediately", BEFORE, None, True),
    ("after_close", BEFORE, CLOSE, False),
    ("after_close", AFTER, CLOSE, True),
    ("after_close", AFTER + timedelta(days=30), CLOSE, True),
    ("after_close", AFTER, None, False),
    ("never", BEFORE, CLOSE, False),
    ("never", AFTER, CLOSE, False),
    ("never", AFTER, None, False),
])
def test_review_policy_table(policy: str, now, closes_at, allowed: bool) -> None:  # noqa: ANN001
    assert review_rights(_exam(policy, "never", closes_at), FINISHED, now) == \
        ReviewRights(score=allowed, answers=False)
    assert review_rights(_exam("never", policy, closes_at), FINISHED, now) == \
        ReviewRights(score=False, answers=allowed)


@pytest.mark.parametrize("state", ["in_progress", "abandoned"])
def test_nothing_is_shown_of_an_unfinished_attempt(state: str) -> None:
    exam = _exam("immediately", "immediately")
    assert review_rights(exam, Attempt(state=state), AFTER) == ReviewRights(False, False)
    assert review_rights(exam, None, AFTER) == ReviewRights(False, False)


def test_auto_submitted_counts_as_finished() -> None:
    rights = review_rights(_exam("immediately", "after_close"), Attempt(state="auto_submitted"),
                           AFTER)
    assert rights == ReviewRights(True, True)


KEY_TEXT = "民政所独特答案"
EXPLANATION = "依据《社会救助暂行办法》第十一条的独特解析"


@pytest.fixture
def finished(world):  # noqa: ANN001, ANN201
    """A submitted, marked attempt: Q1 right, Q2 wrong, Q3 (fill in) answered wrongly."""
    def build(**settings):  # noqa: ANN003, ANN202
        bank = make_bank(world.county_a)
        qs = [make_question(bank, stem="低保审批机关是？", options=["县民政局", "村委会"],
                            answer=[0], explanation=EXPLANATION, points="2"),
              make_question(bank, type="true_false", stem="低保金按月发放。", points="1"),
              make_question(bank, type="fill_blank", stem="申请向____提出。",
                            answer=[[KEY_TEXT]], points="2")]
        exam = make_exam(world.county_a, qs, pass_score=Decimal("3"), **settings)
        attempt = make_attempt(exam, world.person_a, world.trainee.id)
        items = attempt.items
        items[0].response, items[1].response, items[2].response = [0], False, ["乡镇政府"]
        attempt.state, attempt.submitted_at = "submitted", utcnow()
        mark_objective(attempt, exam)
        db.session.commit()
        return attempt
    return build


def test_review_page_with_answers_allowed_shows_keys_marks_and_explanation(
        client, finished) -> None:  # noqa: ANN001
    attempt = finished(show_score="immediately", show_answers="immediately")
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "已交卷" in html
    assert '<strong class="review-score">2.0</strong> / 5.0' in html
    assert "未通过" in html
    assert EXPLANATION in html and KEY_TEXT in html
    assert "得 2.0 / 2.0 分" in html and "得 0.0 / 1.0 分" in html
    assert "乡镇政府" in html  # the candidate's own answer


def test_review_page_hides_keys_when_not_allowed(client, finished) -> None:  # noqa: ANN001
    attempt = finished(show_score="immediately", show_answers="after_close")
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert KEY_TEXT not in html and EXPLANATION not in html
    assert "考试结束后可查看答案和解析" in html
    assert "2.0" in html  # the score itself is allowed


def test_review_page_hides_score_when_never(client, finished) -> None:  # noqa: ANN001
    attempt = finished(show_score="never", show_answers="never")
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "不公布成绩" in html and "不公布答案" in html
    assert "review-score" not in html and "未通过" not in html and KEY_TEXT not in html


def test_review_after_close(client, finished) -> None:  # noqa: ANN001
    attempt = finished(show_score="after_close", show_answers="after_close",
                       opens_at=utcnow() - timedelta(days=2),
                       closes_at=utcnow() - timedelta(minutes=1))
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert KEY_TEXT in html and "review-score" in html


def test_review_shows_pending_marking(client, world) -> None:  # noqa: ANN001
    bank = make_bank(world.county_a)
    q = make_question(bank, type="short_answer", stem="简述流程", reference_answer="参考")
    exam = make_exam(world.county_a, [q], show_answers="immediately")
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    attempt.items[0].response = "先申请"
    attempt.state = "submitted"
    mark_objective(attempt, exam)
    db.session.commit()
    assert attempt.needs_marking
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "待阅卷" in html and "先申请" in html and "参考" in html


def test_review_of_a_running_attempt_goes_to_the_paper(client, world) -> None:  # noqa: ANN001
    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank)], show_answers="immediately")
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    client.login("13800000001")
    resp = client.get(f"/exams/attempts/{attempt.id}/review")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}")


def test_review_item_maps_shown_options_back(world) -> None:  # noqa: ANN001
    bank = make_bank(world.county_a)
    q = make_question(bank, type="multiple_choice", options=["甲", "乙", "丙"], answer=[0, 2])
    exam = make_exam(world.county_a, [q])
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    item = attempt.items[0]
    item.option_order = [2, 0, 1]  # shown: 丙, 甲, 乙
    item.response = [0, 2]  # chose 丙 and 乙
    got = review_item(item)
    assert [(o.letter, o.text, o.chosen, o.correct) for o in got.options] == [
        ("A", "丙", True, True), ("B", "甲", False, True), ("C", "乙", True, False)]


def test_answers_without_score_show_no_marks(client, finished) -> None:  # noqa: ANN001
    attempt = finished(show_score="never", show_answers="immediately")
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}/review").get_data(as_text=True)
    assert KEY_TEXT in html and EXPLANATION in html
    assert "得 " not in html and "review-score" not in html
