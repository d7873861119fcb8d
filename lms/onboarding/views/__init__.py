"""Onboarding pages: the gate on a person's posts, director consultations, assistant filings,
replacement cases, qualification lists and the oversight lists (one blueprint; one module per
area)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding", template_folder="../templates")

from lms.onboarding.views import (  # noqa: E402,F401
    consultations,
    filings,
    gate,
    oversight,
    person_sections,
    replacements,
)
