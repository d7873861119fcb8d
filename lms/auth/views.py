"""Login, logout, password change, my account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from lms.auth import services
from lms.auth.access import login_only, public
from lms.auth.forms import ChangePasswordForm, LoginForm
from lms.db import utcnow
from lms.errors import ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.web.safe_redirect import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            user = services.authenticate(form.login.data, form.password.data, now=now,
                                         ip=request.remote_addr)
        except services.LoginFailed:
            db.session.commit()  # keep the failure counter and the audit entry
            form.password.errors = [_("用户名或密码错误，或账号已被锁定。连续输错5次将锁定15分钟。")]
        else:
            lang = session.get("lang")
            session.clear()  # new session: the pre-login cookie is dead (R10)
            if lang:
                session["lang"] = lang
            services.start_session(user, now=now, ip=request.remote_addr,
                                   user_agent=request.user_agent.string)
            db.session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_only(during_password_change=True)
def logout() -> Response:
    services.end_session(current_user.session_token, now=utcnow(), actor=current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已安全退出。"), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_only(during_password_change=True)
def change_password() -> Response | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data, now=utcnow())
        except ValidationFailed as exc:
            if exc.field == "current":  # a wrong current password counts towards the lockout
                db.session.commit()
                if current_user.locked_until and current_user.locked_until > utcnow():  # locked:
                    # every session of the account has ended
                    logout_user()
                    session.clear()
                    flash(_("用户名或密码错误，或账号已被锁定。连续输错5次将锁定15分钟。"), "error")
                    return redirect(url_for("auth.login"))
            getattr(form, exc.field or "new").errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("密码已修改。"), "success")
            return redirect(url_for("web.home"))
    forced = current_user.must_change_password
    return render_template("auth/password.html", form=form, forced=forced)


@bp.get("/account")
@login_only
def account() -> str:
    return render_template("auth/account.html", user=current_user)
