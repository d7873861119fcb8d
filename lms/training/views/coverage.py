"""Coverage and rotation pages (培训覆盖): cards, a table by child unit with drill-down, lists of
due / overdue / never-trained people, XLSX exports, A4 print. Everything is read through the
user's ``TRAINING_VIEW`` scope; a ``?unit=`` outside it is a 404."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, render_template, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length

from lms.auth.access import MAX_ID, Scope, requires, scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _, _l
from lms.labels import label
from lms.org.export import TZ
from lms.org.models import OrgUnit, PostType
from lms.org.people_forms import NoControlChars, strip
from lms.org.services import breadcrumbs
from lms.training import coverage
from lms.training.coverage_export import XLSX, people_workbook, table_workbook
from lms.training.records import pending_select
from lms.training.views import bp

PAGE_SIZE = 50
STATUS_LABELS = coverage.ROTATION_LABELS


class CoverageFilter(FlaskForm):
    """Filters stay in the URL (GET, no CSRF); an unknown value is flagged and ignored."""

    class Meta:
        csrf = False

    q = StringField(_l("姓名"), filters=[strip], validators=[
        Length(max=50, message=_l("搜索词不能超过50个字符。")), NoControlChars()])
    post_type = SelectField(
        _l("岗位"), default="", invalid_choice_message=_l("请从列表中选择岗位。"),
        choices=[SelectChoice("", _l("全部岗位"))]
        + [SelectChoice(p.value, label(p)) for p in PostType])
    status = SelectField(
        _l("轮训状态"), default="", invalid_choice_message=_l("请从列表中选择轮训状态。"),
        choices=[SelectChoice("", _l("全部"))]
        + [SelectChoice(k, v) for k, v in STATUS_LABELS.items()])

    def value(self, name: str) -> str | None:
        field = self[name]
        return None if field.errors else (field.data or None)


def today_local() -> Any:
    return utcnow().astimezone(TZ).date()


def cutoffs() -> coverage.Cutoffs:
    return coverage.Cutoffs.of(today_local(), coverage.cycle_years(current_app.config))


def unit_arg(scope: Scope) -> OrgUnit | None:
    """The unit of ``?unit=`` (404 when out of scope); without one (or not an id), the user's own
    unit when the scope has a single top, else None (the whole scope)."""
    raw = request.args.get("unit", "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        tops = coverage.top_units(scope)
        return tops[0] if len(tops) == 1 else None
    unit_id = int(raw)
    unit = db.session.execute(
        select(OrgUnit).where(OrgUnit.id == unit_id, scope.where(OrgUnit.path))).scalar()
    if unit is None:
        abort(404)
    return unit


def page_arg() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isascii() and raw.isdigit() and len(raw) < 7 \
        else 1


def crumbs(unit: OrgUnit | None, scope: Scope) -> list[OrgUnit]:
    return [] if unit is None else [u for u in breadcrumbs(unit) if scope.covers(u)]


def _filters() -> CoverageFilter:
    form = CoverageFilter(formdata=request.args)
    form.validate()
    return form


def _scope_name(unit: OrgUnit | None) -> str:
    return unit.name if unit is not None else _("管辖范围")


def _list_name(status: str | None) -> str:
    return str(STATUS_LABELS[status]) if status else _("在岗人员")


def _stamp() -> str:
    return utcnow().astimezone(TZ).strftime("%Y%m%d")


@bp.get("/coverage")
@requires(Perm.TRAINING_VIEW)
def coverage_page() -> str:
    unit = unit_arg(g.scope)
    form = _filters()
    cut = cutoffs()
    rep = coverage.report(unit, scope=g.scope, cut=cut)
    return render_template(
        "training/coverage.html", rep=rep, unit=unit, form=form,
        post_type=form.value("post_type"), crumbs=crumbs(unit, g.scope), cut=cut,
        post_types=[p.value for p in PostType], status_labels=STATUS_LABELS,
        pending=_pending_count())


def _pending_count() -> int | None:
    """Pending external training in the approval scope (None: the user may not approve)."""
    scope = scope_for(current_user, Perm.TRAINING_APPROVE)
    if scope.is_empty:
        return None
    stmt = pending_select(scope)
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


@bp.get("/coverage/export.xlsx")
@requires(Perm.TRAINING_VIEW)
def export_coverage() -> Response:
    unit = unit_arg(g.scope)
    form = _filters()
    cut = cutoffs()
    rep = coverage.report(unit, scope=g.scope, cut=cut)
    data = table_workbook(rep, post_type=form.value("post_type"))
    name = _("培训覆盖-%(unit)s-%(date)s.xlsx", unit=_scope_name(unit), date=_stamp())
    return send_file(data, as_attachment=True, download_name=name, mimetype=XLSX)


@bp.get("/coverage/people")
@requires(Perm.TRAINING_VIEW)
def coverage_people() -> str:
    unit = unit_arg(g.scope)
    form = _filters()
    cut = cutoffs()
    page = page_arg()
    total, rows = coverage.people_page(
        unit, form.value("status"), scope=g.scope, cut=cut, post_type=form.value("post_type"),
        q=form.value("q") or "", page=page, size=PAGE_SIZE)
    return render_template(
        "training/coverage_people.html", rows=rows, total=total, page=page, size=PAGE_SIZE,
        unit=unit, form=form, status=form.value("status"), post_type=form.value("post_type"),
        what=_list_name(form.value("status")), crumbs=crumbs(unit, g.scope), cut=cut,
        status_labels=STATUS_LABELS)


@bp.get("/coverage/people/export.xlsx")
@requires(Perm.TRAINING_VIEW)
def export_coverage_people() -> Response:
    unit = unit_arg(g.scope)
    form = _filters()
    cut = cutoffs()
    status = form.value("status")
    stmt = coverage.people_select(unit, status, scope=g.scope, cut=cut,
                                  post_type=form.value("post_type"), q=form.value("q") or "")
    result = db.session.execute(stmt.execution_options(yield_per=500))
    data = people_workbook(coverage.as_rows(result, cut), STATUS_LABELS)
    name = _("轮训名单-%(what)s-%(unit)s-%(date)s.xlsx", what=_list_name(status),
             unit=_scope_name(unit), date=_stamp())
    return send_file(data, as_attachment=True, download_name=name, mimetype=XLSX)
