"""Account management inside the actor's subtree."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import func, or_, select

from lms.admin.views import bp
from lms.auth.access import requires, scoped_select
from lms.auth.models import User
from lms.auth.perms import Perm
from lms.extensions import db


@bp.get("/accounts")
@requires(Perm.ACCOUNT_MANAGE)
def list_accounts() -> str:
    stmt = scoped_select(User, g.scope)
    q = request.args.get("q", "").strip()[:50]
    if q:
        stmt = stmt.where(or_(User.username.contains(q, autoescape=True),
                              User.display_name.contains(q, autoescape=True)))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    users = db.session.execute(
        stmt.order_by(User.username).limit(50).offset((page - 1) * 50)).unique().scalars().all()
    return render_template("admin/accounts.html", users=users, total=total, page=page, size=50)
