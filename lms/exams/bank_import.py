"""Write an import (``lms.exams.formats.read_questions``) into a bank: all or nothing.

``plan_import`` sorts the file's questions into new ones and those already in the bank (same
normalised stem and options as a question that is not retired): the latter are reported with
the existing question's number and skipped. Any error in the file — a bad row or block, a repeat
inside the file — means nothing is written. ``apply_import`` writes the new questions with one
audit entry for the whole import; it flushes, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import ValidationFailed
from lms.exams.banks import ensure_open
from lms.exams.formats.model import ImportResult, ParsedQuestion, Problem
from lms.exams.models import Question, QuestionBank, QuestionVersion
from lms.exams.questions import dup_key, duplicate_message, problems, tidy, version_fields
from lms.extensions import db
from lms.i18n import _


@dataclass
class ImportPlan:
    #: New questions, in file order.
    questions: list[ParsedQuestion] = field(default_factory=list)
    #: Questions the bank already has: reported, skipped on import.
    duplicates: list[Problem] = field(default_factory=list)
    #: Problems of the file: any of them and nothing is written.
    errors: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def plan_import(bank: QuestionBank, result: ImportResult) -> ImportPlan:
    """What importing *result* into *bank* would do (reads only; one query)."""
    existing = dict(db.session.execute(
        select(Question.dup_key, Question.id).where(
            Question.bank_id == bank.id, Question.is_retired.is_(False))
        .order_by(Question.id.desc())).all())
    plan = ImportPlan(errors=list(result.errors))
    for parsed in result.questions:
        q = tidy(parsed)
        found = problems(q)
        if found:
            plan.errors += [Problem(q.where, message) for _field, message in found]
            continue
        same = existing.get(dup_key(q))
        if same is not None:
            plan.duplicates.append(Problem(q.where, duplicate_message(same)))
        else:
            plan.questions.append(q)
    return plan


def apply_import(bank: QuestionBank, plan: ImportPlan, *, actor: Any, now: datetime,
                 filename: str = "", fmt: str = "") -> list[Question]:
    """Write every new question of *plan* (refused whole when the plan has errors)."""
    ensure(actor, Perm.EXAM_MANAGE, bank.org_unit)
    ensure_open(bank)
    if not plan.ok:
        raise ValidationFailed(_("文件中有 %(n)s 处错误，没有导入任何试题。", n=len(plan.errors)))
    author = getattr(actor, "id", None)
    rows = [Question(bank_id=bank.id, org_unit_id=bank.org_unit_id, dup_key=dup_key(q),
                     created_at=now) for q in plan.questions]
    db.session.add_all(rows)
    db.session.flush()
    versions = [QuestionVersion(question_id=row.id, version=1, created_at=now,
                                created_by_id=author, **version_fields(q))
                for row, q in zip(rows, plan.questions, strict=True)]
    db.session.add_all(versions)
    db.session.flush()
    for row, version in zip(rows, versions, strict=True):
        row.current_version_id = version.id
    db.session.flush()
    audit.record(actor, "exam.question_import", bank, now=now, code=bank.code,
                 created=len(rows), duplicates=len(plan.duplicates), file=filename[:100],
                 format=fmt)
    return rows
