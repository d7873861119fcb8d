"""The county's side of appeals (申诉): the list of a round's appeals (open first) and the answer
form of one appeal."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from werkzeug.wrappers import Response

from lms.auth.access import can, requires, scoped_select
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import appeals
from lms.grading.models import Appeal, AppealStatus, Evaluation, EvaluationRound
from lms.grading.rounds_forms import AnswerForm
from lms.grading.views import bp
from lms.grading.views.rounds import PAGE_SIZE, page
from lms.i18n import _
from lms.web.actions import form_refusal, page_number


def _county_only(rnd: EvaluationRound) -> None:
    """Appeals are the county's business: township staff (who scored the sheet) do not read
    them, even though they may open their county's round."""
    if not can(current_user, Perm.EVALUATION_REVIEW, rnd.org_unit):
        abort(404)


@bp.get("/rounds/<int:evaluation_round_id>/appeals")
@requires(Perm.EVALUATION_REVIEW, evaluation_round_id=EvaluationRound)
def list_appeals(evaluation_round: EvaluationRound) -> tuple[str, int]:
    rnd = evaluation_round
    _county_only(rnd)
    stmt = (scoped_select(Appeal, g.scope)
            .join(Evaluation, Appeal.evaluation_id == Evaluation.id)
            .where(Evaluation.round_id == rnd.id))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = page_number()
    rows = db.session.execute(
        stmt.order_by(case((Appeal.status == AppealStatus.OPEN, 0), else_=1),
                      Appeal.submitted_at, Appeal.id)
        .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).scalars().all()
    return page("grading/appeal_list.html", rnd=rnd, rows=rows, total=total, page=number,
                size=PAGE_SIZE)


def _appeal_page(appeal: Appeal, form: AnswerForm | None = None,
                 status: int = 200) -> tuple[str, int]:
    rnd = appeal.evaluation.round
    return page("grading/appeal_detail.html", status, appeal=appeal, row=appeal.evaluation,
                rnd=rnd, form=form or AnswerForm(formdata=None),
                may_answer=appeal.status == AppealStatus.OPEN
                and can(current_user, Perm.EVALUATION_REVIEW, rnd.org_unit))


@bp.route("/appeals/<int:appeal_id>", methods=["GET", "POST"])
@requires(Perm.EVALUATION_REVIEW, appeal_id=Appeal)
def show_appeal(appeal: Appeal) -> Response | tuple[str, int]:
    _county_only(appeal.evaluation.round)
    form = AnswerForm()
    if not form.is_submitted():
        return _appeal_page(appeal)
    if form.validate_on_submit():
        try:
            appeals.answer(appeal, form.reply.data or "", actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("申诉已答复。"), "success")
            return redirect(url_for("grading.show_appeal", appeal_id=appeal.id))
    return _appeal_page(appeal, form, 400)
