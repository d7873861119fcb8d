"""Director appointment with county consultation (征求意见, domain §3.1, spec decision 4).

The township opens a consultation for its nominated office-director candidate; the county bureau
asks for more material, concurs or objects (with reasons); the township supplements or withdraws.
The gate (``lms.onboarding.gate``) lets the nomination move to ``pending_onboarding`` only when
the latest consultation is concurred. Flush, never commit; every change is audited with the
status before and after.

Deadlines: the county replies within ``CONSULTATION_DAYS`` working days of the submission. A
supplement answering a request for more information starts a new period from the day it is
given (``due_on`` is recomputed then). A consultation is *overdue* while it is open (submitted
or waiting for material) and today is past its due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import selectinload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _, _l
from lms.labels import label
from lms.onboarding.gate import CONSULTATION_WORDS
from lms.onboarding.models import Consultation
from lms.onboarding.rules import CONSULTATION_DAYS, add_working_days
from lms.org.models import Level, OrgUnit, Person, Post, PostStatus, PostType, Qualification
from lms.org.services.posts import register_gate
from lms.training.completion import local_date
from lms.training.models import Completion

SUBMITTED = "submitted"
INFO_REQUESTED = "info_requested"
CONCURRED = "concurred"
OBJECTED = "objected"
WITHDRAWN = "withdrawn"

#: Waiting for the county (or for the township's material): the consultation is still running.
OPEN = (SUBMITTED, INFO_REQUESTED)
STATUSES = (SUBMITTED, INFO_REQUESTED, CONCURRED, OBJECTED, WITHDRAWN)

#: Words for each status (the same words the gate uses in its refusals).
STATUS_WORDS: dict[str, Any] = CONSULTATION_WORDS
#: Colour of each status (a ``status-<tone>`` class in app.css).
STATUS_TONES = {SUBMITTED: "warn", INFO_REQUESTED: "warn", CONCURRED: "ok", OBJECTED: "bad",
                WITHDRAWN: "muted"}

MAX_TEXT = 2000

#: The audit note of a consultation withdrawn because its post was removed.
REMOVED_NOTE = _l("岗位已免职，自动撤回")


def status_word(status: str) -> Any:
    return STATUS_WORDS.get(status, status)


def status_tone(status: str) -> str:
    return STATUS_TONES.get(status, "muted")


# ---------------------------------------------------------------- overdue


def is_overdue(consultation: Consultation, today: date) -> bool:
    return consultation.status in OPEN and today > consultation.due_on


def overdue_clause(today: date) -> ColumnElement[bool]:
    """SQL: open and past its due date (the same rule as ``is_overdue``)."""
    return and_(Consultation.status.in_(OPEN), Consultation.due_on < today)


# ---------------------------------------------------------------- reading


def for_post(post: Post) -> list[Consultation]:
    """Every consultation for the post, newest first."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.post_id == post.id)
        .options(selectinload(Consultation.county_unit))
        .order_by(Consultation.id.desc())))


def for_person(person_id: int) -> list[Consultation]:
    """Every consultation about the person (as a director candidate), newest first."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.person_id == person_id)
        .options(selectinload(Consultation.county_unit), selectinload(Consultation.post))
        .order_by(Consultation.id.desc())))


def blocking(post: Post) -> Consultation | None:
    """An open or concurred consultation for the post (no second one may be opened)."""
    return db.session.scalar(
        select(Consultation).where(Consultation.post_id == post.id,
                                   Consultation.status.in_((*OPEN, CONCURRED)))
        .order_by(Consultation.id.desc()).limit(1))


def open_refusal(post: Post) -> str | None:
    """Why no consultation can be opened for the post now (None: one can)."""
    if post.post_type != PostType.OFFICE_DIRECTOR.value:
        return _("只有乡镇民政办主任岗位需要征求县级民政部门意见。")
    if post.status != PostStatus.NOMINATED.value:
        return _("只有“已提名”的主任人选才能征求意见（该岗位当前为“%(status)s”）。",
                 status=_post_status_word(post.status))
    found = blocking(post)
    if found is not None and found.status == CONCURRED:
        return _("县级民政部门已同意该人选，无需再次征求意见。")
    if found is not None:
        return _("该人选已有正在办理的征求意见，请等待县级答复或先撤回。")
    if _county_of(post.org_unit) is None:
        return _("找不到该乡镇所属的县级民政部门，无法征求意见。")
    return None


@dataclass(frozen=True)
class CandidateProfile:
    """The candidate as the county sees them: read live from the person's records."""

    person: Person
    qualifications: list[Qualification]
    completions: list[Completion]

    @property
    def total_hours(self) -> Decimal:
        return sum((c.credit_hours for c in self.completions), Decimal("0"))


def candidate_profile(consultation: Consultation) -> CandidateProfile:
    """Name, gender, birth year, education, social-work qualifications and the training record
    (completions, newest first) of the candidate, as they stand today. Past evaluation grades
    are not recorded yet."""
    person = db.session.get(Person, consultation.person_id)
    completions = list(db.session.scalars(
        select(Completion).where(Completion.person_id == consultation.person_id)
        .order_by(Completion.completed_on.desc(), Completion.id.desc())))
    return CandidateProfile(person, list(person.qualifications), completions)


# ---------------------------------------------------------------- the township side


