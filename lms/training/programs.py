"""Training programs (培训班): create and edit under the tier rule (spec decision 2), open and
close, and the program's courses. Services take ``actor`` and ``now``, flush, never commit, and
audit every change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.courses.models import Course
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit, PostType
from lms.org.rules import has_control_chars
from lms.training.enrolment import TZ, ensure_not_closed, fill_seats
from lms.training.models import Enrollment, Program, ProgramCourse, TrainingSession
from lms.training.program_labels import KINDS, MODES
from lms.training.rules import tier_refusal

PROGRAM_FIELDS = ("title", "kind", "audience_post_type", "mode", "description", "starts_on",
                  "ends_on", "capacity", "credit_hours", "requires_exam",
                  "attendance_threshold_pct")
MAX_CAPACITY = 100_000
MAX_HOURS = Decimal("999.9")
TENTH = Decimal("0.1")


# ---------------------------------------------------------------- validation


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool,
          allowed: str = "") -> str:
    value = (data.get(key) or "").strip()
    if required and not value:
        raise ValidationFailed(_("请填写培训班名称。"), key)
    if len(value) > limit:
        raise ValidationFailed(_("不能超过 %(n)s 个字符。", n=limit), key)
    if has_control_chars(value, allowed):
        raise ValidationFailed(_("不能包含控制字符，请删除后重试。"), key)
    return value


def hours_value(raw: Any, field: str = "credit_hours") -> Decimal:
    """Credit hours as a one-place decimal between 0 and 999.9."""
    try:
        value = Decimal(str(raw if raw is not None else "0")).quantize(TENTH)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("学时应为数字，最多一位小数，例如 1.5。"), field) from None
    if not value.is_finite() or not Decimal("0") <= value <= MAX_HOURS:
        raise ValidationFailed(_("学时应在 0 到 999.9 之间。"), field)
    return value


def _dates(data: dict[str, Any]) -> tuple[date | None, date | None]:
    starts, ends = data.get("starts_on"), data.get("ends_on")
    if starts is not None and ends is not None and ends < starts:
        raise ValidationFailed(_("结束日期不能早于开始日期。"), "ends_on")
    return starts, ends


def clean_program_data(unit: OrgUnit, data: dict[str, Any]) -> dict[str, Any]:
    """The values to store, after the tier rule and every field check (ValidationFailed names
    the field)."""
    audience = data.get("audience_post_type")
    if audience not in {p.value for p in PostType}:
        raise ValidationFailed(_("请从列表中选择培训对象。"), "audience_post_type")
    refusal = tier_refusal(unit.level, audience)
    if refusal:
        raise ValidationFailed(refusal, "audience_post_type")
    if data.get("kind") not in KINDS:
        raise ValidationFailed(_("请从列表中选择培训类别。"), "kind")
    if data.get("mode") not in MODES:
        raise ValidationFailed(_("请从列表中选择培训方式。"), "mode")
    capacity = data.get("capacity")
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationFailed(_("名额应为 1 到 100000 之间的整数；不限名额请留空。"), "capacity")
    threshold = data.get("attendance_threshold_pct")
    threshold = 80 if threshold is None else threshold
    if not 0 <= threshold <= 100:
        raise ValidationFailed(_("出勤率要求应为 0 到 100 之间的整数。"),
                               "attendance_threshold_pct")
    starts, ends = _dates(data)
    return {
        "title": _text(data, "title", 200, required=True),
        "kind": data["kind"], "audience_post_type": audience, "mode": data["mode"],
        "description": _text(data, "description", 5000, required=False, allowed="\r\n\t"),
        "starts_on": starts, "ends_on": ends, "capacity": capacity,
        "credit_hours": hours_value(data.get("credit_hours")),
        "requires_exam": bool(data.get("requires_exam")),
        "attendance_threshold_pct": threshold,
    }


# ---------------------------------------------------------------- create and update


def create_program(unit: OrgUnit, data: dict[str, Any], *, actor: Any, now: datetime) -> Program:
    """A draft program organised by *unit*; refused unless the unit's level trains the audience."""
    ensure(actor, Perm.PROGRAM_MANAGE, unit)
    values = clean_program_data(unit, data)
    program = Program(org_unit_id=unit.id, status="draft", created_at=now, updated_at=now,
                      created_by_id=getattr(actor, "id", None), **values)
    db.session.add(program)
    db.session.flush()
    audit.record(actor, "program.create", program, now=now, title=program.title,
                 audience=program.audience_post_type, kind=program.kind)
    return program


def update_program(program: Program, data: dict[str, Any], *, actor: Any,
                   now: datetime) -> dict[str, Any]:
    """Change a program's fields; returns the changes (old, new). A larger capacity moves people
    up from the waiting list."""
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    values = clean_program_data(program.org_unit, data)
    if values["audience_post_type"] != program.audience_post_type and _has_enrolments(program):
        raise ValidationFailed(_("已有学员报名，不能再修改培训对象；请新建培训班。"),
                               "audience_post_type")
    _check_sessions_within(program, values["starts_on"], values["ends_on"])
    changes = {k: [getattr(program, k), v] for k, v in values.items() if getattr(program, k) != v}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        setattr(program, key, new)
    program.updated_at = now
    db.session.flush()
    audit.record(actor, "program.update", program, now=now,
                 changes={k: [str(a), str(b)] for k, (a, b) in changes.items()})
    if "capacity" in changes:
        fill_seats(program, actor=actor, now=now)
    return changes


