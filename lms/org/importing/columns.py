"""Header mapping and the cell checks every import shares; row errors are ``第N行 列名：原因``."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lms.i18n import _
from lms.org.importing.decode import Row, Table

#: The header is looked for among the first rows (a title row above it is common in Excel).
HEADER_SEARCH_ROWS = 10
FORMULA_PREFIXES = ("=", "+", "-", "@")
_FULLWIDTH = str.maketrans("０１２３４５６７８９（）", "0123456789()")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return _("第%(n)s行 %(col)s：%(reason)s", n=self.line, col=self.column, reason=self.reason)


@dataclass(frozen=True)
class Column:
    key: str
    #: The header written in the blank template (and named when the column is missing).
    title: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Header:
    line: int
    #: key → (cell index, header text as written in the file)
    found: dict[str, tuple[int, str]]

    def value(self, row: Row, key: str) -> str:
        idx = self.found.get(key, (None, ""))[0]
        return row.cells[idx] if idx is not None and idx < len(row.cells) else ""

    def title(self, key: str, columns: Sequence[Column]) -> str:
        if key in self.found:
            return self.found[key][1]
        return next(c.title for c in columns if c.key == key)


def header_key(text: str) -> str:
    """Comparable form of a header cell: no spaces or "*" marks, half-width brackets, lower case."""
    return text.translate(_FULLWIDTH).replace(" ", "").replace("*", "").strip().lower()


def find_header(table: Table, columns: Sequence[Column]) -> tuple[Header | None, list[RowError]]:
    """The first row naming at least two known columns; errors name every missing required one."""
    lookup = {header_key(a): c for c in columns for a in (c.title, c.key, *c.aliases)}
    for row in table.rows[:HEADER_SEARCH_ROWS]:
        found: dict[str, tuple[int, str]] = {}
        errors: list[RowError] = []
        for idx, cell in enumerate(row.cells):
            column = lookup.get(header_key(cell))
            if column is None:
                continue
            if column.key in found:
                errors.append(RowError(row.line, cell[:30], _("此列重复，请只保留一列。")))
            else:
                found[column.key] = (idx, cell)
        if len(found) >= 2:
            errors += [RowError(row.line, c.title, _("缺少此列，请使用导入模板的表头。"))
                       for c in columns if c.required and c.key not in found]
            return Header(row.line, found), errors
    expected = "、".join(c.title for c in columns if c.required)
    line = table.rows[0].line if table.rows else 1
    reason = _("没有找到表头，第一行应为：%(cols)s。", cols=expected)
    return None, [RowError(line, _("表头"), reason)]


def digits(value: str) -> str:
    """Full-width digits to ASCII, spaces removed."""
    return value.translate(_FULLWIDTH).replace(" ", "")


def division_code(cells: Any, key: str, lengths: Any, missing: str, invalid: str) -> str | None:
    """The division code in *key* (digits of one of *lengths*), or None after reporting why not."""
    code = digits(cells.get(key))
    if not code:
        cells.bad(key, missing)
    elif not (code.isascii() and code.isdigit() and len(code) in lengths):
        cells.bad(key, invalid)
    else:
        return code
    return None


def text_problem(value: str, limit: int) -> str | None:
    """Why a one-line text cell cannot be stored as given, or None when it can."""
    if len(value) > limit:
        return _("不能超过 %(n)s 个字符。", n=limit)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
        return _("含有换行、制表符或不可见字符，请删除后重试。")
    if value.startswith(FORMULA_PREFIXES):
        return _("不能以 =、+、-、@ 开头（可能是表格公式），请删除开头的符号。")
    return None


class Cells:
    """One data row read through the header; ``bad`` collects the row's errors."""

    def __init__(self, row: Row, header: Header, columns: Sequence[Column]) -> None:
        self.row, self.header, self.columns = row, header, columns
        self.errors: list[RowError] = []

    @property
    def line(self) -> int:
        return self.row.line

    def get(self, key: str) -> str:
        return self.header.value(self.row, key)

    def bad(self, key: str, reason: str) -> None:
        self.errors.append(RowError(self.row.line, self.header.title(key, self.columns), reason))

    def text(self, key: str, limit: int, *, required_message: str | None = None) -> str | None:
        """A one-line text cell, checked; None when empty (or bad)."""
        value = self.get(key)
        if not value:
            if required_message:
                self.bad(key, required_message)
            return None
        problem = text_problem(value, limit)
        if problem:
            self.bad(key, problem)
            return None
        return value


def data_rows(table: Table, header: Header) -> list[Row]:
    return [r for r in table.rows if r.line > header.line]
