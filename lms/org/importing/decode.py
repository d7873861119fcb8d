"""Read an uploaded file into rows of text cells, each with its physical line number.

CSV: UTF-8 with or without BOM, UTF-16 with BOM, else GBK (read as GB18030, its superset);
comma- or tab-separated. XLSX: the first sheet, through openpyxl in read-only mode. Blank rows are
dropped but keep their place in the numbering, so line N is what the user sees in an editor or in
Excel. Anything that is not such a table raises ``FileProblem`` (the CLI's exit 2).
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from lms.i18n import _

#: Cells beyond this column are ignored (no import has more than a dozen columns).
MAX_COLUMNS = 60
#: Largest total uncompressed size of an XLSX (guards against zip bombs).
MAX_XLSX_EXPANDED = 200 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileProblem(Exception):
    """The file cannot be read as a table; ``str(exc)`` says why, in the user's language."""


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    rows: list[Row]


def read_table(data: bytes, *, max_rows: int, max_bytes: int) -> Table:
    """Rows of the file (blank ones dropped). At most *max_rows* rows besides the header."""
    if len(data) > max_bytes:
        raise FileProblem(_("文件太大：不能超过 %(mb)s MB，请拆分后分批导入。",
                            mb=max(1, max_bytes // (1024 * 1024))))
    if not data.strip():
        raise FileProblem(_("文件是空的，请选择填好的导入文件。"))
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(data)
    elif data.startswith(OLE_MAGIC):
        raise FileProblem(_("不支持旧版 Excel（.xls）文件，"
                            "请在 Excel 中另存为 .xlsx 或 CSV 后再导入。"))
    else:
        rows = _csv_rows(decode_text(data))
    return Table(_limited(rows, max_rows))


def _limited(rows: Iterable[Row], max_rows: int) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        if any(row.cells):
            if len(out) > max_rows:
                raise FileProblem(_("文件超过 %(n)s 行，请拆分后分批导入。", n=f"{max_rows:,}"))
            out.append(row)
    return out


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional), UTF-16 with BOM, or GBK/GB18030; anything else is a ``FileProblem``."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise FileProblem(_("文件编码有误，请另存为 UTF-8 或 GBK 编码的 CSV 后再导入。")) from exc
    if b"\x00" in data:
        raise FileProblem(_("这不是 CSV 或 Excel 文件，请选择 .csv 或 .xlsx 文件。"))
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem(_("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 后再导入。"))


def _csv_rows(text: str):  # noqa: ANN202 - a generator of Row
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileProblem(_("第%(n)s行：CSV 格式有误（引号不配对或单元格过长），"
                                "请检查后重新保存。", n=start)) from exc
        yield Row(start, tuple(_clean(c) for c in cells[:MAX_COLUMNS]))


def _clean(value: str) -> str:
    return value.strip().lstrip("\ufeff").strip()


def _xlsx_rows(data: bytes):  # noqa: ANN202 - a generator of Row
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileProblem(_("Excel 文件已损坏或不完整，请重新保存后再导入。")) from exc
    if expanded > MAX_XLSX_EXPANDED:
        raise FileProblem(_("Excel 文件解压后过大，请删除无关的工作表和格式后再导入。"))
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not a readable xlsx"
            raise FileProblem(_unreadable_xlsx()) from exc
        try:
            for n, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
                yield Row(n, tuple(cell_text(v) for v in values))
        except Exception as exc:  # noqa: BLE001
            raise FileProblem(_unreadable_xlsx()) from exc
        finally:
            book.close()


def _unreadable_xlsx() -> str:
    return _("无法读取这个 Excel 文件，请在 Excel 中另存为 .xlsx 后再导入。")


def cell_text(value: object) -> str:
    """An Excel cell as the text the user typed: 13800000001.0 → "13800000001", dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return _clean(str(value))
