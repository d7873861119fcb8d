"""What the candidate's page and JSON may contain about their paper while answering (R25):
the questions as shown (options in the attempt's order, identified by shown position), points,
the saved answer and flag — never the key, correctness, explanation, reference answer or
per-option scores. Review pages read the full items through their own module."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lms.exams.models import Attempt, AttemptItem, QuestionVersion
from lms.exams.responses import blank_count
from lms.exams.scoring import is_answered
from lms.extensions import db


@dataclass(frozen=True)
class CandidateItem:
    position: int
    type: str
    #: Raw Markdown: the page renders it with ``lms.courses.content.render_markdown``.
    stem: str
    #: Option texts in the order shown; an option's id is its index in this list.
    options: list[str]
    #: Number of blanks of a fill-in question (0 for other types).
    blanks: int
    points: Decimal
    response: Any
    flagged: bool
    answered: bool


def shown_options(options: list[str], order: list[int] | None) -> list[str]:
    if not options:
        return []
    if not order:
        return list(options)
    return [options[i] for i in order if 0 <= i < len(options)]


def candidate_paper(attempt: Attempt) -> list[CandidateItem]:
    """The attempt's questions in paper order (one query for the items and their versions)."""
    rows = db.session.execute(
        select(AttemptItem.position, AttemptItem.option_order, AttemptItem.max_points,
               AttemptItem.response, AttemptItem.flagged, QuestionVersion.type,
               QuestionVersion.stem, QuestionVersion.options, QuestionVersion.answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)).all()
    return [CandidateItem(
        position=r.position, type=r.type, stem=r.stem,
        options=shown_options(r.options or [], r.option_order),
        blanks=blank_count(r.type, r.answer), points=r.max_points, response=r.response,
        flagged=bool(r.flagged), answered=is_answered(r.type, r.response))
        for r in rows]
