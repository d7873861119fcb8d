"""XLSX export of a people list (write-only workbook; ID-card numbers masked only).

Text cells are made safe for spreadsheets: characters XML cannot hold are dropped, and values a
spreadsheet would read as a formula (=, +, -, @ first) are prefixed with an apostrophe.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from lms.i18n import _
from lms.labels import label
from lms.org.models import Person, Post

TZ = ZoneInfo("Asia/Shanghai")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> Any:
    """A value safe to write: numbers as they are, text cleaned of illegal and formula starts."""
    if value is None or isinstance(value, int | float):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def headers() -> list[str]:
    return [_("姓名"), _("性别"), _("出生年份"), _("手机号"), _("学历"), _("身份证号码（脱敏）"),
            _("单位代码"), _("单位"), _("岗位"), _("社工证"), _("证书编号")]


def post_summary(post: Post) -> str:
    parts = [str(label(post.post_type)), str(label(post.status))]
    if post.is_acting:
        parts.append(_("代理"))
    if post.is_legacy:
        parts.append(_("上线前已在岗"))
    return " · ".join(parts)


def person_row(person: Person) -> list[Any]:
    open_posts = [p for p in person.posts if p.is_open]
    return [
        person.name, str(label(person.gender)) or None, person.birth_year, person.phone,
        person.education, person.id_masked, person.org_unit.code, person.org_unit.name,
        "；".join(post_summary(p) for p in open_posts) or None,
        str(label(person.best_qualification)) or None,
        "；".join(q.certificate_no for q in person.qualifications if q.certificate_no) or None,
    ]


def people_workbook(people: Iterable[Person]) -> io.BytesIO:
    """The list as an XLSX file in memory, rewound and ready to send."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("人员"))
    ws.append(headers())
    for person in people:
        ws.append([cell_text(v) for v in person_row(person)])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out
