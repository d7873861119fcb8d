"""补贴发放: the county's four quarters of a year (compute, recompute, confirm), one quarter's
subtotals per township and its lines, the payroll sheet, and a change proposal on a line of a
confirmed quarter (decided by another person of the county on the change requests page)."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.access import can, requires
from lms.auth.perms import Perm
from lms.db import local_date, utcnow
from lms.errors import DomainError, ValidationFailed
from lms.extensions import db
from lms.grading import changes, ledger, payroll
from lms.grading.forms import ActionForm
from lms.grading.labels import PAY_LABELS, QUARTER_LABELS, grade_label, level_label
from lms.grading.models import (
    ChangeRequest,
    ChangeStatus,
    PayStatus,
    StipendLine,
    StipendQuarter,
)
from lms.grading.simulate import yuan
from lms.grading.stipend_forms import ChangeForm, Pick
from lms.grading.views import bp
from lms.i18n import _, _l
from lms.org import queries
from lms.org.models import Level, OrgUnit, Person
from lms.org.people_forms import opt_int, unit_choices
from lms.web.actions import begin_write, commit_or_flash, form_refusal, page_number

COUNTY = (Level.COUNTY,)
PAGE_SIZE = 50


def _helpers() -> dict[str, Any]:
    return {"yuan": yuan, "grade_label": grade_label, "grade_level": level_label,
            "pay_labels": PAY_LABELS, "quarter_names": QUARTER_LABELS}


def _to_list(county_id: int, year: int) -> Response:
    return redirect(url_for("grading.list_stipends", unit=county_id, year=year))


def _to_run(run: StipendQuarter) -> Response:
    return redirect(url_for("grading.show_stipends", stipend_quarter_id=run.id))


# ---------------------------------------------------------------- the county's year


@bp.get("/stipends")
@requires(Perm.EVALUATION_REVIEW)
def list_stipends() -> str:
    form = Pick(formdata=request.args)
    today = local_date(utcnow())
    rows = queries.unit_choices(scope=g.scope, levels=COUNTY)
    form.setup(unit_choices(rows, _("请选择")), today, unit_label=_l("县（市、区）"))
    values = form.values()
    county = (queries.unit_in_scope(values[0], g.scope)
              if values is not None and values[0] is not None else None)
    quarters: list[tuple[int, Any, bool]] = []
    if county is not None:
        year = values[1]
        runs = {r.quarter: r for r in db.session.scalars(select(StipendQuarter).where(
            StipendQuarter.org_unit_id == county.id, StipendQuarter.year == year))}
        quarters = [(q, runs.get(q), today > ledger.quarter_bounds(year, q)[1])
                    for q in ledger.QUARTERS]
    return render_template("grading/stipend_list.html", form=form, county=county,
                           year=values[1] if values else None, quarters=quarters,
                           action=ActionForm(), **_helpers())


def _posted_quarter() -> tuple[OrgUnit, int, int]:
    """The county, year and quarter of a compute button (refusals as DomainError)."""
    try:
        unit_id = opt_int(request.form.get("unit"))
        year = opt_int(request.form.get("year"))
        quarter = opt_int(request.form.get("quarter"))
    except ValueError:
        unit_id = year = quarter = None
    county = queries.chosen_unit(unit_id, g.scope)
    if year is None or quarter is None:
        raise ValidationFailed(_("请选择有效的年度和季度。"), "quarter")
    return county, year, quarter


@bp.post("/stipends/compute")
@requires(Perm.EVALUATION_REVIEW)
def compute_stipends() -> Response:
    if not ActionForm().validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return redirect(url_for("grading.list_stipends"))
    try:
        county, year, quarter = _posted_quarter()
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("grading.list_stipends"))
    commit_or_flash(lambda: ledger.compute_quarter(county, year, quarter, actor=current_user,
                                                   now=utcnow()),
                    _("%(year)s 年%(quarter)s补贴已计算，请核对后确认发放。", year=year,
                      quarter=QUARTER_LABELS.get(quarter, "")))
    return _to_list(county.id, year)


@bp.post("/stipends/<int:stipend_quarter_id>/confirm")
@requires(Perm.EVALUATION_REVIEW, stipend_quarter_id=StipendQuarter)
def confirm_stipends(stipend_quarter: StipendQuarter) -> Response:
    run = stipend_quarter
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: ledger.confirm_quarter(run, actor=current_user, now=utcnow()),
                        _("%(year)s 年%(quarter)s补贴已确认发放。", year=run.year,
                          quarter=QUARTER_LABELS[run.quarter]))
    else:
        flash(_("请刷新页面后重试。"), "error")
    return _to_list(run.org_unit_id, run.year)


# ---------------------------------------------------------------- one quarter


def _township_arg(subtotals: list[payroll.Subtotal]) -> tuple[int | None, bool]:
    """The ``township`` filter among the quarter's townships; (None, True) when it is not one."""
    raw = request.args.get("township", "")
    try:
        township_id = opt_int(raw)
    except ValueError:
        return None, True
    if township_id is not None and township_id not in {s.township_id for s in subtotals}:
        return None, True
    return township_id, False


