"""Training pages: programs, enrolment, sessions and attendance, completions and certificates,
coverage and rotation, personal training records (one blueprint; one module per area)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="../templates")

from lms.training.views import (  # noqa: E402,F401  # noqa: E402,F401
    certificates,  # noqa: E402,F401
    coverage,
    program_exams,
    programs,
    records,
    sessions,
)
