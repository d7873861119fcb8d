"""Questions of a bank: create, edit (versioned), retire and restore.

A question is checked by exactly the rules an import obeys (``lms.exams.formats.checks``),
each problem attributed to the form field it concerns. Editing a question whose current version
any attempt has used adds a new version and points the question at it, so old attempts keep
what they saw; an unused version is edited in place. Every change is audited with the changed
fields before and after; services flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.models import User
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.banks import ensure_open
from lms.exams.formats.checks import check_question
from lms.exams.formats.model import (
    CHOICE_TYPES,
    FILL,
    MAX_LABEL,
    POST_TYPES,
    QUESTION_TYPES,
    SHORT,
    TRUE_FALSE,
    ParsedQuestion,
    clean_text,
    duplicate_key,
    mark_blanks,
)
from lms.exams.models import AttemptItem, Question, QuestionBank, QuestionVersion
from lms.extensions import db
from lms.i18n import _

#: Fields of ``QuestionVersion`` that hold the question's content.
VERSION_FIELDS = ("type", "stem", "options", "answer", "reference_answer", "explanation",
                  "points", "difficulty", "knowledge_point", "category", "post_types", "tags",
                  "source", "title")
_PLAIN = ParsedQuestion(SHORT, "题", (), None, Decimal(1))


class QuestionProblems(ValidationFailed):
    """Every broken rule of a question, as ``(field or None, message)`` pairs."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__(problems[0][1], problems[0][0])
        self.problems = problems


# ---------------------------------------------------------------- conversions


def version_fields(q: ParsedQuestion) -> dict[str, Any]:
    """The ``QuestionVersion`` column values of a parsed question."""
    if q.type in CHOICE_TYPES:
        answer: Any = sorted(q.answer)
    elif q.type == FILL:
        answer = [list(accepted) for accepted in q.answer]
    elif q.type == TRUE_FALSE:
        answer = bool(q.answer)
    else:
        answer = None
    return {
        "type": q.type, "stem": q.stem, "options": list(q.options), "answer": answer,
        "reference_answer": (q.answer or "") if q.type == SHORT else "",
        "explanation": q.explanation, "points": q.points, "difficulty": q.difficulty,
        "knowledge_point": q.knowledge_point, "category": q.category,
        "post_types": ",".join(q.post_types), "tags": ",".join(q.tags), "source": q.source,
        "title": q.title,
    }


def to_parsed(v: QuestionVersion) -> ParsedQuestion:
    """The parsed form of a stored version (what the exporters write)."""
    if v.type in CHOICE_TYPES:
        answer: Any = tuple(v.answer or ())
    elif v.type == FILL:
        answer = tuple(tuple(accepted) for accepted in v.answer or ())
    elif v.type == TRUE_FALSE:
        answer = bool(v.answer)
    else:
        answer = v.reference_answer or None
    return ParsedQuestion(
        type=v.type, stem=v.stem, options=tuple(v.options or ()), answer=answer,
        points=Decimal(v.points), explanation=v.explanation, difficulty=v.difficulty,
        knowledge_point=v.knowledge_point, category=v.category,
        post_types=tuple(p for p in v.post_types.split(",") if p),
        tags=tuple(t for t in v.tags.split(",") if t), source=v.source, title=v.title)


