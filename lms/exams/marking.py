"""Marking by hand: the queue of finished attempts whose short answers wait for a marker, a
marker's mark and comment on one short answer, and the audited override of an objective item's
mark (score queries). Flush only; the view commits.

Every change records the marker and the time on the item, recomputes the attempt's total and
pass flag (``lms.exams.totals.recompute``), sets ``Attempt.marked_at`` when nothing is left to
mark, and is audited with the values before and after. Changing a mark that was already given
needs a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams import hooks
from lms.exams.models import FINISHED_STATES, Attempt, AttemptItem, Exam, QuestionVersion
from lms.exams.scoring import TENTH
from lms.exams.totals import recompute
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Person

SHORT = "short_answer"
MAX_COMMENT = 1000
MAX_REASON = 1000


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueRow:
    attempt: Attempt
    person: Person
    #: Short answers of the attempt still without a mark.
    waiting: int


def _waiting_items(exam_id: int) -> Any:
    return (select(AttemptItem.attempt_id.label("attempt_id"),
                   func.count(AttemptItem.id).label("waiting"))
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(Attempt.exam_id == exam_id, Attempt.state.in_(FINISHED_STATES),
                   QuestionVersion.type == SHORT, AttemptItem.score.is_(None))
            .group_by(AttemptItem.attempt_id).subquery())


def queue_count(exam: Exam) -> int:
    """Attempts of *exam* waiting for a marker."""
    waiting = _waiting_items(exam.id)
    return db.session.execute(select(func.count()).select_from(waiting)).scalar_one()


def marking_queue(exam: Exam, *, page: int = 1, size: int = 50) -> list[QueueRow]:
    """Finished attempts with unmarked short answers, oldest submission first (one query)."""
    waiting = _waiting_items(exam.id)
    rows = db.session.execute(
        select(Attempt, Person, waiting.c.waiting)
        .join(waiting, waiting.c.attempt_id == Attempt.id)
        .join(Person, Person.id == Attempt.person_id)
        .order_by(Attempt.submitted_at, Attempt.id)
        .limit(size).offset((page - 1) * size)).all()
    return [QueueRow(a, p, n) for a, p, n in rows]


def next_in_queue(exam: Exam, after: Attempt | None = None) -> Attempt | None:
    """The oldest attempt still waiting for a marker (other than *after*)."""
    waiting = _waiting_items(exam.id)
    stmt = select(Attempt).join(waiting, waiting.c.attempt_id == Attempt.id)
    if after is not None:
        stmt = stmt.where(Attempt.id != after.id)
    return db.session.execute(stmt.order_by(Attempt.submitted_at, Attempt.id).limit(1)).scalar()


# ---------------------------------------------------------------- checking input


def check_score(value: Any, max_points: Decimal, field: str = "score") -> Decimal:
    """A mark between 0 and *max_points* with at most one decimal place, as a Decimal."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(_("请填写得分。"), field)
    try:
        score = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("得分应为数字，例如 3 或 2.5。"), field) from None
    if not score.is_finite() or not Decimal(0) <= score <= max_points:
        raise ValidationFailed(_("得分应在 0 到 %(n)s 分之间。", n=max_points), field)
    if score != score.quantize(TENTH):
        raise ValidationFailed(_("得分最多保留一位小数。"), field)
    return score.quantize(TENTH)


def check_comment(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(_("评语不能超过1000个字符。"), "comment")
    return text


def check_reason(value: Any, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationFailed(_("修改已评定的分数须填写原因。"), "reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(_("原因不能超过1000个字符。"), "reason")
    return text


# ---------------------------------------------------------------- marking


def _dec(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def item_state(item: AttemptItem) -> dict[str, Any]:
    return {"score": _dec(item.score), "comment": item.comment}


def attempt_state(attempt: Attempt) -> dict[str, Any]:
    return {"score": _dec(attempt.score), "passed": attempt.passed,
            "needs_marking": attempt.needs_marking}


def _finished(item: AttemptItem) -> Attempt:
    attempt = item.attempt
    if attempt.state not in FINISHED_STATES:
        raise InvalidState(_("只能评阅已交卷的答卷。"))
    return attempt


def _locked(attempt: Attempt) -> Attempt:
    """The attempt and its items re-read under a row lock (PostgreSQL): two markers of one
    attempt, or a marker and a regrade, never compute the total from stale marks."""
    attempt = db.session.execute(
        select(Attempt).where(Attempt.id == attempt.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    db.session.execute(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                       .execution_options(populate_existing=True)).scalars().all()
    return attempt


def _apply(item: AttemptItem, score: Decimal, comment: str, reason: str, action: str, *,
           actor: Any, now: datetime) -> AttemptItem:
    attempt = _locked(item.attempt)
    exam = attempt.exam
    before = {"item": item_state(item), "attempt": attempt_state(attempt)}
    item.score, item.comment = score, comment
    item.marked_by_id, item.marked_at = getattr(actor, "id", None), now
    recompute(attempt, exam)
    if not attempt.needs_marking and attempt.marked_at is None:
        attempt.marked_at = now
    db.session.flush()
    after = {"item": item_state(item), "attempt": attempt_state(attempt)}
    details: dict[str, Any] = {"attempt_id": attempt.id, "exam_id": exam.id,
                               "position": item.position, "before": before, "after": after}
    if reason:
        details["reason"] = reason
    audit.record(actor, action, item, org_unit_id=attempt.org_unit_id, now=now, **details)
    if before["attempt"]["passed"] is not True:
        hooks.passed(attempt, actor, now)
    return item


def mark_item(item: AttemptItem, score: Any, comment: Any = "", *, actor: Any, now: datetime,
              reason: Any = "") -> AttemptItem:
    """A marker's mark (0 to the item's points, one decimal) and comment on a short answer.
    Changing a mark already given needs *reason*."""
    attempt = _finished(item)
    ensure(actor, Perm.EXAM_MANAGE, attempt.exam.org_unit)
    if item.version.type != SHORT:
        raise InvalidState(_("客观题由系统自动评分；如需更改，请通过成绩复核修改并说明原因。"))
    value = check_score(score, item.max_points)
    text = check_comment(comment)
    remark = item.score is not None
    why = check_reason(reason, required=remark and (value != item.score or text != item.comment))
    if remark and value == item.score and text == item.comment:
        return item
    return _apply(item, value, text, why, "exam.item_remark" if remark else "exam.item_mark",
                  actor=actor, now=now)


def override_mark(item: AttemptItem, score: Any, *, reason: Any, actor: Any,
                  now: datetime) -> AttemptItem:
    """Replace an objective item's automatic mark by hand (always with a reason)."""
    attempt = _finished(item)
    ensure(actor, Perm.EXAM_MANAGE, attempt.exam.org_unit)
    if item.version.type == SHORT:
        return mark_item(item, score, item.comment, actor=actor, now=now, reason=reason)
    value = check_score(score, item.max_points)
    why = check_reason(reason, required=True)
    if value == item.score:
        raise ValidationFailed(_("新分数与原分数相同。"), "score")
    return _apply(item, value, item.comment, why, "exam.item_override", actor=actor, now=now)


def short_items(attempt: Attempt) -> list[AttemptItem]:
    """The attempt's short answers in paper order (versions loaded with the items)."""
    return list(db.session.execute(
        select(AttemptItem).join(QuestionVersion,
                                 QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id, QuestionVersion.type == SHORT)
        .order_by(AttemptItem.position)).scalars())
