"""XLSX exports of the coverage table, the rotation lists and the external-training queue
(write-only workbooks; every text cell goes through ``lms.org.export.cell_text``: no formula
injection, no illegal characters)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from lms.i18n import _
from lms.labels import label
from lms.org.export import TZ, cell_text
from lms.org.models import PostType
from lms.training.coverage import CoverageReport, RotationRow, Tally, UnitTally

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _save(wb: Workbook) -> io.BytesIO:
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def table_headers(post_type: str | None) -> list[Any]:
    head = [_("单位代码"), _("单位"), _("在岗人数"), _("已覆盖"), _("覆盖率（%）"), _("周期内"),
            _("临近到期"), _("逾期未训"), _("从未培训")]
    if not post_type:
        head += [_("%(post)s覆盖率（%%）", post=label(p)) for p in PostType]
    return head


def table_row(code: str, name: str, counts: UnitTally, post_type: str | None) -> list[Any]:
    t: Tally = counts.total(post_type)
    row = [code, name, t.in_post, t.covered, _num(t.coverage), t.current, t.due, t.overdue,
           t.never_trained]
    if not post_type:
        row += [_num(counts.by_type[p.value].coverage) for p in PostType]
    return row


def table_workbook(rep: CoverageReport, *, post_type: str | None) -> io.BytesIO:
    """The coverage table as shown: one row per part, the unit's own posts, then the total."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("培训覆盖"))
    scope_name = rep.unit.name if rep.unit is not None else _("管辖范围")
    title = _("培训覆盖：%(unit)s；统计日期 %(date)s；轮训周期 %(n)s 年；岗位：%(post)s",
              unit=scope_name, date=rep.cut.today.isoformat(), n=rep.cut.years,
              post=label(post_type) if post_type else _("全部岗位"))
    ws.append([cell_text(title)])
    ws.append(table_headers(post_type))
    for unit, counts in rep.rows:
        ws.append([cell_text(v) for v in table_row(unit.code, unit.name, counts, post_type)])
    if rep.own is not None:
        ws.append([cell_text(v) for v in table_row(
            rep.unit.code if rep.unit else "", _("本级"), rep.own, post_type)])
    ws.append([cell_text(v) for v in table_row(
        rep.unit.code if rep.unit else "", _("合计"), rep.total, post_type)])
    return _save(wb)


def people_workbook(rows: Iterable[RotationRow], labels: Mapping[str, Any]) -> io.BytesIO:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("轮训名单"))
    ws.append([_("姓名"), _("单位代码"), _("单位"), _("岗位"), _("最近一次轮训"), _("应轮训日期"),
               _("轮训状态")])
    for r in rows:
        ws.append([cell_text(v) for v in (
            r.name, r.unit_code, r.unit_name, str(label(r.post_type)),
            r.last_on.isoformat() if r.last_on else None,
            r.due_on.isoformat() if r.due_on else None, str(labels.get(r.status, r.status)))])
    return _save(wb)


def queue_workbook(entries: Iterable[Any]) -> io.BytesIO:
    """Pending external training, for the unit's approvers."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("外部培训待审核"))
    ws.append([_("姓名"), _("单位代码"), _("单位"), _("培训名称"), _("举办单位或平台"), _("学时"),
               _("完成日期"), _("提交日期"), _("证明材料")])
    for e in entries:
        ws.append([cell_text(v) for v in (
            e.person.name, e.person.org_unit.code, e.person.org_unit.name, e.title, e.provider,
            float(e.credit_hours), e.completed_on.isoformat(),
            e.created_at.astimezone(TZ).date().isoformat(),
            e.evidence_original or _("无（核对纸质原件）"))])
    return _save(wb)
