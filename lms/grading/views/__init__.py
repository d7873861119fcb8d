"""Grading pages: the hub, the evaluation policy of each year, the annual round, quarterly
grades and stipends, change requests, reports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("grading", __name__, url_prefix="/grading", template_folder="../templates")

from lms.grading.views import (  # noqa: E402,F401
    change_requests,
    hub,
    my_results,
    person_history,
    policies,
    quarters,
    reports,
    round_appeals,
    rounds,
    sheets,
    stipends,
)
