"""Scenario data added to a built template (``bench/template.py``), once per template version:

- ``SUBMIT_ATTEMPTS`` attempts in progress, every item answered, on ``submit`` exams of the top
  unit (untimed, one attempt per trainee and exam): the submit scenario sends each exactly once;
- the Locust exam-window exam: published, 120 minutes, questions not shuffled, so the replay
  knows each position's question type; two alternative valid responses per position.

Kept apart from the template builder so both evolve independently: ``ensure`` opens the template
database itself (SQLite file, or the PostgreSQL template database with nobody connected) and
records what it added in the template's metadata (``extra_version``).
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from bench import template, templates
from lms.auth.models import User, UserSession
from lms.db import utcnow, write_intent
from lms.exams.models import Attempt, AttemptItem, QuestionVersion
from lms.exams.paper import draw
from lms.exams.responses import blank_count, check_response
from lms.exams.scoring import deadline as compute_deadline
from lms.exams.scoring import one_place
from lms.extensions import db
from lms.org.models import OrgUnit, Person

VERSION = "1"
SUBMIT_ATTEMPTS = 10_000
WINDOW_EXAM_MINUTES = 120


def _alternatives(v: QuestionVersion) -> list[Any]:
    """Two different valid responses (as a browser sends them) for a question version."""
    n = blank_count(v.type, v.answer)
    if v.type == "true_false":
        return [True, False]
    if v.type == "fill_blank":
        return [["甲"] * max(n, 1), ["乙"] * max(n, 1)]
    if v.type in ("single_choice", "multiple_choice") and len(v.options or []) < 2:
        return [[0], [0]]
    return [[0], [1]]


def _stored(v: QuestionVersion, response: Any) -> Any:
    return check_response(v.type, len(v.options or []), blank_count(v.type, v.answer), response)


def _submit_exams(root_id: int, users: list[Any], paper: list[QuestionVersion],
                  now: Any) -> tuple[list[list[int]], list[int]]:
    """Exams whose attempts (one per trainee) are answered and ready to submit; returns
    [attempt id, user index] interleaved so consecutive requests go to different trainees."""
    n_exams = math.ceil(SUBMIT_ATTEMPTS / max(len(users), 1))
    stored = {v.id: _stored(v, _alternatives(v)[0]) for v in paper}
    plan: list[list[int]] = []
    exam_ids: list[int] = []
    for k in range(1, n_exams + 1):
        exam = template._exam(root_id, f"基准测试交卷 {k}", paper, now, None)
        deadline = compute_deadline(now, exam.time_limit_minutes, 0, exam.closes_at)
        max_score = one_place(sum((e.points for e in draw(exam, 0)), Decimal(0)))
        exam_ids.append(exam.id)
        db.session.execute(insert(Attempt), [
            {"exam_id": exam.id, "org_unit_id": root_id, "person_id": u.person_id,
             "user_id": u.id, "candidate_unit_id": u.org_unit_id, "number": 1,
             "state": "in_progress", "seed": 1000 * k + i, "started_at": now,
             "deadline": deadline, "submit_token": uuid.uuid4().hex, "last_seq": 1,
             "last_saved_at": now, "max_score": max_score} for i, u in enumerate(users)])
        attempts = db.session.execute(select(Attempt.id, Attempt.seed, Attempt.user_id)
                                      .where(Attempt.exam_id == exam.id)
                                      .order_by(Attempt.id)).all()
        rows = []
        for a in attempts:
            entries = draw(exam, a.seed)
            rows += [{"attempt_id": a.id, "position": n, "question_id": e.question_id,
                      "question_version_id": e.version.id, "max_points": one_place(e.points),
                      "option_order": e.option_order, "response": stored[e.version.id],
                      "client_seq": 1, "saved_at": now, "flagged": False, "comment": ""}
                     for n, e in enumerate(entries, start=1)]
        db.session.execute(insert(AttemptItem.__table__), rows)
        index = {u.id: i for i, u in enumerate(users)}
        plan += [[a.id, index[a.user_id]] for a in attempts]
    # interleave the exams: request i goes to exam i % n_exams
    per = len(users)
    return [plan[e * per + i] for i in range(per) for e in range(n_exams)], exam_ids


def _window_exam(root_id: int, paper: list[QuestionVersion], now: Any) -> dict[str, Any]:
    exam = template._exam(root_id, "基准测试考试窗口", paper, now, WINDOW_EXAM_MINUTES)
    exam.shuffle_questions = False
    db.session.flush()
    ordered = [e.version for e in draw(exam, 0)]
    return {"window_exam_id": exam.id,
            "window_responses": [_alternatives(v) for v in ordered]}


def _trainees(n: int) -> list[Any]:
    """The template's *n* trainee accounts in the order of their session tokens (the template
    opened their sessions first, then the staff's; at L they are the demo's own accounts, not
    ``bench…`` ones)."""
    ids = list(db.session.scalars(select(UserSession.user_id)
                                  .where(UserSession.user_agent == "bench")
                                  .order_by(UserSession.id).limit(n)))
    found = {u.id: u for u in db.session.execute(
        select(User.id, User.person_id, Person.org_unit_id)
        .join(Person, Person.id == User.person_id).where(User.id.in_(ids)))}
    return [found[i] for i in ids]


def add(trainees: int, now: Any = None) -> dict[str, Any]:
    now = now or utcnow()
    root_id = db.session.execute(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))
                                 .order_by(OrgUnit.id).limit(1)).scalar_one()
    users = _trainees(trainees)
    paper = template._paper()
    plan, exam_ids = _submit_exams(root_id, users, paper, now)
    meta: dict[str, Any] = {"submit_plan": plan, "submit_exam_ids": exam_ids}
    meta.update(_window_exam(root_id, paper, now))
    return meta


def template_url(setup: templates.Setup, db_kind: str) -> str:
    if db_kind == "sqlite":
        return f"sqlite:///{setup.template}"
    return make_url(setup.run_url).set(database=setup.template).render_as_string(
        hide_password=False)


def ensure(setup: templates.Setup, size: str, db_kind: str) -> None:
    """Add the data to the template unless its metadata says it is there already."""
    stamp = f"{VERSION}:{setup.meta['version']}"
    if setup.meta.get("extra_version") == stamp:
        return
    print("adding the submit and exam-window data to the template …", flush=True)
    app = template.make_app(template_url(setup, db_kind))
    with app.app_context():
        write_intent.set(True)
        extra = add(len(setup.meta["trainee_tokens"]), utcnow() - timedelta(minutes=1))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    setup.meta.update(extra, extra_version=stamp)
    template.save_meta(templates.CACHE / f"{size}-{db_kind}.json", setup.meta)
