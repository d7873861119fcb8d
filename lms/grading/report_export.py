"""The evaluation and stipend reports as tables, written to XLSX (write-only workbook) or CSV
(UTF-8 with BOM, for Excel). Every text cell goes through ``lms.org.export.cell_text``: no
formula injection, no illegal characters. Money is kept in fen and written as yuan with two
decimals."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from lms.grading import reports
from lms.grading.labels import grade_label, level_label
from lms.grading.policy import LEVELS
from lms.grading.simulate import yuan
from lms.i18n import _
from lms.org.export import cell_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Money:
    """An amount in fen: yuan with two decimals in the page and the CSV, a number in XLSX."""

    fen: int

    def __str__(self) -> str:
        return yuan(self.fen)


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]


def _name(unit: reports.UnitRef | None) -> str:
    return unit.name if unit is not None else _("合计")


def _code(unit: reports.UnitRef | None) -> str:
    return unit.code if unit is not None else ""


def grades_table(rows: Sequence[reports.GradeRow], total: reports.GradeRow, title: str) -> Table:
    head = [_("单位代码"), _("单位"), *(str(grade_label(g.value)) for g in reports.GRADES),
            _("合计")]
    body = [[_code(r.unit), _name(r.unit), *(r.counts[g.value] for g in reports.GRADES), r.total]
            for r in [*rows, total]]
    return Table(title, head, body)


def levels_table(rows: Sequence[reports.LevelRow], title: str) -> Table:
    head = [_("本年等级"), _("人数"), _("评定后为该等级人数"),
            *(_("评定为%(level)s", level=level_label(n)) for n in LEVELS), _("未评定"),
            _("晋升"), _("保持"), _("降级")]
    body = [[str(level_label(r.level)) if r.level is not None else _("合计"), r.held, r.new,
             *(r.to.get(n, 0) for n in LEVELS), r.pending, r.promoted, r.kept, r.demoted]
            for r in rows]
    return Table(title, head, body)


def stipends_table(rows: Sequence[reports.StipendRow], total: reports.StipendRow,
                   title: str) -> Table:
    head = [_("单位代码"), _("单位")]
    for q in reports.QUARTERS:
        head += [_("第%(q)s季度金额（元）", q=q), _("第%(q)s季度人数", q=q)]
    head.append(_("全年金额（元）"))
    body = []
    for r in [*rows, total]:
        line: list[Any] = [_code(r.unit), _name(r.unit)]
        for q in reports.QUARTERS:
            line += [Money(r.fen[q]), r.people[q]]
        body.append([*line, Money(r.total_fen)])
    return Table(title, head, body)


def progress_table(rows: Sequence[reports.ProgressRow], total: reports.ProgressRow,
                   title: str) -> Table:
    head = [_("单位代码"), _("单位"), _("评分表"), _("已评分"), _("评分进度（%）"), _("已公示"),
            _("已审定")]
    body = [[_code(r.unit), _name(r.unit), r.sheets, r.scored, r.percent_scored, r.published,
             r.confirmed] for r in [*rows, total]]
    return Table(title, head, body)


def flagged_table(rows: Sequence[reports.FlaggedRow], title: str) -> Table:
    head = [_("姓名"), _("村（社区）"), _("乡镇（街道）"), _("等次"), _("总分"),
            _("撤换程序")]
    body = [[r.name, r.village, r.township, str(grade_label(r.grade)),
             r.total, _("已启动") if r.case_id else _("未启动")] for r in rows]
    return Table(title, head, body)


def years_table(rows: Sequence[reports.YearRow], title: str) -> Table:
    head = [_("年度"), *(str(grade_label(g.value)) for g in reports.GRADES), _("合计")]
    body = [[r.year, *(r.counts[g.value] for g in reports.GRADES), r.total] for r in rows]
    return Table(title, head, body)


# ---------------------------------------------------------------- files


def _xlsx_cell(ws: Any, value: Any) -> Any:
    if isinstance(value, Money):
        cell = WriteOnlyCell(ws, value=Decimal(value.fen) / 100)
        cell.number_format = "0.00"
        return cell
    if isinstance(value, Decimal):
        return float(value)
    return cell_text(value)


def to_xlsx(table: Table) -> io.BytesIO:
    wb = Workbook(write_only=True)
    sheet = "".join(c for c in str(cell_text(table.title)) if c not in "\\/?*[]:'")[:31]
    ws = wb.create_sheet(sheet or "report")
    ws.append([cell_text(table.title)])
    ws.append([cell_text(h) for h in table.headers])
    for row in table.rows:
        ws.append([_xlsx_cell(ws, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Money | Decimal):
        return str(value)
    return cell_text(value)


def to_csv(table: Table) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([cell_text(table.title)])
    writer.writerow([cell_text(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return io.BytesIO(codecs.BOM_UTF8 + text.getvalue().encode("utf-8"))