def dup_key(q: ParsedQuestion) -> str:
    """SHA-256 of the normalised stem and options (``formats.model.duplicate_key``)."""
    key = json.dumps(duplicate_key(q), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------- checks


def tidy(q: ParsedQuestion) -> ParsedQuestion:
    """Texts as stored: cleaned of control characters and trimmed; fill-in blanks as ``____``."""
    stem = clean_text(q.stem)
    answer = q.answer
    if q.type == FILL and answer:
        answer = tuple(tuple(dict.fromkeys(t for a in accepted if (t := clean_text(a))))
                       for accepted in answer)
    elif q.type == SHORT:
        answer = clean_text(answer or "") or None
    return replace(
        q, stem=mark_blanks(stem) if q.type == FILL else stem,
        options=tuple(clean_text(o) for o in q.options) if q.type in CHOICE_TYPES else (),
        answer=answer, explanation=clean_text(q.explanation),
        knowledge_point=clean_text(q.knowledge_point), category=clean_text(q.category),
        tags=tuple(t for t in (clean_text(t) for t in q.tags) if t),
        source=clean_text(q.source), title=clean_text(q.title))


def problems(q: ParsedQuestion) -> list[tuple[str | None, str]]:
    """Every broken rule of *q* with the form field it concerns (None: the whole question).
    The rules are those of the importers; each part is checked on its own to name its field."""
    if q.type not in QUESTION_TYPES:
        return [("type", _("请选择题型。"))]
    found: list[tuple[str | None, str]] = []
    found += [("stem", m) for m in check_question(replace(_PLAIN, stem=q.stem))]
    if q.type in CHOICE_TYPES:
        found += [("options", m) for m in check_question(
            replace(_PLAIN, type=q.type, options=q.options, answer=q.answer))]
    elif q.type == TRUE_FALSE and not isinstance(q.answer, bool):
        found.append(("truth", _("请选择“对”或“错”。")))
    elif q.type == FILL and not found:
        found += [("blanks", m) for m in check_question(
            replace(_PLAIN, type=FILL, stem=q.stem, answer=q.answer or ()))]
    elif q.type == SHORT:
        found += [("reference_answer", m) for m in check_question(
            replace(_PLAIN, answer=q.answer))]
    for name in ("points", "explanation", "knowledge_point", "category", "source", "tags"):
        found += [(name, m) for m in check_question(replace(_PLAIN, **{name: getattr(q, name)}))]
    if q.difficulty is not None and not 1 <= q.difficulty <= 5:
        found.append(("difficulty", _("难度应为1–5或 易/较易/中等/较难/难")))
    if any(p not in POST_TYPES for p in q.post_types):
        found.append(("post_types", _("请从列表中选择适用岗位。")))
    if len(q.title) > MAX_LABEL:
        found.append(("title", _("标题不能超过%(n)s个字", n=MAX_LABEL)))
    if not found:  # the importers' rules on the whole question, as a last net
        found += [(None, m) for m in check_question(q)]
    return found


def checked(q: ParsedQuestion) -> ParsedQuestion:
    q = tidy(q)
    found = problems(q)
    if found:
        raise QuestionProblems(found)
    return q


def duplicate_of(bank: QuestionBank, key: str, *, but: int | None = None) -> int | None:
    """The id of a question (not retired) of *bank* with this duplicate key, if any."""
    return db.session.execute(select(Question.id).where(
        Question.bank_id == bank.id, Question.dup_key == key, Question.is_retired.is_(False),
        Question.id != (but or 0)).order_by(Question.id).limit(1)).scalar()


def duplicate_message(question_id: int) -> str:
    return _("与题库中已有试题重复（题号 %(n)s）", n=question_id)


def _refuse_duplicate(bank: QuestionBank, key: str, but: int | None = None) -> None:
    found = duplicate_of(bank, key, but=but)
    if found is not None:
        raise ValidationFailed(duplicate_message(found), "stem")


def _editable(actor: Any, bank: QuestionBank) -> None:
    ensure(actor, Perm.EXAM_MANAGE, bank.org_unit)
    ensure_open(bank)


# ---------------------------------------------------------------- changes


def create_question(bank: QuestionBank, q: ParsedQuestion, *, actor: Any,
                    now: datetime) -> Question:
    _editable(actor, bank)
    q = checked(q)
    key = dup_key(q)
    _refuse_duplicate(bank, key)
    question = Question(bank_id=bank.id, org_unit_id=bank.org_unit_id, dup_key=key,
                        created_at=now)
    db.session.add(question)
    db.session.flush()
    version = QuestionVersion(question_id=question.id, version=1, created_at=now,
                              created_by_id=getattr(actor, "id", None), **version_fields(q))
    db.session.add(version)
    db.session.flush()
    question.current_version_id = version.id
    db.session.flush()
    audit.record(actor, "exam.question_create", question, now=now, bank_id=bank.id,
                 type=q.type, stem=q.stem[:100])
    return question


def is_used(version: QuestionVersion) -> bool:
    """Has any attempt been given this version?"""
    return db.session.execute(select(AttemptItem.id).where(
        AttemptItem.question_version_id == version.id).limit(1)).first() is not None


def update_question(question: Question, q: ParsedQuestion, *, actor: Any,
                    now: datetime) -> dict[str, list[Any]]:
    """Save the edit; returns ``{field: [before, after]}`` (empty when nothing changed)."""
    bank = question.bank
    _editable(actor, bank)
    q = checked(q)
    current = question.current
    new = version_fields(q)
    changes = {name: [getattr(current, name), value] for name, value in new.items()
               if getattr(current, name) != value}
    if not changes:
        return {}
    key = dup_key(q)
    _refuse_duplicate(bank, key, question.id)
    versioned = is_used(current)
    if versioned:
        version = QuestionVersion(question_id=question.id, version=current.version + 1,
                                  created_at=now, created_by_id=getattr(actor, "id", None),
                                  **new)
        db.session.add(version)
        db.session.flush()
        question.current_version_id = version.id
    else:
        version = current
        for name, value in new.items():
            setattr(current, name, value)
    question.dup_key = key
    db.session.flush()
    db.session.expire(question, ["current"])
    audit.record(actor, "exam.question_update", question, now=now, version=version.version,
                 new_version=versioned, changes=changes)
    return changes


def set_question_retired(question: Question, retired: bool, *, actor: Any,
                         now: datetime) -> None:
    """Retire (kept for old attempts and statistics, never drawn again) or restore."""
    bank = question.bank
    _editable(actor, bank)
    if question.is_retired == retired:
        return
    if not retired and duplicate_of(bank, question.dup_key, but=question.id) is not None:
        raise InvalidState(duplicate_message(duplicate_of(bank, question.dup_key,
                                                          but=question.id)))
    question.is_retired = retired
    db.session.flush()
    audit.record(actor, "exam.question_retire" if retired else "exam.question_restore",
                 question, now=now, bank_id=bank.id)


# ---------------------------------------------------------------- queries


def history(question: Question) -> list[tuple[QuestionVersion, str | None, int]]:
    """Every version, newest first, with its author's name and how many attempts used it."""
    used = (select(AttemptItem.question_version_id, func.count().label("n"))
            .where(AttemptItem.question_id == question.id)
            .group_by(AttemptItem.question_version_id).subquery())
    rows = db.session.execute(
        select(QuestionVersion, User.display_name, func.coalesce(used.c.n, 0))
        .outerjoin(User, User.id == QuestionVersion.created_by_id)
        .outerjoin(used, used.c.question_version_id == QuestionVersion.id)
        .where(QuestionVersion.question_id == question.id)
        .order_by(QuestionVersion.version.desc())).all()
    return [(v, name, n) for v, name, n in rows]
