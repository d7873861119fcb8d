"""Accounts: login with lockout, server-side sessions, passwords, roles. Flush, never commit."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import aliased

from lms import audit
from lms.auth import passwords
from lms.auth.access import ensure, scope_for
from lms.auth.models import RoleAssignment, User, UserSession
from lms.auth.perms import ADMIN_ROLES, ROLE_MAX_RANK, ROLE_PERMS, Perm, Role
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit, Person, Post, PostStatus


def _cfg() -> Any:
    return current_app.config


def normalize_username(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def _hash_password(pw: str) -> str:
    return passwords.hasher(_cfg()).hash(pw)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_admin(user: User) -> bool:
    return any(Role(r.role) in ADMIN_ROLES for r in user.roles)


class LoginFailed(Exception):
    """Generic: the same message whether the user exists, the password is wrong or it is locked."""


# ---------------------------------------------------------------- accounts

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
                password_hash=password_hash or _hash_password(otp or ""),
                must_change_password=True, password_changed_at=now, created_at=now)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "account.create", user, now=now, username=name)
    return user, otp


def reset_password(target: User, *, actor: Any, now: datetime) -> str:
    """New one-time password, all sessions ended, lock cleared."""
    ensure_manageable(target, actor)
    otp = passwords.generate_password()
    target.password_hash = _hash_password(otp)
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
    ph = passwords.hasher(_cfg())
    if not passwords.verify(ph, user.password_hash, old):
        raise ValidationFailed(_("当前密码不正确。"), "current")
    problems = passwords.password_problems(
        new, username=user.username, min_length=_cfg()["PASSWORD_MIN_LENGTH"],
        max_length=_cfg()["PASSWORD_MAX_LENGTH"])
    if problems:
        raise ValidationFailed(" ".join(problems), "new")
    if passwords.verify(ph, user.password_hash, new):
        raise ValidationFailed(_("新密码不能与当前密码相同。"), "new")
    user.password_hash = ph.hash(new)
    user.must_change_password = False
    user.password_changed_at = now
    db.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.token_hash != _token_hash(user.session_token or "")).values(revoked_at=now))
    audit.record(user, "account.password_change", user, now=now)


def password_expired(user: User, now: datetime) -> bool:
    admin_like = is_admin(user) or any(r.role == Role.HR for r in user.roles)
    days = _cfg()["PASSWORD_EXPIRY_DAYS_ADMIN"] if admin_like else _cfg()[
        "PASSWORD_EXPIRY_DAYS_TRAINEE"]
    return bool(days) and now - user.password_changed_at > timedelta(days=days)


# ---------------------------------------------------------------- login and sessions

def find_login(login: str) -> User | None:
    name = normalize_username(login)
    if not name or any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return None  # no account has such a name (and PostgreSQL cannot compare NUL)
    return db.session.execute(
        select(User).where(or_(User.username == name, User.phone == name))
    ).scalars().first()


def authenticate(login: str, password: str, *, now: datetime) -> User:
    """Check a login; 5 failures lock the account for 15 minutes (counters in the database)."""
    user = find_login(login)
    ph = passwords.hasher(_cfg())
    if user is None:
        ph.hash(password[:128] or "x")  # same work as a real check: no user enumeration by timing
        audit.record(None, "auth.login_failed", None, now=now, login=login[:64], reason="unknown")
        raise LoginFailed
    if user.locked_until and user.locked_until > now:
        audit.record(user, "auth.login_failed", user, now=now, reason="locked")
        raise LoginFailed
    if not passwords.verify(ph, user.password_hash, password) or not user.is_active:
        user.failed_logins += 1
        reason = "inactive" if not user.is_active else "password"
        audit.record(user, "auth.login_failed", user, now=now, reason=reason)
        if user.failed_logins >= _cfg()["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=_cfg()["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record(user, "auth.lockout", user, now=now)
        raise LoginFailed
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    audit.record(user, "auth.login", user, now=now)
    return user


def start_session(user: User, *, now: datetime, ip: str | None, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                               last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:200]))
    db.session.flush()
    user.session_token = token
    return token


def resolve_session(token: str, *, now: datetime) -> User | None:
    """The user of a live session, or None (revoked, idle too long, older than 12 h, disabled)."""
    row = db.session.execute(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).scalar()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    user = row.user
    idle = _cfg()["ADMIN_IDLE_TIMEOUT_MINUTES"] if is_admin(user) else _cfg()[
        "IDLE_TIMEOUT_MINUTES"]
    if (now - row.last_seen_at > timedelta(minutes=idle)
            or now - row.created_at > timedelta(hours=_cfg()["ABSOLUTE_TIMEOUT_HOURS"])):
        return None
    if now - row.last_seen_at > timedelta(seconds=60):  # one write a minute, not per request
        row.last_seen_at = now
    user.session_token = token
    return user


def end_session(token: str, *, now: datetime) -> None:
    db.session.execute(update(UserSession).where(
        UserSession.token_hash == _token_hash(token)).values(revoked_at=now))


def revoke_all_sessions(user: User, *, now: datetime) -> int:
    """End every open session of *user*; the number ended."""
    result = db.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)).values(revoked_at=now))
    return int(result.rowcount or 0)


def end_all_sessions(target: User, *, actor: Any, now: datetime) -> int:
    """Administrator's "end all sessions": every login of the account ends on the server (R12)."""
    ensure_manageable(target, actor)
    n = revoke_all_sessions(target, now=now)
    audit.record(actor, "account.sessions_end", target, now=now, sessions=n)
    return n


