"""The audit log, read-only, for audit administrators; reading it is itself audited (R36).

There is no route that edits or deletes an entry; database triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from lms import audit
from lms.admin.forms import AuditFilterForm
from lms.admin.views import bp
from lms.admin.views.common import paginate
from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.auth.services import normalize_username
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _
from lms.web.actions import begin_write


@bp.get("/audit")
@requires(Perm.AUDIT_VIEW)
def audit_log() -> str:
    form = AuditFilterForm(request.args)
    form.validate()
    begin_write()
    audit.record(current_user, "audit.view", None, now=utcnow(), filters=_used_filters(form),
                 page=request.args.get("page", "1")[:10])
    db.session.commit()
    stmt = _filtered(select(audit.AuditEntry), form).order_by(audit.AuditEntry.id.desc())
    total, page, size, entries = paginate(stmt)
    return render_template("admin/audit.html", form=form, entries=entries, total=total, page=page,
                           size=size, details=details, visible=visible)


@bp.post("/audit/verify")
@requires(Perm.AUDIT_VIEW)
def verify_audit() -> Response:
    problem = audit.verify_chain()
    audit.record(current_user, "audit.verify", None, now=utcnow(), ok=problem is None,
                 broken_entry=problem.entry_id if problem else None)
    db.session.commit()
    if problem is None:
        flash(_("审计链校验通过：所有记录完整，未被篡改。"), "success")
    else:
        flash(_("审计链校验失败：第 %(id)s 条记录起链条断裂（%(reason)s）。请立即报告安全管理员。",
                id=problem.entry_id, reason=problem.reason), "error")
    return redirect(url_for("admin.audit_log"))


def _valid(field: Any) -> Any:
    data = field.data
    if isinstance(data, str):
        data = data.strip()
    return data if data and not field.errors else None


def _used_filters(form: AuditFilterForm) -> dict[str, str]:
    return {f.name: str(_valid(f)) for f in form if _valid(f)}


def _filtered(stmt: Select[Any], form: AuditFilterForm) -> Select[Any]:
    entry = audit.AuditEntry
    if action := _valid(form.action):
        stmt = stmt.where(entry.action.startswith(action, autoescape=True))
    if actor := _valid(form.actor):
        stmt = stmt.where(entry.actor_name == normalize_username(actor))
    if object_type := _valid(form.object_type):
        stmt = stmt.where(entry.object_type == object_type)
    if start := _valid(form.date_from):
        stmt = stmt.where(entry.at >= _day_start(start))
    if end := _valid(form.date_to):
        stmt = stmt.where(entry.at < _day_start(end + timedelta(days=1)))
    return stmt


def _day_start(day: date) -> datetime:
    """Midnight of a local calendar day (the deployment's time zone), in UTC."""
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def visible(value: Any) -> str:
    """Text with line breaks and other control or invisible characters spelled out (\\n,
    \\u202e), so a logged value can never fake a line or reorder what the reader sees (R37)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(value if value is not None else ""))


def details(entry: audit.AuditEntry) -> list[tuple[str, str]]:
    """The entry's details as visible (key, value) text pairs; the template escapes them."""
    try:
        data = json.loads(entry.data)
    except ValueError:
        return [("data", visible(entry.data))]
    if not isinstance(data, dict):
        return [("data", visible(entry.data))]
    return [(visible(k), _shown(v)) for k, v in sorted(data.items())]


#: A list or map of more items than this is shown by its size (e.g. the county → fingerprint map
#: of ``integrity.verified``: 151 hashes at province scale would fill a phone screen).
LONG_COLLECTION = 10


def _shown(value: Any) -> str:
    if isinstance(value, list | dict) and len(value) > LONG_COLLECTION:
        return _("（%(n)s 项，从略）", n=len(value))
    return visible(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
