"""A year of training and exams for every trainee (size L; flush only, bulk inserts).

The province data set (issue 7) needs, besides people and posts, what a year of use leaves
behind, so that the evaluation's competence scores come from records and the reports and pages
run over realistic tables:

- an account for every person (username = phone, like the demo trainees), all sharing the demo
  password's one precomputed hash;
- last year: an in-service program of each organiser (township → village assistants, county →
  township staff, city → office directors, the tier rule), every person whose post served last
  year enrolled, about 92% completed with a completion record (serial number per city and year,
  seeded verification code); this year: the same organisers' open programs with every current
  post enrolled;
- last year: two exams of the top unit (上半年 and 下半年, a fixed paper of ``PAPER_SIZE``
  objective questions of the demo bank), about 95% of last year's people sitting each one,
  answered with a seeded ability model and marked.

Ids are assigned here (as in ``lms.demo.load``) so attempts and their items go in with
executemany batches, never an ORM flush per row; no audit entries (``demo.load`` records the
load). A pure function of the seed and today's date.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text

from lms.auth.models import User
from lms.demo.exams import BANK_CODE, _response
from lms.exams.formats.model import SHORT
from lms.exams.models import (
    Attempt,
    AttemptItem,
    Exam,
    PaperItem,
    Question,
    QuestionBank,
    QuestionVersion,
)
from lms.extensions import db
from lms.org.models import Level, OrgUnit, Person, Post, PostStatus, PostType
from lms.training.completion import VERIFY_ALPHABET, VERIFY_CODE_LENGTH
from lms.training.models import Completion, Enrollment, Program

BATCH = 5000
PAPER_SIZE = 10
ITEM_POINTS = Decimal(10)
COMPLETION_SHARE = 0.92
SITTING_SHARE = 0.95
CREDIT_HOURS = {PostType.VILLAGE_ASSISTANT: Decimal(12), PostType.TOWNSHIP_STAFF: Decimal(16),
                PostType.OFFICE_DIRECTOR: Decimal(24)}
ORGANISER = {PostType.VILLAGE_ASSISTANT: Level.TOWNSHIP, PostType.TOWNSHIP_STAFF: Level.COUNTY,
             PostType.OFFICE_DIRECTOR: Level.CITY}
TIER = {Level.TOWNSHIP: "township", Level.COUNTY: "county", Level.CITY: "city"}
PROGRAM_TITLE = {PostType.VILLAGE_ASSISTANT: "村(社区)民政助理员{year}年度在岗培训（演示）",
                 PostType.TOWNSHIP_STAFF: "乡镇民政工作人员{year}年度在岗培训（演示）",
                 PostType.OFFICE_DIRECTOR: "乡镇民政办主任{year}年度在岗培训（演示）"}
EXAMS = (("{year}年上半年民政业务知识测试（演示）", 6, 20),
         ("{year}年下半年民政业务知识测试（演示）", 11, 20))
#: Posts that served last year (legacy posts began before go-live, months before today).
SERVED_LAST_YEAR = (PostStatus.IN_POST.value, PostStatus.SUSPENDED.value,
                    PostStatus.REMOVED.value)
CURRENT = (PostStatus.NOMINATED.value, PostStatus.PENDING_ONBOARDING.value,
           PostStatus.ONBOARDED.value, PostStatus.IN_POST.value)
#: (stage, done, total)
Progress = Callable[[str, int, int], None]


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Post:
    person_id: int
    unit_id: int
    post_type: PostType
    status: str
    legacy: bool
    name: str
    phone: str


@dataclass
class HistoryResult:
    accounts: int = 0
    programs: int = 0
    enrolments: int = 0
    completions: int = 0
    attempts: int = 0
    items: int = 0


def _next_id(model: Any) -> int:
    return (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1


def _insert(model: Any, rows: list[dict[str, Any]], stage: str, progress: Progress) -> None:
    """Core executemany in batches (no ORM objects, no flush per row)."""
    table = model.__table__
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(table), rows[start:start + BATCH])
        progress(stage, min(start + BATCH, len(rows)), len(rows))


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randrange(1, 9), rng.randrange(60)), tzinfo=UTC)


def _posts() -> list[_Post]:
    rows = db.session.execute(
        select(Post.person_id, Post.org_unit_id, Post.post_type, Post.status, Post.is_legacy,
               Person.name, Person.phone).join(Person, Person.id == Post.person_id)
        .where(Post.is_acting.is_(False)).order_by(Post.id)).all()
    return [_Post(r[0], r[1], PostType(r[2]), r[3], bool(r[4]), r[5], r[6]) for r in rows]


class _Units:
    """Each unit's level and parent (one query), to find a post's organiser."""

    def __init__(self) -> None:
        rows = db.session.execute(select(OrgUnit.id, OrgUnit.level, OrgUnit.parent_id,
                                         OrgUnit.code)).all()
        self.level = {r[0]: Level(r[1]) for r in rows}
        self.parent = {r[0]: r[2] for r in rows}
        self.code = {r[0]: r[3] for r in rows}

    def up_to(self, unit_id: int, level: Level) -> int | None:
        current: int | None = unit_id
        while current is not None and self.level[current] != level:
            current = self.parent[current]
        return current


def _accounts(posts: list[_Post], now: datetime, progress: Progress) -> dict[int, int]:
    """An account for every person without one; returns person id → user id."""
    shared = db.session.scalar(select(User.password_hash).where(User.username == "sysadmin"))
    have = dict(db.session.execute(select(User.person_id, User.id)
                                   .where(User.person_id.is_not(None))).all())
    taken = set(db.session.scalars(select(User.username)))
    next_id, rows = _next_id(User), []
    for p in posts:
        if p.person_id in have or p.phone in taken:
            continue
        taken.add(p.phone)
        have[p.person_id] = next_id
        rows.append({"id": next_id, "username": p.phone, "phone": p.phone,
                     "display_name": p.name, "password_hash": shared,
                     "must_change_password": False, "password_changed_at": now,
                     "failed_logins": 0, "is_active": p.status != PostStatus.REMOVED.value,
                     "org_unit_id": p.unit_id, "person_id": p.person_id, "created_at": now})
        next_id += 1
    _insert(User, rows, "accounts", progress)
    return have


@dataclass
class _Programs:
    ids: dict[tuple[int, PostType, int], int]
    rows: list[dict[str, Any]]


def _programs(wanted: Iterable[tuple[int, PostType, int]], this_year: int,
              now: datetime) -> _Programs:
    next_id, ids, rows = _next_id(Program), {}, []
    for organiser, post_type, year in sorted(set(wanted), key=lambda k: (k[2], k[0], k[1])):
        closed = year < this_year
        ids[(organiser, post_type, year)] = next_id
        rows.append({
            "id": next_id, "org_unit_id": organiser,
            "title": PROGRAM_TITLE[post_type].format(year=year), "kind": "in_service",
            "audience_post_type": post_type.value, "mode": "blended",
            "description": "年度在岗轮训：政策法规、业务规范和案例研讨。",
            "starts_on": date(year, 3, 1), "ends_on": date(year, 11, 30), "capacity": None,
            "credit_hours": CREDIT_HOURS[post_type], "requires_exam": False,
            "attendance_threshold_pct": 80, "status": "closed" if closed else "open",
            "created_at": datetime.combine(date(year, 2, 1), time(1), tzinfo=UTC),
            "updated_at": now})
        next_id += 1
    return _Programs(ids, rows)


def _verify_code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = "".join(rng.choice(VERIFY_ALPHABET) for _ in range(VERIFY_CODE_LENGTH))
        if code not in used:
            used.add(code)
            return code


def _training(posts: list[_Post], units: _Units, now: datetime, rng: random.Random,
              result: HistoryResult, progress: Progress) -> None:
    this_year = now.date().year
    last = this_year - 1
    plan = []  # (post, organiser, year)
    for p in posts:
        organiser = units.up_to(p.unit_id, ORGANISER[p.post_type])
        if organiser is None:
            continue
        if p.legacy and p.status in SERVED_LAST_YEAR:
            plan.append((p, organiser, last))
        if p.status in CURRENT:
            plan.append((p, organiser, this_year))
    programs = _programs(((o, p.post_type, y) for p, o, y in plan), this_year, now)
    _insert(Program, programs.rows, "programs", progress)
    result.programs = len(programs.rows)
    enrolments, completions, used = [], [], set()
    serials: Counter[str] = Counter()
    seen: set[tuple[int, int]] = set()
    for p, organiser, year in plan:
        program_id = programs.ids[(organiser, p.post_type, year)]
        if (program_id, p.person_id) in seen:
            continue
        seen.add((program_id, p.person_id))
        enrolled_at = _at(date(year, 3, 1) - timedelta(days=rng.randint(1, 20)), rng)
        done = year < this_year and rng.random() < COMPLETION_SHARE
        completed_on = date(year, 3, 1) + timedelta(days=rng.randint(30, 270)) if done else None
        enrolments.append({
            "program_id": program_id, "person_id": p.person_id, "org_unit_id": p.unit_id,
            "status": "completed" if done else "enrolled", "waitlist_position": None,
            "due_on": date(year, 11, 30), "enrolled_at": enrolled_at,
            "completed_at": _at(completed_on, rng) if completed_on else None,
            "restarted_at": None})
        if completed_on is None:
            continue
        city = units.code[units.up_to(organiser, Level.CITY) or organiser][:4]
        prefix = f"{city}-{year}-"
        serials[prefix] += 1
        level = ORGANISER[p.post_type]
        completions.append({
            "person_id": p.person_id, "program_id": program_id, "org_unit_id": p.unit_id,
            "tier": TIER[level], "kind": "in_service", "post_type": p.post_type.value,
            "completed_on": completed_on, "credit_hours": CREDIT_HOURS[p.post_type],
            "exam_score": None, "serial_no": f"{prefix}{serials[prefix]:06d}",
            "verify_code": _verify_code(rng, used), "valid_until": None,
            "created_at": _at(completed_on, rng)})
    _insert(Enrollment, enrolments, "enrolments", progress)
    _insert(Completion, completions, "completions", progress)
    result.enrolments, result.completions = len(enrolments), len(completions)


def _paper(rng: random.Random) -> list[QuestionVersion]:
    bank_id = db.session.scalar(select(QuestionBank.id).where(QuestionBank.code == BANK_CODE))
    versions = list(db.session.scalars(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank_id, QuestionVersion.type != SHORT)
        .order_by(QuestionVersion.question_id)))
    return sorted(rng.sample(versions, PAPER_SIZE), key=lambda v: v.question_id)


def _exam(root_id: int, title: str, paper: list[QuestionVersion], opens: datetime,
          now: datetime) -> int:
    exam = Exam(org_unit_id=root_id, title=title, status="published", audience_post_types="",
                opens_at=opens, closes_at=opens + timedelta(days=7), time_limit_minutes=30,
                attempts_allowed=1, pass_score=ITEM_POINTS * PAPER_SIZE * Decimal("0.6"),
                shuffle_questions=False, shuffle_options=False, show_answers="after_close",
                created_at=opens - timedelta(days=14), updated_at=now,
                published_at=opens - timedelta(days=7), paper_mode="fixed",
                description=f"共{PAPER_SIZE}题，每题{ITEM_POINTS}分，满分100分，60分及格。")
    db.session.add(exam)
    db.session.flush()
    db.session.execute(insert(PaperItem.__table__), [
        {"exam_id": exam.id, "question_id": v.question_id, "position": n, "points": ITEM_POINTS}
        for n, v in enumerate(paper, 1)])
    return exam.id


def _exams(posts: list[_Post], users: dict[int, int], now: datetime, rng: random.Random,
           result: HistoryResult, progress: Progress) -> None:
    root_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))
                                .order_by(OrgUnit.id).limit(1))
    last = now.date().year - 1
    people = sorted({p.person_id: p for p in posts
                     if p.legacy and p.status in SERVED_LAST_YEAR}.values(),
                    key=lambda p: p.person_id)
    ability = {p.person_id: rng.gauss(0, 1) for p in people}
    attempt_id, item_id = _next_id(Attempt), _next_id(AttemptItem)
    for title, month, day in EXAMS:
        paper = _paper(rng)
        opens = datetime.combine(date(last, month, day), time(1), tzinfo=UTC)
        exam_id = _exam(root_id, title.format(year=last), paper, opens, now)
        hardness = [((v.difficulty or 3) - 3) * 0.8 - 0.3 for v in paper]
        attempts, items = [], []
        for p in people:
            if rng.random() >= SITTING_SHARE:
                continue
            minutes = rng.randint(10, 30)
            start = opens + timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 600))
            submitted = start + timedelta(minutes=minutes)
            score = Decimal(0)
            for n, (v, hard) in enumerate(zip(paper, hardness, strict=True), 1):
                right = rng.random() < 1 / (1 + math.exp(-1.7 * (ability[p.person_id] - hard)))
                points = ITEM_POINTS if right else Decimal(0)
                score += points
                items.append({
                    "id": item_id, "attempt_id": attempt_id, "position": n,
                    "question_id": v.question_id, "question_version_id": v.id,
                    "max_points": ITEM_POINTS,
                    "option_order": list(range(len(v.options))) if v.options else None,
                    "response": _response(v, right, rng), "client_seq": n,
                    "saved_at": start + timedelta(minutes=n * minutes / (PAPER_SIZE + 1)),
                    "flagged": False, "score": points, "marked_by_id": None, "marked_at": None,
                    "comment": ""})
                item_id += 1
            attempts.append({
                "id": attempt_id, "exam_id": exam_id, "org_unit_id": root_id,
                "person_id": p.person_id, "user_id": users[p.person_id],
                "candidate_unit_id": p.unit_id, "number": 1,
                "state": "auto_submitted" if minutes == 30 else "submitted",
                "seed": rng.randrange(2**31), "started_at": start,
                "deadline": start + timedelta(minutes=30), "submitted_at": submitted,
                "last_seq": PAPER_SIZE, "last_saved_at": submitted - timedelta(minutes=1),
                "submit_token": f"{rng.getrandbits(128):032x}",
                "max_score": ITEM_POINTS * PAPER_SIZE, "score": score,
                "passed": score >= ITEM_POINTS * PAPER_SIZE * Decimal("0.6"),
                "needs_marking": False, "marked_at": submitted})
            attempt_id += 1
        _insert(Attempt, attempts, "attempts", progress)
        _insert(AttemptItem, items, "attempt items", progress)
        result.attempts += len(attempts)
        result.items += len(items)


def sync_sequences(*models: Any) -> None:
    """PostgreSQL: explicit ids do not advance the id sequences, so move them past the rows."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - model names
            f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def load_history(seed: int, now: datetime, progress: Progress = _quiet) -> HistoryResult:
    """Accounts, a year of programs, enrolments, completions and exam attempts (see above)."""
    rng = random.Random(f"{seed}:history")  # noqa: S311 - seeded synthetic data
    result = HistoryResult()
    posts = _posts()
    units = _Units()
    users = _accounts(posts, now, progress)
    result.accounts = len(users)
    _training(posts, units, now, rng, result, progress)
    _exams(posts, users, now, rng, result, progress)
    sync_sequences(User, Program, Enrollment, Completion, Attempt, AttemptItem)
    return result
