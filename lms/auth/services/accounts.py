"""Accounts: create, reset, enable/disable, unlock, change password. Flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from lms import audit
from lms.auth import passwords
from lms.auth.models import User, UserSession
from lms.auth.perms import Role
from lms.auth.services.common import (
    hash_password,
    is_admin,
    normalize_username,
    settings,
    token_hash,
)
from lms.auth.services.roles import ensure_covers, ensure_manageable
from lms.auth.services.sessions import count_failure, revoke_all_sessions
from lms.errors import NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit


def check_new_username(username: str, phone: str | None = None) -> str:
    name = normalize_username(username)
    if not name or len(name) > 64:
        raise ValidationFailed(_("用户名应为 1–64 个字符。"), "username")
    taken = db.session.execute(
        select(User.id).where(or_(User.username == name, User.phone == name))
    ).first()
    if taken:
        raise ValidationFailed(_("用户名“%(name)s”已被使用。", name=name), "username")
    if phone and db.session.execute(select(User.id).where(
            or_(User.phone == phone, User.username == phone))).first():
        raise ValidationFailed(_("手机号 %(phone)s 已绑定其他账号。", phone=phone), "phone")
    return name


def create_user(username: str, display_name: str, *, org_unit: OrgUnit | None, actor: Any,
                now: datetime, phone: str | None = None, person_id: int | None = None,
                password_hash: str | None = None) -> tuple[User, str | None]:
    """Create an account with a one-time password (returned once, never stored in clear)."""
    ensure_covers(actor, org_unit)
    name = check_new_username(username, phone)
    otp = None if password_hash else passwords.generate_password()
    user = User(username=name, display_name=display_name.strip()[:50] or name, phone=phone,
                org_unit_id=org_unit.id if org_unit else None, person_id=person_id,
                password_hash=password_hash or hash_password(otp or ""),
                must_change_password=True, password_changed_at=now, created_at=now)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "account.create", user, now=now, username=name)
    return user, otp


def reset_password(target: User, *, actor: Any, now: datetime) -> str:
    """New one-time password, all sessions ended, lock cleared."""
    ensure_manageable(target, actor)
    otp = passwords.generate_password()
    target.password_hash = hash_password(otp)
    target.must_change_password = True
    target.password_changed_at = now
    target.failed_logins = 0
    target.locked_until = None
    revoke_all_sessions(target, now=now)
    audit.record(actor, "account.password_reset", target, now=now)
    return otp


def set_active(target: User, active: bool, *, actor: Any, now: datetime) -> None:
    ensure_manageable(target, actor)
    if getattr(actor, "id", None) == target.id and not active:
        raise NotAllowed(_("不能停用自己的账号。"))
    target.is_active = active
    if not active:
        revoke_all_sessions(target, now=now)
    audit.record(actor, "account.enable" if active else "account.disable", target, now=now)


def unlock(target: User, *, actor: Any, now: datetime) -> None:
    ensure_manageable(target, actor)
    target.failed_logins = 0
    target.locked_until = None
    audit.record(actor, "account.unlock", target, now=now)


def change_password(user: User, old: str, new: str, *, now: datetime) -> None:
    """The current password is a login path too (F11): a wrong one counts towards the lockout,
    the fifth locks the account for 15 minutes and ends all its sessions, and while it is locked
    even the right one is refused. The caller commits after a refusal to keep the counter."""
    ph = passwords.hasher(settings())
    if user.locked_until and user.locked_until > now:
        audit.record(user, "auth.login_failed", user, now=now, reason="locked")
        raise ValidationFailed(_("当前密码不正确。"), "current")
    if not passwords.verify(ph, user.password_hash, old):
        if count_failure(user, now=now, reason="current_password"):
            revoke_all_sessions(user, now=now)
        raise ValidationFailed(_("当前密码不正确。"), "current")
    user.failed_logins = 0
    problems = passwords.password_problems(
        new, username=user.username, min_length=settings()["PASSWORD_MIN_LENGTH"],
        max_length=settings()["PASSWORD_MAX_LENGTH"])
    if problems:
        raise ValidationFailed(" ".join(problems), "new")
    if passwords.verify(ph, user.password_hash, new):
        raise ValidationFailed(_("新密码不能与当前密码相同。"), "new")
    user.password_hash = ph.hash(new)
    user.must_change_password = False
    user.password_changed_at = now
    db.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.token_hash != token_hash(user.session_token or "")).values(revoked_at=now))
    audit.record(user, "account.password_change", user, now=now)


def password_expired(user: User, now: datetime) -> bool:
    admin_like = is_admin(user) or any(r.role == Role.HR for r in user.roles)
    days = settings()["PASSWORD_EXPIRY_DAYS_ADMIN"] if admin_like else settings()[
        "PASSWORD_EXPIRY_DAYS_TRAINEE"]
    return bool(days) and now - user.password_changed_at > timedelta(days=days)
