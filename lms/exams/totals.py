"""Marking an attempt: objective items by rule, the total, pass or fail, whether a marker is
still needed. Used at submit, after manual marking and by regrades (flush only)."""

from __future__ import annotations

from decimal import Decimal

from lms.exams.models import Attempt, AttemptItem, Exam
from lms.exams.scoring import one_place, score_item, to_original


def auto_score(item: AttemptItem, exam: Exam) -> Decimal | None:
    """The rule's mark for *item*'s stored response (None for a short answer)."""
    v = item.version
    response = to_original(v.type, item.response, item.option_order)
    return score_item(v.type, v.answer, response, item.max_points,
                      multiple_rule=exam.multiple_choice_rule)


def mark_objective(attempt: Attempt, exam: Exam) -> None:
    """Score every objective item; short answers keep a marker's score or stay None."""
    for item in attempt.items:
        if item.version.type != "short_answer":
            item.score = auto_score(item, exam)
        elif item.score is None and not _answered_text(item.response):
            item.score = one_place(Decimal(0))  # nothing written: nothing to mark
    recompute(attempt, exam)


def recompute(attempt: Attempt, exam: Exam) -> None:
    """Total, pass flag and ``needs_marking`` from the items' scores. While a short answer waits
    for its marker the total counts it as 0 and ``passed`` stays None (not known yet)."""
    total = sum((i.score for i in attempt.items if i.score is not None), Decimal(0))
    attempt.score = one_place(total)
    attempt.max_score = one_place(sum((i.max_points for i in attempt.items), Decimal(0)))
    attempt.needs_marking = any(i.score is None for i in attempt.items)
    attempt.passed = None if attempt.needs_marking else attempt.score >= exam.pass_score


def _answered_text(response: object) -> bool:
    return isinstance(response, str) and bool(response.strip())
