"""Org units: create, update, move (the subtree path is rewritten). Flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import (
    Level,
    OrgUnit,
)
from lms.org.rules import PARENT_LEVEL, code_ok, kind_from_name

#: A unit's tree path before its id is known (it is set right after the flush); unique per code
#: so the index stays valid. Not a file system path: ruff S108 / bandit B108 are false positives.
_PLACEHOLDER_PATH = "/tmp-"  # noqa: S108  # nosec B108


def validate_unit(code: str, name: str, level: Level, parent: OrgUnit | None) -> None:
    if not name.strip() or len(name) > 100:
        raise ValidationFailed(_("单位名称应为 1–100 个字符。"), "name")
    if not code_ok(code, level):
        raise ValidationFailed(_("区划代码应为 %(n)s 位数字。", n=len_for(level)), "code")
    if parent is None:
        if level not in (Level.PROVINCE, Level.CITY):
            raise ValidationFailed(_("该级别的单位必须有上级单位。"), "parent")
        return
    if PARENT_LEVEL.get(level) != Level(parent.level):
        raise ValidationFailed(_("上级单位的级别不对：%(level)s 的上级应为 %(parent)s。",
                                 level=level.value, parent=PARENT_LEVEL[level].value), "parent")
    if not code.startswith(parent.code):
        raise ValidationFailed(_("区划代码应以上级单位代码 %(code)s 开头。", code=parent.code), "code")


def len_for(level: Level) -> int:
    from lms.org.models import CODE_LENGTH

    return CODE_LENGTH[level]


def create_unit(code: str, name: str, level: Level, parent: OrgUnit | None, *, actor: Any,
                now: datetime, resident_population: int | None = None,
                registered_population: int | None = None) -> OrgUnit:
    ensure(actor, Perm.ORG_MANAGE, parent)
    validate_unit(code, name, level, parent)
    if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
        raise ValidationFailed(_("区划代码 %(code)s 已存在。", code=code), "code")
    unit = OrgUnit(code=code, name=name.strip(), level=level.value,
                   kind=(k.value if (k := kind_from_name(name.strip(), level)) else None),
                   parent_id=parent.id if parent else None, path=_PLACEHOLDER_PATH + code + "/",
                   resident_population=resident_population,
                   registered_population=registered_population, created_at=now, updated_at=now)
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    db.session.flush()
    audit.record(actor, "unit.create", unit, now=now, code=code, name=unit.name)
    return unit


@dataclass(frozen=True)
class NewUnit:
    """One unit for ``create_units``; ``parent_code`` names a unit that exists by then."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    resident_population: int | None = None
    registered_population: int | None = None


def create_units(new: list[NewUnit], parents: dict[str, OrgUnit], *, actor: Any,
                 now: datetime) -> list[OrgUnit]:
    """``create_unit`` for many units of one level (bulk imports): same checks, one audit entry
    per unit, a handful of statements in all. *parents* maps codes to existing parent units."""
    if not new:
        return []
    taken = _existing_codes([n.code for n in new])
    units = []
    for n in new:
        parent = parents.get(n.parent_code) if n.parent_code else None
        ensure(actor, Perm.ORG_MANAGE, parent)
        validate_unit(n.code, n.name, n.level, parent)
        if n.code in taken:
            raise ValidationFailed(_("区划代码 %(code)s 已存在。", code=n.code), "code")
        kind = kind_from_name(n.name.strip(), n.level)
        units.append(OrgUnit(
            code=n.code, name=n.name.strip(), level=n.level.value,
            kind=kind.value if kind else None,
            parent_id=parent.id if parent else None, path=_PLACEHOLDER_PATH + n.code + "/",
            resident_population=n.resident_population,
            registered_population=n.registered_population, created_at=now, updated_at=now))
    db.session.add_all(units)
    db.session.flush()
    paths = [{"id": u.id, "path": (parents[n.parent_code].path if n.parent_code else "/")
              + f"{u.id}/"} for u, n in zip(units, new, strict=True)]
    db.session.execute(update(OrgUnit), paths)  # one executemany, whatever the dialect
    for unit, row in zip(units, paths, strict=True):
        set_committed_value(unit, "path", row["path"])
    audit.record_many(actor, "unit.create",
                      [(u, {"code": u.code, "name": u.name}) for u in units], now=now)
    return units


def _existing_codes(codes: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(codes), 500):
        found.update(db.session.execute(
            select(OrgUnit.code).where(OrgUnit.code.in_(codes[i:i + 500]))).scalars())
    return found


def update_unit(unit: OrgUnit, *, actor: Any, now: datetime, name: str | None = None,
                resident_population: int | None = None,
                registered_population: int | None = None) -> dict[str, Any]:
    """Change name or populations; ``None`` keeps the stored value. Returns the changes."""
    ensure(actor, Perm.ORG_MANAGE, unit)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != unit.name:
        if not name.strip() or len(name) > 100:
            raise ValidationFailed(_("单位名称应为 1–100 个字符。"), "name")
        changes["name"] = [unit.name, name.strip()]
        unit.name = name.strip()
        kind = kind_from_name(unit.name, Level(unit.level))
        unit.kind = kind.value if kind else None
    for field, value in (("resident_population", resident_population),
                         ("registered_population", registered_population)):
        if value is not None and value != getattr(unit, field):
            if value < 0:
                raise ValidationFailed(_("人口数不能为负数。"), field)
            changes[field] = [getattr(unit, field), value]
            setattr(unit, field, value)
    if changes:
        unit.updated_at = now
        db.session.flush()
        audit.record(actor, "unit.update", unit, now=now, changes=changes)
    return changes


def move_unit(unit: OrgUnit, new_parent: OrgUnit, *, actor: Any, now: datetime) -> None:
    """Re-parent a unit; the whole subtree's paths are rewritten in one statement."""
    ensure(actor, Perm.ORG_MANAGE, unit)
    ensure(actor, Perm.ORG_MANAGE, new_parent)
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed(_("不能把单位移动到它自己或它的下级单位之下。"), "parent")
    if PARENT_LEVEL.get(Level(unit.level)) != Level(new_parent.level):
        raise ValidationFailed(_("新的上级单位级别不对。"), "parent")
    if unit.parent_id == new_parent.id:
        return
    old_path, new_path = unit.path, new_parent.path + f"{unit.id}/"
    old_parent_code = unit.parent.code if unit.parent else None
    db.session.execute(
        update(OrgUnit).where(OrgUnit.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path, String) + func.substr(OrgUnit.path, len(old_path) + 1))
        .execution_options(synchronize_session=False))
    unit.parent_id = new_parent.id
    unit.updated_at = now
    db.session.flush()
    db.session.expire_all()
    audit.record(actor, "unit.move", unit, now=now, old_parent=old_parent_code,
                 new_parent=new_parent.code)


def breadcrumbs(unit: OrgUnit) -> list[OrgUnit]:
    """Ancestors from the root down to *unit* (one query)."""
    ids = unit.ancestor_ids
    rows = {u.id: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]
