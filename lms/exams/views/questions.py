"""Question pages: a bank's questions (filters, counts, pages), create, detail (rendered stem,
key, versions), edit (versioned once used), retire and restore."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.courses.content import render_markdown
from lms.db import utcnow
from lms.errors import DomainError
from lms.exams import banks, questions
from lms.exams.bank_forms import ArchiveForm
from lms.exams.formats.model import OPTION_LETTERS, points_text
from lms.exams.models import Question, QuestionBank, QuestionVersion
from lms.exams.question_forms import (
    DIFFICULTY_LABELS,
    TYPE_LABELS,
    QuestionFilterForm,
    QuestionForm,
    RetireForm,
)
from lms.exams.views import bp
from lms.exams.views.banks import PAGE_SIZE
from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.web.actions import commit_or_flash, page_number

#: Characters of a stem shown in the bank's list.
EXCERPT = 80


def _actor() -> Any:
    return current_user._get_current_object()



def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "…"


def _to_question(question: Question) -> Response:
    return redirect(url_for("exams.show_question", question_id=question.id))


# ---------------------------------------------------------------- the bank page


def _distinct(bank: QuestionBank, column: Any) -> list[str]:
    return [v for (v,) in db.session.execute(
        select(column).distinct().join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank.id, column != "").order_by(column).limit(500)).all()]


def _filtered(bank: QuestionBank, form: QuestionFilterForm) -> Any:
    stmt = (select(Question, QuestionVersion)
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.bank_id == bank.id))
    status = form.value("status")
    if status != "all":
        stmt = stmt.where(Question.is_retired.is_(status == "retired"))
    if form.value("type"):
        stmt = stmt.where(QuestionVersion.type == form.value("type"))
    difficulty = form.value("difficulty")
    if difficulty == "none":
        stmt = stmt.where(QuestionVersion.difficulty.is_(None))
    elif difficulty:
        stmt = stmt.where(QuestionVersion.difficulty == int(difficulty))
    for name in ("category", "knowledge_point"):
        if form.value(name):
            stmt = stmt.where(getattr(QuestionVersion, name) == form.value(name))
    if form.value("q"):
        stmt = stmt.where(QuestionVersion.stem.contains(form.value("q"), autoescape=True))
    return stmt


@bp.get("/banks/<int:bank_id>")
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def show_bank(bank: QuestionBank) -> str:
    form = QuestionFilterForm(formdata=request.args)
    for name in ("category", "knowledge_point"):
        form[name].choices = [SelectChoice("", _("全部"))] + [
            SelectChoice(v, v) for v in _distinct(bank, getattr(QuestionVersion, name))]
    form.validate()
    stmt = _filtered(bank, form)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    rows = db.session.execute(stmt.order_by(Question.id.desc()).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).all()
    counts = banks.type_counts([bank.id]).get(bank.id, {})
    retired = db.session.execute(select(func.count()).where(
        Question.bank_id == bank.id, Question.is_retired.is_(True))).scalar_one()
    return render_template(
        "exams/bank_detail.html", bank=bank, form=form, rows=rows, total=total, page=page,
        size=PAGE_SIZE, counts=counts, retired=retired, types=TYPE_LABELS,
        difficulties=DIFFICULTY_LABELS, excerpt=excerpt, points_text=points_text,
        archive_form=ArchiveForm())


# ---------------------------------------------------------------- create, edit


def _show_problems(form: QuestionForm, exc: DomainError) -> None:
    """Undo what the service flushed; put each problem at its field (options → the key)."""
    db.session.rollback()
    found = getattr(exc, "problems", None) or [(getattr(exc, "field", None), str(exc))]
    for name, message in found:
        field = form._fields.get("correct" if name == "options" else name or "")
        if field is not None and name != "title":
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def new_question(bank: QuestionBank) -> Response | str:
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            question = questions.create_question(bank, form.question(), actor=_actor(),
                                                 now=utcnow())
        except DomainError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(_("试题已保存（题号 %(n)s）。", n=question.id), "success")
            if request.form.get("then") == "another":
                return redirect(url_for("exams.new_question", bank_id=bank.id))
            return _to_question(question)
    return render_template("exams/question_form.html", form=form, bank=bank, question=None,
                           letters=OPTION_LETTERS)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, question_id=Question)
def edit_question(question: Question) -> Response | str:
    form = QuestionForm()
    current = question.current
    if request.method == "GET":
        form.show(current)
    if form.validate_on_submit():
        try:
            changes = questions.update_question(question, form.question(title=current.title),
                                                actor=_actor(), now=utcnow())
        except DomainError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            if not changes:
                flash(_("没有需要保存的修改。"), "success")
            elif question.current.version != current.version:
                flash(_("这道题已被考试用过，已保存为第 %(n)s 版；用过旧版的答卷不受影响。",
                        n=question.current.version), "success")
            else:
                flash(_("试题已保存。"), "success")
            return _to_question(question)
    return render_template("exams/question_form.html", form=form, bank=question.bank,
                           question=question, letters=OPTION_LETTERS,
                           used=questions.is_used(current))


# ---------------------------------------------------------------- detail, retire


@bp.get("/questions/<int:question_id>")
@requires(Perm.EXAM_MANAGE, question_id=Question)
def show_question(question: Question) -> str:
    v = question.current
    return render_template(
        "exams/question_detail.html", question=question, v=v, bank=question.bank,
        stem=render_markdown(v.stem), explanation=render_markdown(v.explanation),
        letters=OPTION_LETTERS, types=TYPE_LABELS, difficulties=DIFFICULTY_LABELS,
        history=questions.history(question), points_text=points_text,
        posts=[label(p) for p in v.post_types.split(",") if p],
        tags=[t for t in v.tags.split(",") if t], retire_form=RetireForm())


@bp.post("/questions/<int:question_id>/retire")
@requires(Perm.EXAM_MANAGE, question_id=Question)
def retire_question(question: Question) -> Response:
    form = RetireForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_question(question)
    retired = form.action.data == "retire"
    commit_or_flash(
        lambda: questions.set_question_retired(question, retired, actor=_actor(), now=utcnow()),
        _("试题已停用，以后的考试不会再抽到它。") if retired else _("试题已恢复使用。"))
    return _to_question(question)
