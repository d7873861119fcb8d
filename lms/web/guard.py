"""The global before-request guard: request id, write intent, login, password change, scope; and
the session refresh a read request leaves for after its response."""

from __future__ import annotations

import secrets

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from lms.audit import AuditContext, audit_context
from lms.auth.access import ScopedLoadError, get_in_scope, get_owned, rule_of, scope_for
from lms.auth.models import UserSession
from lms.auth.services import password_expired
from lms.auth.services.sessions import TOUCHED
from lms.db import utcnow, write_intent
from lms.extensions import db

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def start_request() -> None:
    g.request_id = secrets.token_hex(8)
    write_intent.set(request.method in UNSAFE)
    audit_context.set(AuditContext(request_id=g.request_id, ip=request.remote_addr))
    if _has_nul(request.args) or (request.method in UNSAFE and _has_nul(request.form)):
        abort(400)  # NUL is never valid text, and PostgreSQL refuses it in any string


def _has_nul(values) -> bool:  # noqa: ANN001 - a werkzeug MultiDict
    return any("\x00" in v for _k, v in values.items(multi=True))


def enforce_access():  # noqa: ANN201 - returns a response or None
    if request.endpoint is None or request.endpoint == "static":
        return None
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    rule = rule_of(view) if view else None
    if rule is None:  # check_routes makes this unreachable; fail closed anyway
        abort(404)
    if rule.kind == "public":
        return None
    if not current_user.is_authenticated:
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    user = current_user._get_current_object()
    if not rule.during_password_change and (
            user.must_change_password or password_expired(user, utcnow())):
        return redirect(url_for("auth.change_password"))
    if rule.kind == "login":
        return None
    args = request.view_args if request.view_args is not None else {}
    if rule.kind == "own":
        for arg, model in rule.loads.items():
            try:
                args[arg[:-3]] = get_owned(model, int(args.pop(arg)), user)
            except (ScopedLoadError, KeyError, ValueError):
                abort(404)
        return None
    scope = scope_for(user, rule.perm)
    if scope.is_empty:
        abort(403)
    g.scope = scope
    for arg, model in rule.loads.items():
        try:
            args[arg[:-3]] = get_in_scope(model, int(args.pop(arg)), scope)
        except (ScopedLoadError, KeyError, ValueError):
            abort(404)
    return None


def touch_after_read() -> None:
    """Write a read request's pending ``last_seen_at`` refresh in its own short transaction.

    The read transaction ends first (a GET keeps nothing), then the update runs in a transaction
    opened for writing (SQLite: BEGIN IMMEDIATE waits for the lock, where upgrading the read
    transaction would fail at once with "database is locked" under concurrent writers). The
    refresh is best effort: when the database stays busy it is skipped, and the next request,
    a minute later at most, tries again."""
    pending = db.session.info.pop(TOUCHED, None)
    if pending is None:
        return
    session_id, now = pending
    db.session.rollback()
    token = write_intent.set(True)
    try:
        db.session.execute(update(UserSession).where(UserSession.id == session_id)
                           .values(last_seen_at=now))
        db.session.commit()
    except OperationalError:
        db.session.rollback()
    finally:
        write_intent.reset(token)
