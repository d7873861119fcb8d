"""Maker-checker for confirmed grades and stipends (decision 8; security R20).

After the county confirms a year (or a quarter's stipends), a score sheet or a quarterly grade
changes only through a request: one person proposes the new values with a reason, another person
holding ``EVALUATION_REVIEW`` over the county approves or rejects it. The proposer can never
decide their own request. Approval applies the change, recomputes what depends on it (the
township's grades and the 优秀 cap for a score sheet; the line's amount and the quarter's total for
a quarterly grade), reseals the rows and writes one audit entry naming both people, all in the
caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.grading import cycle, integrity, ledger, policy_store, rules
from lms.grading.models import (
    ChangeRequest,
    ChangeStatus,
    Evaluation,
    PayStatus,
    QuarterGrade,
    RoundStatus,
    StipendLine,
    StipendQuarter,
)
from lms.grading.policy import Grade
from lms.i18n import _
from lms.org.models import OrgUnit

EVALUATION, QUARTER = "evaluation", "quarter"
SCORE_FIELDS = (*cycle.TOWNSHIP_COMPONENTS, "satisfaction")
SHEET_FIELDS = (*SCORE_FIELDS, "veto", "veto_reason")


def _open_request(**where: Any) -> ChangeRequest | None:
    return db.session.scalar(select(ChangeRequest).where(
        ChangeRequest.status == ChangeStatus.PROPOSED,
        *[getattr(ChangeRequest, k) == v for k, v in where.items()]))


def _reason(reason: str) -> str:
    return cycle.clean_text(reason, "reason", required=_("请写明更正的理由和依据。"))


def _sheet(row: Evaluation) -> dict[str, Any]:
    return {f: (str(getattr(row, f)) if f in SCORE_FIELDS else getattr(row, f))
            for f in SHEET_FIELDS}


def propose_evaluation(row: Evaluation, sheet: cycle.ScoreSheet, satisfaction: Any, reason: str,
                       *, actor: Any, now: datetime) -> ChangeRequest:
    """Propose new scores (work, diligence, integrity, satisfaction, veto) for a confirmed row."""
    ensure(actor, Perm.EVALUATION_SCORE, cycle.township_unit(row))
    if row.round.status != RoundStatus.CONFIRMED:
        raise InvalidState(_("考评结果尚未审定，请直接修改评分。"))
    if _open_request(evaluation_id=row.id) is not None:
        raise InvalidState(_("该考评结果已有待审核的更正申请。"))
    policy = cycle.policy_of(row.round)
    after: dict[str, Any] = {c: str(cycle.parse_score(getattr(sheet, c), c, policy))
                             for c in cycle.TOWNSHIP_COMPONENTS}
    after["satisfaction"] = str(cycle.parse_score(satisfaction, "satisfaction", policy))
    after["veto"] = bool(sheet.veto)
    after["veto_reason"] = cycle.clean_text(sheet.veto_reason, "veto_reason", required=_(
        "选择了一票否决事项，请写明事实。")) if sheet.veto else ""
    before = _sheet(row)
    if after == before:
        raise ValidationFailed(_("更正后的内容与现有结果相同。"), "work")
    return _create(EVALUATION, row.org_unit_id, row.county_id, row.person_id, before, after,
                   reason, actor, now, evaluation_id=row.id)


def propose_quarter(line: StipendLine, grade: str, reason: str, *, actor: Any,
                    now: datetime) -> ChangeRequest:
    """Propose another quarterly grade for a line of a confirmed quarter."""
    town = db.session.get(OrgUnit, line.township_id)
    ensure(actor, Perm.EVALUATION_SCORE, town)
    run = db.session.get(StipendQuarter, line.run_id)
    if run is None or run.status != PayStatus.CONFIRMED:
        raise InvalidState(_("该季度补贴尚未确认发放，请直接修改季度等次后重新计算。"))
    if grade not in {g.value for g in Grade}:
        raise ValidationFailed(_("请选择季度等次。"), "grade")
    if grade == line.grade:
        raise ValidationFailed(_("更正后的内容与现有结果相同。"), "grade")
    if _open_request(stipend_line_id=line.id) is not None:
        raise InvalidState(_("该补贴明细已有待审核的更正申请。"))
    policy = policy_store.policy_for(run.org_unit, run.year)
    after_fen = rules.quarter_fen(line.level, line.months, Grade(grade), policy)
    return _create(QUARTER, line.org_unit_id, line.county_id, line.person_id,
                   {"grade": line.grade, "amount_fen": line.amount_fen},
                   {"grade": grade, "amount_fen": after_fen}, reason, actor, now,
                   stipend_line_id=line.id)


def _create(kind: str, unit_id: int, county_id: int, person_id: int, before: dict[str, Any],
            after: dict[str, Any], reason: str, actor: Any, now: datetime,
            **target: int) -> ChangeRequest:
    change = ChangeRequest(kind=kind, org_unit_id=unit_id, county_id=county_id,
                           person_id=person_id, before=before, after=after,
                           reason=_reason(reason), status=ChangeStatus.PROPOSED, proposed_at=now,
                           proposed_by_id=actor.id, note="", **target)
    db.session.add(change)
    db.session.flush()
    audit.record(actor, "grading.change_propose", change, now=now, kind=kind,
                 person_id=person_id, before=before, after=after, reason=change.reason)
    return change


def _check_decider(change: ChangeRequest, actor: Any) -> None:
    county = db.session.get(OrgUnit, change.county_id)
    ensure(actor, Perm.EVALUATION_REVIEW, county)
    if change.status != ChangeStatus.PROPOSED:
        raise InvalidState(_("该更正申请已处理。"))
    if actor is None or actor.id == change.proposed_by_id:
        raise NotAllowed(_("更正申请须由提出人以外的另一人审核，提出人不能审核自己的申请。"))


def approve(change: ChangeRequest, note: str, *, actor: Any, now: datetime) -> None:
    _check_decider(change, actor)
    if change.kind == EVALUATION:
        _apply_evaluation(change, actor, now)
    else:
        _apply_quarter(change)
    change.status = ChangeStatus.APPROVED
    change.decided_at, change.decided_by_id = now, actor.id
    change.note = cycle.clean_text(note, "note")
    db.session.flush()
    audit.record(actor, "grading.change_approve", change, now=now, kind=change.kind,
                 person_id=change.person_id, proposed_by_id=change.proposed_by_id,
                 approved_by_id=actor.id, before=change.before, after=change.after,
                 reason=change.reason)


def reject(change: ChangeRequest, note: str, *, actor: Any, now: datetime) -> None:
    _check_decider(change, actor)
    change.status = ChangeStatus.REJECTED
    change.decided_at, change.decided_by_id = now, actor.id
    change.note = cycle.clean_text(note, "note", required=_("请写明驳回的理由。"))
    db.session.flush()
    audit.record(actor, "grading.change_reject", change, now=now, kind=change.kind,
                 person_id=change.person_id, proposed_by_id=change.proposed_by_id,
                 rejected_by_id=actor.id, note=change.note)


def _apply_evaluation(change: ChangeRequest, actor: Any, now: datetime) -> None:
    row = db.session.get(Evaluation, change.evaluation_id)
    if row is None or _sheet(row) != change.before:
        raise InvalidState(_("该考评结果在申请后已被修改，请重新提出更正申请。"))
    for field, value in change.after.items():
        setattr(row, field, Decimal(value) if field in SCORE_FIELDS else value)
    db.session.flush()
    changed = cycle.recompute(row.round, {row.township_id})
    change.after = {**change.after, "total": str(row.total), "grade": row.grade,
                    "new_level": row.new_level, "replace": row.replace,
                    "also_changed": [i for i in changed if i != row.id]}
    cycle.open_flagged(row.round, actor=actor, now=now)


def _apply_quarter(change: ChangeRequest) -> None:
    line = db.session.get(StipendLine, change.stipend_line_id)
    if line is None or (line.grade, line.amount_fen) != (change.before["grade"],
                                                         change.before["amount_fen"]):
        raise InvalidState(_("该补贴明细在申请后已被修改，请重新提出更正申请。"))
    run = db.session.get(StipendQuarter, line.run_id)
    policy = policy_store.policy_for(run.org_unit, run.year)
    amount = rules.quarter_fen(line.level, line.months, Grade(change.after["grade"]), policy)
    change.after = {**change.after, "amount_fen": amount}
    grade = db.session.scalar(select(QuarterGrade).where(
        QuarterGrade.post_id == line.post_id, QuarterGrade.year == line.year,
        QuarterGrade.quarter == line.quarter))
    if grade is not None:
        grade.grade = change.after["grade"]
    line.grade = change.after["grade"]
    line.amount_fen = amount
    integrity.seal(line)
    db.session.flush()
    ledger.refresh_total(run)
    db.session.flush()
