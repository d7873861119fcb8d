"""The attempt engine: start, autosave, submit, the deadline and the sweeper (security R22–R24,
reliability promises P1–P6). Flush only; the views and the sweep command commit.

- The server alone fixes the deadline at start (``scoring.deadline``); no client field is read.
- Saves are conditional per item (``client_seq < :seq``), so an old save never overwrites a newer
  one, and are refused (409) once the attempt is finished or after ``deadline + grace``.
  Late saves are not audited (the attempt's auto submission is); they are logged as a warning on
  the ``lms.exams.attempts`` logger.
- Submission is one conditional UPDATE (``state = 'in_progress'``): double clicks, two tabs and
  the sweeper racing the candidate give one final state, one mark and one audit entry.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from lms import audit
from lms.auth.services.sessions import register_idle_exemption
from lms.db import write_intent
from lms.exams import hooks
from lms.exams.attempt_errors import CONFLICT, FORBIDDEN, AttemptRefused
from lms.exams.audience import may_sit
from lms.exams.models import FINISHED_STATES, Attempt, AttemptItem, Exam, QuestionVersion
from lms.exams.overrides import extra_minutes_for
from lms.exams.paper import draw
from lms.exams.responses import blank_count, check_response, parse_answers
from lms.exams.scoring import deadline as compute_deadline
from lms.exams.scoring import one_place
from lms.exams.totals import mark_objective
from lms.extensions import db
from lms.i18n import _

log = logging.getLogger(__name__)

IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class SaveResult:
    #: Positions whose answer is now stored (by this save or by a newer one already there).
    saved: list[int]
    last_seq: int
    saved_at: datetime
    remaining_seconds: int | None


# ---------------------------------------------------------------- time

def grace(exam: Exam) -> timedelta:
    return timedelta(seconds=max(exam.grace_seconds or 0, 0))


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    """Past ``deadline + grace``: nothing more may be written by the candidate."""
    return attempt.deadline is not None and now > attempt.deadline + grace(attempt.exam)


def remaining_seconds(attempt: Attempt, now: datetime) -> int | None:
    """Whole seconds left before the deadline (0 when passed); None = no deadline."""
    if attempt.deadline is None:
        return None
    return max(int((attempt.deadline - now).total_seconds()), 0)


# ---------------------------------------------------------------- start

def _open_attempt(exam_id: int, person_id: int) -> Attempt | None:
    return db.session.execute(
        select(Attempt).where(Attempt.exam_id == exam_id, Attempt.person_id == person_id,
                              Attempt.state == IN_PROGRESS)
        .execution_options(populate_existing=True)).scalar()


def _check_may_start(exam: Exam, person: Any, now: datetime, passcode: str | None,
                     audience_checked: bool) -> None:
    if exam.status != "published" or not (audience_checked or may_sit(person, exam)):
        raise AttemptRefused(_("您不在这场考试的考生范围内。"), FORBIDDEN)
    if exam.opens_at is not None and now < exam.opens_at:
        raise AttemptRefused(_("考试还没有开始，请在开考时间后再进入。"), FORBIDDEN)
    if exam.closes_at is not None and now >= exam.closes_at:
        raise AttemptRefused(_("考试已经结束，不能再开始答题。"), FORBIDDEN)
    if exam.passcode:
        given = (passcode or "").strip().encode()
        if not hmac.compare_digest(given, exam.passcode.strip().encode()):
            raise AttemptRefused(_("考场口令不正确，请向监考老师确认。"), FORBIDDEN)


def attempts_left(exam: Exam, person_id: int) -> int | None:
    """Attempts the person may still start (None: unlimited); attempts before the person's
    floor (a repeated course) do not count."""
    if not exam.attempts_allowed:
        return None
    floor = hooks.attempt_floor(exam, person_id)
    stmt = select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id,
                                                Attempt.person_id == person_id)
    if floor is not None:
        stmt = stmt.where(Attempt.started_at >= floor)
    return max(exam.attempts_allowed - db.session.execute(stmt).scalar_one(), 0)


def start_attempt(exam: Exam, user: Any, *, now: datetime, passcode: str | None = None,
                  audience_checked: bool = False) -> Attempt:
    """The person's open attempt (idempotent), or a new one with its drawn paper.

    ``audience_checked``: the caller loaded *exam* through the audience filter in this
    transaction (the candidate's route, ``owned(exam_id=Exam)``), so it is not run twice."""
    person = user.person
    if person is None:
        raise AttemptRefused(_("您的账号没有关联人员信息，不能参加考试。"), FORBIDDEN)
    existing = _open_attempt(exam.id, person.id)
    if existing is not None:
        touch(existing, now)
        if existing.state == IN_PROGRESS:
            return existing
    _check_may_start(exam, person, now, passcode, audience_checked)
    floor = hooks.attempt_floor(exam, person.id)
    counted = func.count(Attempt.id) if floor is None else \
        func.count(Attempt.id).filter(Attempt.started_at >= floor)
    used, last_number = db.session.execute(
        select(counted, func.coalesce(func.max(Attempt.number), 0))
        .where(Attempt.exam_id == exam.id, Attempt.person_id == person.id)).one()
    if exam.attempts_allowed and used >= exam.attempts_allowed:
        raise AttemptRefused(_("您已用完这场考试的 %(n)s 次作答机会。", n=exam.attempts_allowed),
                             FORBIDDEN)
    seed = secrets.randbelow(2**31)
    attempt = Attempt(
        exam_id=exam.id, org_unit_id=exam.org_unit_id, person_id=person.id, user_id=user.id,
        candidate_unit_id=person.org_unit_id, number=last_number + 1, state=IN_PROGRESS,
        seed=seed, started_at=now, submit_token=uuid.uuid4().hex, last_seq=0,
        deadline=compute_deadline(now, exam.time_limit_minutes,
                                  extra_minutes_for(exam, person), exam.closes_at))
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError:  # a concurrent start won (the savepoint is undone): use its attempt
        winner = _open_attempt(exam.id, person.id)
        if winner is None:
            raise AttemptRefused(_("考试正在开始，请刷新页面。"), CONFLICT) from None
        return winner
    _add_items(attempt, exam, seed)
    audit.record(user, "exam.attempt_started", attempt, now=now, exam_id=exam.id,
                 number=attempt.number,
                 deadline=attempt.deadline.isoformat() if attempt.deadline else None)
    return attempt


def _add_items(attempt: Attempt, exam: Exam, seed: int) -> None:
    entries = draw(exam, seed)
    rows = [{"attempt_id": attempt.id, "position": n, "question_id": e.question_id,
             "question_version_id": e.version.id, "max_points": one_place(e.points),
             "option_order": e.option_order, "response": None, "client_seq": 0,
             "flagged": False, "comment": ""}
            for n, e in enumerate(entries, start=1)]
    if rows:
        db.session.execute(insert(AttemptItem.__table__), rows)
    attempt.max_score = one_place(sum((r["max_points"] for r in rows), Decimal(0)))
    db.session.flush()


# ---------------------------------------------------------------- save

def _locked(attempt: Attempt) -> Attempt:
    """Re-read under a row lock on PostgreSQL. A SQLite write request opened its transaction
    with BEGIN IMMEDIATE, so the attempt it read already was read under the write lock."""
    if write_intent.get() and db.engine.dialect.name == "sqlite":
        return attempt
    return db.session.execute(
        select(Attempt).where(Attempt.id == attempt.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _refuse_finished(attempt: Attempt) -> AttemptRefused:
    return AttemptRefused(_("已经交卷，答案不能再修改。"), CONFLICT, state=attempt.state)


def save_answers(attempt: Attempt, user: Any, answers: Any, *, now: datetime) -> SaveResult:
    """Store the answers (list of ``{position, seq, response, flagged?}``) that are newer than
    what is stored; refuse the whole request when any of them is malformed."""
    wanted = parse_answers(answers)
    attempt = _locked(attempt)
    if attempt.state != IN_PROGRESS:
        raise _refuse_finished(attempt)
    if is_overdue(attempt, now):
        log.warning("late save refused: attempt %s of exam %s, user %s, %s after the deadline",
                    attempt.id, attempt.exam_id, getattr(user, "id", None),
                    now - attempt.deadline)  # type: ignore[operator]
        raise AttemptRefused(_("考试时间已到，答案不能再修改。"), CONFLICT, state=attempt.state)
    saved: list[int] = []
    if wanted:
        saved = _store(attempt, wanted, now)
        attempt.last_seq = max(attempt.last_seq, *(a.seq for a in wanted))
        attempt.last_saved_at = now
        db.session.flush()
    return SaveResult(saved, attempt.last_seq, now, remaining_seconds(attempt, now))


def _store(attempt: Attempt, wanted: list, now: datetime) -> list[int]:
    rows = {r.position: r for r in db.session.execute(
        select(AttemptItem.position, AttemptItem.client_seq, QuestionVersion.type,
               QuestionVersion.options, QuestionVersion.answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id,
               AttemptItem.position.in_([a.position for a in wanted])))}
    checked = []
    for a in wanted:
        row = rows.get(a.position)
        if row is None:
            raise AttemptRefused(_("试题不存在，未保存。请刷新页面后重试。"), 400)
        value = check_response(row.type, len(row.options or []),
                               blank_count(row.type, row.answer), a.response)
        checked.append((a, value, row.client_seq))
    table = AttemptItem.__table__
    for a, value, stored_seq in checked:
        if stored_seq >= a.seq:
            continue  # a newer (or the same) save is already stored
        values: dict[str, Any] = {"response": value, "client_seq": a.seq, "saved_at": now}
        if a.flagged is not None:
            values["flagged"] = a.flagged
        db.session.execute(update(table).where(
            table.c.attempt_id == attempt.id, table.c.position == a.position,
            table.c.client_seq < a.seq).values(**values))
    return [a.position for a, _v, _s in checked]


# ---------------------------------------------------------------- submit

def submit_attempt(attempt: Attempt, *, now: datetime, auto: bool = False,
                   actor: Any = None) -> Attempt:
    """Finish the attempt exactly once and mark its objective items. After ``deadline + grace``
    a candidate's submit counts as the automatic submission of what was saved. A finished
    attempt is returned unchanged (idempotent); an abandoned one is refused (409)."""
    return _submit(attempt, now, auto, actor)[0]


def _submit(attempt: Attempt, now: datetime, auto: bool, actor: Any) -> tuple[Attempt, bool]:
    exam = attempt.exam
    late = is_overdue(attempt, now)
    state = "auto_submitted" if auto or late else "submitted"
    table = Attempt.__table__
    won = db.session.execute(
        update(table).where(table.c.id == attempt.id, table.c.state == IN_PROGRESS)
        .values(state=state, submitted_at=now)).rowcount == 1
    attempt = db.session.execute(
        select(Attempt).where(Attempt.id == attempt.id)
        .execution_options(populate_existing=True)).scalar_one()
    if not won:
        if attempt.state in FINISHED_STATES:
            return attempt, False
        raise AttemptRefused(_("这份答卷已作废，不能交卷。"), CONFLICT, state=attempt.state)
    mark_objective(attempt, exam)
    db.session.flush()
    action = "exam.attempt_auto_submitted" if state == "auto_submitted" else \
        "exam.attempt_submitted"
    audit.record(actor, action, attempt, now=now, exam_id=exam.id, number=attempt.number,
                 score=str(attempt.score), needs_marking=attempt.needs_marking, late=late)
    hooks.passed(attempt, actor, now)
    return attempt, True


def touch(attempt: Attempt, now: datetime) -> Attempt:
    """Lazy finalisation: an overdue attempt in progress is submitted automatically when the
    candidate opens anything about it."""
    if attempt.state == IN_PROGRESS and is_overdue(attempt, now):
        return submit_attempt(attempt, now=now, auto=True)
    return attempt


def finalise_overdue(now: datetime, *, limit: int = 500) -> int:
    """The sweeper: submit every attempt in progress past its ``deadline + grace`` (oldest first,
    at most *limit*); the number this run finished."""
    candidates = db.session.execute(
        select(Attempt).where(Attempt.state == IN_PROGRESS, Attempt.deadline.is_not(None),
                              Attempt.deadline < now)
        .order_by(Attempt.deadline, Attempt.id).limit(limit)).scalars().all()
    done = 0
    for attempt in candidates:
        if not is_overdue(attempt, now):
            continue
        try:
            done += _submit(attempt, now, True, None)[1]
        except AttemptRefused:  # abandoned meanwhile: nothing to submit
            continue
    return done


# ---------------------------------------------------------------- sessions (P6)

def has_running_attempt(user: Any, now: datetime) -> bool:
    """An attempt in progress whose deadline is still ahead: its session must not idle out."""
    if getattr(user, "person_id", None) is None:
        return False
    return db.session.execute(
        select(Attempt.id).where(Attempt.person_id == user.person_id,
                                 Attempt.state == IN_PROGRESS, Attempt.deadline > now)
        .limit(1)).first() is not None


register_idle_exemption(has_running_attempt)
