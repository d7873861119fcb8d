"""The benchmark's template database: the demo data set of a size plus the scenario data.

Built once per size and code version (``bench/cache/``), then copied fresh for every round:

- one account per person holding a current post (``bench<person id>``), all sharing one
  precomputed password hash, each with an open server-side session (tokens kept in the cache);
- ``EXAMS_FOR_START`` published exams of the top unit (the city; the province at L), open to
  everyone, 20 questions, 30 minutes, one attempt: exam start draws distinct (trainee, exam)
  pairs;
- one untimed exam with an attempt in progress for every trainee: autosave writes each
  (attempt, position) once, so rows written can be counted;
- the course files and ``ENROLMENTS`` in-service programs of the top unit, every trainee
  enrolled;
- sessions for the demo's township trainer (results page) and city HR (evaluation report).
"""

from __future__ import annotations

import hashlib
import json
import resource
import secrets
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from lms import create_app
from lms.auth import passwords
from lms.auth.models import User, UserSession
from lms.auth.services.common import token_hash
from lms.bench_anchors import ensure_table
from lms.courses.models import Course
from lms.courses.sync import sync_from_disk
from lms.db import utcnow, write_intent
from lms.demo import accounts, load
from lms.demo.exams import BANK_CODE
from lms.exams import attempts as engine
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
from lms.exams.responses import blank_count
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post
from lms.training.models import Enrollment, Program, ProgramCourse

ROOT = Path(__file__).resolve().parents[1]
SEED = 3713
EXAMS_FOR_START = 20
ENROLMENTS = 5
MAX_TRAINEES = 2000
STAFF = ("town_trainer", "city_hr")
#: Fixed keys: the template's encrypted ID numbers and the cookies must match the server's.
KEYS = {"SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "AUDIT_KEY": "bench-audit-key-0123456789abcdef0123456789",
        "PII_KEY": "bench-pii-key-0123456789abcdef0123456789"}
CURRENT = ("nominated", "pending_onboarding", "onboarded", "in_post")


def version() -> str:
    """Hash of the code the template depends on: change it and the template is rebuilt."""
    digest = hashlib.sha256()
    files = [ROOT / "bench/template.py", *sorted((ROOT / "lms/demo").rglob("*.py")),
             *sorted(ROOT.glob("lms/*/models.py")), *sorted((ROOT / "migrations").rglob("*.py"))]
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def make_app(url: str, **extra: Any) -> Any:
    return create_app({**KEYS, "SQLALCHEMY_DATABASE_URI": url, **extra})


def _sessions(user_ids: list[int], now: datetime) -> list[str]:
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    pairs = zip(tokens, user_ids, strict=True)
    db.session.execute(insert(UserSession), [
        {"token_hash": token_hash(t), "user_id": uid, "created_at": now, "last_seen_at": now,
         "ip": "127.0.0.1", "user_agent": "bench"} for t, uid in pairs])
    return tokens


def _trainees(now: datetime) -> list[int]:
    """Accounts of the first ``MAX_TRAINEES`` people with a current post: their own where the
    demo data set made one (every person at L), else a new ``bench<person id>`` account; all
    new ones share one precomputed password hash. Returns the user ids in person order."""
    people = db.session.execute(
        select(Person.id, Person.name, Person.org_unit_id).join(Post, Post.person_id == Person.id)
        .where(Post.status.in_(CURRENT))
        .group_by(Person.id, Person.name, Person.org_unit_id)
        .order_by(Person.id).limit(MAX_TRAINEES)).all()
    ids = [p.id for p in people]
    have = dict(db.session.execute(select(User.person_id, User.id)
                                   .where(User.person_id.in_(ids))).all())
    missing = [p for p in people if p.id not in have]
    if missing:
        shared = passwords.hasher(current_app.config).hash(accounts.DEMO_PASSWORD)
        db.session.execute(insert(User), [
            {"username": f"bench{p.id}", "display_name": p.name, "person_id": p.id,
             "org_unit_id": p.org_unit_id, "password_hash": shared,
             "must_change_password": False, "password_changed_at": now, "created_at": now}
            for p in missing])
        have.update(db.session.execute(select(User.person_id, User.id)
                                       .where(User.person_id.in_(ids))).all())
    return [have[pid] for pid in ids]


def _exam(unit_id: int, title: str, paper: list[QuestionVersion], now: datetime,
          limit: int | None) -> Exam:
    exam = Exam(org_unit_id=unit_id, title=title, status="published", audience_post_types="",
                opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=3 * 365),
                time_limit_minutes=limit, attempts_allowed=1, pass_score=Decimal(60),
                created_at=now, updated_at=now, published_at=now, paper_mode="fixed")
    db.session.add(exam)
    db.session.flush()
    for position, v in enumerate(paper, 1):
        db.session.add(PaperItem(exam_id=exam.id, question_id=v.question_id, position=position,
                                 points=Decimal(5)))
    db.session.flush()
    return exam


def _paper() -> list[QuestionVersion]:
    bank = db.session.execute(select(QuestionBank)
                              .where(QuestionBank.code == BANK_CODE)).scalar_one()
    versions = db.session.execute(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank.id, QuestionVersion.type != SHORT)
        .order_by(QuestionVersion.question_id)).scalars().all()
    return list(versions[:20])


