"""Correcting the key of a question version that attempts used (更正答案) and re-scoring every
finished attempt that used it. Flush only; the view commits.

The key is the only part of a used version that may change (old attempts keep the stem and
options they saw). The correction is audited with the key before and after and the reason; each
attempt whose total or pass flag changes is audited too, with the same reason. Attempts are
loaded with their items in a fixed number of statements, whatever their number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams import hooks
from lms.exams.formats import fields
from lms.exams.formats.checks import check_question
from lms.exams.formats.fields import FieldError
from lms.exams.formats.model import (
    CHOICE_TYPES,
    FILL,
    OPTION_LETTERS,
    SHORT,
    TRUE_FALSE,
    ParsedQuestion,
)
from lms.exams.models import FINISHED_STATES, Attempt, AttemptItem, QuestionVersion
from lms.exams.totals import auto_score, recompute
from lms.extensions import db
from lms.i18n import _

MAX_REASON = 500


@dataclass(frozen=True)
class RegradeSummary:
    #: Finished attempts that used the version and were re-scored.
    rescored: int
    #: Of those, attempts whose total or pass flag changed.
    changed: int
    pass_to_fail: int
    fail_to_pass: int


# ---------------------------------------------------------------- the key as text


def key_text(version: QuestionVersion) -> str:
    """The key as the Chinese template writes it: ``AC``, ``对``, ``民政局;民政部门|县级``."""
    answer = version.answer
    if version.type in CHOICE_TYPES:
        return "".join(OPTION_LETTERS[i] for i in answer or [] if 0 <= i < len(OPTION_LETTERS))
    if version.type == TRUE_FALSE:
        return _("对") if answer else _("错")
    if version.type == FILL:
        return "|".join(";".join(accepted) for accepted in answer or [])
    return ""


def parse_key(version: QuestionVersion, text: Any) -> Any:
    """The key typed on the page, in the version's JSON shape (refused with a reason)."""
    value = text.strip() if isinstance(text, str) else ""
    try:
        if version.type in CHOICE_TYPES:
            return list(fields.choice_answer(value, len(version.options)))
        if version.type == TRUE_FALSE:
            return fields.true_false(value)
        if version.type == FILL:
            return [list(accepted) for accepted in fields.fill_answer(value)]
    except FieldError as exc:
        raise ValidationFailed(str(exc), "answer") from None
    raise InvalidState(_("简答题没有标准答案，请在阅卷中修改得分。"))


def check_key(version: QuestionVersion, answer: Any) -> None:
    """The same rules as an imported question (e.g. a multiple choice has two answers or more)."""
    if version.type == SHORT:
        raise InvalidState(_("简答题没有标准答案，请在阅卷中修改得分。"))
    shaped = (tuple(answer) if version.type in CHOICE_TYPES else
              tuple(tuple(a) for a in answer) if version.type == FILL else answer)
    problems = check_question(ParsedQuestion(
        type=version.type, stem=version.stem, options=tuple(version.options or ()),
        answer=shaped, points=Decimal(version.points)))
    if problems:
        raise ValidationFailed("；".join(problems), "answer")


# ---------------------------------------------------------------- the correction


def used_attempt_count(version: QuestionVersion) -> int:
    return db.session.execute(
        select(func.count(AttemptItem.id)).join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(AttemptItem.question_version_id == version.id,
               Attempt.state.in_(FINISHED_STATES))).scalar_one()


def _attempts_using(version: QuestionVersion) -> list[Attempt]:
    used = select(AttemptItem.attempt_id).where(AttemptItem.question_version_id == version.id)
    return list(db.session.execute(
        select(Attempt).where(Attempt.id.in_(used), Attempt.state.in_(FINISHED_STATES))
        .options(selectinload(Attempt.items), joinedload(Attempt.exam))
        .order_by(Attempt.id).with_for_update(of=Attempt)
        .execution_options(populate_existing=True)).unique().scalars())


def _state(attempt: Attempt) -> dict[str, Any]:
    return {"score": str(attempt.score) if attempt.score is not None else None,
            "passed": attempt.passed}


def correct_key(version: QuestionVersion, new_answer: Any, *, reason: Any, actor: Any,
                now: datetime) -> RegradeSummary:
    """Store *new_answer* (the version's JSON shape) as the key and re-score every finished
    attempt that used the version."""
    ensure(actor, Perm.EXAM_MANAGE, version.question.bank.org_unit)
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        raise ValidationFailed(_("请填写更正原因，例如：政策已调整，原答案有误。"), "reason")
    if len(why) > MAX_REASON:
        raise ValidationFailed(_("原因不能超过500个字符。"), "reason")
    check_key(version, new_answer)
    if new_answer == version.answer:
        raise ValidationFailed(_("新答案与原答案相同。"), "answer")
    before_key = version.answer
    version.answer = new_answer
    db.session.flush()
    attempts = _attempts_using(version)
    audit.record(actor, "exam.key_correct", version, org_unit_id=version.question.org_unit_id,
                 now=now, question_id=version.question_id, version=version.version,
                 before=before_key, after=new_answer, reason=why, attempts=len(attempts))
    changes: list[tuple[Attempt, dict[str, Any]]] = []
    to_fail = to_pass = 0
    for attempt in attempts:
        before = _state(attempt)
        for item in attempt.items:
            if item.question_version_id == version.id:
                item.score = auto_score(item, attempt.exam)
        recompute(attempt, attempt.exam)
        after = _state(attempt)
        if before == after:
            continue
        to_fail += before["passed"] is True and after["passed"] is False
        to_pass += before["passed"] is False and after["passed"] is True
        changes.append((attempt, {"exam_id": attempt.exam_id, "question_id": version.question_id,
                                  "version_id": version.id, "reason": why, "before": before,
                                  "after": after}))
    db.session.flush()
    audit.record_many(actor, "exam.regrade", changes, now=now)
    for attempt, change in changes:
        if change["before"]["passed"] is not True:
            hooks.passed(attempt, actor, now)
    return RegradeSummary(len(attempts), len(changes), to_fail, to_pass)