@bp.get("/stipends/<int:stipend_quarter_id>")
@requires(Perm.EVALUATION_REVIEW, stipend_quarter_id=StipendQuarter)
def show_stipends(stipend_quarter: StipendQuarter) -> str:
    run = stipend_quarter
    subtotals = payroll.subtotals(run)
    township_id, bad_filter = _township_arg(subtotals)
    total = sum(s.people for s in subtotals if township_id in (None, s.township_id))
    page = page_number()
    rows = payroll.pay_rows(payroll.lines_select(run, township_id)
                            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    pending = set(db.session.scalars(select(ChangeRequest.stipend_line_id).where(
        ChangeRequest.stipend_line_id.in_([r.line_id for r in rows]),
        ChangeRequest.status == ChangeStatus.PROPOSED))) if rows else set()
    return render_template(
        "grading/stipend_detail.html", run=run, subtotals=subtotals, township_id=township_id,
        bad_filter=bad_filter, rows=rows, page=page, total=total, size=PAGE_SIZE,
        pending=pending, action=ActionForm(),
        can_propose=run.status == PayStatus.CONFIRMED
        and can(current_user, Perm.EVALUATION_SCORE, run.org_unit),
        has_changes="grading.list_changes" in current_app.view_functions, **_helpers())


@bp.get("/stipends/<int:stipend_quarter_id>/payroll.xlsx")
@requires(Perm.EVALUATION_SCORE, stipend_quarter_id=StipendQuarter)
def payroll_sheet(stipend_quarter: StipendQuarter) -> Response:
    """The county's payroll sheet, or one township's with ``?township=<id>``."""
    run = stipend_quarter
    township = None
    if "township" in request.args:
        try:
            township_id = opt_int(request.args["township"])
        except ValueError:
            abort(404)
        township = queries.unit_in_scope(township_id, g.scope) if township_id else None
        if (township is None or township.level != Level.TOWNSHIP.value
                or not township.path.startswith(run.org_unit.path)):
            abort(404)
    try:
        sheet = payroll.workbook(run, township=township, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        if can(current_user, Perm.EVALUATION_REVIEW, run.org_unit):
            return _to_run(run)
        return _to_list(run.org_unit_id, run.year)
    begin_write()
    payroll.record_export(run, sheet, township=township, actor=current_user, now=utcnow())
    db.session.commit()
    return send_file(sheet.data, as_attachment=True,
                     download_name=payroll.download_name(run, township), mimetype=payroll.XLSX)


# ---------------------------------------------------------------- 提出更正


def _line_facts(line: StipendLine) -> dict[str, Any]:
    units = {u.id: u for u in db.session.scalars(select(OrgUnit).where(
        OrgUnit.id.in_([line.org_unit_id, line.township_id])))}
    return {"person": db.session.get(Person, line.person_id),
            "village": units.get(line.org_unit_id), "township": units.get(line.township_id),
            "run": db.session.get(StipendQuarter, line.run_id)}


def _back_to(line: StipendLine, run: StipendQuarter) -> str:
    if can(current_user, Perm.EVALUATION_REVIEW, run.org_unit):
        return url_for("grading.show_stipends", stipend_quarter_id=run.id,
                       township=line.township_id)
    return url_for("grading.quarter_grades", unit=line.township_id, year=line.year,
                   quarter=line.quarter)


@bp.route("/stipend-lines/<int:stipend_line_id>/change", methods=["GET", "POST"])
@requires(Perm.EVALUATION_SCORE, stipend_line_id=StipendLine)
def propose_line_change(stipend_line: StipendLine) -> Response | tuple[str, int]:
    line = stipend_line
    facts = _line_facts(line)
    form = ChangeForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changes.propose_quarter(line, form.grade.data, form.reason.data,
                                        actor=current_user, now=utcnow())
            except DomainError as exc:
                form_refusal(form, exc)
            else:
                db.session.commit()
                flash(_("更正申请已提交，须由县级另一名工作人员审核后生效。"), "success")
                return redirect(_back_to(line, facts["run"]))
        status = 400
    pending = db.session.scalar(select(ChangeRequest.id).where(
        ChangeRequest.stipend_line_id == line.id, ChangeRequest.status == ChangeStatus.PROPOSED))
    return render_template(
        "grading/stipend_change.html", line=line, form=form, pending=pending,
        back=_back_to(line, facts["run"]),
        has_changes="grading.list_changes" in current_app.view_functions,
        **facts, **_helpers()), status
