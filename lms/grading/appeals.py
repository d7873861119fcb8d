"""Appeals (申诉) against a published evaluation: the assistant writes one from their own account
within the publication window; the county answers it before confirming. An upheld appeal is
acted on by reopening the round (``cycle.reopen``) so the township can correct the scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.db import local_date
from lms.errors import InvalidState, NotAllowed
from lms.extensions import db
from lms.grading.cycle import clean_text
from lms.grading.models import Appeal, AppealStatus, Evaluation, RoundStatus
from lms.i18n import _


def window_open(row: Evaluation, now: datetime) -> bool:
    rnd = row.round
    return (rnd.status == RoundStatus.PUBLISHED and rnd.publish_until is not None
            and local_date(now) <= rnd.publish_until)


def appeals_of(row: Evaluation) -> list[Appeal]:
    return list(db.session.scalars(select(Appeal).where(Appeal.evaluation_id == row.id)
                                   .order_by(Appeal.id)))


def submit(row: Evaluation, text: str, *, user: Any, now: datetime) -> Appeal:
    if user is None or user.person_id != row.person_id:
        raise NotAllowed(_("只能对本人的考评结果提出申诉。"))
    if not window_open(row, now):
        raise InvalidState(_("不在公示期内，不能提出申诉。"))
    if any(a.status == AppealStatus.OPEN for a in appeals_of(row)):
        raise InvalidState(_("您已提出申诉，正在等待答复。"))
    body = clean_text(text, "text", required=_("请写明申诉的事实和理由。"))
    appeal = Appeal(evaluation_id=row.id, person_id=row.person_id, org_unit_id=row.org_unit_id,
                    text=body, submitted_at=now, status=AppealStatus.OPEN, reply="")
    db.session.add(appeal)
    db.session.flush()
    audit.record(user, "evaluation.appeal", appeal, now=now, evaluation_id=row.id,
                 person_id=row.person_id)
    return appeal


def answer(appeal: Appeal, reply: str, *, actor: Any, now: datetime) -> None:
    rnd = appeal.evaluation.round
    ensure(actor, Perm.EVALUATION_REVIEW, rnd.org_unit)
    if appeal.status != AppealStatus.OPEN:
        raise InvalidState(_("该申诉已答复。"))
    if rnd.status == RoundStatus.CONFIRMED:
        raise InvalidState(_("该年度考评已审定。"))
    appeal.reply = clean_text(reply, "reply", required=_("请填写答复意见。"))
    appeal.status = AppealStatus.ANSWERED
    appeal.answered_at, appeal.answered_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "evaluation.appeal_answer", appeal, now=now,
                 evaluation_id=appeal.evaluation_id, person_id=appeal.person_id)
