"""Regressions from the review of the evaluation and stipend code: integrity codes stay valid
through partial entries, point swaps and approved changes; a quarter is confirmed as its inputs
stand; levels and histories follow corrections of earlier years; hostile scores and query strings
are refused, not a 500; a moved stipend line is detected; township staff do not read appeals; the
person page shows only records made in the viewer's units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.grading import appeals, changes, cycle, integrity, ledger
from lms.grading.models import StipendLine
from lms.grading.policy import default_policy
from tests.grading.cycle_world import OPENED, build, score_all

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)


@pytest.fixture
def c(world):
    return build(world)


def _open(c, year=2026):
    rnd = cycle.open_round(c.county, year, actor=c.county_hr, now=OPENED)
    db.session.commit()
    return rnd


def _row(rnd, c, i):
    return {r.person_id: r for r in cycle.rows_of(rnd)}[c.people[i].id]


def test_partial_sheets_and_point_swaps_stay_sealed(c):
    rnd = _open(c)
    row = _row(rnd, c, 0)
    cycle.enter_scores(row, cycle.ScoreSheet(30, 10, 8), actor=c.town_user, now=OPENED)
    db.session.commit()
    assert integrity.first_problem() is None          # incomplete: no total changed
    cycle.enter_satisfaction(rnd, _row(rnd, c, 1).org_unit, 12, actor=c.town_user, now=OPENED)
    db.session.commit()
    assert integrity.first_problem() is None
    score_all(c, rnd, {0: (30, 10, 8, 12)})
    cycle.enter_scores(_row(rnd, c, 0), cycle.ScoreSheet(31, 9, 8), actor=c.town_user,
                       now=OPENED)                     # same total, other fields
    db.session.commit()
    assert integrity.first_problem() is None


def _confirmed(c, year, scores=(30, 12, 8, 12)):
    rnd = _open(c, year)
    score_all(c, rnd, {i: scores for i in range(len(c.people))})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    cycle.confirm(rnd, actor=c.county_hr, now=OPENED + timedelta(days=30))
    db.session.commit()
    return rnd


def test_an_approved_veto_on_an_incompetent_sheet_stays_sealed(c):
    rnd = _confirmed(c, 2025, (10, 5, 5, 5))
    row = _row(rnd, c, 0)
    change = changes.propose_evaluation(row, cycle.ScoreSheet(10, 5, 5, veto=True,
                                                              veto_reason="虚报材料"),
                                        5, "核实后补记否决事项", actor=c.town_user, now=OPENED)
    changes.approve(change, "", actor=c.county_hr, now=OPENED)
    db.session.commit()
    assert row.veto is True and integrity.first_problem() is None


def test_confirming_a_quarter_takes_in_grades_corrected_after_the_computation(c):
    def grade_all(grade, only=None):
        for town, user in ((c.town, c.town_user), (c.town2, c.town2_user)):
            values = {p.post_id: (only or {}).get(p.person_id, grade)
                      for p, _g in ledger.quarter_roster(town, 2026, 1)}
            ledger.enter_quarter_grades(town, 2026, 1, values, actor=user, now=NOW)

    grade_all("competent")
    run = ledger.compute_quarter(c.county, 2026, 1, actor=c.county_hr, now=NOW)
    db.session.commit()
    grade_all("competent", {c.people[0].id: "excellent"})
    ledger.confirm_quarter(run, actor=c.county_hr, now=NOW)
    db.session.commit()
    line = db.session.scalar(select(StipendLine).where(StipendLine.person_id == c.people[0].id))
    assert (line.grade, line.amount_fen) == ("excellent", 18000 + 3600 * 12 // 10)


def test_a_year_opens_only_after_the_previous_one_is_confirmed(c):
    _open(c, 2025)
    with pytest.raises(InvalidState, match="2025"):
        cycle.open_round(c.county, 2026, actor=c.county_hr, now=OPENED)
    with pytest.raises(InvalidState, match="2025"):
        ledger.compute_quarter(c.county, 2026, 1, actor=c.county_hr, now=NOW)


def test_refresh_takes_in_a_correction_of_the_previous_year(c):
    before = _confirmed(c, 2025, (38, 14, 10, 14))   # all competent (competence 0 → 76)
    rnd = _open(c, 2026)
    assert _row(rnd, c, 0).prior_grades == "competent"
    change = changes.propose_evaluation(_row(before, c, 0), cycle.ScoreSheet(20, 5, 5), 5,
                                        "复核", actor=c.town_user, now=OPENED)
    changes.approve(change, "", actor=c.county_hr, now=OPENED)
    cycle.refresh(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()
    assert _row(rnd, c, 0).prior_grades == "incompetent"
    assert integrity.first_problem() is None


@pytest.mark.parametrize("raw", ["1e30", "9e99", "-0", "+5", "1,5", "１２.５x", "35.5.5", "4000"])
def test_hostile_scores_are_refused(raw):
    with pytest.raises(ValidationFailed):
        cycle.parse_score(raw, "work", default_policy(2026))


def test_full_width_digits_are_read():
    assert str(cycle.parse_score("３５.５", "work", default_policy(2026))) == "35.5"


def test_a_stipend_line_moved_to_another_quarter_is_detected(c):
    for q in (1, 2):
        for town, user in ((c.town, c.town_user), (c.town2, c.town2_user)):
            values = {p.post_id: "competent" for p, _g in ledger.quarter_roster(town, 2026, q)}
            ledger.enter_quarter_grades(town, 2026, q, values, actor=user, now=NOW)
        ledger.compute_quarter(c.county, 2026, q, actor=c.county_hr, now=NOW)
    db.session.commit()
    runs = {r.quarter: r for r in db.session.scalars(select(ledger.StipendQuarter))}
    line = db.session.scalar(select(StipendLine).where(StipendLine.run_id == runs[1].id))
    db.session.execute(text("UPDATE stipend_line SET run_id = :r WHERE id = :i"),
                       {"r": runs[2].id, "i": line.id})
    db.session.commit()
    assert integrity.first_problem() == integrity.RowProblem("stipend_line", line.id)


def test_satisfaction_page_ignores_odd_digits(client, c):
    rnd = _open(c)
    client.login(c.town_user.username)
    resp = client.get(f"/grading/rounds/{rnd.id}/satisfaction?village=%C2%B2")
    assert resp.status_code == 200


def test_township_staff_do_not_read_appeals(client, c, world):
    rnd = _open(c)
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(len(c.people))})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    appeal = appeals.submit(_row(rnd, c, 0), "不服", user=world.trainee, now=OPENED)
    db.session.commit()
    client.login(c.town_user.username)
    assert client.get(f"/grading/rounds/{rnd.id}/appeals").status_code == 404
    assert client.get(f"/grading/appeals/{appeal.id}").status_code == 404
    client.logout()
    client.login(c.county_hr.username)
    assert client.get(f"/grading/appeals/{appeal.id}").status_code == 200


def test_person_page_shows_only_sheets_made_in_the_viewers_units(client, c, world):
    rnd = _confirmed(c, 2025)
    row = _row(rnd, c, 0)
    # Pretend the sheet was made in county B (a transfer): county A staff no longer see it.
    db.session.execute(text("UPDATE evaluation SET org_unit_id = :v WHERE id = :i"),
                       {"v": world.village_b.id, "i": row.id})
    db.session.commit()
    client.login(world.a_hr.username)
    page = client.get(f"/org/people/{c.people[0].id}").get_data(as_text=True)
    assert 'id="evaluations"' in page and "还没有年度考评记录" in page
