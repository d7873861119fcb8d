"""What a stipend quarter pays, per township and per assistant, and the payroll sheet (XLSX) for
the finance offices: the whole county (a summary sheet with one row per township and the grand
total, then one sheet per township) or one township. Amounts are integer fen in the database and
exact yuan in the sheet (``Decimal(fen) / 100`` with a two-decimal number format).

The sheet is refused while an integrity code of the county's grade or stipend rows fails
(security R41), and each export is audited."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState
from lms.extensions import db
from lms.grading import integrity
from lms.grading.labels import PAY_LABELS, QUARTER_LABELS, grade_label, level_label
from lms.grading.models import StipendLine, StipendQuarter
from lms.i18n import _
from lms.org.export import cell_text
from lms.org.models import OrgUnit, Person

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = "#,##0.00"
BOLD = Font(bold=True)


def yuan(fen: int) -> Decimal:
    """Exact yuan of an amount in fen."""
    return Decimal(int(fen)) / 100


@dataclass(frozen=True)
class Subtotal:
    township_id: int
    township: str
    people: int
    total_fen: int


@dataclass(frozen=True)
class PayRow:
    line_id: int
    township_id: int
    township: str
    village: str
    name: str
    level: int
    months: int
    grade: str | None
    amount_fen: int


def subtotals(run: StipendQuarter) -> list[Subtotal]:
    """People and total per township of the quarter, in township code order (one query)."""
    town = aliased(OrgUnit)
    rows = db.session.execute(
        select(town.id, town.name, func.count(StipendLine.id), func.sum(StipendLine.amount_fen))
        .join(town, town.id == StipendLine.township_id)
        .where(StipendLine.run_id == run.id)
        .group_by(town.id, town.name, town.code).order_by(town.code)).all()
    return [Subtotal(tid, name, people, int(total or 0)) for tid, name, people, total in rows]


def lines_select(run: StipendQuarter, township_id: int | None = None) -> Select[Any]:
    """The lines with township, village and name, in township, village and line order."""
    town, village = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (select(StipendLine.id, StipendLine.township_id, town.name, village.name, Person.name,
                   StipendLine.level, StipendLine.months, StipendLine.grade,
                   StipendLine.amount_fen)
            .join(town, town.id == StipendLine.township_id)
            .join(village, village.id == StipendLine.org_unit_id)
            .join(Person, Person.id == StipendLine.person_id)
            .where(StipendLine.run_id == run.id)
            .order_by(town.code, village.code, StipendLine.id))
    if township_id is not None:
        stmt = stmt.where(StipendLine.township_id == township_id)
    return stmt


def pay_rows(stmt: Select[Any]) -> list[PayRow]:
    return [PayRow(*row) for row in db.session.execute(stmt).all()]


# ---------------------------------------------------------------- the sheet


def _bold(ws: Any, values: Iterable[Any]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(ws, value=cell_text(value))
        cell.font = BOLD
        cells.append(cell)
    return cells


def _money(ws: Any, fen: int, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=yuan(fen))
    cell.number_format = YUAN_FORMAT
    if bold:
        cell.font = BOLD
    return cell


def _title(run: StipendQuarter, unit: OrgUnit) -> str:
    return _("%(unit)s %(year)s 年%(quarter)s村（社区）民政助理员补贴发放表（%(status)s）",
             unit=unit.name, year=run.year, quarter=QUARTER_LABELS[run.quarter],
             status=PAY_LABELS[run.status])


def _line_headers() -> list[str]:
    return [_("序号"), _("村（社区）"), _("姓名"), _("等级"), _("在岗月数"), _("季度考核等次"),
            _("补贴金额（元）")]


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "", name).strip() or _("乡镇")
    base, n, title = base[:28], 1, base[:31]
    while title.lower() in used:
        n += 1
        title = f"{base}({n})"
    used.add(title.lower())
    return title


def _line_sheet(wb: Workbook, run: StipendQuarter, town: OrgUnit | str, rows: Iterable[PayRow],
                used: set[str]) -> tuple[int, int]:
    """One township's lines and their total row; returns (people, total fen)."""
    name = town if isinstance(town, str) else town.name
    ws = wb.create_sheet(_sheet_name(name, used))
    ws.append(_bold(ws, [_("%(town)s：", town=name) + _title(run, run.org_unit)]))
    ws.append(_bold(ws, _line_headers()))
    people = total = 0
    for people, row in enumerate(rows, 1):
        total += row.amount_fen
        ws.append([people, cell_text(row.village), cell_text(row.name),
                   str(level_label(row.level)), row.months, str(grade_label(row.grade)),
                   _money(ws, row.amount_fen)])
    ws.append([*_bold(ws, [_("合计"), None, _("%(n)s 人", n=people), None, None, None]),
               _money(ws, total, bold=True)])
    return people, total


def _by_township(rows: Iterable[PayRow]) -> Iterator[tuple[str, Iterator[PayRow]]]:
    for (_tid, name), group in groupby(rows, key=lambda r: (r.township_id, r.township)):
        yield name, group


@dataclass(frozen=True)
class Sheet:
    data: io.BytesIO
    people: int
    total_fen: int


def workbook(run: StipendQuarter, *, township: OrgUnit | None, actor: Any) -> Sheet:
    """The payroll sheet of the county's quarter, or of one of its townships (reads only).
    Refused while an integrity code of the county fails. ``record_export`` audits it."""
    county = run.org_unit
    ensure(actor, Perm.EVALUATION_SCORE, township or county)
    if township is not None and not township.path.startswith(county.path):
        raise InvalidState(_("该乡镇不属于本县。"))
    if integrity.broken_rows(county_id=run.org_unit_id):
        raise InvalidState(_(
            "完整性校验未通过：本县的考评或补贴数据与校验码不符（可能被绕过系统修改），暂停导出。"
            "请联系审计管理员运行完整性校验并查明原因。"))
    wb = Workbook(write_only=True)
    used: set[str] = set()
    rows = pay_rows(lines_select(run, township.id if township else None))
    if township is not None:
        people, total = _line_sheet(wb, run, township, rows, used)
    else:
        summary = wb.create_sheet(_sheet_name(_("汇总"), used))
        summary.append(_bold(summary, [_title(run, county)]))
        summary.append(_bold(summary, [_("乡镇（街道）"), _("人数"), _("补贴合计（元）")]))
        people = total = 0
        sheets = [(name, *_line_sheet(wb, run, name, group, used))
                  for name, group in _by_township(rows)]
        for name, n, fen in sheets:
            summary.append([cell_text(name), n, _money(summary, fen)])
            people, total = people + n, total + fen
        summary.append([*_bold(summary, [_("合计"), people]), _money(summary, total, bold=True)])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return Sheet(out, people, total)


def record_export(run: StipendQuarter, sheet: Sheet, *, township: OrgUnit | None, actor: Any,
                  now: datetime) -> None:
    """The audit entry of a payroll download (flush only; the view opens a write transaction
    first, so a GET never upgrades its read lock)."""
    audit.record(actor, "stipend.payroll_export", run, now=now, year=run.year,
                 quarter=run.quarter, township_id=township.id if township else None,
                 lines=sheet.people, total_fen=sheet.total_fen)


def download_name(run: StipendQuarter, township: OrgUnit | None) -> str:
    unit = township.name if township is not None else run.org_unit.name
    unit = "".join("-" if c in '/\\:*?"<>|' else c for c in unit)[:60]
    return _("补贴发放表-%(unit)s-%(year)s年%(quarter)s.xlsx", unit=unit, year=run.year,
             quarter=QUARTER_LABELS[run.quarter])
