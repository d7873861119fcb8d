"""The canonical Chinese question template (spec decision 17) from XLSX or CSV.

One sheet with a 题型 column, or one sheet per type (the sheet name is the type, 题型 may then be
left out). In a workbook of several sheets, sheets that are neither named after a type nor carry a
recognisable header (e.g. 填写说明) are skipped. The header may sit below a title row; headers may
carry ``*`` or remarks in brackets (``正确选项（必填）``). Rows whose 题干 starts with 【示例】
are the template's own examples and are skipped. Errors point at ``表名 第N行`` (a CSV's table
name is its file name without the extension, as Excel shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from lms.exams.formats import fields
from lms.exams.formats.checks import check_question, type_label
from lms.exams.formats.columns import LOOKUP, OPTION_KEYS, OVERFLOW, TITLES, header_key
from lms.exams.formats.export import to_xlsx
from lms.exams.formats.fields import FieldError
from lms.exams.formats.model import (
    CHOICE_TYPES,
    FILL,
    MAX_OPTIONS,
    MULTIPLE,
    SHORT,
    SINGLE,
    TRUE_FALSE,
    ImportResult,
    ParsedQuestion,
    Problem,
    mark_blanks,
)
from lms.exams.formats.sheets import Row, Sheet, read_csv, read_xlsx
from lms.i18n import _

EXAMPLE_MARK = "【示例】"
HEADER_SEARCH_ROWS = 10
FORMULA_START = ("=", "+", "-", "@")
_FORMULA_SIGNS = frozenset("=()!|*/^&@+-$:;")


def parse_xlsx(data: bytes) -> ImportResult:
    return parse_sheets(read_xlsx(data))


def parse_csv(data: bytes, name: str = "试题") -> ImportResult:
    return parse_sheets(read_csv(data, name))


@dataclass(frozen=True)
class Header:
    line: int
    #: column key → cell index
    index: dict[str, int]
    overflow: tuple[int, ...]

    def value(self, row: Row, key: str) -> str:
        idx = self.index.get(key)
        return row.cells[idx] if idx is not None and idx < len(row.cells) else ""


def parse_sheets(sheets: list[Sheet]) -> ImportResult:
    result = ImportResult()
    read_any = False
    for sheet in sheets:
        sheet_type = fields.TYPE_WORDS.get(fields.word(sheet.name))
        header = find_header(sheet)
        if header is None:
            if sheet_type is not None or len(sheets) == 1:
                result.errors.append(Problem(_where(sheet, 1), _missing_header()))
            continue
        read_any = True
        if "type" not in header.index and sheet_type is None:
            result.errors.append(Problem(_where(sheet, header.line), _(
                "缺少“题型”列（或把工作表命名为题型，如“单选题”）")))
            continue
        _read_rows(sheet, header, sheet_type, result)
    if not read_any and not result.errors:
        result.errors.append(Problem(_where(sheets[0], 1) if sheets else "", _missing_header()))
    return result


def _missing_header() -> str:
    return _("找不到表头：应有 题型、题干、选项A…选项H、答案 等列")


def _where(sheet: Sheet, line: int) -> str:
    return _("%(sheet)s 第%(n)s行", sheet=sheet.name, n=line)


def find_header(sheet: Sheet) -> Header | None:
    """The first row (among the first few) naming 题干 and at least two other known columns."""
    for row in sheet.rows[:HEADER_SEARCH_ROWS]:
        index: dict[str, int] = {}
        overflow = []
        for i, cell in enumerate(row.cells):
            key = header_key(cell)
            if key in LOOKUP:
                index.setdefault(LOOKUP[key], i)
            elif key in OVERFLOW:
                overflow.append(i)
        if "stem" in index and len(index) >= 3:
            return Header(row.line, index, tuple(overflow))
    return None


def _read_rows(sheet: Sheet, header: Header, sheet_type: str | None,
               result: ImportResult) -> None:
    for row in sheet.rows:
        if row.line <= header.line or header.value(row, "stem").startswith(EXAMPLE_MARK):
            continue
        where = _where(sheet, row.line)
        question, problems = parse_row(row, header, sheet_type, where)
        result.errors += [Problem(where, p) for p in problems]
        if question is not None:
            result.questions.append(question)


def parse_row(row: Row, header: Header, sheet_type: str | None,
              where: str) -> tuple[ParsedQuestion | None, list[str]]:
    formulas = _formula_problems(row, header)
    if formulas:
        return None, formulas
    cell = _Cells(row, header)
    qtype = cell.read("type", lambda v: _question_type(v, sheet_type))
    if qtype is None:
        return None, cell.errors
    options = cell.run(lambda: _options(row, header))
    if options and qtype not in CHOICE_TYPES:
        return None, [_("%(type)s不应填写选项", type=type_label(qtype))]
    too_few = qtype in CHOICE_TYPES and len(options or ()) < 2
    answer = None if options is None or too_few else cell.run(
        lambda: _answer(qtype, header.value(row, "answer"), options))
    stem = header.value(row, "stem")
    question = ParsedQuestion(
        type=qtype,
        stem=mark_blanks(stem) if qtype == FILL else stem,
        options=options or (),
        answer=answer,
        points=cell.read("points", lambda v: fields.points(v, qtype)),
        explanation=header.value(row, "explanation"),
        difficulty=cell.read("difficulty", fields.difficulty),
        knowledge_point=header.value(row, "knowledge_point"),
        category=header.value(row, "category"),
        post_types=cell.read("post_types", fields.post_types) or (),
        tags=fields.tags(header.value(row, "tags")),
        source=header.value(row, "source"),
        source_line=row.line, where=where, ref=where)
    if cell.errors:
        return None, cell.errors
    problems = check_question(question)
    return (None, problems) if problems else (question, [])


class _Cells:
    """Reads cells through parsers, collecting each refusal instead of stopping at the first."""

    def __init__(self, row: Row, header: Header) -> None:
        self.row, self.header, self.errors = row, header, []

    def read(self, key: str, parse):  # noqa: ANN001, ANN201 - parse: str -> value
        return self.run(lambda: parse(self.header.value(self.row, key)))

    def run(self, thunk):  # noqa: ANN001, ANN201
        try:
            return thunk()
        except FieldError as exc:
            self.errors.append(str(exc))
            return None


def _question_type(value: str, sheet_type: str | None) -> str:
    if not value and sheet_type is not None:
        return sheet_type
    found = fields.question_type(value)
    if sheet_type is not None and found != sheet_type:
        raise FieldError(_("题型“%(value)s”与工作表名称不一致", value=value))
    return found


def _options(row: Row, header: Header) -> tuple[str, ...]:
    if any(i < len(row.cells) and row.cells[i] for i in header.overflow):
        raise FieldError(_("最多支持%(n)s个选项（A–H）", n=MAX_OPTIONS))
    values = [header.value(row, key) for key in OPTION_KEYS]
    while values and not values[-1]:
        values.pop()
    for i, text in enumerate(values):
        if not text:
            raise FieldError(_("%(column)s为空，选项应从选项A起连续填写",
                               column=TITLES[OPTION_KEYS[i]]))
    return tuple(values)


def _answer(qtype: str, value: str, options: tuple[str, ...]):  # noqa: ANN202
    if qtype in CHOICE_TYPES:
        return fields.choice_answer(value, len(options))
    if qtype == TRUE_FALSE:
        return fields.true_false(value)
    if qtype == FILL:
        return fields.fill_answer(value)
    return value or None


def _formula_problems(row: Row, header: Header) -> list[str]:
    problems = []
    for key, idx in header.index.items():
        value = row.cells[idx] if idx < len(row.cells) else ""
        if key == "points" and fields.is_number(value):
            continue
        if looks_like_formula(value):
            problems.append(_("%(column)s：不能以 =、+、-、@ 开头（可能是表格公式），"
                              "请删除开头的符号", column=TITLES[key]))
    return problems


def looks_like_formula(value: str) -> bool:
    """``=…`` and ``@…`` always; ``+…`` / ``-…`` unless a plain number or plain text with
    no operator, bracket, pipe or cell reference in it (``-5℃`` is text, ``-1+A1`` is not)."""
    if not value.startswith(FORMULA_START):
        return False
    if value[0] in "=@":
        return True
    rest = value[1:]
    if fields.is_number(value):
        return False
    return bool(_FORMULA_SIGNS & set(rest)) or any(
        a.isascii() and a.isalpha() and b.isdigit() for a, b in zip(rest, rest[1:], strict=False))


def blank_workbook() -> bytes:
    """The downloadable template: header row and one example row per type (skipped on import)."""
    return to_xlsx([replace(q, stem=EXAMPLE_MARK + q.stem) for q in EXAMPLES])


def _example(qtype: str, stem: str, options: tuple[str, ...], answer, points: str,  # noqa: ANN001
             difficulty: int, explanation: str) -> ParsedQuestion:
    return ParsedQuestion(qtype, stem, options, answer, Decimal(points), explanation, difficulty,
                          knowledge_point="社会救助", category="社会救助",
                          post_types=("village_assistant",))


EXAMPLES = (
    _example(SINGLE, "《社会救助暂行办法》自哪一年起施行？",
             ("2012年", "2014年", "2016年", "2018年"), (1,), "1", 1,
             "《社会救助暂行办法》自2014年5月1日起施行。"),
    _example(MULTIPLE, "下列属于社会救助的有（　）。",
             ("最低生活保障", "特困人员供养", "受灾人员救助", "基本养老保险"), (0, 1, 2), "2", 2,
             "基本养老保险属于社会保险，不属于社会救助。"),
    _example(TRUE_FALSE, "国家对共同生活的家庭成员人均收入低于当地最低生活保障标准，"
             "且符合当地最低生活保障家庭财产状况规定的家庭，给予最低生活保障。", (), True, "1", 1,
             "见《社会救助暂行办法》第九条。"),
    _example(FILL, "《社会救助暂行办法》自____年____月1日起施行。", (), (("2014",), ("5", "五")),
             "1", 3, "填空题的多个空用 | 分隔，同一个空的多个答案用 ; 分隔。"),
    _example(SHORT, "简述申请最低生活保障的基本程序。", (),
             "由共同生活的家庭成员向户籍所在地的乡镇人民政府（街道办事处）提出书面申请；"
             "经家庭经济状况调查、审核和公示后，由县级人民政府民政部门审核确认。", "5", 4,
             "简答题按参考答案人工评分。"),
)
