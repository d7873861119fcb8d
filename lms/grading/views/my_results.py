"""The assistant's own results (我的考评结果): the published and confirmed score sheets, one sheet
with the publication window, the person's appeals with the county's replies and the appeal form
while the window is open; and the home-page notice while a result of theirs is in publication."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.auth.access import login_only, owned
from lms.db import local_date, utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import appeals
from lms.grading.models import AppealStatus, Evaluation, EvaluationRound, RoundStatus
from lms.grading.rounds_forms import AppealForm
from lms.grading.views import bp
from lms.grading.views.rounds import page
from lms.i18n import _
from lms.web.actions import form_refusal
from lms.web.dashboard import Notice, register_notices


@bp.get("/my")
@login_only
def my_results() -> tuple[str, int]:
    rows = db.session.execute(
        select(Evaluation).where(Evaluation.owner_clause(current_user))
        .order_by(Evaluation.year.desc(), Evaluation.id.desc())).scalars().all()
    return page("grading/my_list.html", rows=rows)


def _my_page(row: Evaluation, form: AppealForm | None = None,
             status: int = 200) -> tuple[str, int]:
    mine = appeals.appeals_of(row)
    now = utcnow()
    return page("grading/my_sheet.html", status, row=row, rnd=row.round, appeals=mine,
                form=form or AppealForm(formdata=None),
                window=appeals.window_open(row, now)
                and not any(a.status == AppealStatus.OPEN for a in mine))


@bp.get("/my/<int:evaluation_id>")
@owned(evaluation_id=Evaluation)
def my_result(evaluation: Evaluation) -> tuple[str, int]:
    return _my_page(evaluation)


@bp.post("/my/<int:evaluation_id>/appeal")
@owned(evaluation_id=Evaluation)
def my_appeal(evaluation: Evaluation) -> Response | tuple[str, int]:
    form = AppealForm()
    if form.validate_on_submit():
        try:
            appeals.submit(evaluation, form.text.data or "", user=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("申诉已提交，县级民政部门将在审定前答复。"), "success")
            return redirect(url_for("grading.my_result", evaluation_id=evaluation.id))
    return _my_page(evaluation, form, 400)


@register_notices
def _published_results(person_id: int) -> list[Notice]:
    """A result of the person in its publication window, on their home page (one query)."""
    today = local_date(utcnow())
    rows = db.session.execute(
        select(Evaluation.id, Evaluation.year, EvaluationRound.publish_until)
        .join(EvaluationRound, Evaluation.round_id == EvaluationRound.id)
        .where(Evaluation.person_id == person_id,
               EvaluationRound.status == RoundStatus.PUBLISHED,
               EvaluationRound.publish_until >= today)).all()
    return [Notice(str(_("您的 %(year)s 年度考评结果正在公示，如有异议可在 %(day)s 前提出申诉。",
                         year=year, day=until.isoformat())),
                   url_for("grading.my_result", evaluation_id=rid))
            for rid, year, until in rows]
