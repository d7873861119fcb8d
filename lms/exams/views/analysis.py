"""Item analysis pages: an exam's test figures and questions (this exam and pooled over every
exam that used each question), a bank's questions with pooled figures, and their XLSX files."""

from __future__ import annotations

from flask import render_template, send_file
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.exams import analysis
from lms.exams.analysis_export import bank_workbook, exam_workbook
from lms.exams.formats.checks import type_label
from lms.exams.models import Exam, QuestionBank
from lms.exams.views import bp
from lms.i18n import _
from lms.org.export import TZ
from lms.web.actions import page_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50


def _safe_name(title: str) -> str:
    return "".join("-" if c in '/\\:*?"<>|' else c for c in title)[:80]


def _today() -> str:
    return utcnow().astimezone(TZ).strftime("%Y%m%d")



@bp.get("/<int:exam_id>/analysis")
@requires(Perm.EXAM_RESULTS_VIEW, exam_id=Exam)
def analysis_exam(exam: Exam) -> str:
    return render_template("exams/analysis_exam.html", exam=exam, a=analysis.analyse_exam(exam),
                           labels=analysis.FLAG_LABELS, type_label=type_label,
                           excerpt=analysis.excerpt, minimum=analysis.MIN_ATTEMPTS)


@bp.get("/<int:exam_id>/analysis.xlsx")
@requires(Perm.EXAM_RESULTS_VIEW, exam_id=Exam)
def analysis_exam_xlsx(exam: Exam) -> Response:
    name = _("试题分析-%(title)s-%(date)s.xlsx", title=_safe_name(exam.title), date=_today())
    return send_file(exam_workbook(analysis.analyse_exam(exam)), as_attachment=True,
                     download_name=name, mimetype=XLSX)


@bp.get("/banks/<int:bank_id>/analysis")
@requires(Perm.EXAM_RESULTS_VIEW, bank_id=QuestionBank)
def analysis_bank(bank: QuestionBank) -> str:
    page = page_number()
    rows = analysis.bank_questions(bank.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("exams/analysis_bank.html", bank=bank, rows=rows, page=page,
                           size=PAGE_SIZE, total=analysis.bank_question_count(bank.id),
                           labels=analysis.FLAG_LABELS, type_label=type_label,
                           excerpt=analysis.excerpt, minimum=analysis.MIN_ATTEMPTS)


@bp.get("/banks/<int:bank_id>/analysis.xlsx")
@requires(Perm.EXAM_RESULTS_VIEW, bank_id=QuestionBank)
def analysis_bank_xlsx(bank: QuestionBank) -> Response:
    name = _("题库试题分析-%(title)s-%(date)s.xlsx", title=_safe_name(bank.title), date=_today())
    return send_file(bank_workbook(bank), as_attachment=True, download_name=name, mimetype=XLSX)
