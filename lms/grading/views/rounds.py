"""The annual round pages (年度考评): the list of rounds with the county's "open a year" form, a
round's page with its progress per township, the county's actions (refresh, publish, reopen,
confirm) and the table of score sheets, and the township's satisfaction entry per village."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from lms.auth.access import can, requires, scope_for, scoped_select
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import cycle, labels
from lms.grading.forms import ActionForm
from lms.grading.models import Appeal, AppealStatus, Evaluation, EvaluationRound, RoundStatus
from lms.grading.rounds_forms import OpenRoundForm, ReasonForm, SatisfactionForm
from lms.grading.views import bp
from lms.i18n import _
from lms.org import queries
from lms.org.models import Level, OrgUnit
from lms.org.people_forms import unit_choices
from lms.web.actions import commit_or_flash, form_refusal, page_number

PAGE_SIZE = 50
COMPONENTS = ("work", "competence", "diligence", "satisfaction", "integrity")


def page(template: str, status: int = 200, **kw: Any) -> tuple[str, int]:
    """Render with the labels every grading page shows."""
    return render_template(template, L=labels, components=COMPONENTS,
                           statuses=RoundStatus, **kw), status


def to_round(rnd: EvaluationRound) -> Response:
    return redirect(url_for("grading.show_round", evaluation_round_id=rnd.id))


def in_scope(scope: Any) -> Any:
    """Score sheets whose village lies in *scope* (a join target and its condition)."""
    village = aliased(OrgUnit)
    return village, scope.where(village.path)


# ---------------------------------------------------------------- the list


def _open_form() -> OpenRoundForm:
    form = OpenRoundForm()
    rows = queries.unit_choices(scope=scope_for(current_user, Perm.EVALUATION_REVIEW),
                                levels=(Level.COUNTY,))
    form.unit.choices = unit_choices(rows, _("请选择"))
    if len(rows) == 1 and form.unit.data is None:
        form.unit.data = rows[0].id
    if form.year.data is None and request.method == "GET":
        form.year.data = utcnow().year
    return form


def _list_page(form: OpenRoundForm, status: int = 200) -> tuple[str, int]:
    scope = g.scope
    rounds = db.session.execute(
        scoped_select(EvaluationRound, scope)
        .order_by(EvaluationRound.year.desc(), EvaluationRound.org_unit_id)).scalars().all()
    counts: dict[int, tuple[int, int]] = {}
    if rounds:
        village, where = in_scope(scope)
        counts = {rid: (n, done) for rid, n, done in db.session.execute(
            select(Evaluation.round_id, func.count(Evaluation.id), func.count(Evaluation.total))
            .join(village, Evaluation.org_unit_id == village.id)
            .where(where, Evaluation.round_id.in_([r.id for r in rounds]))
            .group_by(Evaluation.round_id)).all()}
    return page("grading/round_list.html", status, rounds=rounds, counts=counts, form=form,
                can_open=len(form.unit.choices) > 1)


@bp.get("/rounds")
@requires(Perm.EVALUATION_SCORE)
def list_rounds() -> tuple[str, int]:
    return _list_page(_open_form())


@bp.post("/rounds")
@requires(Perm.EVALUATION_REVIEW)
def open_round() -> Response | tuple[str, int]:
    form = _open_form()
    if form.validate_on_submit():
        try:
            county = queries.chosen_unit(form.unit.data, g.scope)
            rnd = cycle.open_round(county, form.year.data, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已开启 %(year)s 年度考评，共 %(n)s 名民政助理员。", year=rnd.year,
                    n=cycle.progress(rnd)["assistants"]), "success")
            return to_round(rnd)
    g.scope = scope_for(current_user, Perm.EVALUATION_SCORE)
    return _list_page(form, 400)


# ---------------------------------------------------------------- one round


def _township_filter() -> OrgUnit | None:
    raw = request.args.get("township", "")
    if not raw:
        return None
    unit = queries.unit_in_scope(int(raw), g.scope) if raw.isascii() and raw.isdigit() \
        and len(raw) <= 10 and int(raw) <= 2**31 - 1 else None
    if unit is None or unit.level != Level.TOWNSHIP.value:
        abort(404)
    return unit


def township_progress(rnd: EvaluationRound, scope: Any) -> list[tuple[int, str, int, int]]:
    """(township id, name, sheets, complete) for the townships in scope (one grouped query)."""
    village, where = in_scope(scope)
    town = aliased(OrgUnit)
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        select(town.id, town.name, func.count(Evaluation.id), func.count(Evaluation.total))
        .join(village, Evaluation.org_unit_id == village.id)
        .join(town, Evaluation.township_id == town.id)
        .where(where, Evaluation.round_id == rnd.id)
        .group_by(town.id, town.name, town.code).order_by(town.code)).all()]


def open_appeals(rnd: EvaluationRound, scope: Any) -> int:
    village, where = in_scope(scope)
    return db.session.scalar(
        select(func.count(Appeal.id)).join(Evaluation, Appeal.evaluation_id == Evaluation.id)
        .join(village, Evaluation.org_unit_id == village.id)
        .where(where, Evaluation.round_id == rnd.id, Appeal.status == AppealStatus.OPEN)) or 0


def _round_page(rnd: EvaluationRound, reopen: ReasonForm | None = None,
                status: int = 200) -> tuple[str, int]:
    scope = g.scope
    township = _township_filter()
    village, where = in_scope(scope)
    stmt = (select(Evaluation).join(village, Evaluation.org_unit_id == village.id)
            .where(where, Evaluation.round_id == rnd.id))
    if township is not None:
        stmt = stmt.where(Evaluation.township_id == township.id)
    towns = township_progress(rnd, scope)
    total = sum(t[2] for t in towns if township is None or t[0] == township.id)
    number = page_number()
    rows = db.session.execute(
        stmt.order_by(Evaluation.township_id, village.code, Evaluation.id)
        .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).scalars().all()
    return page("grading/round_detail.html", status, rnd=rnd, towns=towns,
                names={t[0]: t[1] for t in towns}, township=township, rows=rows, total=total,
                page=number, size=PAGE_SIZE, appeals=open_appeals(rnd, scope),
                county=can(current_user, Perm.EVALUATION_REVIEW, rnd.org_unit),
                scorer=can(current_user, Perm.EVALUATION_SCORE),
                reopen=reopen or ReasonForm(formdata=None))


@bp.get("/rounds/<int:evaluation_round_id>")
@requires(Perm.EVALUATION_SCORE, evaluation_round_id=EvaluationRound)
def show_round(evaluation_round: EvaluationRound) -> tuple[str, int]:
    return _round_page(evaluation_round)


def _action(rnd: EvaluationRound, run: Any, success: str) -> Response:
    if ActionForm().validate_on_submit():
        commit_or_flash(run, success)
    else:
        flash(_("请刷新页面后重试。"), "error")
    return to_round(rnd)


@bp.post("/rounds/<int:evaluation_round_id>/refresh")
@requires(Perm.EVALUATION_REVIEW, evaluation_round_id=EvaluationRound)
def refresh_round(evaluation_round: EvaluationRound) -> Response:
    rnd = evaluation_round
    return _action(rnd, lambda: cycle.refresh(rnd, actor=current_user, now=utcnow()),
                   _("已更新参评名单和能力素质得分。"))


@bp.post("/rounds/<int:evaluation_round_id>/publish")
@requires(Perm.EVALUATION_REVIEW, evaluation_round_id=EvaluationRound)
def publish_round(evaluation_round: EvaluationRound) -> Response:
    rnd = evaluation_round
    return _action(rnd, lambda: cycle.publish(rnd, actor=current_user, now=utcnow()),
                   _("考评结果已公示，公示期内民政助理员可以提出申诉。"))


@bp.post("/rounds/<int:evaluation_round_id>/reopen")
@requires(Perm.EVALUATION_REVIEW, evaluation_round_id=EvaluationRound)
def reopen_round(evaluation_round: EvaluationRound) -> Response | tuple[str, int]:
    rnd = evaluation_round
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            cycle.reopen(rnd, form.reason.data or "", actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已撤回公示，乡镇可以更正评分。"), "success")
            return to_round(rnd)
    return _round_page(rnd, reopen=form, status=400)


@bp.post("/rounds/<int:evaluation_round_id>/confirm")
@requires(Perm.EVALUATION_REVIEW, evaluation_round_id=EvaluationRound)
def confirm_round(evaluation_round: EvaluationRound) -> Response:
    rnd = evaluation_round
    return _action(rnd, lambda: cycle.confirm(rnd, actor=current_user, now=utcnow()),
                   _("考评结果已审定，年度评价政策已锁定。"))


# ---------------------------------------------------------------- satisfaction per village


def _villages(rnd: EvaluationRound) -> list[tuple[int, str, str, int, Any, Any]]:
    """(village id, name, township name, sheets, lowest, highest satisfaction) in scope."""
    village, where = in_scope(g.scope)
    town = aliased(OrgUnit)
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        select(village.id, village.name, town.name, func.count(Evaluation.id),
               func.min(Evaluation.satisfaction), func.max(Evaluation.satisfaction))
        .join(village, Evaluation.org_unit_id == village.id)
        .join(town, Evaluation.township_id == town.id)
        .where(where, Evaluation.round_id == rnd.id)
        .group_by(village.id, village.name, village.code, town.name, town.code)
        .order_by(town.code, village.code)).all()]


@bp.route("/rounds/<int:evaluation_round_id>/satisfaction", methods=["GET", "POST"])
@requires(Perm.EVALUATION_SCORE, evaluation_round_id=EvaluationRound)
def satisfaction(evaluation_round: EvaluationRound) -> Response | tuple[str, int]:
    rnd = evaluation_round
    villages = _villages(rnd)
    form = SatisfactionForm()
    form.village.choices = [("", _("请选择"))] + [(str(v[0]), f"{v[2]} {v[1]}")
                                                 for v in villages]
    asked = request.args.get("village", "")
    if request.method == "GET" and asked.isascii() and asked.isdigit() and len(asked) < 10:
        form.village.data = int(asked)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                unit = queries.chosen_unit(form.village.data, g.scope)
                n = cycle.enter_satisfaction(rnd, unit, form.satisfaction.data,
                                             actor=current_user, now=utcnow())
            except DomainError as exc:
                form_refusal(form, exc)
            else:
                db.session.commit()
                flash(_("已保存 %(village)s 的群众满意度得分（%(n)s 名民政助理员）。",
                        village=unit.name, n=n), "success")
                return redirect(url_for("grading.satisfaction", evaluation_round_id=rnd.id))
    return page("grading/round_satisfaction.html", status, rnd=rnd, villages=villages, form=form,
                editable=rnd.status == RoundStatus.OPEN)
