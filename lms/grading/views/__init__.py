"""Grading pages: the hub, the evaluation policy of each year, the annual round, quarterly
grades and stipends, change requests, reports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("grading", __name__, url_prefix="/grading", template_folder="../templates")

from lms.grading.views import hub, policies  # noqa: E402,F401
from lms.grading.views import quarters, stipends  # noqa: E402,F401
from lms.grading.views import reports  # noqa: E402,F401
from lms.grading.views import (  # noqa: E402,F401
    change_requests,
    my_results,
    round_appeals,
    rounds,
    sheets,
)
