"""Grading pages: the evaluation policy of each year (more to come: the annual cycle, stipends,
reports)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("grading", __name__, url_prefix="/grading", template_folder="../templates")

from lms.grading.views import policies  # noqa: E402,F401
