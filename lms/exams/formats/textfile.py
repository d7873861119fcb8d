"""Bytes of an uploaded text file (CSV, GIFT, Aiken) to text, with the encoding detected."""

from __future__ import annotations

import codecs
import re

from lms.exams.formats.model import MAX_FILE_BYTES, UnreadableFile
from lms.i18n import _

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Control characters no text file of questions contains (tab, newlines and form feed allowed).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(_("文件太大：不能超过 %(mb)s MB，请拆分后分批导入。",
                               mb=MAX_FILE_BYTES // (1024 * 1024)))
    if not data.strip():
        raise UnreadableFile(_("文件是空的。"))


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional), UTF-16 with BOM, else GBK (read as GB18030, its superset).
    Binary content (a spreadsheet, an image, junk) is refused."""
    check_size(data)
    if data.startswith((XLSX_MAGIC, OLE_MAGIC)):
        raise UnreadableFile(_("这是 Excel 文件，不是文本文件；请用 --format xlsx 或 auto。"))
    text = _decode(data)
    if _BINARY.search(text):
        raise UnreadableFile(_("这不是文本文件（含有二进制内容），无法读取。"))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(_("文件编码有误，请另存为 UTF-8 或 GBK 编码后再导入。")) from exc
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(_("无法识别文件编码，请另存为 UTF-8 或 GBK 编码后再导入。"))
