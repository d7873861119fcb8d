"""In-person sessions of a program: schedule and edit, roll call, and the sign-in code trainees
type on their phone. Hours are credited only for attendance (present or late)."""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lms import audit
from lms.audit import AuditEntry
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Person
from lms.org.rules import has_control_chars
from lms.training.enrolment import SEATED, TZ, ensure_not_closed, local_today, roster
from lms.training.models import Attendance, Enrollment, Program, TrainingSession
from lms.training.program_labels import ATTENDANCE_STATUSES
from lms.training.programs import hours_value

#: Signing in later than this after the start counts as late.
LATE_AFTER = timedelta(minutes=15)
#: Attendance that earns the session's credit hours.
CREDITED = frozenset({"present", "late"})
MAX_SIGNIN_MINUTES = 180
MAX_SESSION_LENGTH = timedelta(hours=24)
#: Wrong codes allowed per account within the window; counted from the audit log, so every
#: app process sees the same number.
SIGNIN_MAX_FAILURES = 5
SIGNIN_FAILURE_WINDOW = timedelta(minutes=15)
#: A code entered this long after its window closed is still recognised ("sign-in has ended").
RECENT = timedelta(hours=12)
CODE_RE = re.compile(r"^[0-9]{6}$")


# ---------------------------------------------------------------- schedule and edit


def clean_session_data(program: Program, data: dict[str, Any]) -> dict[str, Any]:
    title = (data.get("title") or "").strip()
    location = (data.get("location") or "").strip()
    if not title:
        raise ValidationFailed(_("请填写课次名称，例如：第一讲 低保政策解读。"), "title")
    for key, value in (("title", title), ("location", location)):
        if len(value) > 200:
            raise ValidationFailed(_("不能超过 %(n)s 个字符。", n=200), key)
        if has_control_chars(value):
            raise ValidationFailed(_("不能包含控制字符，请删除后重试。"), key)
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts is None:
        raise ValidationFailed(_("请填写开始时间。"), "starts_at")
    if ends is None:
        raise ValidationFailed(_("请填写结束时间。"), "ends_at")
    if not starts < ends <= starts + MAX_SESSION_LENGTH:
        raise ValidationFailed(_("结束时间应晚于开始时间，且一个课次不超过24小时。"), "ends_at")
    if program.starts_on and starts.astimezone(TZ).date() < program.starts_on:
        raise ValidationFailed(_("课次不能早于培训班开始日期 %(day)s。",
                                 day=program.starts_on.isoformat()), "starts_at")
    if program.ends_on and ends.astimezone(TZ).date() > program.ends_on:
        raise ValidationFailed(_("课次不能晚于培训班结束日期 %(day)s。",
                                 day=program.ends_on.isoformat()), "ends_at")
    return {"title": title, "location": location, "starts_at": starts, "ends_at": ends,
            "credit_hours": hours_value(data.get("credit_hours"))}


def schedule_session(program: Program, data: dict[str, Any], *, actor: Any,
                     now: datetime) -> TrainingSession:
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    if program.mode == "online":
        raise InvalidState(
            _("线上培训班不安排面授课次；如需面授，请先把培训方式改为线下面授或混合。"))
    session = TrainingSession(program_id=program.id, org_unit_id=program.org_unit_id,
                              **clean_session_data(program, data))
    db.session.add(session)
    db.session.flush()
    audit.record(actor, "session.create", session, now=now, program_id=program.id,
                 title=session.title, starts_at=session.starts_at.isoformat())
    return session


def update_session(session: TrainingSession, data: dict[str, Any], *, actor: Any,
                   now: datetime) -> dict[str, Any]:
    program = session.program
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    values = clean_session_data(program, data)
    changes = {k: [str(getattr(session, k)), str(v)] for k, v in values.items()
               if getattr(session, k) != v}
    if changes:
        for key, value in values.items():
            setattr(session, key, value)
        db.session.flush()
        audit.record(actor, "session.update", session, now=now, changes=changes)
    return changes


# ---------------------------------------------------------------- roll call


def roll_rows(session: TrainingSession) -> list[tuple[Enrollment, Attendance | None]]:
    """The session's roll: everyone seated in the program with their attendance (two queries)."""
    marks = {a.person_id: a for a in db.session.execute(
        select(Attendance).where(Attendance.session_id == session.id)).scalars()}
    return [(e, marks.get(e.person_id)) for e in roster(session.program)]


