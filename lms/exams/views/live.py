"""Exam-day pages for the organiser: the live view of every candidate, one attempt's extend /
reopen actions, and the printable roster (考场签到表)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.exams import exam_day, live_board
from lms.exams.live_forms import LIVE_STATE_LABELS, LiveFilterForm, OperateForm, RoomForm
from lms.exams.models import Attempt, Exam
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit
from lms.web.actions import page_number

PAGE_SIZE = 50
#: Seconds between automatic reloads of the live view (lms/static/js/live.js).
REFRESH_SECONDS = 30



def _chosen(form: LiveFilterForm, units: list[OrgUnit]) -> OrgUnit | None:
    wanted = form.value("unit")
    return next((u for u in units if u.id == wanted), None)


@bp.get("/<int:exam_id>/live")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def live_exam(exam: Exam) -> str:
    rooms = live_board.room_units(exam)
    form = LiveFilterForm(formdata=request.args)
    form.set_units(rooms)
    form.validate()
    page = page_number()
    board = live_board.live_page(exam, unit=_chosen(form, rooms), state=form.value("state"),
                                 page=page, size=PAGE_SIZE)
    return render_template(
        "exams/live_board.html", exam=exam, form=form, board=board, page=page, size=PAGE_SIZE,
        states=LIVE_STATE_LABELS, now=utcnow(), refresh=REFRESH_SECONDS,
        program_exam=exam.program_id is not None)


def _attempt_page(attempt: Attempt, extend: OperateForm, reopen: OperateForm) -> str:
    return render_template("exams/live_attempt.html", attempt=attempt, exam=attempt.exam,
                           extend_form=extend, reopen_form=reopen, states=LIVE_STATE_LABELS,
                           now=utcnow())


@bp.get("/live/attempts/<int:attempt_id>")
@requires(Perm.EXAM_MANAGE, attempt_id=Attempt)
def live_attempt(attempt: Attempt) -> str:
    return _attempt_page(attempt, OperateForm(prefix="extend"), OperateForm(prefix="reopen"))


def _operate(attempt: Attempt, which: str) -> Response | str:
    form = OperateForm(prefix=which)
    other = OperateForm(prefix="reopen" if which == "extend" else "extend", formdata=None)
    forms = (form, other) if which == "extend" else (other, form)
    if not form.validate_on_submit():
        return _attempt_page(attempt, *forms)
    action = exam_day.extend_time if which == "extend" else exam_day.reopen_attempt
    try:
        action(attempt, form.minutes.data, form.reason.data, actor=current_user, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        attempt = db.session.get(Attempt, attempt.id)
        field = getattr(form, getattr(exc, "field", None) or "", None)
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return _attempt_page(attempt, *forms)
    db.session.commit()
    flash(_("已为 %(name)s 延长 %(m)s 分钟。", name=attempt.person.name, m=form.minutes.data)
          if which == "extend" else
          _("已重新开放 %(name)s 的答卷，可继续作答 %(m)s 分钟。", name=attempt.person.name,
            m=form.minutes.data), "success")
    return redirect(url_for("exams.live_attempt", attempt_id=attempt.id))


@bp.post("/live/attempts/<int:attempt_id>/extend")
@requires(Perm.EXAM_MANAGE, attempt_id=Attempt)
def live_extend(attempt: Attempt) -> Response | str:
    return _operate(attempt, "extend")


@bp.post("/live/attempts/<int:attempt_id>/reopen")
@requires(Perm.EXAM_MANAGE, attempt_id=Attempt)
def live_reopen(attempt: Attempt) -> Response | str:
    return _operate(attempt, "reopen")


@bp.get("/<int:exam_id>/roster")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def exam_roster(exam: Exam) -> str:
    rooms = live_board.room_units(exam)
    form = RoomForm(formdata=request.args)
    form.set_units(rooms)
    form.validate()
    room = _chosen(form, rooms)
    groups = live_board.roster(exam, rooms, room=room)
    return render_template("exams/roster.html", exam=exam, form=form, groups=groups, room=room,
                           current_posts=live_board.current_posts)
