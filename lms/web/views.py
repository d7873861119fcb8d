"""Home (dashboard by role), privacy notice, language switch, health check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from lms.auth.access import login_only, public
from lms.extensions import db
from lms.web.dashboard import dashboard_for
from lms.web.safe_redirect import safe_next

bp = Blueprint("web", __name__, template_folder="../templates")


@bp.get("/")
@login_only
def home() -> str:
    return render_template("web/home.html", dash=dashboard_for(current_user))


@bp.get("/privacy")
@public
def privacy() -> str:
    return render_template("web/privacy.html",
                           retention_days=current_app.config["PII_RETENTION_DAYS"])


@bp.post("/language")
@public
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


@bp.get("/healthz")
@public
def healthz() -> tuple[dict[str, str], int]:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}, 200
