"""Bulk imports of units and people: upload → preview (counts and row errors) → confirm.

Nothing is written before the confirmation. The uploaded file waits under ``UPLOAD_DIR/imports``
bound to the user; the confirmation checks it again (the data may have changed meanwhile) and
writes every row or none. Every unit a row touches must lie inside the user's scope; a row
outside it is a row error, never a write.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _, _l
from lms.org.importing import apply, blank, stash
from lms.org.importing.decode import FileProblem
from lms.org.importing.plan import CREATE, UNCHANGED, UPDATE, Plan
from lms.org.views import bp

#: Row errors listed on the preview page (the count always covers all of them).
SHOWN_ERRORS = 500
SHOWN_CHANGES = 200


class UploadForm(FlaskForm):
    file = FileField(_l("导入文件（.csv 或 .xlsx）"),
                     validators=[FileRequired(_l("请选择要导入的文件。"))])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])


@dataclass(frozen=True)
class Kind:
    name: str
    title: Any
    check: Callable[[bytes, Any, datetime], Plan]
    write: Callable[[Plan, Any, datetime, str], None]
    #: (label, endpoint) of the blank templates offered for download.
    templates: tuple[tuple[Any, str], ...]
    done_endpoint: str


UNITS = Kind(
    "units", _l("导入单位"),
    check=lambda data, actor, now: apply.check_units(data, actor=actor),
    write=lambda plan, actor, now, source: apply.write_units(
        plan, actor=actor, now=now, source=source),
    templates=((_l("下载模板（CSV）"), "org.units_template_csv"),),
    done_endpoint="org.tree")
PEOPLE = Kind(
    "people", _l("导入人员"),
    check=lambda data, actor, now: apply.check_people(data, actor=actor, now=now),
    write=lambda plan, actor, now, source: apply.write_people(
        plan, actor=actor, now=now, source=source),
    templates=((_l("下载模板（Excel）"), "org.people_template_xlsx"),
               (_l("下载模板（CSV）"), "org.people_template_csv")),
    done_endpoint="org.list_people")


# ---------------------------------------------------------------- routes


@bp.route("/import/units", methods=["GET", "POST"])
@requires(Perm.ORG_MANAGE)
def import_units() -> Response | str:
    return _upload(UNITS)


@bp.post("/import/units/confirm")
@requires(Perm.ORG_MANAGE)
def confirm_units() -> Response | str:
    return _confirm(UNITS)


@bp.get("/import/units/template.csv")
@requires(Perm.ORG_MANAGE)
def units_template_csv() -> Response:
    return _download(blank.units_csv(), _("单位导入模板") + ".csv", "text/csv; charset=utf-8")


@bp.route("/import/people", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE)
def import_people() -> Response | str:
    return _upload(PEOPLE)


@bp.post("/import/people/confirm")
@requires(Perm.PERSON_MANAGE)
def confirm_people() -> Response | str:
    return _confirm(PEOPLE)


@bp.get("/import/people/template.csv")
@requires(Perm.PERSON_MANAGE)
def people_template_csv() -> Response:
    return _download(blank.people_csv(), _("人员导入模板") + ".csv", "text/csv; charset=utf-8")


@bp.get("/import/people/template.xlsx")
@requires(Perm.PERSON_MANAGE)
def people_template_xlsx() -> Response:
    return _download(blank.people_xlsx(), _("人员导入模板") + ".xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------- steps


def _actor() -> Any:
    return current_user._get_current_object()


def _upload(kind: Kind) -> Response | str:
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data, filename = upload.read(), stash.display_name(upload.filename)
        try:
            plan = kind.check(data, _actor(), utcnow())
        except FileProblem as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            token = None
            if plan.ok and plan.count(CREATE) + plan.count(UPDATE):
                token = stash.put(data, user_id=_actor().id, kind=kind.name, filename=filename)
            page = _preview(kind, plan, filename, token)
            db.session.rollback()  # the check only read
            return page
    return render_template("org/import_upload.html", kind=kind, form=form)


def _preview(kind: Kind, plan: Plan, filename: str, token: str | None) -> str:
    errors = plan.sorted_errors()
    changes = [c for c in plan.changes if c.action != UNCHANGED]
    return render_template(
        "org/import_preview.html", kind=kind, plan=plan, filename=filename,
        errors=errors[:SHOWN_ERRORS], more_errors=max(0, len(errors) - SHOWN_ERRORS),
        changes=changes[:SHOWN_CHANGES], more_changes=max(0, len(changes) - SHOWN_CHANGES),
        form=ConfirmForm(token=token) if token else None)


def _confirm(kind: Kind) -> Response | str:
    form = ConfirmForm()
    kept = stash.get(form.token.data, user_id=_actor().id, kind=kind.name) \
        if form.validate_on_submit() else None
    if kept is None:
        flash(_("导入文件已过期或已经导入，请重新上传。"), "warning")
        return redirect(url_for(f"org.import_{kind.name}"))
    now = utcnow()
    try:
        plan = kind.check(kept.data, _actor(), now)
        if plan.ok:
            kind.write(plan, _actor(), now, kept.filename)
    except (FileProblem, apply.ImportFailed) as exc:
        db.session.rollback()
        stash.drop(kept.token)
        flash(str(exc), "error")
        return redirect(url_for(f"org.import_{kind.name}"))
    if not plan.ok:  # the data changed since the preview
        page = _preview(kind, plan, kept.filename, None)
        db.session.rollback()
        stash.drop(kept.token)
        return page
    db.session.commit()
    stash.drop(kept.token)
    flash(apply.summary(plan), "success")
    return redirect(url_for(kind.done_endpoint))


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=filename, max_age=0)
