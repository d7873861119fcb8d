"""The candidate's attempt API: start (form), state, autosave and submit (JSON).

Each write commits before it answers, so a 200 to a save means the answers are stored (P1).
A database failure rolls everything back and answers 503 with ``Retry-After`` (P5); the page
retries. Refusals: 400 malformed, 403 not allowed, 409 finished or too late.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from lms.auth.access import owned
from lms.db import utcnow
from lms.exams import attempts as engine
from lms.exams.attempt_errors import AttemptRefused
from lms.exams.models import Attempt, AttemptItem, Exam
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _

RETRY_AFTER_SECONDS = 2


def _busy_message() -> str:
    return _("系统繁忙，答案暂未保存，正在重试……")


def _unavailable() -> Any:
    db.session.rollback()
    resp = jsonify(error=_busy_message())
    resp.status_code = 503
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


def _refused(exc: AttemptRefused, attempt: Attempt | None = None) -> Any:
    body: dict[str, Any] = {"error": str(exc)}
    if exc.state is not None:
        body["state"] = exc.state
    if attempt is not None and exc.state is not None and exc.state != engine.IN_PROGRESS:
        body["review_url"] = url_for("exams.review_attempt", attempt_id=attempt.id)
    resp = jsonify(body)
    resp.status_code = exc.status
    return resp


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _finalise_lazily(attempt: Attempt) -> Attempt:
    """Auto-submit an overdue attempt and commit; on a database failure keep what was read
    (the sweeper finishes it later)."""
    now = utcnow()
    if attempt.state != engine.IN_PROGRESS or not engine.is_overdue(attempt, now):
        return attempt
    try:
        attempt = engine.touch(attempt, now)
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        attempt = db.session.get(Attempt, attempt.id)
    return attempt


@bp.post("/<int:exam_id>/start")
@owned(exam_id=Exam)
def start_attempt(exam: Exam) -> Any:
    try:
        attempt = engine.start_attempt(exam, current_user, now=utcnow(),
                                       passcode=request.form.get("passcode"),
                                       audience_checked=True)  # owned(exam_id=Exam) did
        attempt_id = attempt.id
        db.session.commit()
    except AttemptRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("exams.exam_intro", exam_id=exam.id))
    except DBAPIError:
        db.session.rollback()
        flash(_("系统繁忙，请稍后再试。"), "error")
        return redirect(url_for("exams.exam_intro", exam_id=exam.id))
    return redirect(url_for("exams.attempt_page", attempt_id=attempt_id))


@bp.get("/attempts/<int:attempt_id>/state")
@owned(attempt_id=Attempt)
def attempt_state(attempt: Attempt) -> Any:
    attempt = _finalise_lazily(attempt)
    now = utcnow()
    items = db.session.execute(
        select(AttemptItem.position, AttemptItem.response, AttemptItem.flagged)
        .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)).all()
    body: dict[str, Any] = {
        "state": attempt.state, "remaining_seconds": engine.remaining_seconds(attempt, now),
        "server_time": now.isoformat(), "last_seq": attempt.last_seq,
        "items": [{"position": i.position, "response": i.response, "flagged": bool(i.flagged)}
                  for i in items]}
    if attempt.state != engine.IN_PROGRESS:
        body["review_url"] = url_for("exams.review_attempt", attempt_id=attempt.id)
    return jsonify(body)


@bp.post("/attempts/<int:attempt_id>/save")
@owned(attempt_id=Attempt)
def save_answers(attempt: Attempt) -> Any:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("answers"), list):
        return jsonify(error=_("请求格式不正确，未保存。请刷新页面后重试。")), 400
    attempt_id = attempt.id
    try:
        result = engine.save_answers(attempt, current_user, payload["answers"], now=utcnow())
        db.session.commit()
    except AttemptRefused as exc:
        db.session.rollback()
        if exc.status == 409:
            attempt = _finalise_lazily(db.session.get(Attempt, attempt_id))
            exc.state = attempt.state
        return _refused(exc, attempt)
    except DBAPIError:
        return _unavailable()
    return jsonify(saved=result.saved, last_seq=result.last_seq,
                   remaining_seconds=result.remaining_seconds,
                   saved_at=result.saved_at.isoformat())


@bp.post("/attempts/<int:attempt_id>/submit")
@owned(attempt_id=Attempt)
def submit_attempt(attempt: Attempt) -> Any:
    as_json = _wants_json()
    attempt_id = attempt.id
    try:
        attempt = engine.submit_attempt(attempt, now=utcnow(), actor=current_user)
        state = attempt.state
        db.session.commit()
    except AttemptRefused as exc:
        db.session.rollback()
        if as_json:
            return _refused(exc, attempt)
        flash(str(exc), "error")
        return redirect(url_for("exams.review_attempt", attempt_id=attempt_id))
    except DBAPIError:
        if as_json:
            return _unavailable()
        db.session.rollback()
        flash(_("系统繁忙，尚未交卷，请稍后再点“交卷”。"), "error")
        return redirect(url_for("exams.attempt_page", attempt_id=attempt_id))
    review_url = url_for("exams.review_attempt", attempt_id=attempt_id)
    if as_json:
        return jsonify(state=state, review_url=review_url)
    return redirect(review_url)
