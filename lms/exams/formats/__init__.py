"""Question import and export: the canonical Chinese template (XLSX / CSV), Moodle GIFT, Aiken.

Pure: bytes in, ``ParsedQuestion``s and ``Problem``s out (or ``UnreadableFile``); no database,
no request. ``read_questions`` is the one entry point the CLI and the upload page use.
"""

from __future__ import annotations

from pathlib import PurePath

from lms.exams.formats.aiken import parse_aiken
from lms.exams.formats.detect import FORMATS, detect_format
from lms.exams.formats.gift import parse_gift
from lms.exams.formats.model import (
    ImportResult,
    ParsedQuestion,
    Problem,
    UnreadableFile,
    duplicate_problems,
)
from lms.exams.formats.template import parse_csv, parse_xlsx

__all__ = ["FORMATS", "ImportResult", "ParsedQuestion", "Problem", "UnreadableFile",
           "read_questions"]


def read_questions(data: bytes, *, filename: str = "", fmt: str = "auto") -> ImportResult:
    """Every question of the file and every problem; repeats inside the file are problems."""
    if fmt == "auto":
        fmt = detect_format(data, filename)
    if fmt == "xlsx":
        result = parse_xlsx(data)
    elif fmt == "csv":
        result = parse_csv(data, PurePath(filename).stem or "试题")
    elif fmt == "gift":
        result = parse_gift(data)
    elif fmt == "aiken":
        result = parse_aiken(data)
    else:
        raise ValueError(f"unknown question format {fmt!r}")
    result.questions, repeats = duplicate_problems(result.questions)
    result.errors += repeats
    return result
