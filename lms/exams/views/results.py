"""Results pages: an exam's results table and its XLSX export, one attempt in detail for the
organiser, and score queries (成绩复核): the candidate's request and the organiser's answer."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from lms.auth.access import owned, requires, scoped_select
from lms.auth.perms import Perm
from lms.courses.content import render_markdown
from lms.db import utcnow
from lms.errors import DomainError
from lms.exams import results_table, score_queries
from lms.exams.formats.checks import type_label
from lms.exams.marking_forms import (
    QUERY_STATUS_LABELS,
    RESULT_LABELS,
    STATE_LABELS,
    AnswerQueryForm,
    QueryFilterForm,
    ResultsFilterForm,
    ScoreQueryForm,
)
from lms.exams.models import Attempt, Exam, ScoreQuery
from lms.exams.results_export import passed_text, results_workbook
from lms.exams.results_table import ResultFilters
from lms.exams.views import bp
from lms.exams.views.marking import hub_url
from lms.extensions import db
from lms.i18n import _
from lms.org import queries
from lms.org.export import TZ
from lms.org.models import Level, OrgUnit
from lms.web.actions import page_number

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- the results table


def _filters(exam: Exam) -> tuple[ResultsFilterForm, ResultFilters]:
    form = ResultsFilterForm(formdata=request.args)
    root = exam.audience_unit or exam.org_unit
    units = queries.unit_choices(scope=g.scope, levels=(Level.COUNTY, Level.TOWNSHIP),
                                 within=root, limit=500)
    form.set_units(units)
    form.validate()
    unit_id = form.value("unit")
    unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    return form, ResultFilters(unit=unit, state=form.value("state"),
                               result=form.value("result"), q=form.value("q"))


@bp.get("/<int:exam_id>/results")
@requires(Perm.EXAM_RESULTS_VIEW, exam_id=Exam)
def exam_results(exam: Exam) -> str:
    form, filters = _filters(exam)
    page = page_number()
    data = results_table.result_page(exam, filters, page=page, size=PAGE_SIZE)
    return render_template("exams/results_table.html", exam=exam, form=form, data=data,
                           page=page, size=PAGE_SIZE, results=RESULT_LABELS,
                           states=STATE_LABELS, passed_text=passed_text, hub_url=hub_url(exam))


@bp.get("/<int:exam_id>/results.xlsx")
@requires(Perm.EXAM_RESULTS_VIEW, exam_id=Exam)
def export_results(exam: Exam) -> Response:
    _form, filters = _filters(exam)
    now = utcnow()
    data = results_workbook(exam, filters, actor=current_user, now=now)
    db.session.commit()
    title = "".join("-" if c in '/\\:*?"<>|' else c for c in exam.title)[:80]
    name = _("考试成绩-%(title)s-%(date)s.xlsx", title=title,
             date=now.astimezone(TZ).strftime("%Y%m%d"))
    return send_file(data, as_attachment=True, download_name=name, mimetype=XLSX)


@bp.get("/results/attempts/<int:attempt_id>")
@requires(Perm.EXAM_RESULTS_VIEW, attempt_id=Attempt)
def result_attempt(attempt: Attempt) -> str:
    return render_template(
        "exams/results_attempt.html", attempt=attempt, exam=attempt.exam,
        items=results_table.attempt_items(attempt),
        siblings=results_table.person_attempts(attempt),
        queries=score_queries.queries_of(attempt), states=STATE_LABELS,
        query_states=QUERY_STATUS_LABELS, type_label=type_label, md=render_markdown)


# ---------------------------------------------------------------- score queries: candidate


def score_query_panel(attempt: Attempt) -> dict[str, Any]:
    """What the review page's score query block shows (``exams/_score_query.html``)."""
    now = utcnow()
    form = ScoreQueryForm()
    form.set_items(score_queries.item_count(attempt))
    return {"queries": score_queries.queries_of(attempt),
            "window": score_queries.window(attempt, now), "form": form,
            "labels": QUERY_STATUS_LABELS}


bp.add_app_template_global(score_query_panel, "score_query_panel")


@bp.post("/attempts/<int:attempt_id>/query")
@owned(attempt_id=Attempt)
def raise_score_query(attempt: Attempt) -> Response:
    form = ScoreQueryForm()
    form.set_items(score_queries.item_count(attempt))
    back = redirect(url_for("exams.review_attempt", attempt_id=attempt.id) + "#score-query")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return back
    try:
        score_queries.raise_query(attempt, position=form.position.data,
                                  message=form.message.data, actor=current_user,
                                  now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(_("复核申请已提交，答复后会显示在这里。"), "success")
    return back


# ---------------------------------------------------------------- score queries: organiser


@bp.get("/score-queries")
@requires(Perm.EXAM_MANAGE)
def score_query_list() -> str:
    raw = request.args.get("status", "open")
    status = raw if raw in QUERY_STATUS_LABELS else None
    form = QueryFilterForm(formdata=None, status=status or "")
    stmt = scoped_select(ScoreQuery, g.scope)
    if status:
        stmt = stmt.where(ScoreQuery.status == status)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    rows = db.session.execute(
        stmt.options(joinedload(ScoreQuery.attempt).joinedload(Attempt.person),
                     joinedload(ScoreQuery.attempt).joinedload(Attempt.exam))
        .order_by(ScoreQuery.created_at, ScoreQuery.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return render_template("exams/score_query_list.html", rows=rows, total=total, page=page,
                           size=PAGE_SIZE, form=form, status=status,
                           labels=QUERY_STATUS_LABELS)


def _answer_page(query: ScoreQuery, form: AnswerQueryForm) -> str:
    attempt = query.attempt
    return render_template(
        "exams/score_query_answer.html", query=query, attempt=attempt, exam=attempt.exam,
        form=form, items=results_table.attempt_items(attempt), labels=QUERY_STATUS_LABELS,
        type_label=type_label, md=render_markdown)


@bp.route("/score-queries/<int:score_query_id>", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, score_query_id=ScoreQuery)
def answer_score_query(score_query: ScoreQuery) -> Response | str:
    form = AnswerQueryForm()
    form.set_items(list(score_query.attempt.items))
    if request.method == "GET" and score_query.item_position:
        form.position.data = score_query.item_position
    if not form.validate_on_submit():
        return _answer_page(score_query, form)
    try:
        score_queries.answer_query(score_query, reply=form.reply.data, outcome=form.outcome.data,
                                   position=form.position.data, score=form.score.data,
                                   actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        score_query = db.session.get(ScoreQuery, score_query.id)
        field = getattr(form, getattr(exc, "field", None) or "", None)
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return _answer_page(score_query, form)
    db.session.commit()
    flash(_("已答复%(name)s的复核申请。", name=score_query.attempt.person.name), "success")
    return redirect(url_for("exams.score_query_list"))
