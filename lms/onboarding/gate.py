"""The onboarding gate (spec decision 4, domain §3.3): checks and consequences of every post
move, wherever it comes from (status form, import, CLI, a completion). Flush, never commit.

- ``nominated → pending_onboarding``: a director needs a concurred county consultation; the
  tier's onboarding program is assigned and the person enrolled in it; a valid earlier
  onboarding completion for the same post type (a transfer) is recorded as the equivalent and
  onboards the post at once.
- ``pending_onboarding → onboarded``: only with a completion of the assigned program (made by
  the completion listener below) or the recorded equivalent.
- anything ``→ in_post``: only from ``onboarded``; the refusal names what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from lms import audit
from lms.db import utcnow
from lms.errors import InvalidState
from lms.extensions import db
from lms.i18n import _, _l
from lms.labels import label, level_label
from lms.onboarding.models import Consultation, OnboardingRecord
from lms.onboarding.rules import TIER_LEVEL
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType
from lms.org.services.posts import apply_post_status, register_gate
from lms.training.completion import (
    CompletionCheck,
    check_completion,
    local_date,
    register_completion_listener,
)
from lms.training.enrolment import enrol_for_onboarding
from lms.training.exam_outcomes import Retakes, retakes
from lms.training.models import Completion, Enrollment, Program

ONBOARDING = "onboarding"


def find_program(post: Post) -> Program | None:
    """The open onboarding program for the post's type, run by the tier's unit above the post
    (the newest when there are several)."""
    level = TIER_LEVEL[post.post_type]
    unit = aliased(OrgUnit)
    return db.session.scalar(
        select(Program).join(unit, unit.id == Program.org_unit_id)
        .where(Program.kind == ONBOARDING, Program.status == "open",
               Program.audience_post_type == post.post_type,
               Program.org_unit_id.in_(post.org_unit.ancestor_ids), unit.level == level.value)
        .order_by(Program.id.desc()).limit(1))


def equivalent_completion(person_id: int, post_type: str, now: datetime) -> Completion | None:
    """An earlier onboarding completion for the same post type still valid today."""
    today = local_date(now)
    return db.session.scalar(
        select(Completion).where(Completion.person_id == person_id,
                                 Completion.kind == ONBOARDING,
                                 Completion.post_type == post_type,
                                 (Completion.valid_until.is_(None))
                                 | (Completion.valid_until >= today))
        .order_by(Completion.completed_on.desc(), Completion.id.desc()).limit(1))


def record_for(post: Post) -> OnboardingRecord | None:
    return db.session.scalar(select(OnboardingRecord).where(OnboardingRecord.post_id == post.id))


def latest_consultation(post: Post) -> Consultation | None:
    return db.session.scalar(select(Consultation).where(Consultation.post_id == post.id)
                             .order_by(Consultation.id.desc()).limit(1))


# ---------------------------------------------------------------- what is missing


def _tier_unit_name(post: Post) -> str:
    return str(level_label(TIER_LEVEL[post.post_type]))


def _no_program(post: Post) -> str:
    return _("%(tier)s民政部门还没有开放面向%(post)s的岗前培训班，请先联系其开班。",
             tier=_tier_unit_name(post), post=label(post.post_type))


def consultation_gap(post: Post) -> str | None:
    """Why a director nomination may not start onboarding yet (None: it may)."""
    if post.post_type != PostType.OFFICE_DIRECTOR.value:
        return None
    found = latest_consultation(post)
    if found is None or found.status == "withdrawn":
        return _("乡镇民政办主任人选须先征求县级民政部门意见，县级同意后才能进入岗前培训。")
    if found.status == "concurred":
        return None
    if found.status == "objected":
        return _("县级民政部门不同意该人选：%(reply)s", reply=found.reply or "—")
    return _("征求意见尚未得到县级民政部门同意（当前：%(status)s）。",
             status=CONSULTATION_WORDS.get(found.status, found.status))


CONSULTATION_WORDS: dict[str, Any] = {
    "submitted": _l("待答复"), "info_requested": _l("要求补充材料"), "concurred": _l("同意"),
    "objected": _l("不同意"), "withdrawn": _l("已撤回"),
}


@dataclass(frozen=True)
class GateState:
    post: Post
    record: OnboardingRecord | None
    program: Program | None
    enrollment: Enrollment | None
    check: CompletionCheck | None
    retakes: Retakes | None

    @property
    def missing(self) -> list[str]:
        """What stands between the post and ``in_post``, in words (empty when none)."""
        status = PostStatus(self.post.status)
        if status in (PostStatus.ONBOARDED, PostStatus.IN_POST, PostStatus.SUSPENDED):
            return []
        if status == PostStatus.REMOVED:
            return [_("岗位已免职。")]
        if status == PostStatus.NOMINATED:
            gap = consultation_gap(self.post)
            first = [gap] if gap else []
            return [*first, _("尚未进入岗前培训（当前：%(status)s）。", status=label(status))]
        if self.program is None:
            return [_no_program(self.post)]
        items = [_("须完成《%(program)s》（%(hours)s 学时）", program=self.program.title,
                   hours=self.program.credit_hours)]
        if self.enrollment is not None and self.enrollment.status == "waitlisted":
            items.append(_("培训班已满，正在候补"))
        if self.check is not None:
            items += list(self.check.missing)
        if self.retakes is not None and self.retakes.exhausted:
            items.append(_("考试机会已用完仍未通过，须重修课程"))
        return items


def gate_state(post: Post, *, now: datetime) -> GateState:
    """Where the post stands on its way to ``in_post`` (a fixed handful of queries)."""
    record = record_for(post)
    if record is not None:
        program = db.session.get(Program, record.program_id) if record.program_id else None
    else:  # not assigned yet (nominated, or pending from an import): the program it would get
        program = find_program(post) if post.status in (
            PostStatus.NOMINATED.value, PostStatus.PENDING_ONBOARDING.value) else None
    enrollment = check = left = None
    if program is not None:
        enrollment = db.session.scalar(select(Enrollment).where(
            Enrollment.program_id == program.id, Enrollment.person_id == post.person_id))
        if enrollment is not None and enrollment.status == "enrolled":
            check = check_completion(enrollment, now=now)
            left = retakes(enrollment, now=now)
    return GateState(post, record, program, enrollment, check, left)


# ---------------------------------------------------------------- guard and effects


def _guard(post: Post, old: PostStatus, new: PostStatus) -> None:
    if new == PostStatus.PENDING_ONBOARDING:
        gap = consultation_gap(post)
        if gap:
            raise InvalidState(gap)
        if find_program(post) is None and equivalent_completion(
                post.person_id, post.post_type, _now()) is None:
            raise InvalidState(_no_program(post))
    elif new == PostStatus.ONBOARDED:
        record = record_for(post)
        if record is None or record.completion_id is None:
            state = gate_state(post, now=_now())
            raise InvalidState(_("尚未通过岗前培训：%(missing)s。",
                                 missing="；".join(state.missing)))
    elif new == PostStatus.IN_POST and old not in (PostStatus.ONBOARDED, PostStatus.SUSPENDED):
        state = gate_state(post, now=_now())
        raise InvalidState(_("只有通过岗前培训的人员才能上岗。%(name)s还缺：%(missing)s。",
                             name=post.person.name, missing="；".join(state.missing)))


def _now() -> datetime:
    return utcnow()


def _effect(post: Post, old: PostStatus, new: PostStatus, actor: Any, now: datetime) -> None:
    if new == PostStatus.PENDING_ONBOARDING:
        _assign(post, actor, now)
    elif new == PostStatus.IN_POST and old == PostStatus.ONBOARDED:
        for fn in _in_post_listeners:
            fn(post, actor, now)


#: Told when a post goes ``onboarded → in_post`` (the assistant filing is created there).
_in_post_listeners: list[Any] = []


def on_in_post(fn: Any) -> Any:
    _in_post_listeners.append(fn)
    return fn


def _assign(post: Post, actor: Any, now: datetime) -> None:
    program = find_program(post)
    record = record_for(post) or OnboardingRecord(post_id=post.id, person_id=post.person_id,
                                                  org_unit_id=post.org_unit_id)
    record.program_id = program.id if program else None
    record.assigned_at = now
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "onboarding.assign", record, now=now, post_id=post.id,
                 person_id=post.person_id, program_id=record.program_id)
    earlier = equivalent_completion(post.person_id, post.post_type, now)
    if earlier is not None:
        _pass(post, record, earlier, "equivalent", actor, now)
    elif program is not None:
        person = db.session.get(Person, post.person_id)
        enrol_for_onboarding(program, person, actor=actor, now=now)


def _pass(post: Post, record: OnboardingRecord, completion: Completion, how: str, actor: Any,
          now: datetime) -> None:
    record.completion_id, record.how, record.onboarded_at = completion.id, how, now
    db.session.flush()
    audit.record(actor, "onboarding.pass", record, now=now, post_id=post.id,
                 person_id=post.person_id, completion_id=completion.id, how=how,
                 serial_no=completion.serial_no)
    apply_post_status(post, PostStatus.ONBOARDED, actor=actor, now=now,
                      reason=_("岗前培训合格，证书编号 %(serial)s", serial=completion.serial_no))


def _on_completions(made: list[Completion], actor: Any, now: datetime) -> None:
    """An onboarding completion for a post type onboards the person's posts of that type waiting
    for onboarding: the assigned program's, or another tier-appropriate onboarding program's
    (next year's, say), in which case the record follows the program actually completed."""
    for completion in made:
        if completion.kind != ONBOARDING:
            continue
        waiting = db.session.execute(
            select(Post, OnboardingRecord).join(OnboardingRecord,
                                                OnboardingRecord.post_id == Post.id)
            .where(Post.person_id == completion.person_id,
                   Post.post_type == completion.post_type,
                   Post.status == PostStatus.PENDING_ONBOARDING.value)).all()
        for post, record in waiting:
            record.program_id = completion.program_id
            _pass(post, record, completion, "completion", actor, now)


register_gate(guard=_guard, effect=_effect)
register_completion_listener(_on_completions)

# The consultation and replacement modules register their own effects of a removal (an open
# consultation or replacement case on the removed post is withdrawn); import them with the gate
# so they are in place wherever a post can be removed. At the end: they import from this module.
import lms.onboarding.consultations  # noqa: E402,F401
import lms.onboarding.replacements  # noqa: E402,F401
