"""The evaluation and stipend rules (README decisions 6–7), table-driven. Money in fen."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from lms.grading import rules
from lms.grading.policy import COMPONENTS, Grade, Policy, default_policy
from lms.grading.rules import LevelOutcome, RuleError, Standing

E, C, B, I = (Grade.EXCELLENT, Grade.COMPETENT, Grade.BASICALLY_COMPETENT,  # noqa: E741
              Grade.INCOMPETENT)
P = default_policy(2024)
D = Decimal


def scores(work, competence, diligence, satisfaction, integrity):  # noqa: ANN001, ANN201
    return dict(zip(COMPONENTS, map(D, (work, competence, diligence, satisfaction, integrity)),
                    strict=True))


# --- policy -------------------------------------------------------------------------------

def test_default_policy_holds_decisions_6_and_7():
    assert P.year == 2024
    assert dict(P.component_max) == {"work": 40, "competence": 20, "diligence": 15,
                                     "satisfaction": 15, "integrity": 10}
    assert sum(P.component_max.values()) == 100
    assert (P.excellent_min, P.competent_min, P.basically_competent_min) == (90, 75, 60)
    assert P.excellent_cap_share == D("0.2") and P.topup_share == D("0.2")
    assert dict(P.level_base_fen) == {3: 6000, 2: 8000, 1: 10000}
    assert dict(P.quarterly_coefficient) == {E: D("1.2"), C: 1, B: D("0.5"), I: 0}
    assert P.floor_fen_per_month == 6000
    switches = [f.name for f in dataclasses.fields(P) if f.type == "bool"]
    assert len(switches) == 6 and not any(getattr(P, s) for s in switches)


def test_policy_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.excellent_min = D(80)  # type: ignore[misc]
    with pytest.raises(TypeError):
        P.level_base_fen[3] = 1  # type: ignore[index]


@pytest.mark.parametrize("change", [
    {"competent_min": D(90)}, {"basically_competent_min": D(-1)}, {"excellent_cap_share": D(2)},
    {"level_base_fen": {3: 6000, 2: 8000}}, {"quarterly_coefficient": {E: D(1)}},
])
def test_inconsistent_policy_is_refused(change):
    with pytest.raises(ValueError):
        Policy(year=2024, **change)


@pytest.mark.parametrize("module", ["policy.py", "rules.py"])
def test_pure_modules_import_no_flask_and_use_no_float(module):
    source = (Path(rules.__file__).parent / module).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and (m.startswith("flask") or m == "lms.i18n")]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    floats = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is float]
    assert "float" not in names and floats == []


# --- total and grade ----------------------------------------------------------------------

@pytest.mark.parametrize("sheet, expected", [
    ((38, 19, 14, 14, 10), "95.0"),
    ((40, 20, 15, 15, 10), "100.0"),
    ((0, 0, 0, 0, 0), "0.0"),
    (("36.05", 18, "13.5", "13.4", 9), "90.0"),   # 89.95 rounds half up
    (("36.04", 18, "13.5", "13.4", 9), "89.9"),   # 89.94 rounds down
    (("30.25", 14, "11.45", 11, 8), "74.7"),      # 74.70
    (("30.05", 14, 12, 11, 8), "75.1"),           # 75.05 → 75.1, never banker's rounding
    (("30.15", 14, 12, 11, 8), "75.2"),           # 75.15 → 75.2
])
def test_total_is_the_sum_rounded_half_up_to_a_tenth(sheet, expected):
    result = rules.total(scores(*sheet))
    assert isinstance(result, Decimal) and str(result) == expected


@pytest.mark.parametrize("score_total, expected", [
    ("100.0", E), ("90.0", E), ("89.9", C), ("75.0", C), ("74.9", B), ("60.0", B), ("59.9", I),
    ("0.0", I),
])
def test_grade_thresholds(score_total, expected):
    assert rules.grade(D(score_total), False, P) is expected


@pytest.mark.parametrize("score_total", ["100.0", "90.0", "75.0", "60.0", "59.9"])
def test_a_veto_forces_incompetent_whatever_the_total(score_total):
    assert rules.grade(D(score_total), True, P) is I


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_component_has_its_own_range(component):
    top = P.component_max[component]
    assert rules.in_range(component, D(0), P) and rules.in_range(component, top, P)
    assert not rules.in_range(component, top + D("0.1"), P)
    assert not rules.in_range(component, D("-0.1"), P)


# --- the 优秀 cap -------------------------------------------------------------------------

@pytest.mark.parametrize("n, cap", [(1, 1), (4, 1), (5, 1), (6, 2), (10, 2), (11, 3), (20, 4),
                                    (21, 5)])
def test_cap_is_ceil_of_a_fifth(n, cap):
    assert rules.excellent_cap(n, P) == cap


def row(ident, total, competence=18, grade=None, township="甲镇"):  # noqa: ANN001, ANN201
    total = D(total)
    return Standing(township, rules.id_key(ident), total, D(competence),
                    grade or rules.grade(total, False, P))


CAP_CASES = {
    "ranks by total first": (
        [row(1, 91, 20), row(2, 95, 10), row(3, 80), row(4, 70), row(5, 60)], [C, E, C, B, B]),
    "equal totals: competence decides": (
        [row(1, 92, 17), row(2, 92, 18), row(3, 80), row(4, 80), row(5, 80)], [C, E, C, C, C]),
    "full tie at the boundary: lower id (numerically) keeps": (
        [row(10, 91), row(9, 91), row(100, 91), row(3, 80), row(4, 80)], [C, E, C, C, C]),
    "tie at the boundary of a cap of 2": (
        [row(1, 98), row(10, 91), row(9, 91), row(3, 80), row(4, 80), row(5, 80)],
        [E, C, E, C, C, C]),
    "vetoed rows count towards n": (
        [row(1, 95), row(2, 93), row(3, 96, grade=I), row(4, 80), row(5, 80), row(6, 50)],
        [E, E, I, C, C, I]),
    "without the vetoed row the cap would be 1": (
        [row(1, 95), row(2, 93), row(4, 80), row(5, 80), row(6, 50)], [E, C, C, C, I]),
    "each township has its own cap": (
        [row(1, 95, township="甲"), row(2, 95, township="乙"), row(3, 94, township="甲")],
        [E, E, C]),
    "under the cap nothing changes": ([row(1, 95), row(2, 60), row(3, 59.9)], [E, B, I]),
    "text ids rank after integer ids": (
        [row("A1", 95), row(7, 95), row(8, 70), row(9, 70), row(10, 70)], [C, E, B, B, B]),
}


@pytest.mark.parametrize("case", CAP_CASES)
def test_excellent_cap(case):
    standings, expected = CAP_CASES[case]
    assert rules.apply_excellent_cap(standings, P) == expected


# --- level and replacement ---------------------------------------------------------------

LEVEL_CASES = [
    # level, prior grades (oldest first), since_change, this year → new level, replace
    ("3 at level, all ≥ competent: promote", 3, [C, C], 2, C, 2, False),
    ("3 at level via 2 → 1", 2, [E, C, C], 2, C, 1, False),
    ("2 at level with an excellent this year: early", 3, [C], 1, E, 2, False),
    ("2 at level with an excellent last year: early", 2, [E], 1, C, 1, False),
    ("2 at level, no excellent: no promotion", 3, [C], 1, C, 3, False),
    ("since_change limits the window", 2, [C, C, C], 1, C, 2, False),
    ("since_change 0: only this year counts", 3, [E, E], 0, E, 3, False),
    ("since_change 0, empty history", 3, [], 0, C, 3, False),
    ("a basically year inside the window blocks", 2, [C, B, C], 3, C, 2, False),
    ("only the last 3 count", 2, [I, C, C], 3, C, 1, False),
    ("last 2 with excellent after a bad year", 2, [C, B, E], 3, E, 1, False),
    ("level 1 does not promote", 1, [E, E], 2, E, 1, False),
    ("basically demotes one level", 2, [C], 1, B, 3, False),
    ("basically demotes level 1 to 2", 1, [C, C], 2, B, 2, False),
    ("level 3 is the floor", 3, [C], 1, B, 3, False),
    ("basically, no history", 3, [], 0, B, 3, False),
    ("basically twice: demote and replace", 2, [C, B], 2, B, 3, True),
    ("basically twice at level 3: replace", 3, [B], 1, B, 3, True),
    ("the year before counts even at the old level", 2, [B], 0, B, 3, True),
    ("basically not in consecutive years", 2, [B, C], 2, B, 3, False),
    ("incompetent: no level change, replace", 2, [C, C], 2, I, 2, True),
    ("incompetent at level 1", 1, [E], 1, I, 1, True),
    ("incompetent at level 3", 3, [], 0, I, 3, True),
    ("incompetent in an old year does not replace", 3, [I], 1, C, 3, False),
]


@pytest.mark.parametrize("level, prior, since, this, new_level, replace",
                         [c[1:] for c in LEVEL_CASES], ids=[c[0] for c in LEVEL_CASES])
def test_level_outcome(level, prior, since, this, new_level, replace):
    assert rules.level_outcome(level, prior, since, this, P) == LevelOutcome(new_level, replace)


def test_a_veto_flags_replacement_and_keeps_the_level():
    vetoed = rules.grade(D("98.0"), True, P)
    assert rules.level_outcome(2, [E, E], 2, vetoed, P) == LevelOutcome(2, True)


@pytest.mark.parametrize("level, prior, since", [(4, [], 0), (0, [], 0), (3, [C], 2),
                                                 (3, [], -1)])
def test_level_outcome_refuses_undefined_input(level, prior, since):
    with pytest.raises(RuleError):
        rules.level_outcome(level, prior, since, C, P)


# --- quarterly stipend --------------------------------------------------------------------

@pytest.mark.parametrize("level, grade, fen", [
    (3, E, 22320), (3, C, 21600), (3, B, 19800), (3, I, 18000),
    (2, E, 29760), (2, C, 28800), (2, B, 26400), (2, I, 24000),
    (1, E, 37200), (1, C, 36000), (1, B, 33000), (1, I, 30000),
])
def test_full_quarter_by_level_and_grade(level, grade, fen):
    assert rules.quarter_fen(level, 3, grade, P) == fen


@pytest.mark.parametrize("level, months, grade, fen", [
    (2, 1, C, 9600), (2, 2, E, 19840), (3, 1, I, 6000), (1, 2, B, 22000),
    (3, 0, E, 0), (3, 0, None, 0), (1, 0, None, 0),
])
def test_partial_quarters(level, months, grade, fen):
    assert rules.quarter_fen(level, months, grade, P) == fen


@pytest.mark.parametrize("months", [1, 2, 3])
def test_blank_quarterly_grade_needs_zero_months(months):
    with pytest.raises(RuleError):
        rules.quarter_fen(3, months, None, P)


@pytest.mark.parametrize("level, months", [(3, 4), (3, -1), (4, 1)])
def test_quarter_refuses_undefined_input(level, months):
    with pytest.raises(RuleError):
        rules.quarter_fen(level, months, C, P)


LOW = Policy(year=2024, level_base_fen={3: 5000, 2: 8000, 1: 10000})


@pytest.mark.parametrize("months, grade, fen", [
    (3, I, 18000),   # 150.00 < 3 × 60 yuan
    (3, B, 18000),   # 165.00 < 180.00
    (3, C, 18000),   # 180.00 = the floor
    (3, E, 18600),   # 186.00 above the floor
    (1, I, 6000),
])
def test_never_below_60_yuan_a_month(months, grade, fen):
    assert rules.quarter_fen(3, months, grade, LOW) == fen


def test_rounded_half_up_once_per_quarter():
    odd = Policy(year=2024, level_base_fen={3: 6500, 2: 8000, 1: 10000}, topup_share=D("0.15"))
    assert rules.quarter_fen(3, 1, B, odd) == 6988       # 6987.5 → 6988
    assert rules.quarter_fen(3, 3, B, odd) == 20963      # 20962.5 once, not 3 × 6988


# --- price adjustment ---------------------------------------------------------------------

@pytest.mark.parametrize("base, index, fen", [
    (6000, "0.03", 6500),    # 61.80 → 65
    (8000, "0.02", 8500),    # 81.60 → 85
    (10000, "0.03", 10500),  # 103.00 → 105
    (6000, "0", 6000),       # on a step: unchanged
    (8000, "0.0625", 8500),  # 85.00 exactly: stays
    (8000, "0.001", 8500),   # 80.08 → 85
    (8000, "-0.1", 7500),    # 72.00 → 75
    (6000, "-0.05", 6000),   # 57.00 → 60 (up), and never below 60
    (5000, "0", 6000),       # never below 60
])
def test_price_adjustment_rounds_up_to_5_yuan(base, index, fen):
    assert rules.adjusted_bases({3: base}, D(index), P) == {3: fen}


def test_price_adjustment_of_the_default_bases():
    assert rules.adjusted_bases(P.level_base_fen, D("0.03"), P) == {3: 6500, 2: 8500, 1: 10500}


# ---------------------------------------------------------------- rules of the annual cycle

@pytest.mark.parametrize("hours, fraction, expected", [
    ("0", None, "0.0"), ("24", None, "10.0"), ("48", None, "10.0"), ("12", None, "5.0"),
    ("0", "1", "10.0"), ("24", "1", "20.0"), ("24", "0.6", "16.0"), ("23.9", "0.605", "16.0"),
    ("1", "0", "0.4"), ("-3", "-1", "0.0"), ("30", "1.2", "20.0"),
])
def test_competence_from_hours_and_the_best_exam(hours, fraction, expected):
    got = rules.competence(D(hours), None if fraction is None else D(fraction), D(20))
    assert got == D(expected)


@pytest.mark.parametrize("history, held, since", [
    ([], 3, 0),                                   # first year: entry level, nothing at it
    ([(3, 3)], 3, 1),
    ([(3, 3), (3, 3)], 3, 2),
    ([(3, 3), (3, 2)], 2, 0),                     # promoted at the start of this year
    ([(3, 2), (2, 2)], 2, 1),
    ([(2, 3), (3, 3), (3, 3)], 3, 2),             # demoted, then two years at 3
    ([(1, 1), (1, 1), (1, 1), (1, 1)], 1, 4),
])
def test_level_held_and_years_since_the_last_change(history, held, since):
    assert (rules.level_held(history), rules.since_change(history)) == (held, since)


@pytest.mark.parametrize("in_post, ended, quarter, months", [
    (date(2024, 1, 1), None, 1, 3),
    (None, None, 1, 0),                           # never in post: not paid
    (date(2026, 1, 17), None, 1, 3),              # 15 days of January count
    (date(2026, 1, 18), None, 1, 2),              # 14 days do not
    (date(2026, 2, 14), None, 1, 2),              # 15 days of a 28-day February
    (date(2026, 2, 15), None, 1, 1),
    (date(2026, 4, 1), None, 1, 0),               # after the quarter
    (date(2024, 1, 1), date(2026, 2, 3), 1, 2),   # removed in February: paid to its end
    (date(2024, 1, 1), date(2026, 3, 31), 1, 3),
    (date(2024, 1, 1), date(2025, 12, 31), 1, 0),
    (date(2026, 2, 20), date(2026, 2, 21), 1, 0),  # 9 days to the end of February
    (date(2026, 10, 17), None, 4, 3),
    (date(2026, 12, 17), None, 4, 1),             # 15 days of December
])
def test_months_in_post(in_post, ended, quarter, months):
    assert rules.months_in_post(in_post, ended, 2026, quarter) == months
