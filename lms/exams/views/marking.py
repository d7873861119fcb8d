"""Marking pages: an exam's marking queue, marking one attempt's short answers (phone-first),
and correcting the key of a question the exam's attempts used (with the regrade summary)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.courses.content import render_markdown
from lms.db import utcnow
from lms.errors import DomainError
from lms.exams import marking, regrade
from lms.exams.formats.checks import type_label
from lms.exams.marking_forms import CsrfOnlyForm, KeyForm
from lms.exams.models import Attempt, AttemptItem, Exam, Question, QuestionVersion
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _
from lms.web.actions import page_number

PAGE_SIZE = 50
HUB_ENDPOINTS = ("exams.show_exam", "exams.exam_detail", "exams.edit_exam")


def hub_url(exam: Exam) -> str | None:
    """The exam's organiser page (the authoring hub), when it exists."""
    for endpoint in HUB_ENDPOINTS:
        if endpoint in current_app.view_functions:
            return url_for(endpoint, exam_id=exam.id)
    return None



# ---------------------------------------------------------------- the queue


@bp.get("/<int:exam_id>/marking")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def marking_queue(exam: Exam) -> str:
    page = page_number()
    return render_template(
        "exams/marking_queue.html", exam=exam, page=page, size=PAGE_SIZE,
        rows=marking.marking_queue(exam, page=page, size=PAGE_SIZE),
        total=marking.queue_count(exam), hub_url=hub_url(exam))


# ---------------------------------------------------------------- marking one attempt


def _posted(item: AttemptItem) -> dict[str, str]:
    return {k: request.form.get(f"{k}-{item.id}", "") for k in ("score", "comment", "reason")}


def _mark_page(attempt: Attempt, items: list[AttemptItem], form: CsrfOnlyForm,
               values: dict[int, dict[str, str]], errors: dict[int, dict[str, str]]) -> str:
    return render_template("exams/marking_attempt.html", attempt=attempt, exam=attempt.exam,
                           items=items, form=form, values=values, errors=errors,
                           md=render_markdown, hub_url=hub_url(attempt.exam))


@bp.route("/marking/attempts/<int:attempt_id>", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, attempt_id=Attempt)
def mark_attempt(attempt: Attempt) -> Response | str:
    items = marking.short_items(attempt)
    form = CsrfOnlyForm()
    values = {i.id: {"score": "" if i.score is None else str(i.score), "comment": i.comment,
                     "reason": ""} for i in items}
    if not form.validate_on_submit():
        return _mark_page(attempt, items, form, values, {})
    values = {i.id: _posted(i) for i in items}
    errors: dict[int, dict[str, str]] = {}
    now = utcnow()
    for item in items:
        posted = values[item.id]
        if item.score is None and not posted["score"].strip():
            continue  # left for later
        try:
            marking.mark_item(item, posted["score"], posted["comment"], actor=current_user,
                              now=now, reason=posted["reason"])
        except DomainError as exc:
            errors[item.id] = {getattr(exc, "field", None) or "score": str(exc)}
    if errors:
        db.session.rollback()
        attempt = db.session.get(Attempt, attempt.id)
        return _mark_page(attempt, marking.short_items(attempt), form, values, errors)
    db.session.commit()
    if attempt.needs_marking:
        flash(_("已保存。这份答卷还有简答题未评分。"), "success")
        return redirect(url_for("exams.mark_attempt", attempt_id=attempt.id))
    flash(_("%(name)s 的答卷已阅完，得分 %(score)s。", name=attempt.person.name,
            score=attempt.score), "success")
    following = marking.next_in_queue(attempt.exam, attempt)
    if following is not None:
        return redirect(url_for("exams.mark_attempt", attempt_id=following.id))
    return redirect(url_for("exams.marking_queue", exam_id=attempt.exam_id))


# ---------------------------------------------------------------- key correction


def _used_versions(exam: Exam) -> list[tuple[QuestionVersion, int]]:
    """Versions the exam's attempts used, in paper order, with the number of attempts."""
    rows = db.session.execute(
        select(QuestionVersion, func.count(AttemptItem.id), func.min(AttemptItem.position))
        .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.exam_id == exam.id)
        .group_by(QuestionVersion.id)
        .order_by(func.min(AttemptItem.position), QuestionVersion.id)).all()
    return [(v, n) for v, n, _pos in rows]


@bp.get("/<int:exam_id>/keys")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def exam_keys(exam: Exam) -> str:
    return render_template("exams/regrade_list.html", exam=exam, rows=_used_versions(exam),
                           type_label=type_label, key_text=regrade.key_text,
                           md=render_markdown, hub_url=hub_url(exam))


def _chosen_version(exam: Exam, question: Question, raw: Any) -> QuestionVersion | None:
    """The version *raw* names among the question's versions this exam's attempts used."""
    used = [v for v, _n in _used_versions(exam) if v.question_id == question.id]
    if not used:
        return None
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return used[-1]
    return next((v for v in used if str(v.version) == text), None)


def _key_page(exam: Exam, version: QuestionVersion, form: KeyForm, summary: Any = None) -> str:
    return render_template(
        "exams/regrade_key.html", exam=exam, version=version, form=form, summary=summary,
        current_key=regrade.key_text(version), attempts=regrade.used_attempt_count(version),
        type_label=type_label, md=render_markdown)


@bp.route("/<int:exam_id>/keys/<int:question_id>", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, exam_id=Exam, question_id=Question)
def correct_key(exam: Exam, question: Question) -> Response | str:
    raw = request.form.get("version") if request.method == "POST" else request.args.get("version")
    version = _chosen_version(exam, question, raw)
    if version is None:
        flash(_("本场考试的答卷没有用到这道题的该版本。"), "error")
        return redirect(url_for("exams.exam_keys", exam_id=exam.id))
    form = KeyForm()
    if request.method == "GET" and version.type != "short_answer":
        form.answer.data = regrade.key_text(version)
    if not form.validate_on_submit():
        return _key_page(exam, version, form)
    try:
        answer = regrade.parse_key(version, form.answer.data)
        summary = regrade.correct_key(version, answer, reason=form.reason.data,
                                      actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        version = db.session.get(QuestionVersion, version.id)
        field = getattr(form, getattr(exc, "field", None) or "", None)
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return _key_page(exam, version, form)
    db.session.commit()
    flash(_("答案已更正。"), "success")
    return _key_page(exam, version, KeyForm(formdata=None, answer=regrade.key_text(version)),
                     summary)
