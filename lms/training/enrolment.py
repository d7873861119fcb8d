"""Enrolment in a program: auto-enrol the audience (overdue, due and never-trained people first,
up to capacity, the rest on the waiting list), manual add and remove, promotion from the waiting
list. Every operation runs a fixed number of statements, however many people it touches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import aliased, joinedload

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.org.models import OrgUnit, Person, Post, PostStatus
from lms.org.rules import has_control_chars
from lms.training.models import Completion, Enrollment, Program
from lms.training.rules import Rotation, rotation_status

#: Beijing time: dates people see (today, a session's day) are local dates.
TZ = ZoneInfo("Asia/Shanghai")
#: Statuses that hold a seat (capacity counts them) and that are on the roll of a session.
SEATED = ("enrolled", "completed")
#: Auto-enrol order: overdue first, then due, then never trained, then everyone else.
RANK = {Rotation.OVERDUE: 0, Rotation.DUE: 1, Rotation.NEVER_TRAINED: 2, Rotation.CURRENT: 3}


def local_today(now: datetime) -> date:
    return now.astimezone(TZ).date()


def ensure_not_closed(program: Program) -> None:
    if program.status == "closed":
        raise InvalidState(_("培训班已结束，不能再修改；如需修改请先重新开班。"))


# ---------------------------------------------------------------- counts and lists


@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int] = field(default_factory=dict)
    #: Highest waiting-list position handed out so far (0 when none).
    last_position: int = 0

    def __getitem__(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def seated(self) -> int:
        return sum(self[s] for s in SEATED)

    def free(self, program: Program) -> int | None:
        """Free seats; None when the program has no capacity limit."""
        return None if program.capacity is None else max(0, program.capacity - self.seated)


def enrolment_counts(program: Program) -> Counts:
    rows = db.session.execute(
        select(Enrollment.status, func.count(), func.max(Enrollment.waitlist_position))
        .where(Enrollment.program_id == program.id).group_by(Enrollment.status)).all()
    return Counts({s: n for s, n, _p in rows}, max((p or 0 for _s, _n, p in rows), default=0))


def enrolment_page(program: Program, status: str, *, limit: int, offset: int) -> list[Enrollment]:
    """One page of a program's enrolments in one status, with people and units (one query)."""
    order = (Enrollment.waitlist_position, Enrollment.id) if status == "waitlisted" else (
        Enrollment.enrolled_at, Enrollment.id)
    return list(db.session.execute(
        select(Enrollment).where(Enrollment.program_id == program.id, Enrollment.status == status)
        .options(joinedload(Enrollment.person)).order_by(*order).limit(limit).offset(offset))
        .scalars())


def roster(program: Program) -> list[Enrollment]:
    """Everyone on the roll of the program's sessions (enrolled or completed), by unit and name."""
    unit = aliased(OrgUnit)
    return list(db.session.execute(
        select(Enrollment).join(Person, Enrollment.person_id == Person.id)
        .join(unit, Person.org_unit_id == unit.id)
        .where(Enrollment.program_id == program.id, Enrollment.status.in_(SEATED))
        .options(joinedload(Enrollment.person)).order_by(unit.code, Person.name, Person.id))
        .scalars())


# ---------------------------------------------------------------- the audience


@dataclass(frozen=True)
class Candidate:
    person_id: int
    unit_id: int
    last_completed: date | None
    rotation: Rotation


def _audience_posts(program: Program, *, acting: bool) -> Any:
    """Open posts of the program's audience type at units inside the organiser's subtree."""
    unit = aliased(OrgUnit)
    stmt = select(Post.person_id).join(unit, Post.org_unit_id == unit.id).where(
        Post.post_type == program.audience_post_type,
        Post.status != PostStatus.REMOVED.value,
        unit.path.startswith(program.org_unit.path, autoescape=True))
    return stmt if acting else stmt.where(Post.is_acting.is_(False))


