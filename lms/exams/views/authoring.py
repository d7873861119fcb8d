"""Exam pages (authoring)."""

from __future__ import annotations

from lms.exams.views import bp  # noqa: F401
