"""Who may manage an account, and granting / revoking roles (R18, R19)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lms import audit
from lms.auth.access import ensure, scope_for
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import ADMIN_ROLES, ROLE_MAX_RANK, ROLE_PERMS, Perm, Role
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit


def ensure_covers(actor: Any, unit: OrgUnit | None) -> None:
    """The actor manages accounts at *unit*; an account without a unit needs a global scope."""
    if actor is not None and not scope_for(actor, Perm.ACCOUNT_MANAGE).covers(unit):
        raise NotAllowed(_("您没有在该单位执行此操作的权限。"))


def could_grant(actor: Any, role: Role, unit: OrgUnit | None) -> bool:
    """Whether *actor* may hand out *role* at *unit*: never more than the actor holds (R18)."""
    if _is_security_admin(actor):
        return True
    if role in ADMIN_ROLES or unit is None:
        return False
    return all(scope_for(actor, p).covers(unit) for p in ROLE_PERMS[role] | {Perm.ACCOUNT_MANAGE})


def ensure_manageable(target: User, actor: Any) -> None:
    """Act on an account only inside the scope and only if it holds nothing the actor could not
    grant: a town admin cannot reset the password of someone with county rights."""
    ensure_covers(actor, target.org_unit)
    if not all(could_grant(actor, Role(ra.role), ra.org_unit) for ra in target.roles):
        raise NotAllowed(_("该账号拥有超出您权限的角色，只能由上级或安全管理员处理。"))



def grant_role(target: User, role: Role, unit: OrgUnit | None, *, actor: Any,
               now: datetime) -> RoleAssignment:
    """Grant within the actor's subtree, never more than the actor holds (R18, R19)."""
    ensure_manageable(target, actor)
    if role in ADMIN_ROLES:
        _check_admin_grant(target, role, actor)
        unit = None
    else:
        if unit is None:
            raise ValidationFailed(_("请选择授权单位。"), "org_unit")
        if Level(unit.level).rank > ROLE_MAX_RANK[role]:
            raise ValidationFailed(_("该角色只能授予乡镇及以上单位。"), "org_unit")
        ensure(actor, Perm.ACCOUNT_MANAGE, unit)
        held = ROLE_PERMS[role] - {Perm.ACCOUNT_MANAGE}
        if not _is_security_admin(actor) and not all(
                scope_for(actor, p).covers(unit) for p in held):
            raise NotAllowed(_("不能授予超出您自身权限的角色。"))
        if getattr(actor, "id", None) == target.id:
            raise NotAllowed(_("不能给自己授予角色。"))
    exists = any(r.role == role and r.org_unit_id == (unit.id if unit else None)
                 for r in target.roles)
    if exists:
        raise InvalidState(_("该账号已拥有此角色。"))
    ra = RoleAssignment(user_id=target.id, role=role.value, org_unit_id=unit.id if unit else None,
                        granted_by_id=getattr(actor, "id", None), granted_at=now)
    target.roles.append(ra)
    db.session.flush()
    audit.record(actor, "role.grant", target, now=now, role=role.value,
                 unit=unit.code if unit else None)
    return ra


def _is_security_admin(actor: Any) -> bool:
    return actor is None or any(r.role == Role.SECURITY_ADMIN for r in getattr(actor, "roles", []))


def _check_admin_grant(target: User, role: Role, actor: Any) -> None:
    if actor is not None and not _is_security_admin(actor):
        raise NotAllowed(_("只有安全管理员可以授予管理员角色。"))
    if actor is not None and actor.id == target.id:
        raise NotAllowed(_("不能给自己授予角色。"))
    if any(Role(r.role) in ADMIN_ROLES for r in target.roles):
        raise NotAllowed(_("系统、安全、审计管理员必须由不同账号担任。"))


def revoke_role(ra: RoleAssignment, *, actor: Any, now: datetime) -> None:
    ensure_manageable(ra.user, actor)
    role = Role(ra.role)
    if role in ADMIN_ROLES:
        if not _is_security_admin(actor):
            raise NotAllowed(_("只有安全管理员可以撤销管理员角色。"))
    else:
        ensure(actor, Perm.ACCOUNT_MANAGE, ra.org_unit)
    if getattr(actor, "id", None) == ra.user_id:
        raise NotAllowed(_("不能撤销自己的角色。"))
    user = ra.user
    user.roles.remove(ra)
    db.session.flush()
    audit.record(actor, "role.revoke", user, now=now, role=role.value,
                 unit=ra.org_unit.code if ra.org_unit else None)