def audience_candidates(program: Program, *, today: date, cycle_years: int = 3) -> list[Candidate]:
    """Everyone auto-enrol would add, in enrolment order (one query): the audience not yet on any
    list of this program, ranked by rotation status of their last tier-appropriate completion."""
    last = (select(Completion.person_id, func.max(Completion.completed_on).label("last"))
            .where(Completion.post_type == program.audience_post_type)
            .group_by(Completion.person_id).subquery())
    listed = select(Enrollment.person_id).where(Enrollment.program_id == program.id)
    posts = _audience_posts(program, acting=False).where(Post.person_id.not_in(listed))
    stmt = (posts.with_only_columns(Post.person_id, func.min(Post.org_unit_id), last.c.last)
            .outerjoin(last, last.c.person_id == Post.person_id)
            .group_by(Post.person_id, last.c.last))
    found = [Candidate(pid, uid, done, rotation_status(done, today, cycle_years))
             for pid, uid, done in db.session.execute(stmt).all()]
    found.sort(key=lambda c: (RANK[c.rotation], c.last_completed or date.min, c.person_id))
    return found


def search_audience(program: Program, q: str, *,
                    limit: int = 20) -> list[tuple[Person, str | None]]:
    """People of the program's audience matching a name or phone prefix, each with their status
    in this program (None when on no list); one query."""
    term = (q or "").strip()[:50]
    if not term:
        return []
    eligible = _audience_posts(program, acting=True)
    rows = db.session.execute(
        select(Person, Enrollment.status)
        .outerjoin(Enrollment, and_(Enrollment.person_id == Person.id,
                                    Enrollment.program_id == program.id))
        .where(Person.id.in_(eligible), or_(Person.name.contains(term, autoescape=True),
                                            Person.phone.startswith(term, autoescape=True)))
        .order_by(Person.name, Person.id).limit(limit)).all()
    return [(person, status) for person, status in rows]


# ---------------------------------------------------------------- auto-enrol and the waiting list


@dataclass(frozen=True)
class AutoEnrolResult:
    enrolled: int
    waitlisted: int
    promoted: int

    @property
    def changed(self) -> bool:
        return bool(self.enrolled or self.waitlisted or self.promoted)


def _promote(program: Program, counts: Counts, *, actor: Any, now: datetime) -> list[Enrollment]:
    free = counts.free(program)
    if counts["waitlisted"] == 0 or free == 0:
        return []
    stmt = (select(Enrollment).where(Enrollment.program_id == program.id,
                                     Enrollment.status == "waitlisted")
            .order_by(Enrollment.waitlist_position, Enrollment.id))
    moved = list(db.session.execute(stmt if free is None else stmt.limit(free)).scalars())
    for e in moved:
        e.status, e.waitlist_position = "enrolled", None
    db.session.flush()
    audit.record_many(actor, "enrolment.promote",
                      [(e, {"program_id": program.id, "person_id": e.person_id}) for e in moved],
                      now=now)
    return moved


def fill_seats(program: Program, *, actor: Any, now: datetime) -> list[Enrollment]:
    """Move people up from the waiting list, in order, while seats are free."""
    if program.status == "closed":
        return []
    return _promote(program, enrolment_counts(program), actor=actor, now=now)


def auto_enrol(program: Program, *, actor: Any, now: datetime,
               cycle_years: int = 3) -> AutoEnrolResult:
    """Enrol the audience inside the organiser's subtree up to capacity (the waiting list first),
    the rest waitlisted in order. Running it again adds nobody."""
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    counts = enrolment_counts(program)
    promoted = _promote(program, counts, actor=actor, now=now)
    free = counts.free(program)
    free = None if free is None else free - len(promoted)
    candidates = audience_candidates(program, today=local_today(now), cycle_years=cycle_years)
    rows, position = [], counts.last_position
    for c in candidates:
        seated = free is None or len(rows) < free
        if not seated:
            position += 1
        rows.append({"program_id": program.id, "person_id": c.person_id,
                     "org_unit_id": c.unit_id, "status": "enrolled" if seated else "waitlisted",
                     "waitlist_position": None if seated else position,
                     "due_on": program.ends_on, "enrolled_at": now})
    if rows:
        _insert_and_audit(program, rows, candidates, actor=actor, now=now)
    waitlisted = sum(1 for r in rows if r["status"] == "waitlisted")
    return AutoEnrolResult(len(rows) - waitlisted, waitlisted, len(promoted))


