"""What a candidate may see of a finished attempt, and when (the exam's review policy).

``show_score`` and ``show_answers`` each take one of three values: ``immediately`` (as soon as
the attempt is finished), ``after_close`` (once the exam's window has closed; never when the
exam has no close) and ``never``. An attempt still in progress shows nothing. Pure functions:
the page loads the rows and passes them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lms.exams.formats.model import CHOICE_TYPES, FILL, SHORT, TRUE_FALSE
from lms.exams.models import Attempt, AttemptItem, Exam
from lms.exams.scoring import to_original
from lms.i18n import _, _l

IMMEDIATELY, AFTER_CLOSE, NEVER = "immediately", "after_close", "never"

SCORE_POLICY_TEXT = {
    IMMEDIATELY: _l("交卷后立即可查看成绩"),
    AFTER_CLOSE: _l("考试结束后可查看成绩"),
    NEVER: _l("不公布成绩"),
}
ANSWERS_POLICY_TEXT = {
    IMMEDIATELY: _l("交卷后立即可查看答案和解析"),
    AFTER_CLOSE: _l("考试结束后可查看答案和解析"),
    NEVER: _l("不公布答案"),
}


@dataclass(frozen=True)
class ReviewRights:
    score: bool
    answers: bool


def _allowed(policy: str, closes_at: datetime | None, now: datetime) -> bool:
    if policy == IMMEDIATELY:
        return True
    if policy == AFTER_CLOSE:
        return closes_at is not None and now >= closes_at
    return False


def review_rights(exam: Exam, attempt: Attempt | None, now: datetime) -> ReviewRights:
    """What the candidate may see of *attempt* at *now* (nothing before it is finished)."""
    if attempt is None or not attempt.is_finished:
        return ReviewRights(score=False, answers=False)
    return ReviewRights(score=_allowed(exam.show_score, exam.closes_at, now),
                        answers=_allowed(exam.show_answers, exam.closes_at, now))


@dataclass(frozen=True)
class ReviewOption:
    letter: str
    text: str
    chosen: bool
    correct: bool


@dataclass(frozen=True)
class ReviewItem:
    """One question as reviewed: what was asked, answered, expected and earned."""

    position: int
    type: str
    stem: str
    points: Decimal
    score: Decimal | None
    options: list[ReviewOption]
    #: true/false: the candidate's bool (None = not answered) and the key.
    given_bool: bool | None
    key_bool: bool | None
    #: fill in: the candidate's text per blank and the accepted answers per blank.
    given_blanks: list[str]
    key_blanks: list[list[str]]
    #: short answer: the candidate's text and the reference answer.
    given_text: str
    reference: str
    explanation: str
    comment: str

    @property
    def is_right(self) -> bool | None:
        if self.score is None:
            return None
        return self.score >= self.points


LETTERS = "ABCDEFGH"


def _letter(i: int) -> str:
    return LETTERS[i] if i < len(LETTERS) else str(i + 1)


def review_item(item: AttemptItem) -> ReviewItem:
    """The review of one attempt item (the page shows it only when answers are allowed)."""
    v = item.version
    response: Any = item.response
    options: list[ReviewOption] = []
    if v.type in CHOICE_TYPES:
        order = item.option_order or list(range(len(v.options)))
        chosen = set(to_original(v.type, response, order) or [])
        key = set(v.answer or [])
        options = [ReviewOption(_letter(shown), v.options[orig], orig in chosen, orig in key)
                   for shown, orig in enumerate(order) if 0 <= orig < len(v.options)]
    blanks = [r if isinstance(r, str) else "" for r in response] \
        if v.type == FILL and isinstance(response, list) else []
    return ReviewItem(
        position=item.position, type=v.type, stem=v.stem, points=item.max_points,
        score=item.score, options=options,
        given_bool=response if v.type == TRUE_FALSE and isinstance(response, bool) else None,
        key_bool=v.answer if v.type == TRUE_FALSE and isinstance(v.answer, bool) else None,
        given_blanks=blanks,
        key_blanks=[list(a) for a in v.answer] if v.type == FILL and v.answer else [],
        given_text=response if v.type == SHORT and isinstance(response, str) else "",
        reference=v.reference_answer if v.type == SHORT else "",
        explanation=v.explanation, comment=item.comment)


def attempt_state_text(attempt: Attempt) -> str:
    return {
        "in_progress": _("答题中"), "submitted": _("已交卷"),
        "auto_submitted": _("到时自动交卷"), "abandoned": _("已作废"),
    }.get(attempt.state, attempt.state)
