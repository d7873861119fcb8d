"""Posts and their status lifecycle (spec decision 4). Flush, never commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.db import local_date
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.labels import label, level_label
from lms.org.models import (
    LEVEL_RANK,
    POST_LEVEL,
    Level,
    OrgUnit,
    Person,
    Post,
    PostStatus,
    PostType,
)

#: Allowed status moves. The onboarding gate adds its checks on top (``register_gate``).
TRANSITIONS: dict[PostStatus, frozenset[PostStatus]] = {
    PostStatus.NOMINATED: frozenset({PostStatus.PENDING_ONBOARDING, PostStatus.REMOVED}),
    PostStatus.PENDING_ONBOARDING: frozenset({PostStatus.ONBOARDED, PostStatus.REMOVED}),
    PostStatus.ONBOARDED: frozenset({PostStatus.IN_POST, PostStatus.REMOVED}),
    PostStatus.IN_POST: frozenset({PostStatus.SUSPENDED, PostStatus.REMOVED}),
    PostStatus.SUSPENDED: frozenset({PostStatus.IN_POST, PostStatus.REMOVED}),
    PostStatus.REMOVED: frozenset(),
}


def open_post(person: Person, unit: OrgUnit, post_type: PostType, *, actor: Any, now: datetime,
              status: PostStatus = PostStatus.NOMINATED, legacy: bool = False,
              started_on: date | None = None) -> Post:
    """A new post for a person. Only the legacy go-live import may open one directly in post."""
    ensure(actor, Perm.PERSON_MANAGE, unit)
    check_post_level(unit, post_type)
    if status == PostStatus.IN_POST and not legacy:
        raise InvalidState(_("新岗位须先完成岗前培训并通过考试，不能直接设为已上岗。"))
    if status not in (PostStatus.NOMINATED, PostStatus.IN_POST):
        raise InvalidState(_("新岗位只能以“已提名”状态创建。"))
    if any(p.is_open and p.org_unit_id == unit.id and p.post_type == post_type
           for p in person.posts):
        raise InvalidState(_("此人在该单位已有相同岗位。"))
    post = Post(person=person, org_unit_id=unit.id, post_type=post_type.value,
                status=status.value, is_legacy=legacy, started_on=started_on or local_date(now),
                status_changed_at=now, created_at=now)
    if status == PostStatus.IN_POST:
        post.in_post_on = post.started_on
    db.session.add(post)
    person.org_unit_id = unit.id
    db.session.flush()
    audit.record(actor, "post.open", post, now=now, person_id=person.id, post_type=post_type.value,
                 status=status.value, legacy=legacy)
    return post


def check_post_level(unit: OrgUnit, post_type: PostType) -> None:
    """A director or staff post sits at a township, an assistant post at a village."""
    if LEVEL_RANK[Level(unit.level)] != LEVEL_RANK[POST_LEVEL[post_type]]:
        raise ValidationFailed(_("该岗位只能设在%(level)s。", level=_level_name(
            POST_LEVEL[post_type])), "post_type")


def set_acting(post: Post, acting: bool, *, actor: Any, now: datetime) -> bool:
    """Mark or unmark a post as held by an acting person (代理); returns whether it changed."""
    ensure(actor, Perm.PERSON_MANAGE, post.org_unit)
    if not post.is_open:
        raise InvalidState(_("已免职的岗位不能再更改代理标记。"))
    if post.is_acting == acting:
        return False
    post.is_acting = acting
    db.session.flush()
    audit.record(actor, "post.acting", post, now=now, person_id=post.person_id, acting=acting)
    return True


def transfer_person(person: Person, unit: OrgUnit, post_type: PostType, *, actor: Any,
                    now: datetime, reason: str = "") -> Post:
    """End every open post (removed, history kept) and open a nominated post at *unit*."""
    ensure(actor, Perm.PERSON_MANAGE, person.org_unit)
    ensure(actor, Perm.PERSON_MANAGE, unit)
    check_post_level(unit, post_type)
    old_unit_id = person.org_unit_id
    if any(p.is_open and p.org_unit_id == unit.id and p.post_type == post_type
           for p in person.posts):
        raise ValidationFailed(_("此人已在该单位担任该岗位，无需调动。"), "unit")
    for old in [p for p in person.posts if p.is_open]:
        change_post_status(old, PostStatus.REMOVED, actor=actor, now=now,
                           reason=reason or _("调动"))
    post = open_post(person, unit, post_type, actor=actor, now=now)
    audit.record(actor, "person.transfer", person, now=now, old_unit_id=old_unit_id,
                 new_unit_id=unit.id, post_id=post.id, reason=reason[:200])
    return post


def _level_name(level: Level) -> str:
    return str(level_label(level))


#: ``guard(post, old, new)`` raises a DomainError naming what is missing; ``effect(post, old, new,
#: actor, now)`` runs after the move (assign a program, create a filing, …). Registered by the
#: onboarding domain, which sits after org in the domain order.
Guard = Callable[[Post, PostStatus, PostStatus], None]
Effect = Callable[[Post, PostStatus, PostStatus, Any, datetime], None]
_guards: list[Guard] = []
_effects: list[Effect] = []


def register_gate(guard: Guard | None = None, effect: Effect | None = None) -> None:
    if guard is not None and guard not in _guards:
        _guards.append(guard)
    if effect is not None and effect not in _effects:
        _effects.append(effect)


def change_post_status(post: Post, new: PostStatus, *, actor: Any, now: datetime,
                       reason: str = "") -> None:
    """A user moves a post along its lifecycle (needs PERSON_MANAGE on the post's unit)."""
    ensure(actor, Perm.PERSON_MANAGE, post.org_unit)
    apply_post_status(post, new, actor=actor, now=now, reason=reason)


def apply_post_status(post: Post, new: PostStatus, *, actor: Any, now: datetime,
                      reason: str = "") -> None:
    """The move itself, also made by the system (a completion onboards the post). Every move,
    whoever causes it, passes the lifecycle table and the registered gate checks."""
    old = PostStatus(post.status)
    if new == old:
        raise InvalidState(_("岗位已是“%(status)s”状态。", status=_status_name(old)))
    for guard in _guards:
        guard(post, old, new)
    if new not in TRANSITIONS[old]:
        if new == PostStatus.IN_POST:
            raise InvalidState(_("只有已通过岗前培训（完成培训并通过岗前考试）的人员才能上岗。"))
        raise InvalidState(_("岗位状态不能从“%(old)s”改为“%(new)s”。",
                             old=_status_name(old), new=_status_name(new)))
    post.status = new.value
    post.status_changed_at = now
    if new == PostStatus.REMOVED:
        post.ended_on = local_date(now)
    if new == PostStatus.IN_POST and post.in_post_on is None:
        post.in_post_on = local_date(now)
    db.session.flush()
    audit.record(actor, "post.status", post, now=now, old=old.value, new=new.value,
                 reason=reason[:200])
    for effect in _effects:
        effect(post, old, new, actor, now)


def _status_name(status: PostStatus) -> str:
    return str(label(status))
