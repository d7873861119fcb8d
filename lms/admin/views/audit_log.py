"""The audit log, read-only, for audit administrators."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.admin.views import bp
from lms.extensions import db


@bp.get("/audit")
@requires(Perm.AUDIT_VIEW)
def audit_log() -> str:
    stmt = select(AuditEntry)
    action = request.args.get("action", "").strip()[:50]
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 1_000_000))
    except ValueError:
        page = 1
    entries = db.session.execute(
        stmt.order_by(AuditEntry.id.desc()).limit(50).offset((page - 1) * 50)).scalars().all()
    return render_template("admin/audit.html", entries=entries, total=total, page=page, size=50)
