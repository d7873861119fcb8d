"""The evaluation hub: one page linking every part of the annual evaluation and the stipends the
user may open (each link is shown only with its permission)."""

from __future__ import annotations

from flask import render_template

from lms.auth.access import login_only
from lms.grading.views import bp


@bp.get("/")
@login_only
def index() -> str:
    return render_template("grading/index.html")
