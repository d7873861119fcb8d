"""Item analysis of an exam and of a bank's questions, from stored marks (``lms.exams.statistics``
does the maths; docs/exams.md "Item analysis pages" explains the choices).

Attempts used: each person's first finished attempt at an exam (Moodle's default), and only when
it is fully marked (no short answer waiting). Per question, the figures are Moodle's, computed
over the attempts that contained the question with the rest of each attempt's total as X₋ᵢ; on a
fixed paper this is exactly Moodle's matrix. The test figures use the full mark matrix when every
attempt had the same questions; with blueprint draws that differ, CIC, error ratio and standard
error are left undefined (there is no common set of questions) and the rest comes from totals.

Pooled figures combine the first attempts of every exam that used the question, each mark taken
as a fraction of its maximum and the rest of the attempt as a fraction of the rest's maximum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from lms.exams.models import FINISHED_STATES, Attempt, AttemptItem, Exam, PaperItem, Question
from lms.exams.models import QuestionVersion as Version
from lms.exams.statistics import QuestionStats, TestStats, item_analysis
from lms.extensions import db
from lms.i18n import _l

#: Below this many attempts the figures are shown with a warning and no flags (§4.4 note).
MIN_ATTEMPTS = 30
#: Thresholds (percent), from Moodle's user documentation and report code — see docs/exams.md.
TOO_EASY_ABOVE = 90
TOO_HARD_BELOW = 10
LOW_DISCRIMINATION_BELOW = 20
LOW_EFFICIENCY_BELOW = 15

FLAG_LABELS: dict[str, Any] = {
    "wrong_key": _l("可能答案有误"), "too_easy": _l("过易"), "too_hard": _l("过难"),
    "low_discrimination": _l("区分度低"),
}


def flags(stats: QuestionStats | None, n: int) -> tuple[str, ...]:
    """Plain-language warnings for one question's figures (none below ``MIN_ATTEMPTS``)."""
    if stats is None or n < MIN_ATTEMPTS:
        return ()
    out = []
    d, de, f = stats.discrimination_index, stats.discriminative_efficiency, stats.facility
    if d is not None and d < 0:
        out.append("wrong_key")
    if f is not None and f > TOO_EASY_ABOVE:
        out.append("too_easy")
    if f is not None and f < TOO_HARD_BELOW:
        out.append("too_hard")
    if (d is not None and 0 <= d < LOW_DISCRIMINATION_BELOW) or (
            (d is None or d >= 0) and de is not None and de < LOW_EFFICIENCY_BELOW):
        out.append("low_discrimination")
    return tuple(out)


@dataclass
class Figures:
    """One question's statistics over *n* attempts (stats None when there is no attempt)."""

    n: int = 0
    stats: QuestionStats | None = None

    @property
    def flags(self) -> tuple[str, ...]:
        return flags(self.stats, self.n)


@dataclass
class QuestionRow:
    question_id: int
    position: int
    type: str
    stem: str
    max_points: Decimal | None
    exam: Figures = field(default_factory=Figures)
    pooled: Figures = field(default_factory=Figures)


@dataclass
class ExamAnalysis:
    n: int
    test: TestStats
    max_score: Decimal | None
    same_paper: bool
    questions: list[QuestionRow]

    @property
    def indicative(self) -> bool:
        return self.n < MIN_ATTEMPTS


# ---------------------------------------------------------------- pure helpers


Marks = dict[int, dict[int, tuple[Decimal, Decimal]]]  # attempt → question → (score, max)


def question_figures(pairs: list[tuple[Any, Any]], top: Any) -> Figures:
    """Figures of one question from (its mark, rest of the attempt) pairs, *top* its maximum."""
    if not pairs:
        return Figures()
    result = item_analysis(["q", "rest"], [top, 1], [[x, rest] for x, rest in pairs])
    return Figures(len(pairs), result.questions[0])


def exam_figures(marks: Marks) -> tuple[TestStats, dict[int, Figures], bool]:
    """Test statistics and each question's figures from one exam's marks."""
    totals = {aid: sum((s for s, _m in row.values()), Decimal(0)) for aid, row in marks.items()}
    sets = {frozenset(row) for row in marks.values()}
    same = len(sets) <= 1
    per_question: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    tops: dict[int, Decimal] = {}
    for aid, row in marks.items():
        for qid, (score, top) in row.items():
            per_question[qid].append((score, totals[aid] - score))
            tops.setdefault(qid, top)
    figures = {qid: question_figures(pairs, tops[qid]) for qid, pairs in per_question.items()}
    if same and sets:
        qids = sorted(next(iter(sets)))
        test = item_analysis([str(q) for q in qids], [tops[q] for q in qids],
                             [[row[q][0] for q in qids] for row in marks.values()]).test
    else:
        test = item_analysis(["total"], [1], [[t] for t in totals.values()]).test
        test = TestStats(test.n, test.mean, test.sd, test.skewness, test.kurtosis, None, None,
                         None)
    return test, figures, same


