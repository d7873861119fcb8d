"""Session pages: schedule and edit, roll call, the sign-in code (with a projector view), the
printable sign-in sheet (签到表), and the trainee's phone page to enter the code."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import login_only, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.training import sessions
from lms.training.models import Program, TrainingSession
from lms.training.program_forms import (
    SessionForm,
    SigninCloseForm,
    SigninForm,
    SigninOpenForm,
    roll_call_form,
    roll_marks,
    to_form_time,
)
from lms.training.program_labels import training_label
from lms.training.views import bp
from lms.training.views.programs import crumbs
from lms.web.actions import commit_or_flash, form_refusal


def _to_session(session: TrainingSession) -> Response:
    return redirect(url_for("training.show_session", session_id=session.id))


# ---------------------------------------------------------------- schedule and edit


@bp.route("/programs/<int:program_id>/sessions/new", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def new_session(program: Program) -> Response | str:
    form = SessionForm()
    if form.validate_on_submit():
        try:
            session = sessions.schedule_session(program, form.session_data(), actor=current_user,
                                                now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已安排课次“%(title)s”。", title=session.title), "success")
            return _to_session(session)
    return render_template("training/session_form.html", form=form, program=program,
                           session=None, crumbs=crumbs(program.org_unit))


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def edit_session(session: TrainingSession) -> Response | str:
    form = SessionForm(obj=session)
    if not form.is_submitted():
        form.starts_at.data = to_form_time(session.starts_at)
        form.ends_at.data = to_form_time(session.ends_at)
    if form.validate_on_submit():
        try:
            changes = sessions.update_session(session, form.session_data(), actor=current_user,
                                              now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("课次已保存。") if changes else _("没有需要保存的修改。"), "success")
            return _to_session(session)
    return render_template("training/session_form.html", form=form, program=session.program,
                           session=session, crumbs=crumbs(session.program.org_unit))


# ---------------------------------------------------------------- the session page and roll call


def _render_session(session: TrainingSession, roll_form: object | None = None,
                    open_form: SigninOpenForm | None = None) -> str:
    rows = sessions.roll_rows(session)
    if roll_form is None:
        roll_form = roll_call_form([e.person_id for e, _a in rows],
                                   {e.person_id: a.status for e, a in rows if a})
    return render_template(
        "training/session_detail.html", session=session, program=session.program, rows=rows,
        roll_form=roll_form, open_form=open_form or SigninOpenForm(formdata=None),
        close_form=SigninCloseForm(), now=utcnow(), is_open=sessions.signin_open(session, utcnow()),
        credited=sessions.CREDITED, crumbs=crumbs(session.program.org_unit))


@bp.get("/sessions/<int:session_id>")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def show_session(session: TrainingSession) -> str:
    return _render_session(session)


@bp.post("/sessions/<int:session_id>/roll")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def roll_call(session: TrainingSession) -> Response | str:
    rows = sessions.roll_rows(session)
    ids = [e.person_id for e, _a in rows]
    form = roll_call_form(ids, {})
    if not form.validate_on_submit():
        form.form_errors.append(_("请为每位学员选择出勤情况后再保存。"))
        return _render_session(session, roll_form=form)
    try:
        changed = sessions.roll_call(session, roll_marks(form, ids), actor=current_user,
                                     now=utcnow())
    except DomainError as exc:
        form_refusal(form, exc)
        return _render_session(session, roll_form=form)
    db.session.commit()
    flash(_("点名已保存：%(n)s 人的出勤情况有变化。", n=changed), "success")
    return _to_session(session)


# ---------------------------------------------------------------- sign-in code


@bp.post("/sessions/<int:session_id>/signin")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def open_signin(session: TrainingSession) -> Response | str:
    form = SigninOpenForm()
    if not form.validate_on_submit():
        return _render_session(session, open_form=form)
    try:
        sessions.open_signin(session, form.minutes.data, actor=current_user, now=utcnow())
    except DomainError as exc:
        form_refusal(form, exc)
        return _render_session(session, open_form=form)
    db.session.commit()
    return redirect(url_for("training.signin_code", session_id=session.id))


@bp.post("/sessions/<int:session_id>/signin/close")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def close_signin(session: TrainingSession) -> Response:
    if SigninCloseForm().validate_on_submit():
        commit_or_flash(lambda: sessions.close_signin(session, actor=current_user, now=utcnow()),
                        _("签到已结束。"))
    return _to_session(session)


@bp.get("/sessions/<int:session_id>/code")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def signin_code(session: TrainingSession) -> str:
    """The code in big digits, for a projector."""
    return render_template("training/session_code.html", session=session,
                           program=session.program, is_open=sessions.signin_open(session, utcnow()))


@bp.get("/sessions/<int:session_id>/sheet")
@requires(Perm.PROGRAM_MANAGE, session_id=TrainingSession)
def signin_sheet(session: TrainingSession) -> str:
    """The printable sign-in sheet (签到表) for a session without phones."""
    return render_template("training/session_sheet.html", session=session,
                           program=session.program, rows=sessions.roll_rows(session))


# ---------------------------------------------------------------- the trainee's sign-in


@bp.route("/signin", methods=["GET", "POST"])
@login_only
def signin() -> Response | str:
    """A trainee types the code shown in the room; only their own attendance is written."""
    person = current_user.person
    form = SigninForm()
    if person is not None and form.validate_on_submit():
        try:
            done = sessions.sign_in(person, form.code.data, actor=current_user, now=utcnow())
        except sessions.SignInRefused as exc:
            db.session.commit()  # the refusal counts towards the limit on wrong codes
            form.code.errors = [*form.code.errors, str(exc)]
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            words = {"title": done.session.title,
                     "status": training_label("attendance", done.attendance.status)}
            flash(_("您已签到过：%(title)s（%(status)s）。", **words) if done.already
                  else _("签到成功：%(title)s（%(status)s）。", **words), "success")
            return redirect(url_for("training.signin"))
    today = sessions.sessions_today(person, utcnow()) if person is not None else []
    return render_template("training/signin.html", form=form, person=person, today=today)