def _has_enrolments(program: Program) -> bool:
    return db.session.execute(
        select(Enrollment.id).where(Enrollment.program_id == program.id).limit(1)).first() \
        is not None


def _check_sessions_within(program: Program, starts: date | None, ends: date | None) -> None:
    """Refuse new dates that would leave a scheduled session outside the program's dates."""
    first, last = db.session.execute(
        select(func.min(TrainingSession.starts_at), func.max(TrainingSession.ends_at))
        .where(TrainingSession.program_id == program.id)).one()
    if first is None:
        return
    if starts is not None and _local_day(first) < starts:
        raise ValidationFailed(_("已有课次早于该日期（%(day)s），请先调整课次时间。",
                                 day=_local_day(first).isoformat()), "starts_on")
    if ends is not None and _local_day(last) > ends:
        raise ValidationFailed(_("已有课次晚于该日期（%(day)s），请先调整课次时间。",
                                 day=_local_day(last).isoformat()), "ends_on")


def _local_day(value: datetime) -> date:
    if value.tzinfo is None:  # an aggregate may come back without the column type
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ).date()


# ---------------------------------------------------------------- status


def open_program(program: Program, *, actor: Any, now: datetime) -> None:
    """Open a draft program, or reopen a closed one."""
    old = _set_status(program, "open", {"draft", "closed"}, actor=actor, now=now)
    audit.record(actor, "program.open", program, now=now, old=old)


def close_program(program: Program, *, actor: Any, now: datetime) -> None:
    old = _set_status(program, "closed", {"open"}, actor=actor, now=now)
    audit.record(actor, "program.close", program, now=now, old=old)


def _set_status(program: Program, status: str, allowed_from: set[str], *, actor: Any,
                now: datetime) -> str:
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    if program.status not in allowed_from:
        raise InvalidState(_("培训班当前状态不能执行此操作，请刷新页面后重试。"))
    old, program.status, program.updated_at = program.status, status, now
    db.session.flush()
    return old


# ---------------------------------------------------------------- courses


def _usable_clause(program: Program) -> Any:
    """Shared library courses (files, no unit) and browser courses of the program's unit or a
    unit above it; never retired ones."""
    return and_(Course.is_retired.is_(False), or_(
        and_(Course.org_unit_id.is_(None), Course.source == "file"),
        Course.org_unit_id.in_(program.org_unit.ancestor_ids)))


def course_choices(program: Program, limit: int = 500) -> list[Course]:
    """Courses that may still be attached to *program* (one query)."""
    attached = select(ProgramCourse.course_id).where(ProgramCourse.program_id == program.id)
    return list(db.session.execute(
        select(Course).where(_usable_clause(program), Course.id.not_in(attached))
        .order_by(Course.code).limit(limit)).scalars())


def attach_course(program: Program, course: Course, *, actor: Any,
                  now: datetime) -> ProgramCourse:
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    usable = db.session.execute(
        select(Course.id).where(Course.id == course.id, _usable_clause(program))).first()
    if usable is None:
        raise ValidationFailed(
            _("该课程不能用于本培训班：请从列表中选择课程库或本级及上级单位的课程。"), "course")
    if any(pc.course_id == course.id for pc in program.courses):
        raise ValidationFailed(_("该课程已在本培训班中。"), "course")
    link = ProgramCourse(course_id=course.id, position=len(program.courses))
    program.courses.append(link)
    program.updated_at = now
    db.session.flush()
    audit.record(actor, "program.course_add", program, now=now, course=course.code)
    return link


def _link(program: Program, course_id: int | None) -> ProgramCourse:
    link = next((pc for pc in program.courses if pc.course_id == course_id), None)
    if link is None:
        raise ValidationFailed(_("该课程不在本培训班中，请刷新页面后重试。"), "course")
    return link


def detach_course(program: Program, course_id: int | None, *, actor: Any, now: datetime) -> None:
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    link = _link(program, course_id)
    code = link.course.code
    program.courses.remove(link)
    for i, pc in enumerate(program.courses):
        pc.position = i
    program.updated_at = now
    db.session.flush()
    audit.record(actor, "program.course_remove", program, now=now, course=code)


def move_course(program: Program, course_id: int | None, step: int, *, actor: Any,
                now: datetime) -> bool:
    """Move a course one place up (step −1) or down (+1); False when it is already at the end."""
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    links = list(program.courses)
    i = links.index(_link(program, course_id))
    j = i + (1 if step > 0 else -1)
    if not 0 <= j < len(links):
        return False
    links[i], links[j] = links[j], links[i]
    for pos, pc in enumerate(links):
        pc.position = pos
    program.updated_at = now
    db.session.flush()
    db.session.expire(program, ["courses"])
    audit.record(actor, "program.course_move", program, now=now, course=links[j].course.code,
                 position=j + 1)
    return True
