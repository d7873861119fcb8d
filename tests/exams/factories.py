"""Question banks, questions, exams and attempts for tests (flush only; the caller commits).

These write rows directly so a test of one area does not depend on another area's services.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lms.db import utcnow
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
from lms.org.models import OrgUnit, Person

_counter = iter(range(1, 10**9))


def make_bank(unit: OrgUnit, code: str | None = None, title: str = "民政业务题库") -> QuestionBank:
    bank = QuestionBank(code=code or f"BANK{next(_counter)}", title=title, org_unit_id=unit.id)
    db.session.add(bank)
    db.session.flush()
    return bank


def make_question(bank: QuestionBank, *, type: str = "single_choice",  # noqa: A002
                  stem: str | None = None, options: list[str] | None = None,
                  answer: Any = None, points: str | Decimal = "1", difficulty: int | None = 3,
                  category: str = "社会救助", knowledge_point: str = "最低生活保障",
                  reference_answer: str = "", explanation: str = "") -> Question:
    n = next(_counter)
    defaults: dict[str, tuple[list[str], Any]] = {
        "single_choice": (["甲", "乙", "丙", "丁"], [0]),
        "multiple_choice": (["甲", "乙", "丙", "丁"], [0, 2]),
        "true_false": ([], True),
        "fill_blank": ([], [["民政局", "民政部门"]]),
        "short_answer": ([], None),
    }
    default_options, default_answer = defaults[type]
    if stem is None:
        stem = f"第{n}题：低保审核确认由哪一级负责？" if type != "fill_blank" else \
            f"第{n}题：低保审核确认由县级____负责。"
    q = Question(bank_id=bank.id, org_unit_id=bank.org_unit_id, dup_key=f"k{n}")
    db.session.add(q)
    db.session.flush()
    v = QuestionVersion(question_id=q.id, version=1, type=type, stem=stem,
                        options=default_options if options is None else options,
                        answer=default_answer if answer is None else answer,
                        reference_answer=reference_answer, explanation=explanation,
                        points=Decimal(points), difficulty=difficulty, category=category,
                        knowledge_point=knowledge_point)
    db.session.add(v)
    db.session.flush()
    q.current_version_id = v.id
    db.session.flush()
    return q


def make_exam(unit: OrgUnit, questions: list[Question] = (), *, status: str = "published",
              title: str = "低保政策测试", **settings: Any) -> Exam:
    """A fixed-paper exam open from yesterday for a week, 60 minutes, pass mark 60 % of the
    paper (set ``pass_score`` to override)."""
    now = utcnow()
    fields: dict[str, Any] = {
        "org_unit_id": unit.id, "title": title, "status": status,
        "opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=7),
        "time_limit_minutes": 60, "shuffle_questions": False, "shuffle_options": False,
        "published_at": now if status == "published" else None,
    }
    fields.update(settings)
    exam = Exam(**fields)
    db.session.add(exam)
    db.session.flush()
    for i, q in enumerate(questions, start=1):
        db.session.add(PaperItem(exam_id=exam.id, question_id=q.id, position=i))
    db.session.flush()
    if "pass_score" not in settings and questions:
        total = sum((q.current.points for q in questions), Decimal(0))
        exam.pass_score = (total * Decimal("0.6")).quantize(Decimal("0.1"))
    db.session.flush()
    return exam


def make_attempt(exam: Exam, person: Person, user_id: int, *, state: str = "in_progress",
                 started_at: datetime | None = None, number: int = 1) -> Attempt:
    """An attempt with one item per paper question, in paper order, options unshuffled."""
    started = started_at or utcnow()
    limit = exam.time_limit_minutes
    ends = [started + timedelta(minutes=limit)] if limit else []
    if exam.closes_at is not None:
        ends.append(exam.closes_at)
    attempt = Attempt(exam_id=exam.id, org_unit_id=exam.org_unit_id, person_id=person.id,
                      user_id=user_id, candidate_unit_id=person.org_unit_id, number=number,
                      state=state, seed=secrets.randbelow(2**31), started_at=started,
                      deadline=min(ends) if ends else None,
                      submitted_at=None if state == "in_progress" else started,
                      submit_token=secrets.token_hex(16))
    db.session.add(attempt)
    db.session.flush()
    total = Decimal(0)
    for item in exam.items:
        v = item.question.current
        points = item.points if item.points is not None else v.points
        total += points
        db.session.add(AttemptItem(
            attempt_id=attempt.id, position=item.position, question_id=item.question_id,
            question_version_id=v.id, max_points=points,
            option_order=list(range(len(v.options))) if v.options else None))
    attempt.max_score = total
    db.session.flush()
    return attempt


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
