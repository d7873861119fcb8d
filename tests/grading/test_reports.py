"""The evaluation and stipend reports (lms/grading/reports.py): the numbers of each report, the
grouping level below the unit, the scope, and the charts (PNG, Chinese without missing glyphs)."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest

from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.grading import charts, reports
from lms.grading.report_export import grades_table, stipends_table
from tests.grading.report_world import build_reports


@pytest.fixture
def rw(world):
    return build_reports(world)


def _frame(user, unit, year=2026):
    return reports.Frame(scope_for(user, Perm.GRADING_REPORTS), unit, year)


def _by_name(rows):
    return {r.unit.name: r for r in rows}


def test_grades_per_county_in_the_city_view(rw, world):
    rows, total = reports.grade_distribution(_frame(world.city_admin, world.city))
    got = {name: r.counts for name, r in _by_name(rows).items()}
    assert list(got) == ["兰山区", "罗庄区", "沂南县"]
    assert got["兰山区"] == {"excellent": 1, "competent": 3, "basically_competent": 1,
                            "incompetent": 1}
    assert got["罗庄区"]["excellent"] == 1 and sum(got["沂南县"].values()) == 0
    assert total.total == 7


def test_grades_per_township_in_the_county_view_and_scope(rw, world):
    rows, total = reports.grade_distribution(_frame(world.a_hr, world.county_a))
    got = _by_name(rows)
    assert list(got) == ["兰山街道", "银雀山街道"]
    assert got["兰山街道"].counts == {"excellent": 1, "competent": 2, "basically_competent": 1,
                                  "incompetent": 1}
    assert got["银雀山街道"].total == 1 and total.total == 6
    # without a unit, a county user still sees only the county (grouped by county)
    rows, total = reports.grade_distribution(_frame(world.a_hr, None))
    assert [r.unit.name for r in rows] == ["兰山区"] and total.total == 6


def test_township_view_is_per_village(rw, world):
    rows, _total = reports.grade_distribution(_frame(world.a_hr, rw.c.town2))
    assert [(r.unit.name, r.total) for r in rows] == [("东关村", 1)]


def test_levels_matrix_and_changes(rw, world):
    rows = reports.level_changes(_frame(world.a_hr, world.county_a))
    by = {r.level: r for r in rows}
    assert (by[3].held, by[3].to, by[3].pending) == (4, {3: 2, 2: 1, 1: 0}, 1)
    assert (by[3].promoted, by[3].kept, by[3].demoted) == (1, 2, 0)
    assert (by[2].held, by[2].new, by[2].kept, by[2].demoted) == (2, 2, 1, 1)
    assert (by[1].held, by[1].new, by[1].kept) == (1, 1, 1)
    assert by[3].new == 3
    total = rows[-1]
    assert total.level is None
    assert (total.held, total.new, total.promoted, total.kept, total.demoted, total.pending) == (
        7, 6, 1, 4, 1, 1)


def test_stipends_per_quarter_and_unit(rw, world):
    rows, total = reports.stipend_totals(_frame(world.a_hr, world.county_a))
    got = _by_name(rows)
    assert got["兰山街道"].fen == {1: 43200, 2: 22000, 3: 0, 4: 0}
    assert got["兰山街道"].people == {1: 2, 2: 1, 3: 0, 4: 0}
    assert got["银雀山街道"].fen[1] == 30000
    assert total.total_fen == 95200 and total.people[1] == 3
    table = stipends_table(rows, total, "t")
    assert [str(v) for v in table.rows[-1][2:4]] == ["732.00", "3"]
    assert str(table.rows[-1][-1]) == "952.00"
    city_rows, city_total = reports.stipend_totals(_frame(world.city_admin, world.city))
    assert _by_name(city_rows)["罗庄区"].fen[1] == 25000 and city_total.total_fen == 120200


def test_progress_shows_units_without_a_round_as_zero(rw, world):
    rows, total = reports.progress(_frame(world.city_admin, world.city))
    got = {n: (r.sheets, r.scored, r.published, r.confirmed) for n, r in _by_name(rows).items()}
    assert got == {"兰山区": (7, 6, 7, 7), "罗庄区": (1, 1, 0, 0), "沂南县": (0, 0, 0, 0)}
    assert (total.sheets, total.scored, total.published, total.confirmed) == (8, 7, 7, 7)
    rows, _t = reports.progress(_frame(world.a_hr, world.county_a))
    assert {n: r.sheets for n, r in _by_name(rows).items()} == {"兰山街道": 6, "银雀山街道": 1}


def test_flagged_assistants_paged_and_scoped(rw, world):
    frame = _frame(world.a_hr, world.county_a)
    rows = reports.flagged(frame, page=1, size=50)
    assert [(r.name, r.village, r.township, r.grade, r.total, r.case_id) for r in rows] == [
        ("助理5", "第5村", "兰山街道", "incompetent", Decimal("50.0"), rw.case_id)]
    assert reports.flagged_count(frame) == 1
    city = _frame(world.city_admin, world.city)
    assert sorted(r.name for r in reports.flagged(city)) == ["助理5", "王五"]
    assert reports.flagged(city, page=2, size=1)[0].name in ("助理5", "王五")
    assert reports.flagged(city, page=3, size=1) == []


def test_year_over_year_and_years(rw, world):
    rows = reports.year_over_year(_frame(world.a_hr, world.county_a))
    assert [(r.year, r.total) for r in rows] == [(2025, 1), (2026, 6)]
    assert rows[0].counts["competent"] == 1
    scope = scope_for(world.a_hr, Perm.GRADING_REPORTS)
    assert reports.years(scope, world.county_a) == [2026, 2025]
    assert reports.years(scope, rw.c.town2) == [2026]


def test_a_county_user_never_gets_another_countys_rows(rw, world):
    frame = _frame(world.a_hr, world.county_a)
    rows, total = reports.grade_distribution(frame)
    assert total.total == 6
    table = grades_table(rows, total, "t")
    assert "罗庄" not in str(table.rows)
    # a frame on county B with county A's scope finds nothing (the view 404s before this)
    rows, total = reports.grade_distribution(_frame(world.a_hr, world.county_b))
    assert rows == [] and total.total == 0


def test_charts_are_png_with_chinese_and_no_missing_glyphs(rw, world):
    frame = _frame(world.city_admin, world.city)
    rows, _total = reports.grade_distribution(frame)
    pay, _pay_total = reports.stipend_totals(frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = [charts.grades_chart(rows, "2026年度 临沂市 等次分布"),
                  charts.levels_chart(reports.level_changes(frame), "等级分布与变化"),
                  charts.stipends_chart(pay, "补贴发放汇总"),
                  charts.years_chart(reports.year_over_year(frame), "历年等次对比"),
                  charts.grades_chart([], "暂无数据的图表")]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images)
    glyphs = [str(w.message) for w in caught if "missing" in str(w.message).lower()
              or "glyph" in str(w.message).lower()]
    assert glyphs == []
