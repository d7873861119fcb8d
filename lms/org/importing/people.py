"""People import: parse rows with Chinese headers and plan them against the stored people.

A person's key is the ID-card number (matched through its keyed hash), else (姓名, 手机号). A row
opens a post (``nominated``; ``in_post`` marked legacy only in the go-live import) unless the person
already holds that post, and adds a social-work certificate unless it is already recorded, so
importing the same file twice changes nothing. ``parse`` is pure; ``plan`` works on a snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lms.auth.access import Scope
from lms.i18n import _
from lms.labels import label, level_label
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
from lms.org.models import (
    POST_LEVEL,
    Gender,
    OrgUnit,
    Person,
    PostStatus,
    PostType,
    QualificationLevel,
)
from lms.org.rules import normalize_id_number, normalize_phone

COLUMNS = (
    Column("name", "姓名", ("name",), required=True),
    Column("gender", "性别", ("gender",)),
    Column("birth_year", "出生年份", ("出生年", "birth_year")),
    Column("phone", "手机号", ("手机号码", "手机", "联系电话", "phone")),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证", "id_number")),
    Column("unit_code", "单位代码", ("单位区划代码", "区划代码", "unit_code"), required=True),
    Column("post_type", "岗位", ("岗位类型", "post_type"), required=True),
    Column("education", "学历", ("文化程度", "education")),
    Column("qualification", "社工证等级", ("社工证", "社会工作者职业资格", "qualification")),
    Column("certificate_no", "证书编号", ("证书号", "证书号码", "certificate_no")),
    Column("obtained_on", "取得日期", ("取得时间", "发证日期", "obtained_on")),
    Column("status", "状态", ("岗位状态", "status")),
)


def _words(pairs: dict[str, Any]) -> dict[str, Any]:
    return {_word(k): v for k, v in pairs.items()}


def _word(value: str) -> str:
    return value.replace(" ", "").replace("（", "(").replace("）", ")").lower()


POST_WORDS = _words({
    **{p.value: p for p in PostType},
    "乡镇民政办主任": PostType.OFFICE_DIRECTOR, "民政办主任": PostType.OFFICE_DIRECTOR,
    "乡镇民政工作人员": PostType.TOWNSHIP_STAFF, "民政工作人员": PostType.TOWNSHIP_STAFF,
    "工作人员": PostType.TOWNSHIP_STAFF,
    "村(社区)民政助理员": PostType.VILLAGE_ASSISTANT, "村民政助理员": PostType.VILLAGE_ASSISTANT,
    "社区民政助理员": PostType.VILLAGE_ASSISTANT, "民政助理员": PostType.VILLAGE_ASSISTANT,
    "助理员": PostType.VILLAGE_ASSISTANT, "民政协理员": PostType.VILLAGE_ASSISTANT,
    "协理员": PostType.VILLAGE_ASSISTANT,
})
QUALIFICATION_WORDS = _words({
    **{q.value: q for q in QualificationLevel},
    "助理社会工作师": QualificationLevel.JUNIOR, "初级": QualificationLevel.JUNIOR,
    "初级社会工作师": QualificationLevel.JUNIOR,
    "社会工作师": QualificationLevel.INTERMEDIATE, "中级": QualificationLevel.INTERMEDIATE,
    "中级社会工作师": QualificationLevel.INTERMEDIATE,
    "高级社会工作师": QualificationLevel.SENIOR, "高级": QualificationLevel.SENIOR,
})
NO_QUALIFICATION = frozenset({"无", "没有", "none"})
GENDER_WORDS = _words({
    "男": Gender.MALE, "男性": Gender.MALE, "male": Gender.MALE, "m": Gender.MALE,
    "女": Gender.FEMALE, "女性": Gender.FEMALE, "female": Gender.FEMALE, "f": Gender.FEMALE,
})
STATUS_WORDS = _words({"已提名": PostStatus.NOMINATED, "提名": PostStatus.NOMINATED,
                       "nominated": PostStatus.NOMINATED, "在岗": PostStatus.IN_POST,
                       "已上岗": PostStatus.IN_POST, "in_post": PostStatus.IN_POST})
UNIT_CODE_LENGTHS = (9, 12)
OLDEST_BIRTH_YEAR = 1940
YOUNGEST_AGE = 16
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class PersonRow:
    line: int
    name: str
    gender: Gender | None
    birth_year: int | None
    phone: str | None
    id_number: str | None
    unit_code: str
    post_type: PostType
    education: str | None
    qualification: QualificationLevel | None
    certificate_no: str | None
    obtained_on: date | None
    status: PostStatus

    def person_data(self) -> dict[str, Any]:
        """The person fields this row gives (empty cells left out: they keep stored values)."""
        data = {"name": self.name, "gender": self.gender and self.gender.value,
                "birth_year": self.birth_year, "phone": self.phone, "education": self.education}
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class Parsed:
    header: Header | None
    rows: list[PersonRow]
    errors: list[RowError]
    total: int
    #: (line, unit code) of rows refused for other reasons whose unit code is well formed: the
    #: unit is still checked, so one round reports every error of a row.
    bad_row_units: list[tuple[int, str]] = field(default_factory=list)

    @property
    def unit_codes(self) -> set[str]:
        return {r.unit_code for r in self.rows} | {code for _line, code in self.bad_row_units}


@dataclass
class PersonChange:
    row: PersonRow
    unit: OrgUnit
    #: The stored person, None when the row creates one.
    person: Person | None
    updates: dict[str, Any] = field(default_factory=dict)
    new_post: bool = False
    new_qualification: bool = False

    @property
    def line(self) -> int:
        return self.row.line

    @property
    def action(self) -> str:
        if self.person is None:
            return CREATE
        return UPDATE if self.updates or self.new_post or self.new_qualification else UNCHANGED

    @property
    def summary(self) -> str:
        return f"{self.row.name} · {self.unit.name} · {label(self.row.post_type)}"


# ---------------------------------------------------------------- parsing (pure)


def parse(table: Table, *, now: datetime, legacy: bool) -> Parsed:
    header, errors = find_header(table, COLUMNS)
    if header is None or errors:
        total = len(data_rows(table, header)) if header else max(len(table.rows) - 1, 0)
        return Parsed(header, [], errors, total)
    body = data_rows(table, header)
    parsed = Parsed(header, [], errors, len(body))
    seen: dict[tuple[str, ...], int] = {}
    for raw in body:
        cells = Cells(raw, header, COLUMNS)
        row = parse_row(cells, now=now, legacy=legacy)
        if row is not None and _duplicate(cells, row, seen):
            row = None
        if row is not None:
            parsed.rows.append(row)
        elif cells.errors and not any(e.column == header.title("unit_code", COLUMNS)
                                      for e in cells.errors):
            code = digits(cells.get("unit_code"))
            if code:
                parsed.bad_row_units.append((cells.line, code))
        errors += cells.errors
    return parsed


def _duplicate(cells: Cells, row: PersonRow, seen: dict[tuple[str, ...], int]) -> bool:
    keys = [("id", row.id_number)] if row.id_number else []
    if row.phone:
        keys.append(("name+phone", row.name, row.phone))
    for key in keys:
        if key in seen:
            column = "id_number" if key[0] == "id" else "name"
            cells.bad(column, _("与第%(m)s行是同一人，请删除重复的行。", m=seen[key]))
            return True
    for key in keys:
        seen[key] = row.line
    return False


def parse_row(cells: Cells, *, now: datetime, legacy: bool) -> PersonRow | None:
    name = cells.text("name", 50, required_message=_("请填写姓名。"))
    values = {
        "gender": _choice(cells, "gender", GENDER_WORDS, _("性别应填写“男”或“女”。")),
        "birth_year": _birth_year(cells, now),
        "phone": _phone(cells),
        "id_number": _id_number(cells),
        "unit_code": _unit_code(cells),
        "post_type": _post_type(cells),
        "education": cells.text("education", 30),
        **_qualification(cells, now),
        "status": _status(cells, legacy),
    }
    if not values["phone"] and not values["id_number"] and not cells.get("phone") \
            and not cells.get("id_number"):
        cells.bad("phone", _("请填写手机号（没有身份证号时，用姓名和手机号识别人员）。"))
    if cells.errors or name is None:
        return None
    return PersonRow(cells.line, name, **values)


def _choice(cells: Cells, key: str, words: Mapping[str, Any], message: str) -> Any:
    raw = cells.get(key)
    if not raw:
        return None
    value = words.get(_word(raw))
    if value is None:
        cells.bad(key, message)
    return value


def _birth_year(cells: Cells, now: datetime) -> int | None:
    raw = digits(cells.get("birth_year")).removesuffix("年")
    if not raw:
        return None
    latest = now.year - YOUNGEST_AGE
    if len(raw) == 4 and raw.isascii() and raw.isdigit() \
            and OLDEST_BIRTH_YEAR <= int(raw) <= latest:
        return int(raw)
    cells.bad("birth_year", _("出生年份应为 %(min)s 到 %(max)s 之间的四位数字，如 1985。",
                              min=OLDEST_BIRTH_YEAR, max=latest))
    return None


def _phone(cells: Cells) -> str | None:
    raw = cells.get("phone")
    if not raw:
        return None
    phone = normalize_phone(raw[:40])
    if phone is None:
        cells.bad("phone", _("手机号应为11位数字。"))
    return phone


def _id_number(cells: Cells) -> str | None:
    raw = cells.get("id_number")
    if not raw:
        return None
    value = normalize_id_number(raw[:40])
    if value is None:
        cells.bad("id_number", _("身份证号无效：应为18位，且最后一位校验码正确。"))
    return value


def _unit_code(cells: Cells) -> str | None:
    return division_code(cells, "unit_code", UNIT_CODE_LENGTHS, _("请填写单位代码。"),
                         _("单位代码应为乡镇（9位）或村（社区）（12位）的区划代码。"))


def _post_type(cells: Cells) -> PostType | None:
    if not cells.get("post_type"):
        cells.bad("post_type", _("请填写岗位。"))
        return None
    return _choice(cells, "post_type", POST_WORDS,
                   _("岗位应为 乡镇民政办主任、乡镇民政工作人员 或 村(社区)民政助理员。"))


def _qualification(cells: Cells, now: datetime) -> dict[str, Any]:
    raw = cells.get("qualification")
    level = None
    if raw and _word(raw) not in NO_QUALIFICATION:
        level = _choice(cells, "qualification", QUALIFICATION_WORDS,
                        _("社工证等级应为 助理社会工作师、社会工作师 或 高级社会工作师"
                          "（也可写 初级、中级、高级）。"))
    number = cells.text("certificate_no", 50)
    obtained = _date(cells, "obtained_on", now)
    if (number or obtained) and (not raw or _word(raw) in NO_QUALIFICATION):
        cells.bad("qualification", _("填写了证书编号或取得日期时，请填写社工证等级。"))
    return {"qualification": level, "certificate_no": number, "obtained_on": obtained}


def _date(cells: Cells, key: str, now: datetime) -> date | None:
    raw = digits(cells.get(key))
    if not raw:
        return None
    match = _DATE_RE.match(raw) or re.match(r"^(\d{4})(\d{2})(\d{2})$", raw)
    try:
        value = date(*(int(g) for g in match.groups())) if match else None
    except ValueError:
        value = None
    if value is None or value.year < OLDEST_BIRTH_YEAR:
        cells.bad(key, _("取得日期应为日期，如 2020-06-30。"))
        return None
    if value > now.date():
        cells.bad(key, _("取得日期不能晚于今天。"))
        return None
    return value


def _status(cells: Cells, legacy: bool) -> PostStatus:
    raw = cells.get("status")
    if not raw:
        return PostStatus.NOMINATED
    status = STATUS_WORDS.get(_word(raw))
    if status == PostStatus.IN_POST and not legacy:
        cells.bad("status", _("“在岗”只能在系统上线时由管理员初始导入；请留空或填写“已提名”。"))
    elif status is None:
        cells.bad("status", _("状态应为空或“已提名”（系统上线初始导入时也可填写“在岗”）。"))
    return status or PostStatus.NOMINATED


# ---------------------------------------------------------------- planning


@dataclass
class Snapshot:
    """The stored units and people the rows refer to, loaded in a few batched queries."""

    units: Mapping[str, OrgUnit]
    #: ID-card number (normalised) → keyed hash, for every number in the file.
    hashes: Mapping[str, str]
    by_hash: Mapping[str, Person]
    by_name_phone: Mapping[tuple[str, str], list[Person]]


def plan(parsed: Parsed, snap: Snapshot, scope: Scope, progress: Progress | None = None) -> Plan:
    result = Plan(rows=parsed.total, errors=list(parsed.errors))
    for line, code in parsed.bad_row_units:
        unit = snap.units.get(code)
        if unit is None or not scope.covers(unit):
            title = parsed.header.title("unit_code", COLUMNS) if parsed.header else "unit_code"
            result.errors.append(RowError(line, title, _(
                "单位代码 %(code)s 不存在或不在您的管辖范围内。", code=code)))
    matched: dict[int, int] = {}
    ticker = Ticker(progress, "check", len(parsed.rows))
    for row in parsed.rows:
        errors: list[RowError] = []
        change = _plan_row(row, snap, scope, matched, errors, parsed.header)
        result.errors += errors
        if change is not None and not errors:
            result.changes.append(change)
        ticker.add()
    return result


def _plan_row(row: PersonRow, snap: Snapshot, scope: Scope, matched: dict[int, int],
              errors: list[RowError], header: Header | None) -> PersonChange | None:
    def bad(key: str, reason: str) -> None:
        title = header.title(key, COLUMNS) if header else key
        errors.append(RowError(row.line, title, reason))

    unit = snap.units.get(row.unit_code)
    if unit is None or not scope.covers(unit):
        bad("unit_code", _("单位代码 %(code)s 不存在或不在您的管辖范围内。", code=row.unit_code))
        return None
    if unit.level != POST_LEVEL[row.post_type].value:
        bad("post_type", _("“%(post)s”应设在%(level)s，单位 %(code)s 是%(actual)s。",
                           post=label(row.post_type), level=level_label(POST_LEVEL[row.post_type]),
                           code=unit.code, actual=level_label(unit.level)))
        return None
    person = _match(row, snap, bad)
    if person is None:
        return None if errors else PersonChange(row, unit, None, new_post=True,
                                                new_qualification=row.qualification is not None)
    if person.id in matched:
        bad("name", _("与第%(m)s行是同一人，请删除重复的行。", m=matched[person.id]))
        return None
    matched[person.id] = row.line
    if not scope.covers(person.org_unit):
        bad("name", _("此人已登记在您管辖范围以外的单位，请联系上级管理员办理。"))
        return None
    return _change_for(row, unit, person, bad)


def _match(row: PersonRow, snap: Snapshot, bad: Any) -> Person | None:
    if row.id_number:
        person = snap.by_hash.get(snap.hashes[row.id_number])
        if person is not None:
            return person
    if not row.phone:
        return None
    candidates = [p for p in snap.by_name_phone.get((row.name, row.phone), [])
                  if not (row.id_number and p.id_hash)]
    if len(candidates) > 1:
        bad("id_number", _("系统中有多名同名、同手机号的人员，请填写身份证号以区分。"))
        return None
    return candidates[0] if candidates else None


def _change_for(row: PersonRow, unit: OrgUnit, person: Person, bad: Any) -> PersonChange | None:
    open_posts = [p for p in person.posts if p.is_open]
    holds = any(p.org_unit_id == unit.id and p.post_type == row.post_type.value for p in open_posts)
    if not holds and open_posts:
        post = open_posts[-1]
        bad("unit_code", _("此人已在“%(unit)s”任“%(post)s”，调动或换岗请在人员页面办理。",
                           unit=post.org_unit.name, post=label(PostType(post.post_type))))
        return None
    updates = {k: v for k, v in row.person_data().items() if v != getattr(person, k)}
    if row.id_number and person.id_hash is None:
        updates["id_number"] = row.id_number
    return PersonChange(row, unit, person, updates=updates, new_post=not holds,
                        new_qualification=_new_qualification(row, person))


def _new_qualification(row: PersonRow, person: Person) -> bool:
    if row.qualification is None:
        return False
    return not any(q.level == row.qualification.value and (
        not row.certificate_no or not q.certificate_no or q.certificate_no == row.certificate_no)
        for q in person.qualifications)