def _insert_and_audit(program: Program, rows: list[dict[str, Any]], candidates: list[Candidate],
                      *, actor: Any, now: datetime) -> None:
    """One executemany INSERT (the ORM would insert row by row to read ids back), one SELECT
    for the new rows, one audit entry per enrolment."""
    db.session.execute(insert(Enrollment), rows)
    rotation = {c.person_id: c.rotation.value for c in candidates}
    made = [e for e in db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id, Enrollment.enrolled_at == now)).scalars()
        if e.person_id in rotation]
    made.sort(key=lambda e: (e.status != "enrolled", e.waitlist_position or 0, e.id))
    audit.record_many(actor, "enrolment.auto", [
        (e, {"program_id": program.id, "person_id": e.person_id, "status": e.status,
             "rotation": rotation[e.person_id]}) for e in made], now=now)


# ---------------------------------------------------------------- manual add and remove


def add_person(program: Program, person: Person, *, actor: Any, now: datetime) -> Enrollment:
    """Add one person of the audience by hand (an acting holder too); waitlisted when full."""
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    return _add(program, person, actor=actor, now=now, action="enrolment.add")


def enrol_for_onboarding(program: Program, person: Person, *, actor: Any,
                         now: datetime) -> Enrollment:
    """The onboarding gate enrols a person whose post entered ``pending_onboarding`` in the
    tier's onboarding program (a system step: the township need not manage the city's program).
    An existing place on the list is kept."""
    existing = db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id, Enrollment.person_id == person.id)).scalar()
    if existing is not None and existing.status != "removed":
        return existing
    return _add(program, person, actor=actor, now=now, action="enrolment.onboarding")


def _add(program: Program, person: Person, *, actor: Any, now: datetime,
         action: str) -> Enrollment:
    ensure_not_closed(program)
    unit_id = db.session.execute(
        _audience_posts(program, acting=True).with_only_columns(Post.org_unit_id)
        .where(Post.person_id == person.id).limit(1)).scalar()
    if unit_id is None:
        raise ValidationFailed(_(
            "%(name)s不是本培训班的培训对象：只能添加%(unit)s辖区内的%(post)s。",
            name=person.name, unit=program.org_unit.name,
            post=label(program.audience_post_type)), "person")
    existing = db.session.execute(select(Enrollment).where(
        Enrollment.program_id == program.id, Enrollment.person_id == person.id)).scalar()
    if existing is not None and existing.status != "removed":
        raise InvalidState(_("%(name)s已在本培训班的名单中。", name=person.name))
    counts = enrolment_counts(program)
    seated = counts.free(program) != 0
    enrolment = existing or Enrollment(program_id=program.id, person_id=person.id)
    enrolment.org_unit_id, enrolment.enrolled_at, enrolment.due_on = unit_id, now, program.ends_on
    enrolment.status = "enrolled" if seated else "waitlisted"
    enrolment.waitlist_position = None if seated else counts.last_position + 1
    db.session.add(enrolment)
    db.session.flush()
    audit.record(actor, action, enrolment, now=now, program_id=program.id,
                 person_id=person.id, status=enrolment.status)
    return enrolment


def find_enrolment(program: Program, enrolment_id: int | None) -> Enrollment | None:
    if enrolment_id is None:
        return None
    return db.session.execute(select(Enrollment).where(
        Enrollment.id == enrolment_id, Enrollment.program_id == program.id)).scalar()


def remove_enrolment(enrolment: Enrollment, *, reason: str, actor: Any,
                     now: datetime) -> list[Enrollment]:
    """Take a person off the program with a reason; a freed seat goes to the first waitlisted.
    Returns the people moved up."""
    program = enrolment.program
    ensure(actor, Perm.PROGRAM_MANAGE, program.org_unit)
    ensure_not_closed(program)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写移出原因，例如：已调离岗位。"), "reason")
    if len(reason) > 200 or has_control_chars(reason):
        raise ValidationFailed(_("原因不能超过200个字符，且不能包含控制字符。"), "reason")
    if enrolment.status not in ("enrolled", "waitlisted"):
        raise InvalidState(_("只能移出已报名或候补的学员。"))
    old = enrolment.status
    enrolment.status, enrolment.waitlist_position = "removed", None
    db.session.flush()
    audit.record(actor, "enrolment.remove", enrolment, now=now, program_id=program.id,
                 person_id=enrolment.person_id, old=old, reason=reason)
    return fill_seats(program, actor=actor, now=now) if old == "enrolled" else []
