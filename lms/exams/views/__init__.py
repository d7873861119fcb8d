"""Exam pages: question banks and questions, exam authoring, taking an exam, marking, results
and item analysis (one blueprint; one module per area)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exams", __name__, url_prefix="/exams", template_folder="../templates")

from lms.exams.views import (  # noqa: E402,F401
    analysis,
    authoring,
    banks,
    live,
    marking,
    questions,
    results,
    take,
    take_api,
)
