"""Learning: which courses a trainee sees, lesson access, progress, reading time, credit hours.

A *learner* is a person with at least one open post (any status but removed). A course is visible
to a learner when it is not retired, is meant for one of the learner's post types (an empty list
means every post type), and is either in the shared library (``org_unit_id`` None: the file
courses) or owned by a unit on the learner's path (ancestor-or-self of the person's unit). A
lesson is visible when it is not retired and its course is visible. Anything else is "not found"
(``NotVisible`` → 404), the same answer as an id that does not exist.

Reads take a constant number of statements whatever the number of courses and lessons (the
trainee home and course pages are query-budgeted in tests). State changes take ``now`` (and an
optional ``actor``, None = the system), flush and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, literal, or_, select

from lms import audit
from lms.courses.models import Attachment, Course, Lesson, LessonProgress
from lms.extensions import db
from lms.org.models import Person, Post, PostStatus

#: Online learning credits at most this many credit hours per day (domain §2.6, [A]).
DAILY_CREDIT_HOURS_CAP = 8
#: Largest reading time one report may add (the page reports about once a minute).
MAX_SECONDS_PER_REPORT = 120
#: Largest video resume position accepted (seconds; one day).
MAX_POSITION_S = 86400
ONE_PLACE = Decimal("0.1")


class NotVisible(LookupError):
    """The course or lesson does not exist or is not for this learner (→ 404)."""


@dataclass(frozen=True)
class Learner:
    person: Person
    post_types: frozenset[str]
    #: The person's unit and its ancestors: owners whose browser courses the person sees.
    unit_ids: tuple[int, ...]


def learner_for(person_id: int | None) -> Learner | None:
    """The learner behind an account's person, or None (no person, or no open post)."""
    if person_id is None:
        return None
    person = db.session.get(Person, person_id)
    if person is None:
        return None
    post_types = frozenset(db.session.execute(
        select(Post.post_type).where(Post.person_id == person.id,
                                     Post.status != PostStatus.REMOVED.value)).scalars())
    if not post_types:
        return None
    return Learner(person, post_types, tuple(person.org_unit.ancestor_ids))


def _visible(learner: Learner) -> ColumnElement[bool]:
    padded = literal(",").concat(Course.post_types).concat(",")
    return and_(
        Course.is_retired.is_(False),
        or_(Course.org_unit_id.is_(None), Course.org_unit_id.in_(learner.unit_ids)),
        or_(Course.post_types == "",
            *(padded.contains(f",{pt},", autoescape=True) for pt in sorted(learner.post_types))),
    )


def course_for(learner: Learner, course_id: int) -> Course:
    course = db.session.execute(
        select(Course).where(Course.id == course_id, _visible(learner))).scalar()
    if course is None:
        raise NotVisible(course_id)
    return course


def lesson_for(learner: Learner, lesson_id: int) -> Lesson:
    # Not a join: Lesson.org_unit_id is a correlated subquery on ``course`` (see models).
    visible_courses = select(Course.id).where(_visible(learner))
    lesson = db.session.execute(
        select(Lesson).where(Lesson.id == lesson_id, Lesson.is_retired.is_(False),
                             Lesson.course_id.in_(visible_courses))).scalar()
    if lesson is None:
        raise NotVisible(lesson_id)
    return lesson


def resume_position(person: Person, lesson: Lesson) -> int:
    """Where the person stopped the lesson's video (seconds; 0 when never recorded)."""
    return db.session.execute(select(LessonProgress.position_s).where(
        LessonProgress.person_id == person.id, LessonProgress.lesson_id == lesson.id)
    ).scalar() or 0


def lesson_attachments(lesson: Lesson) -> list[Attachment]:
    """The lesson's files in upload order, video posters left out (shown with their video)."""
    rows = list(db.session.execute(
        select(Attachment).where(Attachment.lesson_id == lesson.id).order_by(Attachment.id)
    ).scalars())
    posters = {a.poster_id for a in rows if a.poster_id is not None}
    return [a for a in rows if a.id not in posters]


# ---------------------------------------------------------------- progress (reads)