def roll_call(session: TrainingSession, marks: dict[int, str], *, actor: Any,
              now: datetime) -> int:
    """Record present / late / absent for people on the roll; returns how many changed."""
    ensure(actor, Perm.PROGRAM_MANAGE, session.program.org_unit)
    seated = set(db.session.execute(select(Enrollment.person_id).where(
        Enrollment.program_id == session.program_id, Enrollment.status.in_(SEATED))).scalars())
    if set(marks) - seated:
        raise ValidationFailed(_("名单已变化，请刷新页面后重新点名。"))
    if set(marks.values()) - set(ATTENDANCE_STATUSES):
        raise ValidationFailed(_("请为每位学员选择出勤、迟到或缺勤。"))
    existing = {a.person_id: a for a in db.session.execute(
        select(Attendance).where(Attendance.session_id == session.id)).scalars()}
    changes: dict[int, list[str | None]] = {}
    for person_id, status in marks.items():
        mark = existing.get(person_id)
        if mark is not None and mark.status == status:
            continue
        changes[person_id] = [mark.status if mark else None, status]
        if mark is None:
            mark = Attendance(session_id=session.id, person_id=person_id)
            db.session.add(mark)
        mark.status, mark.method, mark.marked_at = status, "roll", now
        mark.marked_by_id = getattr(actor, "id", None)
    if changes:
        db.session.flush()
        audit.record(actor, "attendance.roll_call", session, now=now,
                     changes={str(k): v for k, v in sorted(changes.items())})
    return len(changes)


def attended_hours(program: Program, person_ids: list[int]) -> dict[int, Decimal]:
    """Credit hours earned in the program's sessions per person (present or late only)."""
    if not person_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.person_id, func.sum(TrainingSession.credit_hours))
        .join(TrainingSession, Attendance.session_id == TrainingSession.id)
        .where(TrainingSession.program_id == program.id, Attendance.status.in_(CREDITED),
               Attendance.person_id.in_(person_ids))
        .group_by(Attendance.person_id)).all()
    return {pid: Decimal(hours or 0) for pid, hours in rows}


def attendance_counts(program: Program) -> dict[int, dict[str, int]]:
    """Per session of *program*: how many were marked present, late and absent (one query)."""
    rows = db.session.execute(
        select(Attendance.session_id, Attendance.status, func.count())
        .join(TrainingSession, Attendance.session_id == TrainingSession.id)
        .where(TrainingSession.program_id == program.id)
        .group_by(Attendance.session_id, Attendance.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for sid, status, n in rows:
        counts.setdefault(sid, {})[status] = n
    return counts


# ---------------------------------------------------------------- sign-in code


def signin_open(session: TrainingSession, now: datetime) -> bool:
    return bool(session.signin_code and session.signin_until and session.signin_until > now)


def _new_code(now: datetime) -> str:
    """A random 6-digit code that no recently open session uses."""
    taken = set(db.session.execute(select(TrainingSession.signin_code).where(
        TrainingSession.signin_until > now - RECENT)).scalars())
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        if code not in taken:
            return code


def open_signin(session: TrainingSession, minutes: int, *, actor: Any, now: datetime) -> str:
    """Start (or restart with a new code) sign-in for *minutes*; returns the code."""
    ensure(actor, Perm.PROGRAM_MANAGE, session.program.org_unit)
    ensure_not_closed(session.program)
    if not 1 <= minutes <= MAX_SIGNIN_MINUTES:
        raise ValidationFailed(_("签到时长应为 1 到 180 分钟。"), "minutes")
    if now >= session.ends_at:
        raise InvalidState(_("该课次已结束，不能再开启签到；请用点名登记出勤。"))
    session.signin_code = _new_code(now)
    session.signin_until = now + timedelta(minutes=minutes)
    db.session.flush()
    audit.record(actor, "session.signin_open", session, now=now, minutes=minutes,
                 until=session.signin_until.isoformat())
    return session.signin_code


def close_signin(session: TrainingSession, *, actor: Any, now: datetime) -> None:
    ensure(actor, Perm.PROGRAM_MANAGE, session.program.org_unit)
    if not signin_open(session, now):
        raise InvalidState(_("签到没有开启。"))
    session.signin_until = now
    db.session.flush()
    audit.record(actor, "session.signin_close", session, now=now)


class SignInRefused(ValidationFailed):
    """A refused code. The refusal is already in the audit log (it counts towards the limit on
    wrong codes): the caller commits it rather than rolling back."""


@dataclass(frozen=True)
class SignIn:
    session: TrainingSession
    attendance: Attendance
    #: The person had already been marked present or late: nothing changed.
    already: bool


def failures(actor: Any, now: datetime) -> int:
    if actor is None:
        return 0
    return db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "attendance.signin_failed", AuditEntry.actor_id == actor.id,
        AuditEntry.at >= now - SIGNIN_FAILURE_WINDOW)).scalar_one()


