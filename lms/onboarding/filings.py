"""备案: a village assistant set in post is registered with the county bureau (spec decision 4,
domain §3.2). Flush, never commit.

- ``onboarded → in_post`` of a village assistant creates the filing (``submitted``), due within
  ``FILING_DAYS`` working days of the in-post date, with a frozen snapshot of what was filed.
- The county bureau (``APPOINTMENT_REVIEW`` on the county unit, never the township itself)
  acknowledges it or returns it for correction with reasons.
- The township (``PERSON_MANAGE`` on the village) resubmits a returned filing; the snapshot is
  taken again from the current person data and the county has a fresh ``FILING_DAYS``.

Filing is registration, not approval: the assistant stays in post whatever the county answers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import joinedload

from lms import audit
from lms.auth.access import Scope, ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _, _l
from lms.onboarding.gate import on_in_post, record_for
from lms.onboarding.models import Filing
from lms.onboarding.rules import FILING_DAYS, add_working_days, is_overdue
from lms.org.models import Level, OrgUnit, Post, PostType
from lms.training.completion import local_date
from lms.training.models import Completion

SUBMITTED, ACKNOWLEDGED, RETURNED = "submitted", "acknowledged", "returned"

#: Filing statuses in words (the list filter adds "overdue": submitted and past its due date).
FILING_STATUSES: dict[str, Any] = {
    SUBMITTED: _l("待县级接收"), ACKNOWLEDGED: _l("已接收"), RETURNED: _l("已退回"),
}
OVERDUE_WORD = _l("已逾期")

#: The snapshot's fields in display order, with their words.
DETAIL_FIELDS: list[tuple[str, Any]] = [
    ("name", _l("姓名")), ("id_masked", _l("身份证号")), ("village", _l("村（社区）")),
    ("village_code", _l("区划代码")), ("education", _l("学历")), ("phone", _l("联系电话")),
    ("certificate_no", _l("岗前培训证书编号")), ("appointed_on", _l("任职日期")),
]

NOTE_MAX = 500


# ---------------------------------------------------------------- helpers


def county_of(unit: OrgUnit) -> OrgUnit:
    """The county above *unit* (a village's grandparent)."""
    current: OrgUnit | None = unit
    while current is not None and current.level != Level.COUNTY.value:
        current = current.parent
    if current is None:
        raise InvalidState(_("找不到“%(unit)s”所属的县级单位，无法备案。", unit=unit.name))
    return current


def county_unit(filing: Filing) -> OrgUnit:
    return db.session.get(OrgUnit, filing.county_unit_id)


def snapshot(post: Post, now: datetime) -> dict[str, str]:
    """What is filed, frozen: name, masked ID number, village and its division code, education,
    phone, onboarding certificate number and appointment date."""
    person = post.person
    village = post.org_unit
    record = record_for(post)
    completion = (db.session.get(Completion, record.completion_id)
                  if record is not None and record.completion_id else None)
    # the appointment is the move to in post (the post's start is its nomination)
    appointed: date = local_date(post.status_changed_at if post.status == "in_post"
                                 and post.status_changed_at else now)
    return {
        "name": person.name,
        "id_masked": person.id_masked or "",
        "village": village.name,
        "village_code": village.code,
        "education": person.education or "",
        "phone": person.phone or "",
        "certificate_no": completion.serial_no if completion is not None else "",
        "appointed_on": appointed.isoformat(),
    }


def is_filing_overdue(filing: Filing, today: date) -> bool:
    return filing.status == SUBMITTED and is_overdue(filing.due_on, today)


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(Filing.status == SUBMITTED, Filing.due_on < today)


def _note(text: str | None, field: str) -> str:
    value = (text or "").strip()
    if len(value) > NOTE_MAX:
        raise ValidationFailed(_("说明不能超过%(n)s个字。", n=NOTE_MAX), field)
    return value


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


# ---------------------------------------------------------------- creation (the gate's listener)


def submit(post: Post, *, actor: Any, now: datetime) -> Filing:
    """The filing of an assistant just set in post (the system files it; the township's move
    to ``in_post`` was already checked)."""
    if post.post_type != PostType.VILLAGE_ASSISTANT.value:
        raise InvalidState(_("只有村(社区)民政助理员需要向县级备案。"))
    county = county_of(post.org_unit)
    filing = Filing(post_id=post.id, person_id=post.person_id, org_unit_id=post.org_unit_id,
                    county_unit_id=county.id, status=SUBMITTED, details=snapshot(post, now),
                    created_at=now, submitted_at=now,
                    due_on=add_working_days(local_date(now), FILING_DAYS))
    db.session.add(filing)
    db.session.flush()
    audit.record(actor, "filing.submit", filing, now=now, post_id=post.id,
                 person_id=post.person_id, county_unit_id=county.id,
                 due_on=filing.due_on.isoformat())
    return filing


@on_in_post
def _file_on_in_post(post: Post, actor: Any, now: datetime) -> None:
    if post.post_type != PostType.VILLAGE_ASSISTANT.value:
        return
    if db.session.scalar(select(Filing.id).where(Filing.post_id == post.id).limit(1)):
        return  # one filing per post; a later return to in_post is not a new appointment
    submit(post, actor=actor, now=now)


# ---------------------------------------------------------------- the county's answer


def _check_county(filing: Filing, actor: Any) -> None:
    ensure(actor, Perm.APPOINTMENT_REVIEW, county_unit(filing))
    if filing.status != SUBMITTED:
        raise InvalidState(_("只有待接收的备案才能接收或退回（当前：%(status)s）。",
                             status=FILING_STATUSES.get(filing.status, filing.status)))


def acknowledge(filing: Filing, note: str | None = None, *, actor: Any, now: datetime) -> None:
    """The county bureau records the filing (it does not approve anything)."""
    _check_county(filing, actor)
    text = _note(note, "note")
    filing.status = ACKNOWLEDGED
    filing.note = text
    filing.decided_at, filing.decided_by_id = now, _actor_id(actor)
    db.session.flush()
    audit.record(actor, "filing.acknowledge", filing, now=now, person_id=filing.person_id,
                 note=text)


def return_filing(filing: Filing, reasons: str | None, *, actor: Any, now: datetime) -> None:
    """The county bureau sends the filing back for correction; the reasons are required."""
    _check_county(filing, actor)
    text = _note(reasons, "reasons")
    if not text:
        raise ValidationFailed(_("退回备案须写明需要更正的内容。"), "reasons")
    filing.status = RETURNED
    filing.note = text
    filing.decided_at, filing.decided_by_id = now, _actor_id(actor)
    db.session.flush()
    audit.record(actor, "filing.return", filing, now=now, person_id=filing.person_id,
                 reasons=text)


# ---------------------------------------------------------------- the township's correction


def resubmit(filing: Filing, note: str | None = None, *, actor: Any, now: datetime) -> None:
    """The township corrects the person's data and files again: a fresh snapshot, submitted
    again, due ``FILING_DAYS`` working days from now."""
    ensure(actor, Perm.PERSON_MANAGE, filing.org_unit)
    if filing.status != RETURNED:
        raise InvalidState(_("只有被退回的备案才能重新提交。"))
    text = _note(note, "note")
    post = db.session.get(Post, filing.post_id)
    before = dict(filing.details or {})
    fresh = snapshot(post, now)
    fresh["appointed_on"] = before.get("appointed_on") or fresh["appointed_on"]
    filing.details = fresh
    filing.status = SUBMITTED
    filing.note = text
    filing.submitted_at = now
    filing.due_on = add_working_days(local_date(now), FILING_DAYS)
    filing.decided_at = filing.decided_by_id = None
    db.session.flush()
    audit.record(actor, "filing.resubmit", filing, now=now, person_id=filing.person_id,
                 note=text, due_on=filing.due_on.isoformat(), before=before, after=fresh)


# ---------------------------------------------------------------- reading


def visible_clause(review: Scope, manage: Scope, unit_path: Any) -> ColumnElement[Any]:
    """Filings a user may see: the county side's review scope or the township's manage scope."""
    return review.where(unit_path) | manage.where(unit_path)


def history(filing: Filing) -> list[audit.AuditEntry]:
    """The filing's audited steps, oldest first."""
    return list(db.session.scalars(
        select(audit.AuditEntry).where(audit.AuditEntry.object_type == "Filing",
                                       audit.AuditEntry.object_id == filing.id,
                                       audit.AuditEntry.action.startswith("filing."))
        .order_by(audit.AuditEntry.id)))


def for_person(person_id: int) -> list[Filing]:
    """A person's filings, newest first (for the person page)."""
    return list(db.session.scalars(select(Filing).where(Filing.person_id == person_id)
                                   .options(joinedload(Filing.post))
                                   .order_by(Filing.id.desc())))
