"""XLSX downloads of the item analysis: an exam's test figures and question table (this exam and
pooled), and a bank's questions with pooled figures (write-only workbooks; the bank is read in
chunks so memory and queries stay bounded per chunk)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from lms.exams.analysis import (
    FLAG_LABELS,
    ExamAnalysis,
    Figures,
    QuestionRow,
    bank_questions,
    excerpt,
)
from lms.exams.formats.checks import type_label
from lms.exams.models import QuestionBank
from lms.i18n import _
from lms.org.export import cell_text

CHUNK = 500


def _save(wb: Workbook) -> io.BytesIO:
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _figures(f: Figures) -> list[Any]:
    s = f.stats
    values = [None] * 4 if s is None else [s.facility, s.sd, s.discrimination_index,
                                           s.discriminative_efficiency]
    return [f.n, *(_round(v) for v in values),
            "、".join(str(FLAG_LABELS[k]) for k in f.flags) or None]


def _figure_headers(prefix: str) -> list[str]:
    return [prefix + h for h in (_("人次"), _("难度系数 %"), _("标准差 %"), _("区分度 %"),
                                 _("区分效率 %"), _("提示"))]


def _question_cells(row: QuestionRow) -> list[Any]:
    return [row.position, row.question_id, str(type_label(row.type)) if row.type else None,
            excerpt(row.stem, 200), float(row.max_points) if row.max_points is not None else None]


def _question_headers() -> list[str]:
    return [_("序号"), _("试题编号"), _("题型"), _("题干"), _("分值")]


def exam_workbook(analysis: ExamAnalysis) -> io.BytesIO:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("整卷统计"))
    t = analysis.test
    ws.append([_("指标"), _("数值")])
    for name, value in ((_("答卷数"), t.n), (_("平均分"), t.mean), (_("标准差"), t.sd),
                        (_("偏度"), t.skewness), (_("峰度"), t.kurtosis),
                        (_("内部一致性系数 %"), t.cic), (_("误差率 %"), t.error_ratio),
                        (_("标准误"), t.standard_error)):
        ws.append([name, value if isinstance(value, int) else _round(value)])
    qs = wb.create_sheet(_("试题分析"))
    qs.append(_question_headers() + _figure_headers(_("本场")) + _figure_headers(_("累计")))
    for row in analysis.questions:
        qs.append([cell_text(v) for v in
                   _question_cells(row) + _figures(row.exam) + _figures(row.pooled)])
    return _save(wb)


def bank_workbook(bank: QuestionBank) -> io.BytesIO:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("试题分析"))
    ws.append(_question_headers() + _figure_headers(_("累计")))
    offset = 0
    while True:
        rows = bank_questions(bank.id, limit=CHUNK, offset=offset)
        for row in rows:
            ws.append([cell_text(v) for v in _question_cells(row) + _figures(row.pooled)])
        if len(rows) < CHUNK:
            break
        offset += CHUNK
    return _save(wb)
