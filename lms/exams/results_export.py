"""The results table as an XLSX file (write-only workbook; text cells through
``lms.org.export.cell_text``), read in batches, and the audited export event."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from lms import audit
from lms.exams.models import Exam
from lms.exams.results_table import ResultFilters, ResultRow, all_rows
from lms.i18n import _
from lms.labels import label
from lms.org.export import TZ, cell_text


def headers() -> list[str]:
    return [_("姓名"), _("单位"), _("岗位"), _("次数"), _("计分成绩"), _("是否通过"),
            _("交卷时间"), _("最近一次状态"), _("待阅卷次数")]


def passed_text(row: ResultRow) -> str:
    r = row.result
    if r is None:
        return _("无成绩")
    if r.passed is None:
        return _("待阅卷")
    return _("通过") if r.passed else _("未通过")


def state_text(state: str) -> str:
    return {"in_progress": _("答题中"), "submitted": _("已交卷"),
            "auto_submitted": _("自动交卷"), "abandoned": _("已作废")}.get(state, state)


def _local(value: datetime | None) -> str | None:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def row_values(row: ResultRow) -> list[Any]:
    r = row.result
    score: Decimal | None = r.score if r is not None else None
    return [cell_text(row.person.name), cell_text(row.unit.name),
            cell_text("、".join(str(label(p)) for p in row.posts) or None),
            r.attempts if r is not None else 0, score, cell_text(passed_text(row)),
            cell_text(_local(row.last_submitted)), cell_text(state_text(row.latest.state)),
            r.pending_marking if r is not None else 0]


def results_workbook(exam: Exam, filters: ResultFilters, *, actor: Any,
                     now: datetime) -> io.BytesIO:
    """Every row under *filters*; the export is audited with the number of rows (flush only)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("考试成绩"))
    ws.append(headers())
    count = 0
    for row in all_rows(exam, filters):
        ws.append(row_values(row))
        count += 1
    audit.record(actor, "exam.results_export", exam, now=now, rows=count,
                 filters={"unit": filters.unit.id if filters.unit else None,
                          "state": filters.state, "result": filters.result, "q": filters.q})
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out