def _refuse(actor: Any, person: Person, now: datetime, reason: str, message: str) -> SignInRefused:
    audit.record(actor, "attendance.signin_failed", person, now=now, reason=reason)
    return SignInRefused(message, "code")


def _matching(code: str, now: datetime) -> list[TrainingSession]:
    recent = db.session.execute(
        select(TrainingSession).where(TrainingSession.signin_code.is_not(None),
                                      TrainingSession.signin_until > now - RECENT)
        .options(joinedload(TrainingSession.program))).scalars()
    return [s for s in recent if hmac.compare_digest(s.signin_code.encode(), code.encode())]


def sign_in(person: Person, raw_code: str, *, actor: Any, now: datetime) -> SignIn:
    """A trainee's code → attendance (late after the first 15 minutes), method ``code``."""
    if failures(actor, now) >= SIGNIN_MAX_FAILURES:
        raise NotAllowed(_("签到码输错次数太多，请15分钟后再试，或请培训老师点名登记。"))
    code = unicodedata.normalize("NFKC", raw_code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationFailed(_("签到码是6位数字，请看投影或黑板上的数字。"), "code")
    matches = _matching(code, now)
    live = [s for s in matches if s.signin_until > now]
    if not live:
        if matches:
            raise _refuse(actor, person, now, "closed",
                          _("本次签到已结束，请联系培训老师登记出勤。"))
        raise _refuse(actor, person, now, "wrong", _("签到码不对，请核对后重新输入。"))
    seated = set(db.session.execute(select(Enrollment.program_id).where(
        Enrollment.person_id == person.id, Enrollment.status.in_(SEATED),
        Enrollment.program_id.in_([s.program_id for s in live]))).scalars())
    session = next((s for s in live if s.program_id in seated), None)
    if session is None:
        raise _refuse(actor, person, now, "not_enrolled",
                      _("您不在该培训班的学员名单中，不能签到。请联系培训老师。"))
    return _mark(session, person, actor=actor, now=now)


def _mark(session: TrainingSession, person: Person, *, actor: Any, now: datetime) -> SignIn:
    mark = db.session.execute(select(Attendance).where(
        Attendance.session_id == session.id, Attendance.person_id == person.id)).scalar()
    if mark is not None and mark.status in CREDITED:
        return SignIn(session, mark, already=True)
    if mark is None:
        mark = Attendance(session_id=session.id, person_id=person.id)
        db.session.add(mark)
    mark.status = "late" if now > session.starts_at + LATE_AFTER else "present"
    mark.method, mark.marked_at, mark.marked_by_id = "code", now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "attendance.signin", session, now=now, person_id=person.id,
                 status=mark.status)
    return SignIn(session, mark, already=False)


def sessions_today(person: Person, now: datetime) -> list[tuple[TrainingSession, str | None]]:
    """The person's sessions starting today (Beijing time), with their attendance status."""
    day = datetime.combine(local_today(now), datetime.min.time(), TZ)
    next_day = day + timedelta(days=1)
    rows = db.session.execute(
        select(TrainingSession, Attendance.status)
        .join(Enrollment, Enrollment.program_id == TrainingSession.program_id)
        .outerjoin(Attendance, (Attendance.session_id == TrainingSession.id)
                   & (Attendance.person_id == person.id))
        .where(Enrollment.person_id == person.id, Enrollment.status.in_(SEATED),
               TrainingSession.starts_at >= day, TrainingSession.starts_at < next_day)
        .options(joinedload(TrainingSession.program)).order_by(TrainingSession.starts_at)).all()
    return [(s, status) for s, status in rows]