@dataclass(frozen=True)
class LessonStep:
    id: int
    number: int
    title: str
    minutes: int
    completed: bool


@dataclass
class CourseProgress:
    course: Course
    lessons: list[LessonStep] = field(default_factory=list)
    last_activity: datetime | None = None

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for step in self.lessons if step.completed)

    @property
    def minutes(self) -> int:
        return sum(step.minutes for step in self.lessons)

    @property
    def percent(self) -> Decimal:
        return percent(self.done, self.total)

    @property
    def is_done(self) -> bool:
        return self.total > 0 and self.done == self.total

    @property
    def is_started(self) -> bool:
        return self.last_activity is not None

    @property
    def next_lesson(self) -> LessonStep | None:
        return next((step for step in self.lessons if not step.completed), None)

    def neighbours(self, lesson_id: int) -> tuple[LessonStep | None, LessonStep | None]:
        """The lessons before and after *lesson_id* in course order."""
        ids = [step.id for step in self.lessons]
        i = ids.index(lesson_id)
        return (self.lessons[i - 1] if i > 0 else None,
                self.lessons[i + 1] if i + 1 < len(ids) else None)

    def step(self, lesson_id: int) -> LessonStep:
        return next(step for step in self.lessons if step.id == lesson_id)


def percent(done: int, total: int) -> Decimal:
    if total <= 0:
        return Decimal("0.0")
    return (Decimal(done * 100) / Decimal(total)).quantize(ONE_PLACE, ROUND_HALF_UP)


def _outlines(learner: Learner, courses: list[Course]) -> list[CourseProgress]:
    """Every course's active lessons with the learner's completion, in one statement."""
    out = {c.id: CourseProgress(c) for c in courses}
    if not out:
        return []
    rows = db.session.execute(
        select(Lesson.id, Lesson.course_id, Lesson.title, Lesson.minutes,
               LessonProgress.completed_at, LessonProgress.updated_at)
        .outerjoin(LessonProgress, and_(LessonProgress.lesson_id == Lesson.id,
                                        LessonProgress.person_id == learner.person.id))
        .where(Lesson.course_id.in_(list(out)), Lesson.is_retired.is_(False))
        .order_by(Lesson.course_id, Lesson.position, Lesson.id))
    for row in rows:
        cp = out[row.course_id]
        cp.lessons.append(LessonStep(row.id, len(cp.lessons) + 1, row.title, row.minutes,
                                     row.completed_at is not None))
        if row.updated_at is not None and (cp.last_activity is None
                                           or row.updated_at > cp.last_activity):
            cp.last_activity = row.updated_at
    return [out[c.id] for c in courses]


def course_progress(learner: Learner, course: Course) -> CourseProgress:
    return _outlines(learner, [course])[0]


def visible_courses(learner: Learner) -> list[CourseProgress]:
    """The learner's courses that have at least one lesson, by code, with progress."""
    courses = list(db.session.execute(
        select(Course).where(_visible(learner)).order_by(Course.code)).scalars())
    return [cp for cp in _outlines(learner, courses) if cp.total]


@dataclass
class TraineeHome:
    courses: list[CourseProgress]
    credit_hours: Decimal
    #: The one next step: the next lesson of the course worked on last (else the first course).
    next_course: CourseProgress | None
    next_lesson: LessonStep | None

    @property
    def all_done(self) -> bool:
        return bool(self.courses) and all(cp.is_done for cp in self.courses)


def trainee_home(person_id: int | None) -> TraineeHome | None:
    learner = learner_for(person_id)
    if learner is None:
        return None
    courses = visible_courses(learner)
    open_courses = [cp for cp in courses if not cp.is_done]
    started = [cp for cp in open_courses if cp.is_started]
    nxt = max(started, key=lambda cp: cp.last_activity) if started else (
        open_courses[0] if open_courses else None)
    return TraineeHome(courses=courses, credit_hours=credit_hours(learner.person.id),
                       next_course=nxt, next_lesson=nxt.next_lesson if nxt else None)


# ---------------------------------------------------------------- credit hours

def _hour_minutes() -> int:
    return int(current_app.config["CREDIT_HOUR_MINUTES"])


