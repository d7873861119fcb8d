"""Account management inside the actor's subtree: list, detail, create, reset, disable, unlock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, or_, select
from werkzeug.wrappers import Response

from lms.admin.forms import (
    AccountFilterForm,
    AccountForm,
    GrantRoleForm,
    refused_choice,
    unit_choices,
)
from lms.admin.views import bp
from lms.admin.views.common import Slip, form_error, paginate, render_slips, unit_labels
from lms.auth import services
from lms.auth.access import requires, scoped_select
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import Perm, Role
from lms.db import utcnow
from lms.errors import DomainError, NotAllowed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit

# ---------------------------------------------------------------- list


@bp.get("/accounts")
@requires(Perm.ACCOUNT_MANAGE)
def list_accounts() -> str:
    form = AccountFilterForm(request.args).fill(g.scope)
    form.validate()
    stmt = _filtered(scoped_select(User, g.scope), form, utcnow())
    total, page, size, users = paginate(stmt.order_by(User.username))
    return render_template("admin/accounts.html", users=users, total=total, page=page, size=size,
                           form=form, now=utcnow())


def _valid(field: Any) -> Any:
    return field.data if field.data and not field.errors else None


def _filtered(stmt: Select[Any], form: AccountFilterForm, now: datetime) -> Select[Any]:
    """Apply the filters that validated; none of them can widen the scope."""
    if q := _valid(form.q):
        q = q.strip()
        stmt = stmt.where(or_(User.username.contains(q.casefold(), autoescape=True),
                              User.display_name.contains(q, autoescape=True),
                              User.phone.startswith(q, autoescape=True)))
    if unit_id := _valid(form.unit):
        unit = db.session.get(OrgUnit, unit_id)
        stmt = stmt.where(User.org_unit_id.in_(select(OrgUnit.id).where(
            OrgUnit.path.startswith(unit.path, autoescape=True))))
    if role := _valid(form.role):
        stmt = stmt.where(User.person_id.is_not(None) if role == "trainee" else User.id.in_(
            select(RoleAssignment.user_id).where(RoleAssignment.role == role)))
    if state := _valid(form.state):
        stmt = stmt.where(_state_filter(state, now))
    return stmt


def _state_filter(state: str, now: datetime) -> Any:
    locked = User.locked_until > now
    return {
        "active": User.is_active.is_(True) & or_(User.locked_until.is_(None), ~locked),
        "disabled": User.is_active.is_(False),
        "locked": locked,
        "must_change": User.must_change_password.is_(True),
    }[state]


# ---------------------------------------------------------------- detail


@bp.get("/accounts/<int:user_id>")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def show_account(user: User) -> Any:
    return render_account(user)


def is_security_admin() -> bool:
    return any(r.role == Role.SECURITY_ADMIN for r in current_user.roles)


def grant_form() -> GrantRoleForm:
    return GrantRoleForm().fill(g.scope, security_admin=is_security_admin())


def render_account(user: User, form: GrantRoleForm | None = None, status: int = 200) -> Any:
    now = utcnow()
    return render_template(
        "admin/account.html", user=user, now=now, form=form or grant_form(),
        sessions=services.live_session_count(user, now=now),
        locked=bool(user.locked_until and user.locked_until > now),
        units=unit_labels([user.org_unit]),
        revocable={ra.id for ra in user.roles if user.id != current_user.id
                   and services.could_grant(current_user, Role(ra.role), ra.org_unit)},
    ), status


# ---------------------------------------------------------------- create


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires(Perm.ACCOUNT_MANAGE)
def new_account() -> Any:
    form = AccountForm()
    blank = _("（无单位：全局管理员账号）") if g.scope.is_global else None
    form.org_unit.choices = unit_choices(g.scope, blank=blank)
    if form.validate_on_submit():
        unit = db.session.get(OrgUnit, form.org_unit.data) if form.org_unit.data else None
        try:
            user, otp = services.create_user(
                form.username.data, form.display_name.data, org_unit=unit, actor=current_user,
                now=utcnow(), phone=form.phone.data or None)
        except DomainError as exc:
            db.session.rollback()
            form_error(form, exc)
        else:
            db.session.commit()
            return render_slips([_slip(user, otp or "")], title=_("账号已创建"), account=user)
    return render_template("admin/account_new.html", form=form), (
        403 if refused_choice(form.org_unit) else 200)


def _slip(user: User, password: str) -> Slip:
    unit = unit_labels([user.org_unit]).get(user.org_unit_id or 0, "")
    name = user.person.name if user.person else user.display_name
    return Slip(name=name, unit=unit, username=user.username, password=password)


# ---------------------------------------------------------------- actions


@bp.post("/accounts/<int:user_id>/reset-password")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def reset_password(user: User) -> Any:
    try:
        otp = services.reset_password(user, actor=current_user, now=utcnow())
    except DomainError as exc:
        return refused(user, exc)
    db.session.commit()
    return render_slips([_slip(user, otp)], title=_("密码已重置"), account=user)


@bp.post("/accounts/<int:user_id>/disable")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def disable_account(user: User) -> Any:
    return _act(user, lambda now: services.set_active(user, False, actor=current_user, now=now),
                _("账号已停用，其所有登录已结束。"))


@bp.post("/accounts/<int:user_id>/enable")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def enable_account(user: User) -> Any:
    return _act(user, lambda now: services.set_active(user, True, actor=current_user, now=now),
                _("账号已启用。"))


@bp.post("/accounts/<int:user_id>/unlock")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def unlock_account(user: User) -> Any:
    return _act(user, lambda now: services.unlock(user, actor=current_user, now=now),
                _("账号已解锁。"))


@bp.post("/accounts/<int:user_id>/end-sessions")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def end_sessions(user: User) -> Any:
    return _act(user, lambda now: services.end_all_sessions(user, actor=current_user, now=now),
                _("该账号的所有登录已结束。"))


def _act(user: User, change: Callable[[datetime], Any], done: str) -> Any:
    try:
        change(utcnow())
    except DomainError as exc:
        return refused(user, exc)
    db.session.commit()
    flash(done, "success")
    return redirect_to(user)


def refused(user: User, exc: DomainError) -> Any:
    """Nothing changed: the account page again with the reason (403 when not allowed)."""
    db.session.rollback()
    flash(str(exc), "error")
    return render_account(user, status=403 if isinstance(exc, NotAllowed) else 409)


def redirect_to(user: User) -> Response:
    return redirect(url_for("admin.show_account", user_id=user.id))