def pooled_figures(rows: Iterable[tuple[int, Any, Any, Any, Any]]) -> dict[int, Figures]:
    """Per question, from (question, mark, max, attempt total, attempt max) rows: marks as a
    fraction of the question's maximum, the rest as a fraction of the rest's maximum."""
    pairs: dict[int, list[tuple[Fraction, Fraction]]] = defaultdict(list)
    for qid, score, top, total, total_max in rows:
        if not top:
            continue
        rest_max = Fraction(total_max) - Fraction(top)
        rest = (Fraction(total) - Fraction(score)) / rest_max if rest_max else Fraction(0)
        pairs[qid].append((Fraction(score) / Fraction(top), rest))
    return {qid: question_figures(p, 1) for qid, p in pairs.items()}


# ---------------------------------------------------------------- queries


def _first_attempts(*where: Any) -> Any:
    """Ids of each person's first finished attempt per exam."""
    return (select(func.min(Attempt.id)).where(Attempt.state.in_(FINISHED_STATES), *where)
            .group_by(Attempt.exam_id, Attempt.person_id))


def exam_marks(exam: Exam) -> Marks:
    """Marks of the exam's counted attempts (one query)."""
    marks: Marks = defaultdict(dict)
    incomplete = set()
    for aid, qid, score, top in db.session.execute(
            select(AttemptItem.attempt_id, AttemptItem.question_id, AttemptItem.score,
                   AttemptItem.max_points)
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .where(Attempt.id.in_(_first_attempts(Attempt.exam_id == exam.id)),
                   Attempt.needs_marking.is_(False))).all():
        if score is None:
            incomplete.add(aid)
        marks[aid][qid] = (score, top)
    return {aid: row for aid, row in marks.items() if aid not in incomplete}


def pooled(question_ids: list[int]) -> dict[int, Figures]:
    """Pooled figures of the questions over every exam that used them (one query)."""
    if not question_ids:
        return {}
    used_in = (select(Attempt.exam_id).join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
               .where(AttemptItem.question_id.in_(question_ids)).distinct())
    rows = db.session.execute(
        select(AttemptItem.question_id, AttemptItem.score, AttemptItem.max_points, Attempt.score,
               Attempt.max_score)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(AttemptItem.question_id.in_(question_ids), AttemptItem.score.is_not(None),
               Attempt.score.is_not(None), Attempt.needs_marking.is_(False),
               Attempt.id.in_(_first_attempts(Attempt.exam_id.in_(used_in))))).all()
    return pooled_figures(rows)


def _question_texts(question_ids: list[int]) -> dict[int, tuple[str, str]]:
    return {qid: (qtype, stem) for qid, qtype, stem in db.session.execute(
        select(Question.id, Version.type, Version.stem)
        .join(Version, Version.id == Question.current_version_id)
        .where(Question.id.in_(question_ids))).all()}


def excerpt(stem: str, length: int = 60) -> str:
    text = " ".join(stem.split())
    return text if len(text) <= length else text[:length - 1] + "…"


def analyse_exam(exam: Exam) -> ExamAnalysis:
    marks = exam_marks(exam)
    test, figures, same = exam_figures(marks)
    paper = dict(db.session.execute(select(PaperItem.question_id, PaperItem.position)
                                    .where(PaperItem.exam_id == exam.id)).all())
    qids = sorted(set(figures) | set(paper), key=lambda q: (paper.get(q, 10**9), q))
    texts = _question_texts(qids)
    pool = pooled(qids)
    tops = {qid: top for row in marks.values() for qid, (_s, top) in row.items()}
    rows = [QuestionRow(qid, i, *texts.get(qid, ("", "")), tops.get(qid),
                        figures.get(qid, Figures()), pool.get(qid, Figures()))
            for i, qid in enumerate(qids, 1)]
    maxima = {sum((t for _s, t in row.values()), Decimal(0)) for row in marks.values()}
    return ExamAnalysis(len(marks), test, maxima.pop() if len(maxima) == 1 else None, same, rows)


def bank_questions(bank_id: int, *, limit: int | None, offset: int = 0) -> list[QuestionRow]:
    """The bank's questions (by id) with their pooled figures."""
    stmt = (select(Question.id, Version.type, Version.stem, Version.points)
            .join(Version, Version.id == Question.current_version_id)
            .where(Question.bank_id == bank_id).order_by(Question.id).offset(offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    found = db.session.execute(stmt).all()
    pool = pooled([r[0] for r in found])
    return [QuestionRow(qid, offset + i, qtype, stem, points, pooled=pool.get(qid, Figures()))
            for i, (qid, qtype, stem, points) in enumerate(found, 1)]


def bank_question_count(bank_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(Question)
                              .where(Question.bank_id == bank_id)).scalar_one()
