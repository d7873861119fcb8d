"""Replacement (撤换) of a village assistant who cannot do the job (domain §3.5). Flush, never
commit.

1. A case is opened for an open village-assistant post, by hand with evidence (``open_case``) or
   from an evaluation trigger (``open_from_flag``, which returns the case already open instead of
   refusing). The township decides, so opening and deciding need ``PERSON_MANAGE`` on the
   township (the post's parent unit); a county administrator covers it too.
2. The person may submit a statement (申辩) within ``STATEMENT_DAYS`` working days.
3. The township decides: ``kept`` (留任) or ``dismissed`` (撤换), with a note. A dismissal is not
   taken before the statement is in or its deadline has passed, so the right to be heard holds.
4. On dismissal the post is removed (``ended_on`` = the decision date). Pay: the stipend counts
   every month in which the post was held at least 15 days, and a dismissal takes effect at the end
   of its month (spec decision 7), so the evaluation domain pays through the end of the month of
   ``post.ended_on``; nothing else is stored here. The person's login loses trainee access: an
   account with no role and no other open post is disabled and its sessions ended (audited as
   ``account.disable``). The village then has no assistant in post, which the oversight lists
   show as a vacancy until the post is refilled (§3.2, §3.3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms import audit
from lms.auth.access import ensure
from lms.auth.models import User
from lms.auth.perms import Perm
from lms.auth.services.sessions import revoke_all_sessions
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _, _l
from lms.onboarding.models import ReplacementCase
from lms.onboarding.rules import STATEMENT_DAYS, add_working_days
from lms.org.models import OrgUnit, Post, PostStatus, PostType
from lms.org.services.posts import apply_post_status, register_gate
from lms.training.completion import local_date

MAX_TEXT = 2000

#: The note of a case withdrawn because its post was removed another way.
REMOVED_NOTE = _l("岗位已免职，自动撤回")

OPEN = "open"
DISMISSED = "dismissed"
KEPT = "kept"
WITHDRAWN = "withdrawn"

#: What started the case (spec decision 6 and domain §3.5 step 1).
TRIGGERS: dict[str, Any] = {
    "annual_incompetent": _l("年度考评不称职"),
    "basic_twice": _l("连续两年基本称职"),
    "veto": _l("一票否决事项"),
    "exam_failures": _l("连续两次轮训考试不合格"),
    "absence": _l("无故缺岗超过3个月"),
    "manual": _l("其他（人工启动）"),
}
STATUSES: dict[str, Any] = {
    OPEN: _l("办理中"), DISMISSED: _l("已撤换"), KEPT: _l("留任"), WITHDRAWN: _l("已撤销"),
}
OUTCOMES: dict[str, Any] = {DISMISSED: _l("撤换"), KEPT: _l("留任")}
#: Colour class of each status (app.css ``status-*``).
TONES = {OPEN: "warn", DISMISSED: "bad", KEPT: "ok", WITHDRAWN: "muted"}


def trigger_label(value: str) -> Any:
    return TRIGGERS.get(value, value)


def status_label(value: str) -> Any:
    return STATUSES.get(value, value)


def township_of(post: Post) -> OrgUnit:
    """The township that decides: the parent of the assistant's village."""
    town = post.org_unit.parent
    if town is None:
        raise InvalidState(_("找不到该村（社区）所属的乡镇（街道）。"))
    return town


def open_case_for(post: Post) -> ReplacementCase | None:
    return db.session.scalar(select(ReplacementCase).where(
        ReplacementCase.post_id == post.id, ReplacementCase.status == OPEN)
        .order_by(ReplacementCase.id.desc()).limit(1))


def _text(value: str | None, field: str, *, required: Any) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(str(required), field)
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("内容不能超过%(n)s个字符。", n=MAX_TEXT), field)
    return text


def _check_post(post: Post) -> None:
    if post.post_type != PostType.VILLAGE_ASSISTANT.value:
        raise InvalidState(_("只能对村(社区)民政助理员启动撤换。"))
    if not post.is_open:
        raise InvalidState(_("该岗位已免职，不能启动撤换。"))


