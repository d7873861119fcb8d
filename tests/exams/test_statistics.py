"""``lms.exams.statistics``: Moodle's item-analysis formulas against matrices worked out by hand,
and every "undefined → None" rule of shared/spec/cli.md (item-stats)."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from lms.exams import statistics
from lms.exams.statistics import item_analysis

approx = pytest.approx


def stats(max_marks, rows):
    names = [f"Q{i + 1}" for i in range(len(max_marks))]
    return item_analysis(names, max_marks, rows)


def all_values(result) -> list:
    d = result.as_dict()
    return [v for q in d["questions"] for k, v in q.items() if k != "name"] + list(
        d["test"].values())


# Four attempts × three questions, maximum marks 1, 2, 1.
#
#        Q1  Q2  Q3 | X   X−x1  X−x2  X−x3
#   a1    1   2   1 | 4    3     2     3
#   a2    1   1   0 | 2    1     1     2
#   a3    0   2   1 | 3    3     1     2
#   a4    0   0   0 | 0    0     0     0
#
# Test: X̄ = 9/4; deviations 7/4, −1/4, 3/4, −9/4.
#   Σd² = 35/4 → k₂ = V(X) = 35/12, SD = √(35/12)
#   Σd³ = −45/8 → m₃ = −45/32, k₃ = 16·m₃/(3·2) = −15/4, skewness = −(15/4)/(35/12)^1.5
#   Σd⁴ = 1130.5/32 → m₄ = 8.83203125, m₂ = 35/16,
#   k₄ = 16·(5·m₄ − 9·m₂²)/(3·2·1) = 16·1.09375/6 = 35/12, kurtosis = k₄/k₂² = 12/35
# Q1: x̄ = 1/2 → F = 50; V = 1/3 → SD = 100·√(1/3)
#   rest mean 7/4, V(rest) = (25+9+25+49)/16/3 = 9/4, C = (5/8 − 3/8 − 5/8 + 7/8)/3 = 1/6
#   D = 100·(1/6)/√(1/3 · 9/4) = 100/(6·√0.75)
#   sorted x 0,0,1,1 with sorted rest 0,1,3,3: C_max = (7/8 + 3/8 + 5/8 + 5/8)/3 = 5/6 → DE = 20
# Q2: x̄ = 5/4 → F = 62.5; V = (9+1+9+25)/16/3 = 11/12 → SD = 100·√(11/12)/2
#   rest 2,1,1,0: V = 2/3, C = (3/4 + 0 + 0 + 5/4)/3 = 2/3 → D = 100·(2/3)/√(11/12·2/3)
#   sorted 0,1,2,2 with 0,1,1,2: C_max = (5/4 + 0 + 0 + 3/4)/3 = 2/3 → DE = 100
# Q3: x̄ = 1/2 → F = 50; V = 1/3
#   rest 3,2,2,0: V = (25+1+1+49)/16/3 = 19/12, C = (5/8 − 1/8 + 1/8 + 7/8)/3 = 1/2
#   D = 100·(1/2)/√(1/3·19/12); sorted 0,0,1,1 with 0,2,2,3: C_max = 1/2 → DE = 100
# CIC = 100·3/2·(1 − (1/3 + 11/12 + 1/3)/(35/12)) = 100·3/2·16/35 = 2400/35
# ER = 100·√(1 − 24/35) = 100·√(11/35); SE = √(11/35)·√(35/12) = √(11/12)
HAND_MAX = [1, 2, 1]
HAND_ROWS = [[1, 2, 1], [1, 1, 0], [0, 2, 1], [0, 0, 0]]


def test_hand_computed_questions():
    q1, q2, q3 = stats(HAND_MAX, HAND_ROWS).questions
    assert (q1.name, q1.facility, q1.sd) == ("Q1", approx(50), approx(100 * math.sqrt(1 / 3)))
    assert q1.discrimination_index == approx(100 / (6 * math.sqrt(0.75)))
    assert q1.discriminative_efficiency == approx(20)
    assert (q2.facility, q2.sd) == (approx(62.5), approx(50 * math.sqrt(11 / 12)))
    assert q2.discrimination_index == approx(100 * (2 / 3) / math.sqrt(11 / 12 * 2 / 3))
    assert q2.discriminative_efficiency == approx(100)
    assert (q3.facility, q3.sd) == (approx(50), approx(100 * math.sqrt(1 / 3)))
    assert q3.discrimination_index == approx(50 / math.sqrt(19 / 36))
    assert q3.discriminative_efficiency == approx(100)


def test_hand_computed_test():
    t = stats(HAND_MAX, HAND_ROWS).test
    assert (t.n, t.mean, t.sd) == (4, approx(2.25), approx(math.sqrt(35 / 12)))
    assert t.skewness == approx(-(15 / 4) / (35 / 12) ** 1.5)
    assert t.kurtosis == approx(12 / 35)
    assert t.cic == approx(2400 / 35)
    assert t.error_ratio == approx(100 * math.sqrt(11 / 35))
    assert t.standard_error == approx(math.sqrt(11 / 12))
    assert t.standard_error == approx(t.error_ratio / 100 * t.sd)


def test_no_attempts_gives_nulls_and_n_zero():
    result = stats([1, 1], [])
    assert result.test.n == 0
    assert all(v is None for v in all_values(result)[:-8])
    assert list(result.as_dict()["test"].values())[1:] == [None] * 7


def test_one_attempt_has_only_facility_and_mean():
    # n = 1: x̄ is the mark itself; every variance needs n ≥ 2.
    q1, q2 = (result := stats([2, 4], [[1, 3]])).questions
    assert (q1.facility, q2.facility) == (approx(50), approx(75))
    assert [q1.sd, q1.discrimination_index, q1.discriminative_efficiency] == [None] * 3
    t = result.test
    assert (t.n, t.mean) == (1, approx(4))
    assert [t.sd, t.skewness, t.kurtosis, t.cic, t.error_ratio, t.standard_error] == [None] * 6


def test_two_attempts_sd_and_cic_but_no_skewness_and_zero_variance_question():
    # Q1 1,0; Q2 1,1 (constant). Totals 2,1: k₂ = 1/2, SD = √½.
    # V(Q1) = 1/2, V(Q2) = 0 → CIC = 100·2·(1 − ½/½) = 0, ER = 100, SE = √½.
    q1, q2 = (result := stats([1, 1], [[1, 1], [0, 1]])).questions
    assert q1.sd == approx(100 * math.sqrt(0.5))
    assert q1.discrimination_index is None  # the rest of the test (Q2) has variance 0
    assert q1.discriminative_efficiency is None  # C_max = 0 as the rest is constant
    assert (q2.facility, q2.sd) == (approx(100), 0.0)
    assert (q2.discrimination_index, q2.discriminative_efficiency) == (None, None)
    t = result.test
    assert (t.sd, t.skewness, t.kurtosis) == (approx(math.sqrt(0.5)), None, None)
    assert (t.cic, t.error_ratio, t.standard_error) == (0.0, approx(100), approx(math.sqrt(0.5)))


def test_three_attempts_skewness_but_no_kurtosis():
    # Q1 0,1,2; Q2 0,0,2 (max 2 each). Totals 0,1,4: X̄ = 5/3, d = −5/3, −2/3, 7/3.
    # Σd² = 26/3 → k₂ = 13/3. Σd³ = 70/9 → m₃ = 70/27, k₃ = 9·m₃/(2·1) = 35/3.
    # V(Q1) = 1, V(Q2) = 4/3 → CIC = 100·2·(1 − (7/3)/(13/3)) = 1200/13.
    # ER = 100·√(1/13); SE = √(k₂/13) = √(1/3).
    t = stats([2, 2], [[0, 0], [1, 0], [2, 2]]).test
    assert t.skewness == approx((35 / 3) / (13 / 3) ** 1.5)
    assert t.kurtosis is None
    assert t.cic == approx(1200 / 13)
    assert t.error_ratio == approx(100 * math.sqrt(1 / 13))
    assert t.standard_error == approx(math.sqrt(1 / 3))


def test_zero_maximum_mark_nulls_facility_and_sd_only():
    # Q2 is worth 0 but its marks still vary; D and DE do not use the maximum.
    q1, q2 = stats([1, 0], [[1, 1], [0, 0], [1, 0]]).questions
    assert (q2.facility, q2.sd) == (None, None)
    assert q2.discrimination_index == approx(100 * 0.5)  # rest is Q1: r(Q2, Q1) = ½
    assert q1.facility == approx(200 / 3)


def test_identical_totals_null_every_ratio_of_the_total_variance():
    # Totals are all 1, so k₂ = 0: SD is 0; skewness, kurtosis, CIC, ER and SE are undefined.
    # Q1 1,0,1,0 against rest 0,1,0,1: C = −V(Q1) = −V(rest) → D = −100 (not clamped);
    # sorted both are 0,0,1,1 → C_max = 1/3 → DE = −100.
    result = stats([1, 1], [[1, 0], [0, 1], [1, 0], [0, 1]])
    t = result.test
    assert (t.n, t.mean, t.sd) == (4, approx(1), 0.0)
    assert [t.skewness, t.kurtosis, t.cic, t.error_ratio, t.standard_error] == [None] * 5
    q1 = result.questions[0]
    assert (q1.discrimination_index, q1.discriminative_efficiency) == (approx(-100), approx(-100))


def test_negative_marks_are_not_clamped():
    # Q1 −1, 0, −½ against rest 1, 0, 1: x̄ = −½ → F = −50.
    # V(x) = ¼, V(rest) = 1/3, C = (−1/6 − 1/3 + 0)/2 = −¼ → D = −25·√12.
    # sorted −1, −½, 0 with 0, 1, 1: C_max = (1/3 + 0 + 1/6)/2 = ¼ → DE = −100.
    q1 = stats([1, 1], [[-1, 1], [0, 0], [Decimal("-0.5"), 1]]).questions[0]
    assert q1.facility == approx(-50)
    assert q1.sd == approx(50)
    assert q1.discrimination_index == approx(-25 * math.sqrt(12))
    assert q1.discriminative_efficiency == approx(-100)


def test_single_question_has_no_cic_discrimination_or_efficiency():
    result = stats([5], [[1], [3], [4], [5]])
    q = result.questions[0]
    assert (q.discrimination_index, q.discriminative_efficiency) == (None, None)
    assert q.facility == approx(65)
    t = result.test
    assert (t.cic, t.error_ratio, t.standard_error) == (None, None, None)
    assert t.kurtosis is not None and t.skewness is not None


def test_perfect_consistency_gives_cic_100_and_zero_error():
    # Two identical questions: Σ V = 2·½ = 1, k₂ = V(2x) = 2 → CIC = 100·2·(1 − ½) = 100.
    t = stats([1, 1], [[1, 1], [0, 0]]).test
    assert (t.cic, t.error_ratio, t.standard_error) == (100.0, 0.0, 0.0)


def test_error_ratio_is_null_above_100():
    # Unreachable through item_analysis (Σ V(x_i) ≥ V(X)/P bounds CIC by 100), guarded anyway.
    assert statistics._error_ratio(Fraction(10001, 100)) is None
    assert statistics._standard_error(Fraction(10001, 100), Fraction(1), 1) is None
    assert statistics._error_ratio(Fraction(-300)) == approx(200)


def test_constant_decimal_fractions_have_exactly_zero_variance():
    # 0.1 is not exact in binary; summing floats would leave a tiny non-zero variance.
    q1 = stats([1, 1], [[0.1, 1], [0.1, 0], [0.1, 1]]).questions[0]
    assert q1.sd == 0.0
    assert (q1.discrimination_index, q1.discriminative_efficiency) == (None, None)
    assert q1.facility == approx(10)


def test_huge_marks_give_finite_values_or_none():
    big = 10**400
    result = stats([big, 1], [[big, 1], [0, 0], [big // 2, 1]])
    values = [v for v in all_values(result) if isinstance(v, float)]
    assert all(math.isfinite(v) for v in values)
    assert result.test.mean is None  # larger than any float
    assert result.questions[0].facility == approx(50)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1", None, True])
def test_non_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        stats([1, 1], [[1, bad]])


def test_ragged_rows_and_names_are_refused():
    with pytest.raises(ValueError):
        stats([1, 1], [[1]])
    with pytest.raises(ValueError):
        item_analysis(["Q1"], [1, 1], [])


def test_as_dict_has_the_contract_shape():
    d = stats(HAND_MAX, HAND_ROWS).as_dict()
    assert list(d) == ["questions", "test"]
    assert list(d["questions"][0]) == ["name", "facility", "sd", "discrimination_index",
                                       "discriminative_efficiency"]
    assert list(d["test"]) == ["n", "mean", "sd", "skewness", "kurtosis", "cic", "error_ratio",
                               "standard_error"]


def moodle_in_floats(max_marks, rows):
    """A direct float transcription of Moodle's calculators (question/.../calculator.php loops
    and mod/quiz/report/statistics/classes/calculator.php) for a cross-check on larger data."""
    s, p = len(rows), len(max_marks)
    totals = [sum(r) for r in rows]
    out = []
    for i in range(p):
        marks = [r[i] for r in rows]
        other = [t - m for t, m in zip(totals, marks, strict=True)]
        ma, oa = sum(marks) / s, sum(other) / s
        var = sum((m - ma) ** 2 for m in marks) / (s - 1)
        ovar = sum((o - oa) ** 2 for o in other) / (s - 1)
        cov = sum((m - ma) * (o - oa) for m, o in zip(marks, other, strict=True))
        cov /= s - 1
        cmax = sum((m - ma) * (o - oa)
                   for m, o in zip(sorted(marks), sorted(other), strict=True)) / (s - 1)
        out.append((100 * ma / max_marks[i], 100 * math.sqrt(var) / max_marks[i],
                    100 * cov / math.sqrt(var * ovar), 100 * cov / cmax, var))
    mean = sum(totals) / s
    power = [sum((x - mean) ** r for x in totals) for r in (2, 3, 4)]
    m2, m3, m4 = (v / s for v in power)
    k2 = s * m2 / (s - 1)
    k3 = s * s * m3 / ((s - 1) * (s - 2))
    k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
    cic = (100 * p / (p - 1)) * (1 - sum(q[4] for q in out) / k2)
    er = 100 * math.sqrt(1 - cic / 100)
    test = (mean, math.sqrt(power[0] / (s - 1)), k3 / k2**1.5, k4 / k2**2, cic, er,
            er * math.sqrt(power[0] / (s - 1)) / 100)
    return [q[:4] for q in out], test


def test_agrees_with_a_float_transcription_of_moodle_on_a_larger_matrix():
    rng = random.Random(20240604)  # noqa: S311 - fixed test data
    max_marks = [1, 2, 2, 5, 0.5, 3]
    ability = [rng.random() for _ in range(37)]
    rows = [[round(rng.uniform(-0.25, 1) * a * m * 2) / 2 + (0.5 if m == 0.5 and a > .5 else 0)
             for m in max_marks] for a in ability]
    result = stats(max_marks, rows)
    questions, test = moodle_in_floats(max_marks, rows)
    for got, want in zip(result.questions, questions, strict=True):
        assert [got.facility, got.sd, got.discrimination_index,
                got.discriminative_efficiency] == approx(list(want), rel=1e-9)
    t = result.test
    assert [t.mean, t.sd, t.skewness, t.kurtosis, t.cic, t.error_ratio,
            t.standard_error] == approx(list(test), rel=1e-9)
