"""``flask grading simulate``: evaluate assistants from a CSV with a year's policy, write nothing.

Columns (shared/spec/cli.md, issue 6): ``id, township, level, m1..m4, q1..q4, work, diligence,
integrity, satisfaction, competence, veto, prior_grades, since_change``. The file is read like an
import (UTF-8 with or without BOM, or GBK; physical line numbers, header = line 1); every row is
checked and all errors are reported as ``第N行 列名：原因`` before anything is computed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from lms.grading import rules
from lms.grading.labels import GRADE_LABELS, LEVEL_LABELS
from lms.grading.policy import COMPONENTS, Grade, Policy
from lms.i18n import _
from lms.org.importing.columns import Cells, Column, RowError, data_rows, digits, find_header
from lms.org.importing.decode import read_table

MAX_ROWS = 200_000
MAX_BYTES = 64 * 1024 * 1024
MONTHS = ("m1", "m2", "m3", "m4")
QUARTERS = ("q1", "q2", "q3", "q4")
SCORES = ("work", "diligence", "integrity", "satisfaction", "competence")
COLUMNS = tuple(Column(key, key, required=True) for key in (
    "id", "township", "level", *MONTHS, *QUARTERS, *SCORES, "veto", "prior_grades",
    "since_change"))
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
GRADES = {g.value: g for g in Grade}


@dataclass(frozen=True)
class Assistant:
    """One checked row of the file."""

    line: int
    id: int | str
    township: str
    level: int
    months: tuple[int, ...]
    quarter_grades: tuple[Grade | None, ...]
    scores: dict[str, Decimal]
    veto: bool
    prior_grades: tuple[Grade, ...]
    since_change: int


@dataclass(frozen=True)
class Result:
    id: int | str
    township: str
    total: Decimal
    grade: Grade
    new_level: int
    replace: bool
    quarters_fen: tuple[int, ...]
    year_fen: int


class InvalidRows(Exception):
    """The file has row errors (exit 1); nothing was computed."""

    def __init__(self, errors: Sequence[RowError], rows: int) -> None:
        super().__init__(len(errors))
        self.errors = sorted(errors, key=lambda e: e.line)
        self.rows = rows

    @property
    def bad_rows(self) -> int:
        return len({e.line for e in self.errors})


def read_assistants(data: bytes, policy: Policy) -> list[Assistant]:
    """Every row of the file, checked, in file order. ``FileProblem`` when the file is not a
    readable table (exit 2), ``InvalidRows`` when any row is wrong (exit 1)."""
    table = read_table(data, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    header, errors = find_header(table, COLUMNS)
    if header is None or errors:
        raise InvalidRows(errors, 0)
    assistants: list[Assistant] = []
    first_line: dict[tuple, int] = {}
    rows = data_rows(table, header)
    for row in rows:
        cells = Cells(row, header, COLUMNS)
        assistant = _assistant(cells, policy, first_line)
        errors += cells.errors
        if not cells.errors:
            assistants.append(assistant)
    if errors:
        raise InvalidRows(errors, len(rows))
    return assistants


def _assistant(cells: Cells, policy: Policy, first_line: dict[tuple, int]) -> Assistant | None:
    ident = _id(cells, first_line)
    township = cells.text("township", 100, required_message=_("请填写乡镇。"))
    level = _choice(cells, "level", {"1", "2", "3"}, _("等级应为 1、2 或 3（1 为最高）。"))
    months = tuple(_choice(cells, k, {"0", "1", "2", "3"}, _("在岗月数应为 0 到 3 的整数。"))
                   for k in MONTHS)
    quarter_grades = tuple(_quarter_grade(cells, k, m)
                           for k, m in zip(QUARTERS, months, strict=True))
    scores = {key: _score(cells, key, policy) for key in SCORES}
    veto = _choice(cells, "veto", {"0", "1"}, _("应为 0 或 1。"))
    prior = _prior_grades(cells)
    since_change = _since_change(cells, prior)
    if cells.errors:
        return None
    return Assistant(cells.line, ident, township, level, months, quarter_grades,
                     {c: scores[c] for c in COMPONENTS}, veto == 1, prior, since_change)


def _id(cells: Cells, first_line: dict[tuple, int]) -> int | str | None:
    """Integer ids (ASCII or full-width digits) become numbers, any other id stays text; an id
    seen on an earlier line (*first_line*: id key → line) is an error."""
    value = cells.text("id", 64, required_message=_("请填写编号。"))
    if value is None:
        return None
    plain = digits(value)
    ident = int(plain) if plain.isascii() and plain.isdigit() else value
    key = rules.id_key(ident)
    if key in first_line:
        cells.bad("id", _("编号与第%(n)s行重复。", n=first_line[key]))
        return None
    first_line[key] = cells.line
    return ident


def _choice(cells: Cells, key: str, allowed: set[str], reason: str) -> int | None:
    value = digits(cells.get(key))
    if value not in allowed:
        cells.bad(key, reason)
        return None
    return int(value)


def _grade(text: str) -> Grade | None:
    return GRADES.get(text.strip().lower())


def _bad_grade_reason() -> str:
    return _("等次应为 excellent、competent、basically_competent 或 incompetent。")


def _quarter_grade(cells: Cells, key: str, months: int | None) -> Grade | None:
    value = cells.get(key)
    if not value:
        if months:
            cells.bad(key, _("该季度在岗月数不为 0，请填写季度等次。"))
        return None
    quarter_grade = _grade(value)
    if quarter_grade is None:
        cells.bad(key, _bad_grade_reason())
    return quarter_grade


def _score(cells: Cells, key: str, policy: Policy) -> Decimal | None:
    value = digits(cells.get(key))
    if not value:
        cells.bad(key, _("请填写分数。"))
    elif not NUMBER.fullmatch(value) or len(value) > 20:
        cells.bad(key, _("分数应为数字，例如 35 或 35.5。"))
    elif not rules.in_range(key, Decimal(value), policy):
        cells.bad(key, _("分数应在 0 到 %(max)s 之间。", max=policy.component_max[key]))
    else:
        return Decimal(value)
    return None


def _prior_grades(cells: Cells) -> tuple[Grade, ...] | None:
    value = cells.get("prior_grades")
    if not value:
        return ()
    grades = [_grade(part) for part in value.split("|")]
    for n, found in enumerate(grades, 1):
        if found is None:
            cells.bad("prior_grades", _("第%(n)s项：%(reason)s", n=n, reason=_bad_grade_reason()))
            return None
    return tuple(grades)


def _since_change(cells: Cells, prior: tuple[Grade, ...] | None) -> int | None:
    value = digits(cells.get("since_change"))
    if not (value.isascii() and value.isdigit() and len(value) < 4):
        cells.bad("since_change", _("应为 0 或正整数。"))
        return None
    if prior is not None and int(value) > len(prior):
        cells.bad("since_change", _("不能大于 prior_grades 中的等次个数（%(n)s）。", n=len(prior)))
        return None
    return int(value)


def evaluate(assistants: Sequence[Assistant], policy: Policy) -> list[Result]:
    """Totals → grades (veto) → the 优秀 cap per township → levels and stipends, in input order."""
    totals = [rules.total(a.scores) for a in assistants]
    standings = [rules.Standing(a.township, rules.id_key(a.id), t, a.scores["competence"],
                                rules.grade(t, a.veto, policy))
                 for a, t in zip(assistants, totals, strict=True)]
    grades = rules.apply_excellent_cap(standings, policy)
    return [_result(a, t, g, policy) for a, t, g in zip(assistants, totals, grades, strict=True)]


def _result(a: Assistant, score_total: Decimal, final: Grade, policy: Policy) -> Result:
    outcome = rules.level_outcome(a.level, a.prior_grades, a.since_change, final, policy)
    quarters = tuple(rules.quarter_fen(a.level, m, q, policy)
                     for m, q in zip(a.months, a.quarter_grades, strict=True))
    return Result(a.id, a.township, score_total, final, outcome.new_level, outcome.replace,
                  quarters, sum(quarters))


def to_json(results: Sequence[Result]) -> str:
    """The contract's JSON array; ``total`` is a number with exactly one decimal (no float)."""
    items = []
    for r in results:
        fields = [f'"id": {json.dumps(r.id, ensure_ascii=False)}', f'"total": {r.total}',
                  f'"grade": "{r.grade.value}"', f'"new_level": {r.new_level}',
                  f'"replace": {json.dumps(r.replace)}',
                  f'"quarters_fen": {json.dumps(list(r.quarters_fen))}',
                  f'"year_fen": {r.year_fen}']
        items.append("{" + ", ".join(fields) + "}")
    return "[" + ",\n ".join(items) + "]"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def table_lines(results: Sequence[Result]) -> list[str]:
    """A tab-separated Chinese table: one header line, one line per assistant (money in yuan)."""
    header = [_("编号"), _("乡镇"), _("总分"), _("等次"), _("新等级"), _("是否更换"),
              _("一季度（元）"), _("二季度（元）"), _("三季度（元）"), _("四季度（元）"),
              _("全年（元）")]
    lines = ["\t".join(header)]
    for r in results:
        cells = [str(r.id), r.township, str(r.total), str(GRADE_LABELS[r.grade]),
                 str(LEVEL_LABELS[r.new_level]), _("是") if r.replace else _("否"),
                 *(yuan(q) for q in r.quarters_fen), yuan(r.year_fen)]
        lines.append("\t".join(cells))
    return lines