def _response(qtype: str, answer: Any) -> Any:
    if qtype == "true_false":
        return True
    if qtype == "fill_blank":
        return ["x"] * max(blank_count(qtype, answer), 1)
    return [0]


def _autosave_plan(exam: Exam, users: list[int], now: datetime) -> list[list[Any]]:
    """Start an attempt for every trainee; return [attempt id, user index, position, response]
    for every item, position-major (consecutive requests go to different attempts)."""
    index = {uid: i for i, uid in enumerate(users)}
    for user in db.session.execute(select(User).where(User.id.in_(users))).scalars():
        engine.start_attempt(exam, user, now=now)
    db.session.flush()
    rows = db.session.execute(
        select(Attempt.id, Attempt.user_id, AttemptItem.position, QuestionVersion.type,
               QuestionVersion.answer)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(Attempt.exam_id == exam.id).order_by(AttemptItem.position, Attempt.id)).all()
    return [[r.id, index[r.user_id], r.position, _response(r.type, r.answer)] for r in rows]


def _enrol(unit_id: int, users: list[int], now: datetime) -> None:
    """The course files, and ENROLMENTS open in-service programs of the top unit (each with the
    synced courses) with every bench trainee enrolled, so the trainee home has content."""
    sync_from_disk(ROOT / "courses", actor=None, now=now)
    course_ids = list(db.session.execute(select(Course.id).order_by(Course.id)).scalars())
    people = list(db.session.execute(select(User.person_id, User.org_unit_id)
                                     .where(User.id.in_(users))).all())
    for n in range(1, ENROLMENTS + 1):
        program = Program(org_unit_id=unit_id, title=f"基准测试在岗培训班 {n}",
                          kind="in_service", mode="online", audience_post_type="village_assistant",
                          status="open", starts_on=now.date() - timedelta(days=30),
                          ends_on=now.date() + timedelta(days=3 * 365), credit_hours=Decimal(8),
                          created_at=now, updated_at=now)
        db.session.add(program)
        db.session.flush()
        db.session.execute(insert(ProgramCourse), [
            {"program_id": program.id, "course_id": c, "position": i}
            for i, c in enumerate(course_ids)])
        db.session.execute(insert(Enrollment), [
            {"program_id": program.id, "person_id": pid, "org_unit_id": uid, "status": "enrolled",
             "enrolled_at": now, "due_on": program.ends_on} for pid, uid in people])


def add_scenarios(now: datetime) -> dict[str, Any]:
    root_id = db.session.execute(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))
                                 .order_by(OrgUnit.id).limit(1)).scalar_one()
    users = _trainees(now)
    _enrol(root_id, users, now)
    paper = _paper()
    start_ids = [_exam(root_id, f"基准测试考试 {n}", paper, now, 30).id
                 for n in range(1, EXAMS_FOR_START + 1)]
    autosave_exam = _exam(root_id, "基准测试自动保存", paper, now, None)
    plan = _autosave_plan(autosave_exam, users, now)
    staff = dict(db.session.execute(select(User.username, User.id)
                                    .where(User.username.in_(STAFF))).all())
    closed = db.session.execute(select(Exam.id).where(Exam.title.like("%已结束%"))).scalar_one()
    return {"trainee_tokens": _sessions(users, now),
            "staff_tokens": dict(zip(STAFF, _sessions([staff[s] for s in STAFF], now),
                                     strict=True)),
            "start_exam_ids": start_ids, "autosave_exam_id": autosave_exam.id,
            "autosave_plan": plan, "results_exam_id": closed,
            "max_unit_id": db.session.scalar(select(func.max(OrgUnit.id)))}


class Progress:
    """Prints each stage's progress (elapsed seconds, peak RSS) on stderr, at most every 2 s per
    stage and always at its end; keeps each stage's last elapsed time for the metadata."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown: dict[str, float] = {}
        self.stages: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic() - self.started
        if done < total and now - self.shown.get(stage, -10.0) < 2:
            return
        self.shown[stage] = now
        if done >= total:
            self.stages[stage] = round(now, 1)
        print(f"  [{now:7.1f} s, {peak_rss_mb():5.0f} MB] {stage}: {done} / {total}",
              file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(url: str, size: str) -> dict[str, Any]:
    """Load the demo data set and the scenario data into the (emptied) database at *url*."""
    app = make_app(url)
    progress = Progress()
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_table(db.engine)
        write_intent.set(True)
        now = utcnow()
        load.load(size, SEED, now=now, progress=progress)
        db.session.commit()
        progress("demo data committed", 1, 1)
        meta = add_scenarios(now)
        db.session.commit()
        progress("scenario data committed", 1, 1)
        meta["stages"] = progress.stages
        meta["peak_rss_mb"] = round(peak_rss_mb())
        db.session.remove()
        db.engine.dispose()
    return {**meta, "size": size, "version": version(), "built_at": now.isoformat()}


def save_meta(path: Path, meta: dict[str, Any]) -> None:
    path.write_text(json.dumps(meta), encoding="utf-8")
