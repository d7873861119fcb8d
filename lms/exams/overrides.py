"""Extra time (延时) for one person or for a group (everyone in an org unit's subtree).

The attempt engine asks ``extra_minutes_for`` when an attempt starts: the largest of the
person's own override and every group override whose unit contains the person's unit. An
override changes only attempts started after it; exam-day operations extend a running attempt.
Every change repeats the permission check, is audited and flushed; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import ValidationFailed
from lms.exams.formats.model import clean_text
from lms.exams.models import Exam, ExamOverride
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit, Person

MIN_EXTRA = 1
MAX_EXTRA = 600
MAX_REASON = 500


def extra_minutes_for(exam: Exam, person: Person) -> int:
    """Minutes added to *person*'s time limit in *exam* (0 when no override applies)."""
    ancestors = [int(i) for i in person.org_unit.path.strip("/").split("/") if i]
    found = db.session.execute(
        select(func.max(ExamOverride.extra_minutes)).where(
            ExamOverride.exam_id == exam.id,
            or_(ExamOverride.person_id == person.id,
                ExamOverride.group_unit_id.in_(ancestors)))).scalar()
    return int(found or 0)


def exam_overrides(exam: Exam) -> list[ExamOverride]:
    """The exam's overrides, people first then groups, newest first, targets loaded."""
    return list(db.session.execute(
        select(ExamOverride).where(ExamOverride.exam_id == exam.id)
        .options(selectinload(ExamOverride.person), selectinload(ExamOverride.group_unit))
        .order_by(ExamOverride.person_id.is_(None), ExamOverride.id.desc())).scalars())


def search_people(exam: Exam, text: str, limit: int = 20) -> list[Person]:
    """People of the exam unit's subtree whose name contains *text* or whose phone is *text*."""
    text = (text or "").strip()
    if not text:
        return []
    return list(db.session.execute(
        select(Person).join(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .where(OrgUnit.path.startswith(exam.org_unit.path, autoescape=True),
               or_(Person.name.contains(text, autoescape=True), Person.phone == text))
        .order_by(Person.name, Person.id).limit(limit)).scalars())


def _clean(extra_minutes: Any, reason: str) -> tuple[int, str]:
    minutes = extra_minutes if type(extra_minutes) is int else 0
    if not MIN_EXTRA <= minutes <= MAX_EXTRA:
        raise ValidationFailed(_("延长时间应为 %(lo)s–%(hi)s 分钟。", lo=MIN_EXTRA, hi=MAX_EXTRA),
                               "extra_minutes")
    reason = clean_text(reason or "")
    if not reason:
        raise ValidationFailed(_("请填写延时原因。"), "reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("原因不能超过%(n)s个字符。", n=MAX_REASON), "reason")
    return minutes, reason


def _in_subtree(unit: OrgUnit, root: OrgUnit) -> bool:
    return unit.path.startswith(root.path)


def audience_root(exam: Exam) -> OrgUnit:
    return exam.audience_unit if exam.audience_unit is not None else exam.org_unit


def set_person_override(exam: Exam, person: Person, extra_minutes: Any, reason: str, *,
                        actor: Any, now: datetime) -> ExamOverride:
    """Give *person* extra minutes (replacing an earlier person override of this exam)."""
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if not _in_subtree(person.org_unit, exam.org_unit):
        raise ValidationFailed(_("此人不在本考试单位的范围内。"), "person")
    ensure(actor, Perm.EXAM_MANAGE, person.org_unit)
    minutes, reason = _clean(extra_minutes, reason)
    existing = db.session.execute(select(ExamOverride).where(
        ExamOverride.exam_id == exam.id, ExamOverride.person_id == person.id)).scalar()
    return _save(exam, existing, {"person_id": person.id}, minutes, reason, actor, now,
                 target=person.name)


def set_group_override(exam: Exam, unit: OrgUnit, extra_minutes: Any, reason: str, *,
                       actor: Any, now: datetime) -> ExamOverride:
    """Give everyone in *unit*'s subtree extra minutes (replacing an earlier one for *unit*)."""
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if not _in_subtree(unit, audience_root(exam)):
        raise ValidationFailed(_("该单位不在考试对象范围内。"), "unit")
    minutes, reason = _clean(extra_minutes, reason)
    existing = db.session.execute(select(ExamOverride).where(
        ExamOverride.exam_id == exam.id, ExamOverride.group_unit_id == unit.id)).scalar()
    return _save(exam, existing, {"group_unit_id": unit.id}, minutes, reason, actor, now,
                 target=unit.name)


def _save(exam: Exam, existing: ExamOverride | None, target_fields: dict[str, int], minutes: int,
          reason: str, actor: Any, now: datetime, *, target: str) -> ExamOverride:
    before = existing.extra_minutes if existing is not None else None
    override = existing or ExamOverride(exam_id=exam.id, **target_fields)
    override.extra_minutes = minutes
    override.reason = reason
    override.created_by_id = getattr(actor, "id", None)
    override.created_at = now
    if existing is None:
        db.session.add(override)
    db.session.flush()
    audit.record(actor, "exam.override_set", exam, org_unit_id=exam.org_unit_id, now=now,
                 target=target, extra_minutes=minutes, before=before, reason=reason,
                 **target_fields)
    return override


def remove_override(override: ExamOverride, *, actor: Any, now: datetime) -> None:
    exam = override.exam
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    target = (override.person.name if override.person is not None
              else override.group_unit.name if override.group_unit is not None else "")
    data = {"person_id": override.person_id, "group_unit_id": override.group_unit_id,
            "extra_minutes": override.extra_minutes, "target": target}
    db.session.delete(override)
    db.session.flush()
    audit.record(actor, "exam.override_remove", exam, org_unit_id=exam.org_unit_id, now=now,
                 **data)
