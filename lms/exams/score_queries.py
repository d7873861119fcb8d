"""Score queries (成绩复核): a candidate asks for a marked attempt to be checked again, within
the exam's query window; the organiser replies, upholding the score or changing it. A change goes
through the audited marking path (``lms.exams.marking``). Flush only; the view commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.marking import check_score, mark_item, override_mark
from lms.exams.models import FINISHED_STATES, Attempt, AttemptItem, ScoreQuery
from lms.extensions import db
from lms.i18n import _

MAX_MESSAGE = 1000
MAX_REPLY = 1000
UPHELD, CHANGED, OPEN = "upheld", "changed", "open"


@dataclass(frozen=True)
class QueryWindow:
    allowed: bool
    #: Why not, in words (when not allowed).
    reason: str = ""
    ends_at: datetime | None = None


def window(attempt: Attempt, now: datetime) -> QueryWindow:
    """Whether the candidate may raise a query on *attempt* at *now*."""
    exam = attempt.exam
    if attempt.state not in FINISHED_STATES:
        return QueryWindow(False, _("交卷后才能申请成绩复核。"))
    if attempt.needs_marking or attempt.score is None:
        return QueryWindow(False, _("答卷阅卷完成后才能申请成绩复核。"))
    if exam.query_window_days <= 0:
        return QueryWindow(False, _("本场考试不受理成绩复核。"))
    since = attempt.marked_at or attempt.submitted_at
    ends = since + timedelta(days=exam.query_window_days) if since else None
    if ends is None or now > ends:
        return QueryWindow(False, _("成绩复核申请期已过。"), ends)
    if has_open_query(attempt):
        return QueryWindow(False, _("您已有一份复核申请正在处理，请等待答复。"), ends)
    return QueryWindow(True, "", ends)


def has_open_query(attempt: Attempt) -> bool:
    return db.session.execute(select(func.count(ScoreQuery.id)).where(
        ScoreQuery.attempt_id == attempt.id, ScoreQuery.status == OPEN)).scalar_one() > 0


def queries_of(attempt: Attempt) -> list[ScoreQuery]:
    return list(db.session.execute(select(ScoreQuery).where(ScoreQuery.attempt_id == attempt.id)
                                   .order_by(ScoreQuery.created_at, ScoreQuery.id)).scalars())


def item_count(attempt: Attempt) -> int:
    return db.session.execute(select(func.count(AttemptItem.id))
                              .where(AttemptItem.attempt_id == attempt.id)).scalar_one()


def _message(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(_("请写明需要复核的内容。"), "message")
    if len(text) > MAX_MESSAGE:
        raise ValidationFailed(_("复核说明不能超过1000个字。"), "message")
    return text


def raise_query(attempt: Attempt, *, position: int | None, message: Any, actor: Any,
                now: datetime) -> ScoreQuery:
    """The candidate (*actor*, whose own attempt it is) asks for *attempt* to be re-checked,
    about the question at *position* (1-based) or the whole attempt (None)."""
    if actor is None or attempt.person_id != getattr(actor, "person_id", None):
        raise InvalidState(_("只能对自己的答卷申请成绩复核。"))
    text = _message(message)
    if position is not None and not 1 <= position <= item_count(attempt):
        raise ValidationFailed(_("请从列表中选择题号。"), "position")
    allowed = window(attempt, now)
    if not allowed.allowed:
        raise InvalidState(allowed.reason)
    query = ScoreQuery(attempt_id=attempt.id, org_unit_id=attempt.org_unit_id,
                       person_id=attempt.person_id, item_position=position, message=text,
                       status=OPEN, created_at=now)
    db.session.add(query)
    db.session.flush()
    audit.record(actor, "exam.query_raise", query, now=now, attempt_id=attempt.id,
                 exam_id=attempt.exam_id, position=position)
    return query


def _item_at(attempt: Attempt, position: Any) -> AttemptItem:
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        raise ValidationFailed(_("请选择要改分的题目。"), "position")
    return item


def answer_query(query: ScoreQuery, *, reply: Any, outcome: str, position: Any = None,
                 score: Any = None, actor: Any, now: datetime) -> ScoreQuery:
    """Reply to an open query. ``changed`` sets the mark of the question at *position* to
    *score* through the audited marking path, with the reply as the reason."""
    attempt = query.attempt
    ensure(actor, Perm.EXAM_MANAGE, attempt.exam.org_unit)
    if query.status != OPEN:
        raise InvalidState(_("这份复核申请已经答复过了。"))
    text = reply.strip() if isinstance(reply, str) else ""
    if not text:
        raise ValidationFailed(_("请填写答复内容。"), "reply")
    if len(text) > MAX_REPLY:
        raise ValidationFailed(_("答复不能超过1000个字。"), "reply")
    if outcome not in (UPHELD, CHANGED):
        raise ValidationFailed(_("请选择复核结果。"), "outcome")
    before = {"score": str(attempt.score) if attempt.score is not None else None,
              "passed": attempt.passed}
    if outcome == CHANGED:
        item = _item_at(attempt, position)
        if item.version.type == "short_answer":
            if check_score(score, item.max_points) == item.score:
                raise ValidationFailed(_("新分数与原分数相同。"), "score")
            mark_item(item, score, item.comment, actor=actor, now=now, reason=text)
        else:
            override_mark(item, score, reason=text, actor=actor, now=now)
    query.status, query.reply = outcome, text
    query.answered_by_id, query.answered_at = getattr(actor, "id", None), now
    db.session.flush()
    audit.record(actor, "exam.query_answer", query, now=now, attempt_id=attempt.id,
                 outcome=outcome, position=position if outcome == CHANGED else None,
                 before=before, after={"score": str(attempt.score)
                                       if attempt.score is not None else None,
                                       "passed": attempt.passed})
    return query
