"""``flask exams item-stats FILE.csv [--json]``: item analysis of a mark matrix.

Contract in shared/spec/cli.md. The file: the first column labels each row; the header row names
the questions; the next row, labelled ``max``, gives each question's maximum mark; every further
row is an attempt id and its marks. UTF-8 (BOM optional) or GBK; comma- or tab-separated.
Exit 0 with the statistics; 1 for blank or non-numeric cells, each reported as
``第N行 题目：原因`` (N the physical line); 2 for a file that cannot be read or has no ``max`` row.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import click

from lms.exams.statistics import ItemAnalysis, item_analysis
from lms.i18n import _
from lms.org.importing.decode import FileProblem, decode_text

#: Larger files are refused (a matrix of 10,000 attempts × 200 questions is about 10 MB).
MAX_BYTES = 50 * 1024 * 1024
#: How few attempts make the figures only indicative (spec reference §4: warn below 30).
FEW_ATTEMPTS = 30
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
MAX_LABEL = "max"


@dataclass(frozen=True)
class Line:
    number: int
    cells: list[str]


@dataclass(frozen=True)
class Matrix:
    names: list[str]
    max_marks: list[Fraction]
    attempts: list[list[Fraction]]


class BadCells(Exception):
    """Cells that are blank or not numbers; ``messages`` lists them in file order."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


# --- reading ------------------------------------------------------------------------------------


def read_matrix(data: bytes) -> Matrix:
    """The mark matrix in *data*; ``FileProblem`` if unreadable, ``BadCells`` for bad cells."""
    if len(data) > MAX_BYTES:
        raise FileProblem(_("文件太大：不能超过 %(mb)s MB，请拆分后分批导入。",
                            mb=MAX_BYTES // (1024 * 1024)))
    lines = _lines(decode_text(data))
    if not lines:
        raise FileProblem(_("文件是空的，请选择填好的导入文件。"))
    header, names = lines[0], _question_names(lines[0])
    if len(lines) < 2 or _normal(lines[1].cells[0]).lower() != MAX_LABEL:
        raise FileProblem(_("缺少 max 行：表头下一行的第一格应为 max，并在该行填写各题的满分。"))
    errors = _blank_names(header, names)
    max_marks = _marks(lines[1], names, errors)
    attempts = [_marks(line, names, errors) for line in lines[2:]]
    if errors:
        raise BadCells(errors)
    return Matrix(names, max_marks, attempts)


def _lines(text: str) -> list[Line]:
    """Non-blank rows with their physical line numbers (header = 1)."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[Line] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = [cell.strip() for cell in next(reader)]
        except StopIteration:
            return lines
        except csv.Error as exc:
            raise FileProblem(_("第%(n)s行：CSV 格式有误（引号不配对或单元格过长），"
                                "请检查后重新保存。", n=start)) from exc
        if any(cells):
            lines.append(Line(start, cells))


def _question_names(header: Line) -> list[str]:
    """Header cells after the label column, without trailing blank cells."""
    names = header.cells[1:]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FileProblem(_("表头没有题目：第一行从第二列起应为各题的题目名称。"))
    return names


def _blank_names(header: Line, names: list[str]) -> list[str]:
    return [_cell_error(header.number, _column(i), _("请填写题目名称。"))
            for i, name in enumerate(names) if not name]


def _marks(line: Line, names: list[str], errors: list[str]) -> list[Fraction]:
    """The marks of one row; problems are appended to *errors*."""
    cells = line.cells[1:]
    marks = []
    for i, name in enumerate(names):
        mark, reason = _mark(cells[i] if i < len(cells) else "")
        if reason:
            errors.append(_cell_error(line.number, name or _column(i), reason))
        marks.append(mark)
    unnamed = _("这一列没有题目名称，请在表头补上题目名称或删除这一列。")
    errors.extend(_cell_error(line.number, _column(i), unnamed)
                  for i in range(len(names), len(cells)) if cells[i])
    return marks


def _mark(cell: str) -> tuple[Fraction, str | None]:
    text = _normal(cell)
    if not text:
        return Fraction(0), _("不能为空，请填写得分（没有得分请填 0）。")
    if not NUMBER.fullmatch(text):
        return Fraction(0), _("“%(value)s”不是数字，请填写得分，例如 2 或 1.5。", value=cell)
    return Fraction(text), None


def _normal(cell: str) -> str:
    """Full-width digits, signs and points (１．５) and the minus sign (−) read as ASCII."""
    return unicodedata.normalize("NFKC", cell).replace("\u2212", "-").strip()


def _column(index: int) -> str:
    return _("第%(k)s列", k=index + 2)


def _cell_error(line: int, column: str, reason: str) -> str:
    return _("第%(n)s行 %(col)s：%(reason)s", n=line, col=column, reason=reason)


# --- output -------------------------------------------------------------------------------------


def analyse(matrix: Matrix) -> ItemAnalysis:
    return item_analysis(matrix.names, matrix.max_marks, matrix.attempts)


def render_table(result: ItemAnalysis) -> str:
    """A plain-text Chinese report: one table for the questions, one list for the test."""
    rows = [[_("题目"), _("容易度 %"), _("标准差 %"), _("区分度指数 %"), _("区分效率 %")]]
    rows += [[q.name, _fmt(q.facility), _fmt(q.sd), _fmt(q.discrimination_index),
              _fmt(q.discriminative_efficiency)] for q in result.questions]
    t = result.test
    summary = [[_("作答人次"), str(t.n)], [_("平均分"), _fmt(t.mean)], [_("标准差"), _fmt(t.sd)],
               [_("偏度"), _fmt(t.skewness)], [_("峰度"), _fmt(t.kurtosis)],
               [_("内部一致性系数 %"), _fmt(t.cic)], [_("误差比 %"), _fmt(t.error_ratio)],
               [_("标准误"), _fmt(t.standard_error)]]
    return "\n".join([*_aligned(rows), "", *_aligned(summary)])


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True))
            .rstrip() for row in rows]


def _width(text: str) -> int:
    """Columns on a terminal: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --- command ------------------------------------------------------------------------------------


@click.command("item-stats")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine output on stdout.")
def item_stats(file: Path, as_json: bool) -> None:
    """Item analysis (Moodle's definitions) of a CSV mark matrix: questions × attempts."""
    try:
        matrix = read_matrix(file.read_bytes())
    except (FileProblem, OSError) as exc:
        _err(_("无法读取文件 %(name)s：%(reason)s", name=file.name, reason=_unreadable(exc)))
        sys.exit(2)
    except BadCells as exc:
        for message in exc.messages:
            _err(message)
        _err(_("共 %(n)s 处错误，请修改后重试；未计算统计。", n=len(exc.messages)))
        sys.exit(1)
    result = analyse(matrix)
    if result.test.n < FEW_ATTEMPTS:
        _err(_("只有 %(n)s 人次作答（少于 %(min)s），统计结果仅供参考。",
               n=result.test.n, min=FEW_ATTEMPTS))
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, allow_nan=False))
    else:
        click.echo(render_table(result))


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, FileProblem):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return _("文件不存在，请检查路径。")
    return _("没有读取权限或文件已损坏。")


def _err(message: str) -> None:
    click.echo(message, err=True)
