"""Login with lockout and server-side sessions (decision 15, R04, R10–R12)."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import contains_eager

from lms import audit
from lms.audit import AuditEntry
from lms.auth import passwords
from lms.auth.models import User, UserSession
from lms.auth.services.common import LoginFailed, is_admin, normalize_username, settings, token_hash
from lms.auth.services.roles import ensure_manageable
from lms.db import write_intent
from lms.extensions import db

#: Conditions under which a quiet session outlives the idle timeout (never the absolute one):
#: an exam in progress must not log its candidate out (P6). Later domains register them.
_idle_exemptions: list[Callable[[User, datetime], bool]] = []


def register_idle_exemption(fn: Callable[[User, datetime], bool]) -> None:
    if fn not in _idle_exemptions:
        _idle_exemptions.append(fn)


def find_login(login: str) -> User | None:
    name = normalize_username(login)
    if not name or any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return None  # no account has such a name (and PostgreSQL cannot compare NUL)
    return db.session.execute(
        select(User).where(or_(User.username == name, User.phone == name))
    ).scalars().first()


def ip_throttled(ip: str | None, *, now: datetime) -> bool:
    """Too many failed logins from one address lately (R04's per-IP throttle; shared by every
    app process because it counts the audit log's ``auth.login_failed`` entries)."""
    limit = settings()["LOGIN_IP_MAX_FAILURES"]
    if not ip or not limit:
        return False
    since = now - timedelta(minutes=settings()["LOGIN_IP_WINDOW_MINUTES"])
    failures = db.session.execute(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "auth.login_failed", AuditEntry.ip == ip,
            AuditEntry.at >= since)).scalar_one()
    return failures >= limit


def authenticate(login: str, password: str, *, now: datetime, ip: str | None = None) -> User:
    """Check a login; 5 failures lock the account for 15 minutes (counters in the database),
    and an address with too many recent failures is refused whatever it sends."""
    if ip_throttled(ip, now=now):
        audit.record(None, "auth.login_failed", None, now=now, login=login[:64], reason="ip")
        raise LoginFailed
    user = find_login(login)
    ph = passwords.hasher(settings())
    if user is None:
        ph.hash(password[:128] or "x")  # same work as a real check: no user enumeration by timing
        audit.record(None, "auth.login_failed", None, now=now, login=login[:64], reason="unknown")
        raise LoginFailed
    if user.locked_until and user.locked_until > now:
        audit.record(user, "auth.login_failed", user, now=now, reason="locked")
        raise LoginFailed
    if not passwords.verify(ph, user.password_hash, password) or not user.is_active:
        count_failure(user, now=now, reason="inactive" if not user.is_active else "password")
        raise LoginFailed
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    audit.record(user, "auth.login", user, now=now)
    return user


def count_failure(user: User, *, now: datetime, reason: str) -> bool:
    """A wrong password on any login path (the login form, the current password of a password
    change): audited and counted; the ``LOCKOUT_THRESHOLD``-th locks the account for
    ``LOCKOUT_MINUTES``. True when this failure locked it."""
    user.failed_logins += 1
    audit.record(user, "auth.login_failed", user, now=now, reason=reason)
    if user.failed_logins < settings()["LOCKOUT_THRESHOLD"]:
        return False
    user.locked_until = now + timedelta(minutes=settings()["LOCKOUT_MINUTES"])
    user.failed_logins = 0
    audit.record(user, "auth.lockout", user, now=now)
    return True


def start_session(user: User, *, now: datetime, ip: str | None, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                               last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:200]))
    db.session.flush()
    user.session_token = token
    return token


#: ``(session row id, now)`` in the database session's ``info`` when a read request should refresh
#: its login session's ``last_seen_at``; ``touch_after_read`` writes it after the response.
TOUCHED = "login_session_touched"


def resolve_session(token: str, *, now: datetime) -> User | None:
    """The user of a live session, or None (revoked, idle too long, older than 12 h, disabled)."""
    # One statement for the session row, its user and the user's roles (every request pays it).
    row = db.session.execute(
        select(UserSession).join(UserSession.user)
        .options(contains_eager(UserSession.user).joinedload(User.roles))
        .where(UserSession.token_hash == token_hash(token))
    ).unique().scalar()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    user = row.user
    idle = settings()["ADMIN_IDLE_TIMEOUT_MINUTES"] if is_admin(user) else settings()[
        "IDLE_TIMEOUT_MINUTES"]
    if now - row.created_at > timedelta(hours=settings()["ABSOLUTE_TIMEOUT_HOURS"]):
        return None
    if now - row.last_seen_at > timedelta(minutes=idle) and not any(
            exempt(user, now) for exempt in _idle_exemptions):
        return None
    if now - row.last_seen_at > timedelta(seconds=60):  # one write a minute, not per request
        if write_intent.get():  # a write request: the refresh goes with its transaction
            row.last_seen_at = now
        else:  # a read request: written after the response, in a short write transaction
            db.session.info[TOUCHED] = (row.id, now)
    user.session_token = token
    return user


def end_session(token: str, *, now: datetime, actor: Any = None) -> None:
    """Log out: the session row is revoked, so the cookie is dead on every app process."""
    db.session.execute(update(UserSession).where(
        UserSession.token_hash == token_hash(token)).values(revoked_at=now))
    if actor is not None:
        audit.record(actor, "auth.logout", actor, now=now)


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
    idle = settings()["ADMIN_IDLE_TIMEOUT_MINUTES"] if is_admin(user) else settings()[
        "IDLE_TIMEOUT_MINUTES"]
    return db.session.execute(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.last_seen_at >= now - timedelta(minutes=idle),
        UserSession.created_at >= now - timedelta(hours=settings()["ABSOLUTE_TIMEOUT_HOURS"]),
    )).scalar_one()
