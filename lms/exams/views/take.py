"""The candidate's exam pages: 我的考试, an exam's introduction, the attempt page (the paper as a
form; lms/static/js/exam.js saves it through the JSON API in take_api.py) and the review.

Without JavaScript the attempt page is a plain form posted to ``save_form``: it stores what
changed and, when asked and confirmed, hands the paper in.
"""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from lms.auth.access import login_only, owned
from lms.courses.content import render_markdown
from lms.db import utcnow
from lms.exams import attempts as engine
from lms.exams import review
from lms.exams.answer_form import changed_answers
from lms.exams.attempt_errors import AttemptRefused
from lms.exams.candidate_view import candidate_paper
from lms.exams.formats.checks import type_label
from lms.exams.models import (
    Attempt,
    AttemptItem,
    Exam,
    PaperItem,
    Question,
    QuestionVersion,
)
from lms.exams.my_exams import my_exams as my_exam_rows
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _


@bp.get("/my")
@login_only
def my_exams() -> str:
    person = current_user.person if current_user.person_id else None
    now = utcnow()
    return render_template("exams/my_exams.html", person=person, rows=my_exam_rows(person, now),
                           now=now)


def paper_size(exam: Exam) -> tuple[int, Decimal]:
    """Number of questions and total points of the exam's paper (before any draw)."""
    if exam.paper_mode == "blueprint":
        return (sum(s.count for s in exam.slots),
                sum((s.points * s.count for s in exam.slots), Decimal(0)))
    count, total = db.session.execute(
        select(func.count(PaperItem.id),
               func.sum(func.coalesce(PaperItem.points, QuestionVersion.points)))
        .join(Question, Question.id == PaperItem.question_id)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(PaperItem.exam_id == exam.id)).one()
    return count, Decimal(total or 0)


def _finish_overdue(attempt: Attempt) -> Attempt:
    """Lazy finalisation before showing anything about an attempt; a database failure leaves
    it to the sweeper."""
    if attempt.state != engine.IN_PROGRESS or not engine.is_overdue(attempt, utcnow()):
        return attempt
    attempt_id = attempt.id
    try:
        attempt = engine.touch(attempt, utcnow())
        db.session.commit()
    except (DBAPIError, AttemptRefused):
        db.session.rollback()
        attempt = db.session.get(Attempt, attempt_id)
    return attempt


@bp.get("/<int:exam_id>")
@owned(exam_id=Exam)
def exam_intro(exam: Exam) -> str:
    now = utcnow()
    attempts = db.session.execute(
        select(Attempt).where(Attempt.exam_id == exam.id,
                              Attempt.person_id == current_user.person_id)
        .order_by(Attempt.number)).scalars().all()
    attempts = [_finish_overdue(a) for a in attempts]
    running = next((a for a in attempts if a.state == engine.IN_PROGRESS
                    and not engine.is_overdue(a, now)), None)
    used = sum(1 for a in attempts if a is not running)
    blocked = None
    if running is None:
        if exam.opens_at is not None and now < exam.opens_at:
            blocked = _("考试还没有开始。")
        elif exam.closes_at is not None and now >= exam.closes_at:
            blocked = _("考试已经结束。")
        elif exam.attempts_allowed and used >= exam.attempts_allowed:
            blocked = _("您的答题次数已用完。")
    count, total = paper_size(exam)
    return render_template(
        "exams/exam_intro.html", exam=exam, attempts=attempts, running=running,
        blocked=blocked, used=used, count=count, total=total, now=now,
        instructions=render_markdown(exam.description),
        score_policy=review.SCORE_POLICY_TEXT.get(exam.show_score, ""),
        answers_policy=review.ANSWERS_POLICY_TEXT.get(exam.show_answers, ""),
        state_text=review.attempt_state_text,
        rights={a.id: review.review_rights(exam, a, now) for a in attempts})


@bp.get("/attempts/<int:attempt_id>")
@owned(attempt_id=Attempt)
def attempt_page(attempt: Attempt) -> Response | str:
    attempt = _finish_overdue(attempt)
    if attempt.state != engine.IN_PROGRESS:
        return redirect(url_for("exams.review_attempt", attempt_id=attempt.id))
    paper = candidate_paper(attempt)
    return render_template(
        "exams/take.html", attempt=attempt, exam=attempt.exam, paper=paper,
        stems={q.position: render_markdown(q.stem) for q in paper},
        type_label=type_label, remaining=engine.remaining_seconds(attempt, utcnow()),
        letters="ABCDEFGH")


@bp.post("/attempts/<int:attempt_id>/answers")
@owned(attempt_id=Attempt)
def save_form(attempt: Attempt) -> Response:
    """The paper posted without JavaScript: store what changed, then hand in when asked."""
    attempt_id = attempt.id
    page = url_for("exams.attempt_page", attempt_id=attempt_id)
    submit = request.form.get("action") == "submit"
    try:
        answers = changed_answers(candidate_paper(attempt), request.form, attempt.last_seq + 1)
        if answers:
            engine.save_answers(attempt, current_user, answers, now=utcnow())
        if submit and request.form.get("confirm") == "1":
            engine.submit_attempt(attempt, now=utcnow(), actor=current_user)
            db.session.commit()
            return redirect(url_for("exams.review_attempt", attempt_id=attempt_id))
        db.session.commit()
    except AttemptRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(page)
    except DBAPIError:
        db.session.rollback()
        flash(_("系统繁忙，答案暂未保存，请稍后再点“保存答案”。"), "error")
        return redirect(page)
    if submit:
        flash(_("答案已保存。交卷前请勾选“我已检查，确认交卷”。"), "warning")
        return redirect(page + "#summary")
    flash(_("答案已保存。"), "success")
    return redirect(page)


@bp.get("/attempts/<int:attempt_id>/review")
@owned(attempt_id=Attempt)
def review_attempt(attempt: Attempt) -> Response | str:
    attempt = _finish_overdue(attempt)
    if attempt.state == engine.IN_PROGRESS:
        return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))
    exam = attempt.exam
    rights = review.review_rights(exam, attempt, utcnow())
    items = []
    if rights.answers:
        rows = db.session.execute(
            select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
            .order_by(AttemptItem.position)).scalars().all()
        items = [review.review_item(i) for i in rows]
    return render_template(
        "exams/review.html", attempt=attempt, exam=exam, rights=rights, items=items,
        state_text=review.attempt_state_text(attempt), type_label=type_label,
        md=render_markdown, score_policy=review.SCORE_POLICY_TEXT.get(exam.show_score, ""),
        answers_policy=review.ANSWERS_POLICY_TEXT.get(exam.show_answers, ""))
