"""Spreadsheets as rows of text cells: every sheet of an XLSX (openpyxl, read-only), or a CSV.

Each row keeps its physical line number (header = 1 in a plain file) so errors point where the
user looks. Fully blank rows are dropped. Formula cells arrive as their formula text (``=…``) so the
template can refuse them. A file that is not such a table raises ``UnreadableFile`` (exit 2).
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from lms.exams.formats.model import MAX_QUESTIONS, UnreadableFile, clean_text
from lms.exams.formats.textfile import OLE_MAGIC, XLSX_MAGIC, check_size, decode_text
from lms.i18n import _

#: Cells beyond this column are ignored (the template has 20 columns).
MAX_COLUMNS = 40
#: Largest total uncompressed size of an XLSX (guards against zip bombs).
MAX_XLSX_EXPANDED = 200 * 1024 * 1024
#: Header rows, title rows and example rows besides the questions themselves.
MAX_ROWS = MAX_QUESTIONS + 50


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[Row]


def read_xlsx(data: bytes) -> list[Sheet]:
    check_size(data)
    if data.startswith(OLE_MAGIC):
        raise UnreadableFile(_(
            "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入。"))
    if not data.startswith(XLSX_MAGIC):
        raise UnreadableFile(_("这不是 Excel（.xlsx）文件，或文件已损坏。"))
    _check_archive(data)
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not a readable xlsx"
            raise UnreadableFile(_broken()) from exc
        try:
            return _limited([Sheet(ws.title, list(_sheet_rows(ws))) for ws in book.worksheets])
        except UnreadableFile:
            raise
        except Exception as exc:  # noqa: BLE001
            raise UnreadableFile(_broken()) from exc
        finally:
            book.close()


def read_csv(data: bytes, name: str) -> list[Sheet]:
    text = decode_text(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return _limited([Sheet(name, list(_csv_rows(text, delimiter)))])


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(_broken()) from exc
    if expanded > MAX_XLSX_EXPANDED:
        raise UnreadableFile(_("Excel 文件解压后过大，请删除无关的工作表和格式后再导入。"))


def _broken() -> str:
    return _("Excel 文件已损坏或不完整，请在 Excel 中重新保存为 .xlsx 后再导入。")


def _limited(sheets: list[Sheet]) -> list[Sheet]:
    if sum(len(s.rows) for s in sheets) > MAX_ROWS:
        raise UnreadableFile(_("文件超过 %(n)s 道题，请拆分后分批导入。", n=f"{MAX_QUESTIONS:,}"))
    return sheets


def _sheet_rows(ws) -> Iterator[Row]:  # noqa: ANN001 - an openpyxl read-only worksheet
    kept = 0
    for n, values in enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
        cells = tuple(cell_text(v) for v in values)
        if any(cells):
            kept += 1
            if kept > MAX_ROWS:
                raise UnreadableFile(_("文件超过 %(n)s 道题，请拆分后分批导入。",
                                       n=f"{MAX_QUESTIONS:,}"))
            yield Row(n, cells)


def _csv_rows(text: str, delimiter: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableFile(_("第%(n)s行：CSV 格式有误（引号不配对或单元格过长），"
                                   "请检查后重新保存。", n=start)) from exc
        row = Row(start, tuple(clean_text(c) for c in cells[:MAX_COLUMNS]))
        if any(row.cells):
            yield row


def cell_text(value: object) -> str:
    """An Excel cell as the text the user typed: 2.0 → "2", 0.5 → "0.5", dates ISO,
    formulas as ``=…``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int):
        return clean_text(str(value))
    formula = getattr(value, "text", None)  # ArrayFormula and the like
    return clean_text(str(formula if formula is not None else value))