def open_consultation(post: Post, reason: str, *, actor: Any, now: datetime) -> Consultation:
    """The township asks its county bureau about its nominated office-director candidate."""
    ensure(actor, Perm.PERSON_MANAGE, post.org_unit)
    refusal = open_refusal(post)
    if refusal:
        raise InvalidState(refusal)
    reason = _text(reason, "reason", _("请写明提名理由（人选的基本情况、工作经历和推荐意见）。"))
    county = _county_of(post.org_unit)
    consultation = Consultation(
        post_id=post.id, person_id=post.person_id, org_unit_id=post.org_unit_id,
        county_unit_id=county.id, status=SUBMITTED, reason=reason, submitted_at=now,
        due_on=add_working_days(local_date(now), CONSULTATION_DAYS),
        created_by_id=getattr(actor, "id", None))
    db.session.add(consultation)
    db.session.flush()
    audit.record(actor, "consultation.submit", consultation, now=now, old=None, new=SUBMITTED,
                 post_id=post.id, person_id=post.person_id, county_unit_id=county.id,
                 due_on=consultation.due_on.isoformat(), reason=reason)
    return consultation


def supplement(consultation: Consultation, text: str, *, actor: Any, now: datetime) -> None:
    """The township answers a request for more material; the county's period starts again."""
    ensure(actor, Perm.PERSON_MANAGE, consultation.org_unit)
    if consultation.status != INFO_REQUESTED:
        raise InvalidState(_("县级民政部门没有要求补充材料，当前为“%(status)s”。",
                             status=status_word(consultation.status)))
    text = _text(text, "supplement", _("请填写补充的材料或说明。"))
    old = consultation.status
    consultation.supplement = text
    consultation.status = SUBMITTED
    consultation.due_on = add_working_days(local_date(now), CONSULTATION_DAYS)
    db.session.flush()
    audit.record(actor, "consultation.supplement", consultation, now=now, old=old,
                 new=SUBMITTED, due_on=consultation.due_on.isoformat(), text=text)


def withdraw(consultation: Consultation, *, actor: Any, now: datetime) -> None:
    """The township takes back a consultation still waiting for the county."""
    ensure(actor, Perm.PERSON_MANAGE, consultation.org_unit)
    if consultation.status not in OPEN:
        raise InvalidState(_("只能撤回正在办理的征求意见（当前为“%(status)s”）。",
                             status=status_word(consultation.status)))
    old = consultation.status
    consultation.status = WITHDRAWN
    db.session.flush()
    audit.record(actor, "consultation.withdraw", consultation, now=now, old=old, new=WITHDRAWN)


def _withdraw_on_removal(post: Post, old: PostStatus, new: PostStatus, actor: Any,
                        now: datetime) -> None:
    """Gate effect: a removed post's open consultation is withdrawn (whoever removed it, by
    whatever path), so it no longer waits for the county nor counts as overdue."""
    if new != PostStatus.REMOVED:
        return
    note = str(REMOVED_NOTE)
    for consultation in db.session.scalars(
            select(Consultation).where(Consultation.post_id == post.id,
                                       Consultation.status.in_(OPEN))
            .order_by(Consultation.id)).all():
        before = consultation.status
        consultation.status = WITHDRAWN
        db.session.flush()
        audit.record(actor, "consultation.withdraw", consultation, now=now, old=before,
                     new=WITHDRAWN, note=note, automatic=True)


register_gate(effect=_withdraw_on_removal)


# ---------------------------------------------------------------- the county side


def request_info(consultation: Consultation, message: str, *, actor: Any,
                 now: datetime) -> None:
    """The county asks the township for more material (what is needed, in words)."""
    _reply(consultation, INFO_REQUESTED, "consultation.request_info",
           _text(message, "text", _("请写明需要补充哪些材料。")), actor=actor, now=now,
           allowed=(SUBMITTED,))


def concur(consultation: Consultation, remark: str = "", *, actor: Any, now: datetime) -> None:
    """The county agrees with the candidate (a remark is optional)."""
    _reply(consultation, CONCURRED, "consultation.concur", _optional(remark, "text"),
           actor=actor, now=now)


def object_(consultation: Consultation, reasons: str, *, actor: Any, now: datetime) -> None:
    """The county does not agree; the reasons are required and shown to the township."""
    _reply(consultation, OBJECTED, "consultation.object",
           _text(reasons, "text", _("不同意时必须写明理由。")), actor=actor, now=now)


def _reply(consultation: Consultation, new: str, action: str, text: str, *, actor: Any,
           now: datetime, allowed: tuple[str, ...] = OPEN) -> None:
    county = db.session.get(OrgUnit, consultation.county_unit_id)
    ensure(actor, Perm.APPOINTMENT_REVIEW, county)
    if consultation.status not in allowed:
        raise InvalidState(_("该征求意见当前为“%(status)s”，不能再作此答复。",
                             status=status_word(consultation.status)))
    if consultation.created_by_id is not None and \
            consultation.created_by_id == getattr(actor, "id", None):
        raise NotAllowed(_("征求意见须由县级民政部门的其他人员答复，提交人不能自己答复。"))
    post = db.session.get(Post, consultation.post_id)
    if post is None or not post.is_open:
        raise InvalidState(_("该提名岗位已免职，无需再答复。"))
    old = consultation.status
    consultation.status = new
    consultation.reply = text
    consultation.replied_at = now
    consultation.replied_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, action, consultation, now=now, old=old, new=new, text=text)


# ---------------------------------------------------------------- helpers


def _county_of(township: OrgUnit) -> OrgUnit | None:
    parent = township.parent
    if township.level != Level.TOWNSHIP.value or parent is None \
            or parent.level != Level.COUNTY.value:
        return None
    return parent


def _text(value: str | None, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(missing, field)
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("内容不能超过%(n)s个字。", n=MAX_TEXT), field)
    return text


def _optional(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("内容不能超过%(n)s个字。", n=MAX_TEXT), field)
    return text


def _post_status_word(status: str) -> str:
    return str(label(status))