def live_session_count(user: User, *, now: datetime) -> int:
    """Sessions that would still be accepted now (not revoked, idle or past the absolute limit)."""
    idle = _cfg()["ADMIN_IDLE_TIMEOUT_MINUTES"] if is_admin(user) else _cfg()[
        "IDLE_TIMEOUT_MINUTES"]
    return db.session.execute(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.last_seen_at >= now - timedelta(minutes=idle),
        UserSession.created_at >= now - timedelta(hours=_cfg()["ABSOLUTE_TIMEOUT_HOURS"]),
    )).scalar_one()


# ---------------------------------------------------------------- who may manage an account

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


# ---------------------------------------------------------------- roles

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


# ---------------------------------------------------------------- accounts for imported people

_MOBILE = re.compile(r"1\d{10}")


@dataclass(frozen=True)
class NewAccount:
    """A created account with its one-time password (shown once on a login slip, never stored)."""

    user: User
    person: Person
    password: str


def trainee_candidates(unit: OrgUnit) -> Select[Any]:
    """People in *unit*'s subtree who hold an open post and have no account yet."""
    home = aliased(OrgUnit)
    open_post = select(Post.id).where(
        Post.person_id == Person.id, Post.status != PostStatus.REMOVED.value).exists()
    has_account = select(User.id).where(User.person_id == Person.id).exists()
    return (select(Person).join(home, Person.org_unit_id == home.id)
            .where(home.path.startswith(unit.path, autoescape=True), open_post, ~has_account)
            .order_by(home.code, Person.name, Person.id))


def hash_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def new_credentials(n: int) -> list[tuple[str, str]]:
    """*n* random one-time passwords with their argon2id hashes, hashed on a few threads.

    No database work: callers hash before opening the write transaction, so a large batch never
    holds the SQLite write lock while the CPU works.
    """
    ph = passwords.hasher(_cfg())
    otps = [passwords.generate_password() for _i in range(n)]
    if n <= 1:
        return [(pw, ph.hash(pw)) for pw in otps]
    with ThreadPoolExecutor(max_workers=hash_workers()) as pool:
        return list(zip(otps, pool.map(ph.hash, otps), strict=True))


def create_trainee_accounts(people: Sequence[Person], *, actor: Any, now: datetime,
                            credentials: Sequence[tuple[str, str]] | None = None,
                            ) -> list[NewAccount]:
    """One trainee account per person who has none: username = mobile number if it is free and
    nobody else's, else ``mz`` + 8 digits; a random one-time password each, changed at first
    login. The account's unit is the person's unit."""
    with_account = _people_with_accounts([p.id for p in people])
    todo = [p for p in people if p.id not in with_account]
    for person in todo:
        ensure_covers(actor, person.org_unit)
    creds = list(credentials) if credentials is not None else new_credentials(len(todo))
    if len(creds) < len(todo):
        raise ValueError("not enough credentials for the people given")
    taken = _taken_logins({m for p in todo if (m := _mobile(p.phone))}) | _shared_phones(todo)
    created = []
    for person, (otp, pw_hash) in zip(todo, creds, strict=False):
        phone = _mobile(person.phone)
        phone = phone if phone and phone not in taken else None
        username = phone or _generated_username(taken)
        taken.add(username)
        user = create_user(username, person.name, org_unit=person.org_unit, actor=actor, now=now,
                           phone=phone, person_id=person.id, password_hash=pw_hash)[0]
        created.append(NewAccount(user, person, otp))
    return created


def _mobile(raw: str | None) -> str | None:
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", raw or "") if ch not in " -")
    return digits if _MOBILE.fullmatch(digits) else None


def _shared_phones(people: Sequence[Person]) -> set[str]:
    """Mobile numbers of more than one person: ambiguous, so nobody logs in with them."""
    counts = Counter(m for p in people if (m := _mobile(p.phone)))
    shared = {m for m, n in counts.items() if n > 1}
    if counts:
        shared |= set(db.session.execute(select(Person.phone).where(
            Person.phone.in_(set(counts)), Person.id.not_in([p.id for p in people]))).scalars())
    return shared


def _people_with_accounts(person_ids: list[int]) -> set[int]:
    if not person_ids:
        return set()
    return set(db.session.execute(
        select(User.person_id).where(User.person_id.in_(person_ids))).scalars())


def _taken_logins(values: set[str]) -> set[str]:
    if not values:
        return set()
    rows = db.session.execute(select(User.username, User.phone).where(
        or_(User.username.in_(values), User.phone.in_(values)))).all()
    return {v for row in rows for v in row if v in values}


def _generated_username(taken: set[str]) -> str:
    while True:
        name = f"mz{secrets.randbelow(10 ** 8):08d}"
        if name not in taken and not db.session.execute(select(User.id).where(
                or_(User.username == name, User.phone == name))).first():
            return name