def open_case(post: Post, trigger: str, evidence: str, *, actor: Any,
              now: datetime) -> ReplacementCase:
    """Open a case against the holder of *post*; one open case per post."""
    _check_post(post)
    ensure(actor, Perm.PERSON_MANAGE, township_of(post))
    if trigger not in TRIGGERS:
        raise ValidationFailed(_("请从列表中选择撤换事由。"), "trigger")
    text = _text(evidence, "evidence", required=_l("请填写事实和证据。"))
    if open_case_for(post) is not None:
        raise InvalidState(_("该岗位已有正在办理的撤换案件。"))
    return _open(post, trigger, text, actor=actor, now=now)


def _open(post: Post, trigger: str, text: str, *, actor: Any, now: datetime) -> ReplacementCase:
    case = ReplacementCase(
        post_id=post.id, person_id=post.person_id, org_unit_id=post.org_unit_id,
        township_unit_id=township_of(post).id, trigger=trigger, evidence=text, status=OPEN,
        opened_at=now, opened_by_id=getattr(actor, "id", None),
        statement_due_on=add_working_days(local_date(now), STATEMENT_DAYS))
    db.session.add(case)
    db.session.flush()
    audit.record(actor, "replacement.open", case, now=now, post_id=post.id,
                 person_id=post.person_id, trigger=trigger,
                 statement_due_on=case.statement_due_on.isoformat())
    return case


def open_from_flag(post: Post, trigger: str, evidence: str, *, actor: Any,
                   now: datetime) -> ReplacementCase | None:
    """For the evaluation domain, whose caller has checked the county's authority (the county
    bureau confirms the year): open a case from a replacement flag, or return the one already
    open on the post; None when the post has been removed meanwhile."""
    if not post.is_open:
        return None
    existing = open_case_for(post)
    if existing is not None:
        return existing
    if trigger not in TRIGGERS or not evidence.strip():
        raise ValueError("a flag needs a known trigger and evidence")
    return _open(post, trigger, evidence.strip()[:MAX_TEXT], actor=actor, now=now)


def statement_open(case: ReplacementCase, now: datetime) -> bool:
    """Whether the person may still submit (or replace) the statement."""
    return case.status == OPEN and local_date(now) <= case.statement_due_on


def submit_statement(case: ReplacementCase, text: str, *, user: Any,
                     now: datetime) -> None:
    """The person's own statement (申辩), until the due date and while the case is open; a
    second submission before the deadline replaces the first (both are in the audit log)."""
    if user is None or getattr(user, "person_id", None) != case.person_id:
        raise InvalidState(_("只有当事人本人可以提交申辩。"))
    if case.status != OPEN:
        raise InvalidState(_("该撤换案件已办结，不能再提交申辩。"))
    if local_date(now) > case.statement_due_on:
        raise InvalidState(_("申辩期限（%(due)s）已过，不能再提交申辩。",
                             due=case.statement_due_on.isoformat()))
    case.statement = _text(text, "statement", required=_l("请填写申辩内容。"))
    case.statement_at = now
    db.session.flush()
    audit.record(user, "replacement.statement", case, now=now, person_id=case.person_id,
                 statement=case.statement)


def _township(case: ReplacementCase) -> OrgUnit:
    town = db.session.get(OrgUnit, case.township_unit_id)
    assert town is not None
    return town


def _check_open(case: ReplacementCase) -> None:
    if case.status != OPEN:
        raise InvalidState(_("该撤换案件已是“%(status)s”，不能再办理。",
                             status=status_label(case.status)))


def may_dismiss_now(case: ReplacementCase, now: datetime) -> bool:
    """A dismissal waits for the statement or the end of the statement period."""
    return case.statement_at is not None or local_date(now) > case.statement_due_on


