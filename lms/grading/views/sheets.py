"""One assistant's score sheet for the township (and the county): competence with its inputs, the
form for work, diligence and integrity while the round is open, the outcome, and after
confirmation the form proposing a correction (提出更正, decided by another person)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.access import can, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import appeals, changes, cycle
from lms.grading.models import ChangeRequest, ChangeStatus, Evaluation, RoundStatus
from lms.grading.rounds_forms import ProposeForm, ScoreForm
from lms.grading.views import bp
from lms.grading.views.rounds import page
from lms.i18n import _
from lms.web.actions import form_refusal


def _to_sheet(row: Evaluation) -> Response:
    return redirect(url_for("grading.show_sheet", evaluation_id=row.id))


def _score_form(row: Evaluation) -> ScoreForm:
    if request.method == "POST":
        return ScoreForm()
    form = ScoreForm(formdata=None)
    for name in ("work", "diligence", "integrity"):
        value = getattr(row, name)
        form[name].data = "" if value is None else str(value)
    form.veto.data, form.veto_reason.data = row.veto, row.veto_reason
    form.comment.data, form.evidence.data = row.comment, row.evidence
    return form


def _propose_form(row: Evaluation) -> ProposeForm:
    form = ProposeForm(formdata=None)
    for name in ("work", "diligence", "integrity", "satisfaction"):
        value = getattr(row, name)
        form[name].data = "" if value is None else str(value)
    form.veto.data, form.veto_reason.data = row.veto, row.veto_reason
    return form


def _sheet_page(row: Evaluation, *, score: ScoreForm | None = None,
                propose: ProposeForm | None = None, status: int = 200) -> tuple[str, int]:
    rnd = row.round
    pending = db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.evaluation_id == row.id).order_by(ChangeRequest.id.desc())).all()
    return page("grading/sheet.html", status, row=row, rnd=rnd,
                town=cycle.township_unit(row),
                form=score or _score_form(row),
                propose=propose or _propose_form(row),
                may_score=rnd.status == RoundStatus.OPEN and can(
                    current_user, Perm.EVALUATION_SCORE, cycle.township_unit(row)),
                may_propose=rnd.status == RoundStatus.CONFIRMED and can(
                    current_user, Perm.EVALUATION_SCORE, cycle.township_unit(row))
                and not any(c.status == ChangeStatus.PROPOSED for c in pending),
                changes=pending, appeals=appeals.appeals_of(row),
                review=can(current_user, Perm.EVALUATION_REVIEW, rnd.org_unit))


@bp.route("/sheets/<int:evaluation_id>", methods=["GET", "POST"])
@requires(Perm.EVALUATION_SCORE, evaluation_id=Evaluation)
def show_sheet(evaluation: Evaluation) -> Response | tuple[str, int]:
    row = evaluation
    if request.method == "GET":
        return _sheet_page(row)
    form = ScoreForm()
    if form.validate_on_submit():
        sheet = cycle.ScoreSheet(form.work.data, form.diligence.data, form.integrity.data,
                                 veto=bool(form.veto.data), veto_reason=form.veto_reason.data or "",
                                 comment=form.comment.data or "",
                                 evidence=form.evidence.data or "")
        try:
            changed = cycle.enter_scores(row, sheet, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("评分已保存。") if changed else _("没有需要保存的修改。"), "success")
            return _to_sheet(row)
    return _sheet_page(row, score=form, status=400)


@bp.post("/sheets/<int:evaluation_id>/change")
@requires(Perm.EVALUATION_SCORE, evaluation_id=Evaluation)
def propose_change(evaluation: Evaluation) -> Response | tuple[str, int]:
    row = evaluation
    form = ProposeForm()
    if form.validate_on_submit():
        sheet = cycle.ScoreSheet(form.work.data, form.diligence.data, form.integrity.data,
                                 veto=bool(form.veto.data), veto_reason=form.veto_reason.data or "")
        try:
            changes.propose_evaluation(row, sheet, form.satisfaction.data, form.reason.data or "",
                                       actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("更正申请已提交，须由县级另一名工作人员审核后生效。"), "success")
            return _to_sheet(row)
    return _sheet_page(row, propose=form, status=400)
