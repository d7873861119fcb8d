"""Units import: parse ``code,name,level,parent_code[,resident_population,registered_population]``
rows and plan them against the stored units (upsert by code; see shared/spec/cli.md).

``parse`` is pure (no database); ``plan`` works on a snapshot of the stored units by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lms.auth.access import Scope
from lms.i18n import _
from lms.labels import level_label
from lms.org.importing.columns import (
    Cells,
    Column,
    Header,
    RowError,
    data_rows,
    digits,
    division_code,
    find_header,
)
from lms.org.importing.decode import Table
from lms.org.importing.plan import CREATE, UNCHANGED, UPDATE, Plan, Progress, Ticker
from lms.org.models import CODE_LENGTH, Level, OrgUnit
from lms.org.rules import PARENT_LEVEL

COLUMNS = (
    Column("code", "code", ("区划代码", "代码", "单位代码"), required=True),
    Column("name", "name", ("名称", "单位名称"), required=True),
    Column("level", "level", ("级别", "层级"), required=True),
    Column("parent_code", "parent_code", ("上级代码", "上级区划代码", "上级单位代码"),
           required=True),
    Column("resident_population", "resident_population", ("常住人口",)),
    Column("registered_population", "registered_population", ("户籍人口",)),
)
LEVEL_WORDS = {
    **{lv.value: lv for lv in Level},
    "省": Level.PROVINCE, "市": Level.CITY, "地市": Level.CITY,
    "县": Level.COUNTY, "县级": Level.COUNTY, "区县": Level.COUNTY, "县(市、区)": Level.COUNTY,
    "乡镇": Level.TOWNSHIP, "乡镇(街道)": Level.TOWNSHIP, "乡镇街道": Level.TOWNSHIP,
    "村": Level.VILLAGE, "村(社区)": Level.VILLAGE, "村居": Level.VILLAGE, "社区": Level.VILLAGE,
}
CODE_LENGTHS = frozenset(CODE_LENGTH.values())
MAX_POPULATION = 50_000_000
POPULATIONS = ("resident_population", "registered_population")


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    level: Level
    parent_code: str | None
    resident_population: int | None
    registered_population: int | None


@dataclass
class Parsed:
    header: Header | None
    rows: list[UnitRow]
    errors: list[RowError]
    total: int
    #: Every code written in the file, good rows or bad (a bad parent is reported once, not again
    #: on each of its children).
    codes: set[str]

    def codes_to_look_up(self) -> set[str]:
        return {r.code for r in self.rows} | {r.parent_code for r in self.rows if r.parent_code}


@dataclass
class UnitChange:
    row: UnitRow
    #: The stored unit, None when the row creates one.
    unit: OrgUnit | None
    #: The stored parent (None when the parent is created by this file, or for a root).
    parent: OrgUnit | None = None
    move: bool = False
    updates: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> int:
        return self.row.line

    @property
    def action(self) -> str:
        if self.unit is None:
            return CREATE
        return UPDATE if self.move or self.updates else UNCHANGED

    @property
    def summary(self) -> str:
        return f"{self.row.code} {self.row.name}"


# ---------------------------------------------------------------- parsing (pure)


def parse(table: Table) -> Parsed:
    header, errors = find_header(table, COLUMNS)
    if header is None or errors:
        total = len(data_rows(table, header)) if header else max(len(table.rows) - 1, 0)
        return Parsed(header, [], errors, total, set())
    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    codes: set[str] = set()
    body = data_rows(table, header)
    for raw in body:
        cells = Cells(raw, header, COLUMNS)
        row = parse_row(cells)
        code = digits(cells.get("code"))
        if code.isdigit():
            codes.add(code)
        if row is not None and row.code in seen:
            cells.bad("code", _("与第%(m)s行的区划代码重复，请删除其中一行。", m=seen[row.code]))
            row = None
        elif row is not None:
            seen[row.code] = row.line
        errors += cells.errors
        if row is not None:
            rows.append(row)
    return Parsed(header, rows, errors, len(body), codes)


def parse_row(cells: Cells) -> UnitRow | None:
    code = _code(cells)
    level = _level(cells)
    name = cells.text("name", 100, required_message=_("请填写名称。"))
    if code and level and len(code) != CODE_LENGTH[level]:
        cells.bad("code", _("级别为“%(level)s”的区划代码应为 %(n)s 位数字。",
                            level=level_label(level), n=CODE_LENGTH[level]))
    parent_code = _parent_code(cells, code, level)
    pops = {key: _population(cells, key) for key in POPULATIONS}
    if cells.errors or not (code and level and name):
        return None
    return UnitRow(cells.line, code, name, level, parent_code, **pops)


def _code(cells: Cells) -> str | None:
    return division_code(cells, "code", CODE_LENGTHS, _("请填写区划代码。"),
                         _("区划代码应为 2、4、6、9 或 12 位数字。"))


def _level(cells: Cells) -> Level | None:
    raw = cells.get("level")
    level = LEVEL_WORDS.get(raw.replace(" ", "").replace("（", "(").replace("）", ")").lower())
    if level is None:
        cells.bad("level", _("级别应为 province、city、county、township、village 之一"
                             "（也可写 省、市、县、乡镇、村）。") if raw else _("请填写级别。"))
    return level


def _parent_code(cells: Cells, code: str | None, level: Level | None) -> str | None:
    parent = digits(cells.get("parent_code"))
    if level is None:
        return None
    if not parent:
        if level not in (Level.PROVINCE, Level.CITY):
            cells.bad("parent_code", _("请填写上级单位的区划代码。"))
        return None
    if level == Level.PROVINCE:
        cells.bad("parent_code", _("省级单位没有上级单位，请留空。"))
        return None
    need = CODE_LENGTH[PARENT_LEVEL[level]]
    if not (parent.isascii() and parent.isdigit() and len(parent) == need):
        cells.bad("parent_code", _("上级代码应为 %(n)s 位数字（%(level)s的上级是%(parent)s）。",
                                   n=need, level=level_label(level),
                                   parent=level_label(PARENT_LEVEL[level])))
        return None
    if code and not code.startswith(parent):
        cells.bad("parent_code", _("区划代码应以上级代码 %(code)s 开头。", code=parent))
        return None
    return parent


def _population(cells: Cells, key: str) -> int | None:
    raw = digits(cells.get(key)).replace(",", "").replace("，", "")
    if not raw:
        return None
    if raw.endswith(".0"):
        raw = raw[:-2]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) > MAX_POPULATION:
        cells.bad(key, _("人口数应为 0 到 5000 万之间的整数。"))
        return None
    return int(raw)


# ---------------------------------------------------------------- planning


def plan(parsed: Parsed, stored: Mapping[str, OrgUnit], scope: Scope,
         progress: Progress | None = None) -> Plan:
    """Decide create / update / unchanged per row, parents first; refuse what the scope forbids."""
    result = Plan(rows=parsed.total, errors=list(parsed.errors))
    planner = _Planner(parsed, stored, scope)
    ticker = Ticker(progress, "check", len(parsed.rows))
    for row in sorted(parsed.rows, key=lambda r: (len(r.code), r.line)):
        change = planner.plan_row(row)
        if change is not None:
            result.changes.append(change)
        ticker.add()
    result.errors += planner.errors
    result.changes.sort(key=lambda c: c.line)
    return result


class _Planner:
    def __init__(self, parsed: Parsed, stored: Mapping[str, OrgUnit], scope: Scope) -> None:
        self.parsed, self.stored, self.scope = parsed, stored, scope
        self.planned: dict[str, UnitChange] = {}
        self.errors: list[RowError] = []
        self._row_errors: list[RowError] = []

    def bad(self, row: UnitRow, key: str, reason: str) -> None:
        assert self.parsed.header is not None
        self._row_errors.append(RowError(row.line, self.parsed.header.title(key, COLUMNS), reason))

    def plan_row(self, row: UnitRow) -> UnitChange | None:
        self._row_errors = []
        unit = self.stored.get(row.code)
        change = self._for_stored(row, unit) if unit is not None else self._for_new(row)
        self.errors += self._row_errors
        if change is None or self._row_errors:
            return None
        self.planned[row.code] = change
        return change

    def _for_new(self, row: UnitRow) -> UnitChange | None:
        if row.parent_code is None:
            if not self.scope.is_global:
                self.bad(row, "code", _("只有全市（全省）管理员才能导入没有上级的单位。"))
            return UnitChange(row, None)
        found, parent = self._parent(row)
        return UnitChange(row, None, parent=parent) if found else None

    def _for_stored(self, row: UnitRow, unit: OrgUnit) -> UnitChange | None:
        if not self.scope.covers(unit):
            self.bad(row, "code", _("该单位不在您的管辖范围内，不能导入。"))
            return None
        if unit.level != row.level.value:
            self.bad(row, "level", _("区划代码 %(code)s 已存在，级别是“%(old)s”，"
                                     "不能改为“%(new)s”。", code=row.code,
                                     old=level_label(unit.level), new=level_label(row.level)))
            return None
        change = UnitChange(row, unit, updates=_updates(row, unit))
        stored_parent = unit.parent.code if unit.parent is not None else None
        if row.parent_code is not None and row.parent_code != stored_parent:
            found, change.parent = self._parent(row)
            change.move = found
            if not found:
                return None
        return change

    def _parent(self, row: UnitRow) -> tuple[bool, OrgUnit | None]:
        """(parent available, stored parent). A parent planned from this file is available."""
        code = row.parent_code
        assert code is not None
        if code in self.planned:
            return True, self.planned[code].unit
        parent = self.stored.get(code)
        if parent is not None:
            if parent.level != PARENT_LEVEL[row.level].value:
                self.bad(row, "parent_code", _("上级单位 %(code)s 的级别不对。", code=code))
            elif not self.scope.covers(parent):
                self.bad(row, "parent_code", _("上级单位 %(code)s 不在您的管辖范围内。", code=code))
            else:
                return True, parent
            return False, None
        if code not in self.parsed.codes:
            self.bad(row, "parent_code",
                     _("上级单位 %(code)s 不存在：请先导入上级单位，或把它加入本文件。", code=code))
        return False, None


def _updates(row: UnitRow, unit: OrgUnit) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if row.name != unit.name:
        updates["name"] = row.name
    for key in POPULATIONS:
        value = getattr(row, key)
        if value is not None and value != getattr(unit, key):
            updates[key] = value
    return updates
