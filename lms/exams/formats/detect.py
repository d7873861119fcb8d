"""``--format auto``: the file name's extension first, then the content."""

from __future__ import annotations

import re
from pathlib import PurePath

from lms.exams.formats.columns import LOOKUP, header_key
from lms.exams.formats.model import UnreadableFile
from lms.exams.formats.textfile import OLE_MAGIC, XLSX_MAGIC, decode_text
from lms.i18n import _

FORMATS = ("xlsx", "csv", "gift", "aiken")
EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".gift": "gift",
              ".aiken": "aiken"}
_AIKEN_ANSWER = re.compile(r"^\s*(?:ANSWER|答案)\s*[:：]\s*[A-Za-z]\s*$",
                           re.MULTILINE | re.IGNORECASE)
_GIFT_MARK = re.compile(r"^\s*(::|\$CATEGORY:)|(?<!\\)\{[^}]*(?<!\\)\}", re.MULTILINE)
SNIFF_LINES = 10


def detect_format(data: bytes, filename: str = "") -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls" or data.startswith(OLE_MAGIC):
        raise UnreadableFile(_(
            "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入。"))
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    return _by_content(decode_text(data))


def _by_content(text: str) -> str:
    if _AIKEN_ANSWER.search(text):
        return "aiken"
    lines = [ln for ln in text.split("\n") if ln.strip()][:SNIFF_LINES]
    for line in lines:
        cells = re.split(r"[,\t]", line)
        if len(cells) > 2 and sum(header_key(c) in LOOKUP for c in cells) >= 3:
            return "csv"
    if _GIFT_MARK.search(text):
        return "gift"
    raise UnreadableFile(_("无法判断文件格式，请用 --format 指定 xlsx、csv、gift 或 aiken。"))
