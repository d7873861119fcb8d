"""Question banks (题库): create, edit, archive; find by code; which banks a unit may use.

A bank belongs to a unit and is shared down its subtree: an exam of a unit may draw from the
unit's own banks and those of every unit above it. Every change repeats the permission check
(``Perm.EXAM_MANAGE`` over the bank's unit), writes one audit entry and flushes; the caller
commits. ``actor=None`` is the system (the CLI).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from lms import audit
from lms.auth.access import Scope, ensure, scoped_select
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.formats.model import clean_text
from lms.exams.models import Question, QuestionBank, QuestionVersion
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit

#: Units that may own a bank (where trainers and unit admins are appointed).
OWNER_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)
MAX_CODE = 40
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
CODE_RE = re.compile(r"^[A-Z0-9_-]+$")


@dataclass(frozen=True)
class BankData:
    code: str
    title: str
    description: str = ""


def normalise_code(code: str) -> str:
    """Half-width, no surrounding spaces, upper case: ``sj01`` and ``ＳＪ01`` are ``SJ01``."""
    return unicodedata.normalize("NFKC", code or "").strip().upper()


def find_bank(code: str) -> QuestionBank | None:
    """The bank with this code (compared after ``normalise_code``), archived or not."""
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE:
        return None
    return db.session.execute(select(QuestionBank).where(QuestionBank.code == code)).scalar()


def _clean(data: BankData, bank: QuestionBank | None) -> BankData:
    code = normalise_code(data.code)
    if not code:
        raise ValidationFailed(_("请填写题库编号。"), "code")
    if len(code) > MAX_CODE or not CODE_RE.match(code):
        raise ValidationFailed(_("题库编号只能由字母、数字、- 和 _ 组成，最多%(n)s个字符。",
                                 n=MAX_CODE), "code")
    taken = db.session.execute(select(QuestionBank.id).where(
        QuestionBank.code == code, QuestionBank.id != (bank.id if bank else None))).first()
    if taken:
        raise ValidationFailed(_("题库编号“%(code)s”已被使用，请换一个。", code=code), "code")
    title = clean_text(data.title)
    if not title:
        raise ValidationFailed(_("请填写题库名称。"), "title")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("题库名称不能超过%(n)s个字符。", n=MAX_TITLE), "title")
    description = clean_text(data.description)
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(_("说明不能超过%(n)s个字符。", n=MAX_DESCRIPTION), "description")
    return BankData(code, title, description)


def create_bank(unit: OrgUnit, data: BankData, *, actor: Any, now: datetime) -> QuestionBank:
    ensure(actor, Perm.EXAM_MANAGE, unit)
    if Level(unit.level) not in OWNER_LEVELS:
        raise ValidationFailed(_("题库只能由省、市、县、乡镇（街道）单位建立。"), "unit")
    data = _clean(data, None)
    bank = QuestionBank(code=data.code, title=data.title, description=data.description,
                        org_unit_id=unit.id, created_by_id=getattr(actor, "id", None),
                        created_at=now)
    db.session.add(bank)
    db.session.flush()
    audit.record(actor, "exam.bank_create", bank, now=now, code=bank.code, title=bank.title)
    return bank


def update_bank(bank: QuestionBank, data: BankData, *, actor: Any,
                now: datetime) -> dict[str, Any]:
    """Save the changes; returns ``{field: [before, after]}`` (empty when nothing changed)."""
    ensure(actor, Perm.EXAM_MANAGE, bank.org_unit)
    data = _clean(data, bank)
    changes = {name: [getattr(bank, name), getattr(data, name)]
               for name in ("code", "title", "description")
               if getattr(bank, name) != getattr(data, name)}
    if not changes:
        return {}
    for name, (_before, after) in changes.items():
        setattr(bank, name, after)
    db.session.flush()
    audit.record(actor, "exam.bank_update", bank, now=now, changes=changes)
    return changes


def set_bank_archived(bank: QuestionBank, archived: bool, *, actor: Any, now: datetime) -> None:
    """Archive (no new questions, imports or papers; old exams keep working) or restore."""
    ensure(actor, Perm.EXAM_MANAGE, bank.org_unit)
    if bank.is_archived == archived:
        return
    bank.is_archived = archived
    db.session.flush()
    audit.record(actor, "exam.bank_archive" if archived else "exam.bank_restore", bank, now=now,
                 code=bank.code)


def ensure_open(bank: QuestionBank) -> None:
    if bank.is_archived:
        raise InvalidState(_("题库“%(title)s”已归档，不能再添加或修改试题；请先恢复题库。",
                             title=bank.title))


# ---------------------------------------------------------------- queries


def usable_banks(unit: OrgUnit) -> list[QuestionBank]:
    """Banks an exam of *unit* may use: the unit's own and its ancestors' (not archived),
    nearest unit first."""
    rows = db.session.execute(
        select(QuestionBank).join(OrgUnit, OrgUnit.id == QuestionBank.org_unit_id)
        .where(QuestionBank.org_unit_id.in_(unit.ancestor_ids),
               QuestionBank.is_archived.is_(False))
        .order_by(func.length(OrgUnit.path).desc(), QuestionBank.code)).scalars().all()
    return list(rows)


def banks_in_scope(scope: Scope, *, archived: bool | None = False,
                   search: str = "") -> Select[Any]:
    """Banks owned by units in *scope*; ``archived=None`` gives both kinds."""
    stmt = scoped_select(QuestionBank, scope)
    if archived is not None:
        stmt = stmt.where(QuestionBank.is_archived.is_(archived))
    if search:
        stmt = stmt.where(QuestionBank.title.contains(search, autoescape=True)
                          | QuestionBank.code.contains(normalise_code(search), autoescape=True))
    return stmt


def type_counts(bank_ids: Iterable[int], *, retired: bool = False) -> dict[int, dict[str, int]]:
    """``{bank_id: {type: n}}`` of current (not retired) questions, in one aggregate query."""
    ids = list(bank_ids)
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    for bank_id, qtype, n in db.session.execute(
            select(Question.bank_id, QuestionVersion.type, func.count())
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.bank_id.in_(ids), Question.is_retired.is_(retired))
            .group_by(Question.bank_id, QuestionVersion.type)).all():
        found.setdefault(bank_id, {})[qtype] = n
    return found
