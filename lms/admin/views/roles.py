"""Grant and revoke roles; the service enforces "never more than you hold" and 三员分立."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_login import current_user

from lms.admin.forms import refused_choice
from lms.admin.views import bp
from lms.admin.views.accounts import grant_form, redirect_to, refused, render_account
from lms.admin.views.common import form_error
from lms.auth import services
from lms.auth.access import requires
from lms.auth.models import RoleAssignment, User
from lms.auth.perms import Perm, Role
from lms.db import utcnow
from lms.errors import DomainError, NotAllowed
from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.org.models import OrgUnit


@bp.post("/accounts/<int:user_id>/roles")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def grant_role(user: User) -> Any:
    form = grant_form()
    if not form.validate_on_submit():
        # The choices are the actor's limits: a role or unit outside them is refused (R18).
        outside = refused_choice(form.role) or refused_choice(form.org_unit)
        return render_account(user, form, 403 if outside else 200)
    role = Role(form.role.data)
    unit = db.session.get(OrgUnit, form.org_unit.data) if form.org_unit.data else None
    try:
        services.grant_role(user, role, unit, actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        form_error(form, exc)
        return render_account(user, form, 403 if isinstance(exc, NotAllowed) else 200)
    db.session.commit()
    flash(_("已授予角色：%(role)s。", role=label(role.value)), "success")
    return redirect_to(user)


@bp.post("/accounts/<int:user_id>/roles/revoke")
@requires(Perm.ACCOUNT_MANAGE, user_id=User)
def revoke_role(user: User) -> Any:
    """Revoke one of *user*'s role assignments (named by the form; only this user's count)."""
    ra = _assignment(user, request.form.get("assignment", ""))
    name = label(ra.role)
    try:
        services.revoke_role(ra, actor=current_user, now=utcnow())
    except DomainError as exc:
        return refused(user, exc)
    db.session.commit()
    flash(_("已撤销角色：%(role)s。", role=name), "success")
    return redirect_to(user)


def _assignment(user: User, raw: str) -> RoleAssignment:
    found = next((ra for ra in user.roles if raw.isdigit() and ra.id == int(raw)), None)
    if found is None:
        abort(404)
    return found
