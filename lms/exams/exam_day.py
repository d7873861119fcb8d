"""Exam-day operations on one candidate's attempt: extend the time of an attempt in progress,
reopen a submitted one after a technical failure. Both need a reason and are audited with the
values before and after (flush only; the view commits).

Extending moves the deadline by the minutes given, from the old deadline (or from now when the
old deadline has already passed). It may go past the exam window's close: it is an explicit
organiser decision for one person, unlike the automatic extra time, which never moves the close.
Reopening puts the attempt back in progress with a new deadline of now + the minutes given and
clears its marks, total and pass flag (it is marked again when submitted again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.models import FINISHED_STATES, Attempt
from lms.extensions import db
from lms.i18n import _

MIN_MINUTES = 1
MAX_MINUTES = 600
MAX_REASON = 500


def check_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) \
            or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValidationFailed(_("时间须为 1 到 600 分钟之间的整数。"), "minutes")
    return minutes


def check_reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed(_("请填写原因，例如：考生手机断电。"), "reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(_("原因不能超过500个字符。"), "reason")
    return text


def _locked(attempt: Attempt) -> Attempt:
    """The attempt re-read under a row lock (PostgreSQL), so a concurrent submit or sweep is
    either seen or waits."""
    return db.session.execute(
        select(Attempt).where(Attempt.id == attempt.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dec(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def snapshot(attempt: Attempt) -> dict[str, Any]:
    return {"state": attempt.state, "deadline": _iso(attempt.deadline),
            "submitted_at": _iso(attempt.submitted_at), "score": _dec(attempt.score),
            "passed": attempt.passed}


def extend_time(attempt: Attempt, minutes: Any, reason: Any, *, actor: Any,
                now: datetime) -> Attempt:
    """Give one candidate more time on an attempt in progress."""
    ensure(actor, Perm.EXAM_MANAGE, attempt.exam.org_unit)
    minutes, reason = check_minutes(minutes), check_reason(reason)
    attempt = _locked(attempt)
    if attempt.state != "in_progress":
        raise InvalidState(_("只能为答题中的考生延长时间；已交卷的答卷请使用“重新开放”。"))
    if attempt.deadline is None:
        raise InvalidState(_("这场考试不限时，无需延长时间。"))
    before = snapshot(attempt)
    attempt.deadline = max(attempt.deadline, now) + timedelta(minutes=minutes)
    db.session.flush()
    audit.record(actor, "exam.attempt_extend", attempt, now=now, exam_id=attempt.exam_id,
                 person_id=attempt.person_id, minutes=minutes, reason=reason, before=before,
                 after=snapshot(attempt))
    return attempt


def reopen_attempt(attempt: Attempt, minutes: Any, reason: Any, *, actor: Any,
                   now: datetime) -> Attempt:
    """Put a submitted (or auto-submitted) attempt back in progress after a technical failure."""
    ensure(actor, Perm.EXAM_MANAGE, attempt.exam.org_unit)
    minutes, reason = check_minutes(minutes), check_reason(reason)
    attempt = _locked(attempt)
    if attempt.state == "in_progress":
        raise InvalidState(_("该答卷仍在答题中，无需重新开放；如需更多时间，请使用“延长时间”。"))
    if attempt.state not in FINISHED_STATES:
        raise InvalidState(_("只能重新开放已交卷或自动交卷的答卷。"))
    if attempt.exam.status == "archived":
        raise InvalidState(_("考试已归档，不能重新开放答卷。"))
    if _other_open_attempt(attempt):
        raise InvalidState(_("该考生已有一份正在作答的答卷，不能再重新开放这一份。"))
    before = snapshot(attempt)
    attempt.state = "in_progress"
    attempt.deadline = now + timedelta(minutes=minutes)
    attempt.submitted_at = None
    attempt.score = None
    attempt.passed = None
    attempt.needs_marking = False
    attempt.marked_at = None
    for item in attempt.items:
        item.score = None
        item.marked_by_id = None
        item.marked_at = None
    db.session.flush()
    audit.record(actor, "exam.attempt_reopen", attempt, now=now, exam_id=attempt.exam_id,
                 person_id=attempt.person_id, minutes=minutes, reason=reason, before=before,
                 after=snapshot(attempt))
    return attempt


def _other_open_attempt(attempt: Attempt) -> bool:
    return db.session.execute(
        select(Attempt.id).where(Attempt.exam_id == attempt.exam_id,
                                 Attempt.person_id == attempt.person_id,
                                 Attempt.state == "in_progress", Attempt.id != attempt.id)
        .limit(1)).first() is not None
