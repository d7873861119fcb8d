"""Account management and the audit log (one blueprint, one module per area)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")

from lms.admin.views import accounts, audit_log, bulk, roles  # noqa: E402,F401
