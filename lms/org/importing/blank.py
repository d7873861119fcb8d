"""Blank import templates: the header row as CSV (UTF-8 with BOM, for Excel) or XLSX."""

from __future__ import annotations

import codecs
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from lms.i18n import _
from lms.org.importing import people, units


def _csv(titles: list[str]) -> bytes:
    return codecs.BOM_UTF8 + (",".join(titles) + "\r\n").encode("utf-8")


def units_csv() -> bytes:
    return _csv([c.title for c in units.COLUMNS])


def people_csv() -> bytes:
    return _csv([c.title for c in people.COLUMNS])


#: Columns Excel must keep as text (long digit strings would turn into numbers).
TEXT_COLUMNS = frozenset({"phone", "id_number", "unit_code", "certificate_no"})


def people_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("人员")
    sheet.append([c.title for c in people.COLUMNS])
    for idx, column in enumerate(people.COLUMNS, start=1):
        letter = sheet.cell(row=1, column=idx).column_letter
        sheet.cell(row=1, column=idx).font = Font(bold=True)
        sheet.column_dimensions[letter].width = 22 if column.key in TEXT_COLUMNS else 14
        if column.key in TEXT_COLUMNS:
            for row in range(2, 502):
                sheet.cell(row=row, column=idx).number_format = "@"
    _notes(book.create_sheet(_("填写说明")))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _notes(sheet) -> None:  # noqa: ANN001
    sheet.append([_("列"), _("是否必填"), _("填写说明")])
    notes = {
        "name": _("不超过50个字"),
        "gender": _("男 或 女"),
        "birth_year": _("四位数字，如 1985"),
        "phone": _("11位手机号；没有身份证号时必填（用姓名和手机号识别人员）"),
        "id_number": _("18位身份证号，可不填；只保存加密值和脱敏值"),
        "unit_code": _("乡镇（9位）或村（社区）（12位）区划代码，单位须已在系统中"),
        "post_type": _("乡镇民政办主任、乡镇民政工作人员 或 村(社区)民政助理员"),
        "education": _("如 大专、本科"),
        "qualification": _("助理社会工作师、社会工作师 或 高级社会工作师"
                           "（也可写 初级、中级、高级）"),
        "certificate_no": _("社工证证书编号"),
        "obtained_on": _("日期，如 2020-06-30"),
        "status": _("留空即“已提名”"),
    }
    for column in people.COLUMNS:
        sheet.append([column.title, _("必填") if column.required else _("选填"), notes[column.key]])
    for letter, width in (("A", 14), ("B", 10), ("C", 70)):
        sheet.column_dimensions[letter].width = width