def decide(case: ReplacementCase, outcome: str, note: str, *, actor: Any,
           now: datetime) -> None:
    """The township's decision: ``dismissed`` (post removed, trainee access ended) or ``kept``."""
    ensure(actor, Perm.PERSON_MANAGE, _township(case))
    _check_open(case)
    if outcome not in OUTCOMES:
        raise ValidationFailed(_("请选择决定：撤换或留任。"), "outcome")
    text = _text(note, "note", required=_l("请填写决定理由。"))
    if outcome == DISMISSED:
        if not may_dismiss_now(case, now):
            raise InvalidState(_(
                "当事人的申辩期限到 %(due)s 为止，期满或收到申辩后才能作出撤换决定。",
                due=case.statement_due_on.isoformat()))
        post = case.post
        if not post.is_open:
            raise InvalidState(_("该岗位已免职，请撤销本案件。"))
        # the case is decided before the post goes, so the removal effect (which withdraws the
        # post's open cases) leaves this one alone
        case.status = outcome
        try:
            apply_post_status(post, PostStatus.REMOVED, actor=actor, now=now,
                              reason=_("撤换：%(note)s", note=text))
        except Exception:
            case.status = OPEN
            raise
    case.status = outcome
    case.decision_note = text
    case.decided_at = now
    case.decided_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "replacement.dismiss" if outcome == DISMISSED else "replacement.keep",
                 case, now=now, post_id=case.post_id, person_id=case.person_id,
                 note=text[:200])
    if outcome == DISMISSED:
        disable_trainee_account(case, actor=actor, now=now)


def disable_trainee_account(case: ReplacementCase, *, actor: Any, now: datetime) -> User | None:
    """End the dismissed person's trainee access: their account is disabled and its sessions
    ended, unless it holds a role (an administrator keeps access) or the person still holds
    another open post. Returns the account disabled, if any."""
    user = db.session.scalar(select(User).where(User.person_id == case.person_id))
    if user is None or not user.is_active or user.roles:
        return None
    other = db.session.scalar(select(Post.id).where(
        Post.person_id == case.person_id, Post.id != case.post_id,
        Post.status != PostStatus.REMOVED.value).limit(1))
    if other is not None:
        return None
    user.is_active = False
    sessions = revoke_all_sessions(user, now=now)
    db.session.flush()
    audit.record(actor, "account.disable", user, now=now, reason="replacement",
                 replacement_case_id=case.id, sessions=sessions)
    return user


def withdraw(case: ReplacementCase, note: str, *, actor: Any, now: datetime) -> None:
    """The township drops the case (opened in error, or the trigger no longer holds)."""
    ensure(actor, Perm.PERSON_MANAGE, _township(case))
    _check_open(case)
    text = _text(note, "note", required=_l("请填写撤销理由。"))
    case.status = WITHDRAWN
    case.decision_note = text
    case.decided_at = now
    case.decided_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "replacement.withdraw", case, now=now, post_id=case.post_id,
                 person_id=case.person_id, note=text[:200])


def _withdraw_on_removal(post: Post, old: PostStatus, new: PostStatus, actor: Any,
                        now: datetime) -> None:
    """Gate effect: when a post is removed another way (status form, transfer), its open case
    is closed as withdrawn; a case being decided as a dismissal is already ``dismissed``."""
    if new != PostStatus.REMOVED:
        return
    note = str(REMOVED_NOTE)
    for case in db.session.scalars(select(ReplacementCase).where(
            ReplacementCase.post_id == post.id, ReplacementCase.status == OPEN)
            .order_by(ReplacementCase.id)).all():
        case.status = WITHDRAWN
        case.decision_note = note
        case.decided_at = now
        case.decided_by_id = getattr(actor, "id", None)
        db.session.flush()
        audit.record(actor, "replacement.withdraw", case, now=now, post_id=case.post_id,
                     person_id=case.person_id, note=note, automatic=True)


register_gate(effect=_withdraw_on_removal)


def open_for_person(person_id: int) -> list[ReplacementCase]:
    """The person's open cases (their home page asks for a statement)."""
    return list(db.session.scalars(select(ReplacementCase).where(
        ReplacementCase.person_id == person_id, ReplacementCase.status == "open")
        .order_by(ReplacementCase.id)))


def for_person(person_id: int) -> list[ReplacementCase]:
    """The person's cases, newest first (for the person page)."""
    return list(db.session.scalars(select(ReplacementCase)
                                   .where(ReplacementCase.person_id == person_id)
                                   .options(joinedload(ReplacementCase.post))
                                   .order_by(ReplacementCase.opened_at.desc(),
                                             ReplacementCase.id.desc())))
