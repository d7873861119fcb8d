"""An exam's paper: the fixed list or the blueprint draw, the pool check before publishing, and
the reproducible per-attempt draw (seeded: the same seed always gives the same paper).

A blueprint slot draws from its bank's questions that are not retired, whose current version
has the slot's type and, when given, its category or knowledge point and difficulty. A question
is drawn at most once per paper, even when two slots could both take it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from lms.exams.models import BlueprintSlot, Exam, Question, QuestionVersion
from lms.extensions import db
from lms.i18n import _


@dataclass(frozen=True)
class PaperEntry:
    question_id: int
    version: QuestionVersion
    points: Decimal
    #: Original option indexes in the order shown (None when the type has no options).
    option_order: list[int] | None


def slot_pool(slot: BlueprintSlot) -> list[int]:
    """Ids of every question the slot may draw, ascending (ids only: banks can be large)."""
    stmt = (select(Question.id)
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.bank_id == slot.bank_id, Question.is_retired.is_(False),
                   QuestionVersion.type == slot.type)
            .order_by(Question.id))
    if slot.category:
        stmt = stmt.where(QuestionVersion.category == slot.category)
    if slot.knowledge_point:
        stmt = stmt.where(QuestionVersion.knowledge_point == slot.knowledge_point)
    if slot.difficulty is not None:
        stmt = stmt.where(QuestionVersion.difficulty == slot.difficulty)
    return list(db.session.execute(stmt).scalars())


def slot_label(slot: BlueprintSlot) -> str:
    from lms.exams.formats.checks import type_label

    parts = [slot.bank.title if slot.bank is not None else "", type_label(slot.type)]
    if slot.category:
        parts.append(slot.category)
    if slot.knowledge_point:
        parts.append(slot.knowledge_point)
    if slot.difficulty is not None:
        parts.append(_("难度%(d)s", d=slot.difficulty))
    return " · ".join(p for p in parts if p)


def pool_shortfalls(exam: Exam) -> list[str]:
    """One message per blueprint slot whose pool (after earlier slots took theirs) is too small;
    the exam may not be published while any remain."""
    problems = []
    taken: set[int] = set()
    for slot in exam.slots:
        free = [qid for qid in slot_pool(slot) if qid not in taken]
        if len(free) < slot.count:
            problems.append(_("第%(n)s组（%(slot)s）需要 %(need)s 题，题库中只有 %(have)s 题",
                              n=slot.position, slot=slot_label(slot), need=slot.count,
                              have=len(free)))
        taken.update(free[:slot.count])
    return problems


def fixed_problems(exam: Exam) -> list[str]:
    """Why a fixed paper cannot be published (empty paper, retired questions)."""
    if not exam.items:
        return [_("试卷还没有试题")]
    return [_("第%(n)s题已停用，请从试卷中移除", n=i) for i, item in enumerate(exam.items, 1)
            if item.question.is_retired or item.question.current_version_id is None]


def publish_problems(exam: Exam) -> list[str]:
    if exam.paper_mode == "blueprint":
        return pool_shortfalls(exam) if exam.slots else [_("组卷规则还没有设置")]
    return fixed_problems(exam)


def draw(exam: Exam, seed: int) -> list[PaperEntry]:
    """The paper for one attempt: fixed items or a blueprint draw, questions shuffled when the exam
    says so (blueprint draws always come in slot order, shuffled inside the paper likewise), and
    each choice question's options shuffled when the exam says so."""
    rng = random.Random(seed)  # noqa: S311 — a reproducible draw, not a secret
    entries: list[tuple[int, QuestionVersion, Decimal]] = []
    if exam.paper_mode == "blueprint":
        taken: set[int] = set()
        picks: list[tuple[int, Decimal]] = []
        for slot in exam.slots:
            free = [qid for qid in slot_pool(slot) if qid not in taken]
            picked = sorted(rng.sample(free, min(slot.count, len(free))))
            taken.update(picked)
            picks += [(qid, slot.points) for qid in picked]
        versions = _current_versions([qid for qid, _p in picks])
        entries = [(qid, versions[qid], points) for qid, points in picks]
    else:
        versions = _current_versions([item.question_id for item in exam.items])
        for item in exam.items:
            v = versions[item.question_id]
            entries.append((item.question_id, v, item.points if item.points is not None
                            else v.points))
    if exam.shuffle_questions:
        rng.shuffle(entries)
    out = []
    for qid, v, points in entries:
        order = list(range(len(v.options))) if v.options else None
        if order is not None and exam.shuffle_options:
            rng.shuffle(order)
        out.append(PaperEntry(qid, v, points, order))
    return out


def _current_versions(question_ids: list[int]) -> dict[int, QuestionVersion]:
    if not question_ids:
        return {}
    rows = db.session.execute(
        select(Question.id, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(Question.id.in_(question_ids))).all()
    return {qid: v for qid, v in rows}
