"""The quarterly stipend ledger (lms/grading/ledger.py, changes.py for a line): idempotent
computation, months in post, who gets no line, the floor, the level from last year's confirmed
evaluation, what is refused (with nothing written), maker-checker on a confirmed line, and a raw
SQL edit caught by the verifier and blocking the payroll sheet."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed
from lms.extensions import db
from lms.grading import changes, cycle, integrity, ledger, payroll
from lms.grading.models import PayStatus, QuarterGrade, StipendLine, StipendQuarter
from lms.org.models import Post
from tests.grading.cycle_world import OPENED, build, score_all

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)   # Q1–Q3 of 2026 have ended
LATER = datetime(2027, 1, 15, 2, tzinfo=UTC)  # all of 2026 has ended
# Level 3 (60 yuan a month), top-up 20 % × coefficient (优秀 1.2, 称职 1.0, 基本称职 0.5, 不称职 0).
COMPETENT_3 = 6000 * 3 + 1200 * 3


@pytest.fixture
def c(world):
    return build(world)


def _post(person) -> Post:
    return db.session.scalar(select(Post).where(Post.person_id == person.id))


def _grade_all(c, year=2026, quarter=1, grade="competent", *, now=NOW, only=None, skip=()):
    """Enter *grade* (or only[person index]) for every assistant of both townships."""
    by_person = {p.id: i for i, p in enumerate(c.people)}
    for town, user in ((c.town, c.town_user), (c.town2, c.town2_user)):
        values = {}
        for p, _g in ledger.quarter_roster(town, year, quarter):
            i = by_person[p.person_id]
            if i in skip:
                continue
            values[p.post_id] = (only or {}).get(i, grade)
        ledger.enter_quarter_grades(town, year, quarter, values, actor=user, now=now)
    db.session.commit()


def _compute(c, year=2026, quarter=1, *, now=NOW):
    run = ledger.compute_quarter(c.county, year, quarter, actor=c.county_hr, now=now)
    db.session.commit()
    return run


def _lines(run) -> dict[int, StipendLine]:
    return {line.person_id: line for line in db.session.scalars(
        select(StipendLine).where(StipendLine.run_id == run.id))}


def _snapshot(run):
    return sorted((ln.id, ln.post_id, ln.level, ln.months, ln.grade, ln.amount_fen, ln.mac)
                  for ln in _lines(run).values())


def test_compute_is_idempotent(c):
    _grade_all(c)
    run = _compute(c)
    assert (run.lines, run.total_fen) == (7, 7 * COMPETENT_3)
    before = _snapshot(run)
    again = _compute(c, now=NOW + timedelta(hours=1))
    assert again.id == run.id and _snapshot(again) == before
    assert (again.lines, again.total_fen) == (7, 7 * COMPETENT_3)
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "stipend.compute").order_by(AuditEntry.id)).all()
    assert [json.loads(e.data)["changed"] for e in entries] == [7, 0]
    assert integrity.first_problem() is None


def test_recompute_after_a_corrected_grade_changes_only_that_line(c):
    _grade_all(c)
    run = _compute(c)
    before = {pid: (ln.id, ln.amount_fen) for pid, ln in _lines(run).items()}
    _grade_all(c, only={2: "excellent"})
    run = _compute(c)
    after = {pid: (ln.id, ln.amount_fen) for pid, ln in _lines(run).items()}
    changed = {pid for pid in after if after[pid] != before[pid]}
    assert changed == {c.people[2].id}
    assert after[c.people[2].id] == (before[c.people[2].id][0], 18000 + 3600 * 12 // 10)
    assert run.total_fen == sum(a for _i, a in after.values())


def test_months_partial_removed_acting_and_never_in_post(c):
    _post(c.people[1]).in_post_on = date(2026, 4, 16)   # April: 15 days → counts
    _post(c.people[2]).in_post_on = date(2026, 4, 17)   # April: 14 days → not
    removed = _post(c.people[3])
    removed.status, removed.ended_on = "removed", date(2026, 5, 3)  # May paid to its end
    _post(c.people[4]).is_acting = True
    never = _post(c.people[5])
    never.status, never.in_post_on = "onboarded", None
    db.session.commit()
    _grade_all(c, 2026, 2)
    lines = _lines(_compute(c, 2026, 2))
    months = {i: lines[p.id].months for i, p in enumerate(c.people) if p.id in lines}
    assert months == {0: 3, 1: 3, 2: 2, 3: 2, 6: 3}
    assert lines[c.people[3].id].amount_fen == 2 * 7200


def test_incompetent_quarter_gets_the_floor(c):
    _grade_all(c, only={0: "incompetent", 1: "basically_competent", 2: "excellent"})
    lines = _lines(_compute(c))
    assert lines[c.people[0].id].amount_fen == 6000 * 3
    assert lines[c.people[1].id].amount_fen == 18000 + 1800
    assert lines[c.people[2].id].amount_fen == 18000 + 4320


def _confirmed_round(c, year, excellent=()):
    rnd = cycle.open_round(c.county, year, actor=c.county_hr, now=OPENED)
    db.session.commit()
    rows = {r.person_id: r for r in cycle.rows_of(rnd)}
    for i in excellent:
        rows[c.people[i].id].competence = Decimal(20)
    db.session.commit()
    score_all(c, rnd, {i: (40, 15, 10, 15) if i in excellent else (38, 14, 10, 14)
                       for i in range(len(c.people))})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    cycle.confirm(rnd, actor=c.county_hr, now=OPENED + timedelta(days=30))
    db.session.commit()
    return rnd


def test_level_comes_from_last_years_confirmed_evaluation(c):
    _confirmed_round(c, 2024, excellent={0})
    rnd = _confirmed_round(c, 2025)
    promoted = {r.person_id: r.new_level for r in cycle.rows_of(rnd)}
    assert promoted[c.people[0].id] == 2 and promoted[c.people[1].id] == 3
    _grade_all(c, now=LATER)
    lines = _lines(_compute(c, now=LATER))
    assert (lines[c.people[0].id].level, lines[c.people[0].id].amount_fen) == (2, 24000 + 4800)
    assert (lines[c.people[1].id].level, lines[c.people[1].id].amount_fen) == (3, COMPETENT_3)


def _no_run() -> bool:
    return db.session.scalar(select(func.count(StipendQuarter.id))) == 0 and \
        db.session.scalar(select(func.count(StipendLine.id))) == 0


def test_refused_before_the_quarter_ended_and_with_missing_grades(c):
    _grade_all(c, 2026, 4)
    with pytest.raises(InvalidState, match="2026-12-31"):
        ledger.compute_quarter(c.county, 2026, 4, actor=c.county_hr, now=NOW)
    db.session.rollback()
    _grade_all(c, skip={2, 6})
    with pytest.raises(ledger.MissingGrades) as err:
        ledger.compute_quarter(c.county, 2026, 1, actor=c.county_hr, now=NOW)
    db.session.rollback()
    assert {m.name for m in err.value.missing} == {"助理3", "东关助理"}
    assert "助理3" in str(err.value) and "东关助理" in str(err.value)
    assert _no_run()
    with pytest.raises(NotAllowed):
        ledger.compute_quarter(c.county, 2026, 1, actor=c.town_user, now=NOW)


def test_refused_after_confirmation(c):
    _grade_all(c)
    run = _compute(c)
    ledger.confirm_quarter(run, actor=c.county_hr, now=NOW)
    db.session.commit()
    before = _snapshot(run)
    with pytest.raises(InvalidState):
        ledger.compute_quarter(c.county, 2026, 1, actor=c.county_hr, now=NOW)
    db.session.rollback()
    with pytest.raises(InvalidState):
        ledger.confirm_quarter(run, actor=c.county_hr, now=NOW)
    db.session.rollback()
    post = ledger.quarter_roster(c.town, 2026, 1)[0][0]
    with pytest.raises(InvalidState):
        ledger.enter_quarter_grades(c.town, 2026, 1, {post.post_id: "excellent"},
                                    actor=c.town_user, now=NOW)
    db.session.rollback()
    assert _snapshot(run) == before and run.status == PayStatus.CONFIRMED
    assert db.session.scalar(select(QuarterGrade.grade).where(
        QuarterGrade.post_id == post.post_id)) == "competent"


def _confirmed_run(c):
    _grade_all(c)
    run = _compute(c)
    ledger.confirm_quarter(run, actor=c.county_hr, now=NOW)
    db.session.commit()
    return run


def test_maker_checker_on_a_line(c):
    run = _confirmed_run(c)
    line = _lines(run)[c.people[1].id]
    change = changes.propose_quarter(line, "excellent", "复核发现漏记", actor=c.county_hr,
                                     now=NOW)
    db.session.commit()
    with pytest.raises(NotAllowed):
        changes.approve(change, "", actor=c.county_hr, now=NOW)
    db.session.rollback()
    with pytest.raises(NotAllowed):
        changes.approve(change, "", actor=c.town_user, now=NOW)
    db.session.rollback()
    assert line.amount_fen == COMPETENT_3
    changes.approve(change, "同意", actor=c.county_hr2, now=NOW)
    db.session.commit()
    db.session.refresh(line)
    db.session.refresh(run)
    assert (line.grade, line.amount_fen) == ("excellent", 18000 + 4320)
    assert run.total_fen == 6 * COMPETENT_3 + 18000 + 4320
    assert line.mac == integrity.mac_of("stipend_line", line)
    assert integrity.first_problem() is None
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "grading.change_approve"))
    data = json.loads(entry.data)
    assert (data["proposed_by_id"], data["approved_by_id"]) == (c.county_hr.id, c.county_hr2.id)
    assert entry.actor_id == c.county_hr2.id


def test_raw_sql_edit_of_a_line_is_detected_and_blocks_the_payroll(c, runner):
    run = _confirmed_run(c)
    line = _lines(run)[c.people[4].id]
    assert runner.invoke(args=["lms", "audit-verify"]).exit_code == 0
    sheet = payroll.workbook(run, township=None, actor=c.county_hr)
    payroll.record_export(run, sheet, township=None, actor=c.county_hr, now=NOW)
    db.session.commit()
    db.session.execute(text("UPDATE stipend_line SET amount_fen = amount_fen + 100 WHERE id = :i"),
                       {"i": line.id})
    db.session.commit()
    problem = integrity.first_problem()
    assert (problem.table, problem.row_id) == ("stipend_line", line.id)
    result = runner.invoke(args=["lms", "audit-verify"])
    assert result.exit_code == 1 and f"第 {line.id} 行" in result.output + (result.stderr or "")
    with pytest.raises(InvalidState, match="完整性校验未通过"):
        payroll.workbook(run, township=c.town, actor=c.county_hr)
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "stipend.payroll_export")) == 1
