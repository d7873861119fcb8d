"""季度考核: a township's quarterly grades of its village assistants (one list, one select per
assistant, one save), and the township's payroll sheet of a computed quarter."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import local_date, utcnow
from lms.errors import DomainError, InvalidState
from lms.extensions import db
from lms.grading import ledger, payroll
from lms.grading.labels import GRADE_LABELS, PAY_LABELS, QUARTER_LABELS, grade_label
from lms.grading.models import ChangeRequest, ChangeStatus, PayStatus, StipendLine
from lms.grading.policy import Grade
from lms.grading.simulate import yuan
from lms.grading.stipend_forms import GradeSheetForm, Pick, read_grades
from lms.grading.views import bp
from lms.i18n import _, _l
from lms.org import queries
from lms.org.models import Level, OrgUnit
from lms.org.people_forms import unit_choices
from lms.web.actions import begin_write, form_refusal

TOWNSHIP = (Level.TOWNSHIP,)


def _pick() -> Pick:
    form = Pick(formdata=request.args)
    rows = queries.unit_choices(scope=g.scope, levels=TOWNSHIP)
    form.setup(unit_choices(rows, _("请选择")), local_date(utcnow()),
               unit_label=_l("乡镇（街道）"))
    return form


def _chosen(form: Pick) -> tuple[OrgUnit, int, int] | None:
    values = form.values()
    if values is None or values[0] is None:
        return None
    township = queries.unit_in_scope(values[0], g.scope)
    if township is None:  # the list comes from the scope: a stale page
        form.unit.errors = [*form.unit.errors, _("请从列表中选择单位。")]
        return None
    return township, values[1], values[2]


def _confirmed_lines(run: Any, township: OrgUnit) -> dict[int, Any]:
    """Post id → (line id, amount, open change request) of the township in a confirmed run."""
    if run is None or run.status != PayStatus.CONFIRMED:
        return {}
    open_change = select(ChangeRequest.id).where(
        ChangeRequest.stipend_line_id == StipendLine.id,
        ChangeRequest.status == ChangeStatus.PROPOSED).exists()
    return {post_id: (line_id, fen, pending) for post_id, line_id, fen, pending in
            db.session.execute(select(StipendLine.post_id, StipendLine.id, StipendLine.amount_fen,
                                      open_change)
                               .where(StipendLine.run_id == run.id,
                                      StipendLine.township_id == township.id)).all()}


def _page(form: Pick, chosen: tuple[OrgUnit, int, int] | None, *,
          sheet: GradeSheetForm | None = None, posted: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    roster, run, lines = [], None, {}
    if chosen is not None:
        township, year, quarter = chosen
        roster = ledger.quarter_roster(township, year, quarter)
        county = ledger.county_of(township)
        run = ledger.run_for(county, year, quarter) if county is not None else None
        lines = _confirmed_lines(run, township)
    return render_template(
        "grading/quarter_grades.html", form=form, sheet=sheet or GradeSheetForm(),
        chosen=chosen, roster=roster, run=run, lines=lines, posted=posted or {},
        grades=[(grade.value, GRADE_LABELS[grade]) for grade in Grade],
        quarter_names=QUARTER_LABELS, pay_labels=PAY_LABELS, grade_label=grade_label, yuan=yuan,
        locked=run is not None and run.status == PayStatus.CONFIRMED,
    ), status


@bp.get("/quarters")
@requires(Perm.EVALUATION_SCORE)
def quarter_grades() -> tuple[str, int]:
    form = _pick()
    return _page(form, _chosen(form))


@bp.post("/quarters")
@requires(Perm.EVALUATION_SCORE)
def save_quarter_grades() -> Response | tuple[str, int]:
    form = _pick()
    sheet = GradeSheetForm()
    posted = {k: v for k, v in request.form.items() if k.startswith("grade-")}
    chosen = _chosen(form)
    if chosen is None:
        sheet.form_errors.append(_("请先选择乡镇（街道）、年度和季度。"))
        return _page(form, chosen, sheet=sheet, posted=posted, status=400)
    if not sheet.validate_on_submit():
        return _page(form, chosen, sheet=sheet, posted=posted, status=400)
    township, year, quarter = chosen
    here = url_for("grading.quarter_grades", unit=township.id, year=year, quarter=quarter)
    try:
        roster = ledger.quarter_roster(township, year, quarter)
        grades = read_grades(request.form, [(p.post_id, p.name) for p, _g in roster])
        changed = ledger.enter_quarter_grades(township, year, quarter, grades,
                                              actor=current_user, now=utcnow())
    except InvalidState as exc:  # the county confirmed the quarter meanwhile
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(here)
    except DomainError as exc:
        form_refusal(sheet, exc)
        return _page(form, chosen, sheet=sheet, posted=posted, status=400)
    db.session.commit()
    flash(_("已保存 %(n)s 人的季度考核等次。", n=changed) if changed
          else _("季度考核等次没有变化。"), "success")
    return redirect(here)


@bp.get("/quarters/payroll.xlsx")
@requires(Perm.EVALUATION_SCORE)
def township_payroll() -> Response:
    """The township's payroll sheet of a computed quarter (township staff cannot open the
    county's quarter; county staff download it there)."""
    form = _pick()
    chosen = _chosen(form)
    if chosen is None:
        flash(_("请先选择乡镇（街道）、年度和季度。"), "error")
        return redirect(url_for("grading.quarter_grades"))
    township, year, quarter = chosen
    here = url_for("grading.quarter_grades", unit=township.id, year=year, quarter=quarter)
    county = ledger.county_of(township)
    run = ledger.run_for(county, year, quarter) if county is not None else None
    if run is None:
        flash(_("该季度补贴尚未由县级计算，暂无补贴发放表。"), "error")
        return redirect(here)
    try:
        sheet = payroll.workbook(run, township=township, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(here)
    begin_write()
    payroll.record_export(run, sheet, township=township, actor=current_user, now=utcnow())
    db.session.commit()
    return send_file(sheet.data, as_attachment=True,
                     download_name=payroll.download_name(run, township), mimetype=payroll.XLSX)
