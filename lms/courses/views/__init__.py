"""Course pages (one blueprint; one module per area, imported below)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("courses", __name__, url_prefix="/courses", template_folder="../templates")

from lms.courses.views import author, author_files, files, learn  # noqa: E402,F401