def minutes_to_credit_hours(minutes: int, hour_minutes: int | None = None) -> Decimal:
    """The one conversion: minutes → credit hours (学时), Decimal, one place, half up."""
    hour = hour_minutes or _hour_minutes()
    return (Decimal(minutes) / Decimal(hour)).quantize(ONE_PLACE, ROUND_HALF_UP)


def credit_hours(person_id: int, *, hour_minutes: int | None = None) -> Decimal:
    """Credit hours from the person's completed lessons (retired ones included: the work was
    done), at most ``DAILY_CREDIT_HOURS_CAP`` hours per Beijing calendar day."""
    hour = hour_minutes or _hour_minutes()
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    per_day: dict[Any, int] = defaultdict(int)
    rows = db.session.execute(
        select(LessonProgress.completed_at, Lesson.minutes).join(Lesson)
        .where(LessonProgress.person_id == person_id, LessonProgress.completed_at.is_not(None)))
    for completed_at, minutes in rows:
        per_day[completed_at.astimezone(tz).date()] += minutes
    cap = DAILY_CREDIT_HOURS_CAP * hour
    return minutes_to_credit_hours(sum(min(m, cap) for m in per_day.values()), hour)


# ---------------------------------------------------------------- state changes

def _ensure_learner_sees(person: Person, lesson: Lesson) -> Learner:
    learner = learner_for(person.id)
    if learner is None:
        raise NotVisible(lesson.id)
    lesson_for(learner, lesson.id)
    return learner


def _progress_row(person: Person, lesson: Lesson, now: datetime) -> tuple[LessonProgress, bool]:
    row = db.session.execute(select(LessonProgress).where(
        LessonProgress.person_id == person.id, LessonProgress.lesson_id == lesson.id)).scalar()
    if row is not None:
        return row, False
    row = LessonProgress(person_id=person.id, lesson_id=lesson.id, org_unit_id=person.org_unit_id,
                         started_at=now, updated_at=now, seconds_spent=0, position_s=0)
    db.session.add(row)
    return row, True


def mark_lesson_complete(person: Person, lesson: Lesson, *, now: datetime,
                         actor: Any = None) -> bool:
    """Record that *person* finished *lesson*; True if newly completed (audited), False if it
    already was. Raises ``NotVisible`` for a lesson the person may not see (retired included)."""
    _ensure_learner_sees(person, lesson)
    row, _new = _progress_row(person, lesson, now)
    if row.completed_at is not None:
        return False
    row.completed_at = now
    row.updated_at = now
    db.session.flush()
    audit.record(actor, "lesson.complete", row, org_unit_id=person.org_unit_id, now=now,
                 person=person.id, lesson=lesson.id, course=lesson.course_id,
                 minutes=lesson.minutes)
    return True


def record_time(person: Person, lesson: Lesson, seconds: int, *, now: datetime) -> int:
    """Add reading time reported by the lesson page; returns the seconds credited.

    One report adds at most ``MAX_SECONDS_PER_REPORT`` and never more than the wall-clock time
    since the previous report, so a replayed or forged report cannot inflate the total. Reading
    time is telemetry, not a change of record: it is not audited.
    """
    _ensure_learner_sees(person, lesson)
    row, new = _progress_row(person, lesson, now)
    limit = MAX_SECONDS_PER_REPORT if new else int((now - row.updated_at).total_seconds())
    credited = max(0, min(int(seconds), MAX_SECONDS_PER_REPORT, limit))
    row.seconds_spent = (row.seconds_spent or 0) + credited
    row.updated_at = now
    db.session.flush()
    return credited


def record_position(person: Person, lesson: Lesson, position_s: int, *, now: datetime) -> None:
    """Remember where *person* stopped the lesson's video (``0..MAX_POSITION_S`` seconds).

    Telemetry like reading time (not audited). ``updated_at`` is left alone on an existing row:
    it is the clock that caps reading-time reports and dates the learner's last activity.
    """
    if not 0 <= position_s <= MAX_POSITION_S:
        raise ValueError(position_s)
    _ensure_learner_sees(person, lesson)
    row, _new = _progress_row(person, lesson, now)
    row.position_s = position_s
    db.session.flush()
