"""The annual round (lms/grading/cycle.py, appeals.py): open → score → publish → appeal →
confirm, the 优秀 cap per township, competence from the records, replacement cases from flags,
integrity codes, and what is refused with the state unchanged."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from lms.audit import AuditEntry
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.grading import appeals, cycle, integrity
from lms.grading.models import Evaluation, RoundStatus
from lms.onboarding.models import ReplacementCase
from lms.org.models import Post
from tests.grading.cycle_world import OPENED, build, day, score_all

D = Decimal


@pytest.fixture
def c(world):
    return build(world)


def _open(c, year=2026):
    rnd = cycle.open_round(c.county, year, actor=c.county_hr, now=OPENED)
    db.session.commit()
    return rnd


def _rows(rnd):
    return {r.person_id: r for r in cycle.rows_of(rnd)}


def test_open_creates_one_sheet_per_assistant_in_post_with_entry_level(c):
    rnd = _open(c)
    rows = _rows(rnd)
    assert set(rows) == {p.id for p in c.people}
    assert {r.level for r in rows.values()} == {3}
    assert all(r.competence == D("0.0") and r.total is None for r in rows.values())
    assert integrity.first_problem() is None


def test_acting_and_never_posted_people_are_not_evaluated(c, world):
    post = db.session.scalar(select(Post).where(Post.person_id == c.people[1].id))
    post.is_acting = True
    post2 = db.session.scalar(select(Post).where(Post.person_id == c.people[2].id))
    post2.status, post2.in_post_on = "onboarded", None
    db.session.commit()
    rows = _rows(_open(c))
    assert c.people[1].id not in rows and c.people[2].id not in rows


def test_only_the_county_may_open_and_only_once(c, world):
    with pytest.raises(NotAllowed):
        cycle.open_round(c.county, 2026, actor=c.town_user, now=OPENED)
    with pytest.raises(NotAllowed):
        cycle.open_round(c.county, 2026, actor=world.b_admin, now=OPENED)
    with pytest.raises(ValidationFailed):
        cycle.open_round(c.town, 2026, actor=c.county_hr, now=OPENED)
    _open(c)
    with pytest.raises(InvalidState):
        cycle.open_round(c.county, 2026, actor=c.county_hr, now=OPENED)


def test_scores_give_totals_grades_and_the_cap_per_township(c):
    rnd = _open(c)
    # six assistants in town A reach ≥ 90: cap = ceil(0.2 × 6) = 2; town 2's single one keeps it.
    score_all(c, rnd, {i: (40, 15, 10, 15) for i in range(7)})
    rows = _rows(rnd)
    grades = [rows[p.id].grade for p in c.people]
    assert all(rows[p.id].total == D("80.0") for p in c.people)  # competence 0 → 80
    assert set(grades) == {"competent"}


def test_cap_breaks_ties_by_competence_then_id(c):
    rnd = _open(c)
    rows = _rows(rnd)
    for i, p in enumerate(c.people[:6]):
        rows[p.id].competence = D(20) if i in (3, 4) else D(15)
    db.session.commit()
    score_all(c, rnd, {i: (40, 15, 10, 15) for i in range(6)})
    rows = _rows(rnd)
    excellent = [i for i, p in enumerate(c.people[:6]) if rows[p.id].grade == "excellent"]
    assert excellent == [3, 4]


def test_veto_forces_incompetent_and_flags_replacement(c):
    rnd = _open(c)
    score_all(c, rnd, {0: (40, 15, 10, 15, True)})
    row = _rows(rnd)[c.people[0].id]
    assert row.grade == "incompetent" and row.replace is True and row.new_level == 3


def test_bad_scores_are_refused_and_change_nothing(c):
    rnd = _open(c)
    row = _rows(rnd)[c.people[0].id]
    for bad in ("41", "-1", "abc", "12.25", "NaN", ""):
        with pytest.raises(ValidationFailed):
            cycle.enter_scores(row, cycle.ScoreSheet(bad, 10, 10), actor=c.town_user, now=OPENED)
    with pytest.raises(ValidationFailed):
        cycle.enter_scores(row, cycle.ScoreSheet(30, 10, 10, veto=True), actor=c.town_user,
                           now=OPENED)
    db.session.rollback()
    row = _rows(rnd)[c.people[0].id]
    assert row.work is None and row.veto is False


def test_a_township_cannot_score_another_townships_assistant(c):
    rnd = _open(c)
    row = _rows(rnd)[c.people[6].id]
    with pytest.raises(NotAllowed):
        cycle.enter_scores(row, cycle.ScoreSheet(30, 10, 10), actor=c.town_user, now=OPENED)


def test_competence_comes_from_hours_and_exams(c, world):
    from lms.training.models import ExternalTraining

    db.session.add(ExternalTraining(person_id=c.people[0].id, org_unit_id=c.villages[0].id,
                                    title="培训", provider="县局", credit_hours=D("12"),
                                    completed_on=date(2026, 5, 1), status="approved"))
    db.session.add(ExternalTraining(person_id=c.people[0].id, org_unit_id=c.villages[0].id,
                                    title="往年", provider="县局", credit_hours=D("24"),
                                    completed_on=date(2025, 5, 1), status="approved"))
    db.session.commit()
    row = _rows(_open(c))[c.people[0].id]
    assert (row.hours, row.competence, row.exam_percent) == (D("12.0"), D("5.0"), None)


def _publish_all(c, rnd):
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(7)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()


def test_publish_needs_every_sheet_complete(c):
    rnd = _open(c)
    score_all(c, rnd, {0: (30, 12, 8, 12)})
    with pytest.raises(InvalidState, match="6"):
        cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.rollback()
    assert rnd.status == RoundStatus.OPEN


def test_published_results_are_frozen_and_appealable_in_the_window(c, world):
    rnd = _open(c)
    _publish_all(c, rnd)
    assert rnd.publish_until == date(2026, 12, 8)
    row = _rows(rnd)[c.people[0].id]
    with pytest.raises(InvalidState):
        cycle.enter_scores(row, cycle.ScoreSheet(40, 12, 8), actor=c.town_user, now=OPENED)
    with pytest.raises(NotAllowed):
        appeals.submit(row, "不服", user=c.town_user, now=OPENED)
    appeal = appeals.submit(row, "走访记录漏算", user=world.trainee, now=OPENED)
    db.session.commit()
    with pytest.raises(InvalidState):
        appeals.submit(row, "再次", user=world.trainee, now=OPENED)
    late = day(date(2026, 12, 9))
    with pytest.raises(InvalidState, match="申诉"):
        cycle.confirm(rnd, actor=c.county_hr, now=late)
    appeals.answer(appeal, "经核实，维持原结果。", actor=c.county_hr, now=late)
    db.session.commit()
    assert not appeals.window_open(row, late)


def test_confirm_only_after_the_window_then_locks_and_opens_cases(c, world):
    rnd = _open(c)
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(7)})
    score_all(c, rnd, {1: (10, 5, 5, 5)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()
    with pytest.raises(InvalidState, match="2026-12-08"):
        cycle.confirm(rnd, actor=c.county_hr, now=day(date(2026, 12, 8)))
    with pytest.raises(NotAllowed):
        cycle.confirm(rnd, actor=c.town_user, now=day(date(2026, 12, 9)))
    cases = cycle.confirm(rnd, actor=c.county_hr, now=day(date(2026, 12, 9)))
    db.session.commit()
    assert rnd.status == RoundStatus.CONFIRMED and cases == 1
    case = db.session.scalar(select(ReplacementCase))
    assert case.person_id == c.people[1].id and case.trigger == "annual_incompetent"
    assert _rows(rnd)[c.people[1].id].replacement_case_id == case.id
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"evaluation.open", "evaluation.score", "evaluation.satisfaction",
            "evaluation.publish", "evaluation.confirm", "replacement.open"} <= actions


def test_reopen_needs_a_reason_and_allows_corrections(c):
    rnd = _open(c)
    _publish_all(c, rnd)
    with pytest.raises(ValidationFailed):
        cycle.reopen(rnd, " ", actor=c.county_hr, now=OPENED)
    cycle.reopen(rnd, "申诉成立", actor=c.county_hr, now=OPENED)
    db.session.commit()
    row = _rows(rnd)[c.people[0].id]
    assert cycle.enter_scores(row, cycle.ScoreSheet(40, 15, 10), actor=c.town_user, now=OPENED)


def test_next_year_uses_the_confirmed_level_and_history(c):
    rnd = _open(c, 2025)
    score_all(c, rnd, {i: (38, 14, 10, 14) for i in range(7)})
    for r in cycle.rows_of(rnd):
        r.competence = D(20)
    cycle.recompute(rnd, None)
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    cycle.confirm(rnd, actor=c.county_hr, now=OPENED + timedelta(days=30))
    db.session.commit()
    nxt = _rows(_open(c, 2026))
    assert all(r.prior_grades in ("excellent", "competent") for r in nxt.values())
    assert all(r.level == 3 and r.since_change == 1 for r in nxt.values())


def test_raw_sql_edit_of_a_grade_is_detected(c, runner):
    rnd = _open(c)
    _publish_all(c, rnd)
    row = _rows(rnd)[c.people[2].id]
    assert runner.invoke(args=["lms", "audit-verify"]).exit_code == 0
    db.session.execute(text("UPDATE evaluation SET grade = 'excellent' WHERE id = :i"),
                       {"i": row.id})
    db.session.commit()
    problem = integrity.first_problem()
    assert (problem.table, problem.row_id) == ("evaluation", row.id)
    result = runner.invoke(args=["lms", "audit-verify"])
    assert result.exit_code == 1 and f"第 {row.id} 行" in result.output + (result.stderr or "")


def test_every_sheet_stays_sealed_through_the_cycle(c):
    rnd = _open(c)
    _publish_all(c, rnd)
    assert db.session.scalar(select(Evaluation.id).where(Evaluation.mac == "")) is None
    assert integrity.first_problem() is None


def test_person_page_shows_the_sheets_and_stipends_to_county_staff_only(c, client, world):
    rnd = _open(c)
    _publish_all(c, rnd)
    url = f"/org/people/{c.people[0].id}"
    client.login(world.a_hr.username)
    html = client.get(url).get_data(as_text=True)
    assert 'id="evaluations"' in html and "2026" in html and "公示中" in html
    client.logout()
    client.login(world.trainee.username)
    assert 'id="evaluations"' not in client.get(url).get_data(as_text=True)


def test_recompute_reseals_what_writers_flushed_and_keeps_loaded_sheets_current(c):
    """recompute reads the sheets as rows: a sheet the caller holds is updated in place, a sheet
    not loaded is updated by id, a flushed change and a row edited without its code are both
    resealed, and the ids of the sheets whose outcome changed are returned."""
    rnd = _open(c)
    score_all(c, rnd, {i: (38, 14, 10, 14) for i in range(7)})
    rows = _rows(rnd)
    held, other = rows[c.people[0].id], rows[c.people[1].id]
    before = held.total
    held.work = held.work - 8  # a writer's change, flushed before the recompute
    db.session.flush()
    db.session.expunge(other)  # not in the session: updated by id
    db.session.execute(text("UPDATE evaluation SET hours = 7 WHERE id = :id"), {"id": other.id})
    changed = cycle.recompute(rnd, None)
    assert held.id in changed and other.id not in changed
    assert all(isinstance(i, int) for i in changed)
    assert held.total == before - 8 and held.mac == integrity.mac_of("evaluation", held)
    db.session.commit()
    assert integrity.first_problem() is None
    assert db.session.get(Evaluation, other.id).hours == D("7.0")
