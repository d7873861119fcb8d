"""Item analysis with Moodle's quiz-statistics definitions (pure: no Flask, no database).

Sources: Moodle ``question/classes/statistics/questions/calculator.php`` (per question) and
``mod/quiz/report/statistics/classes/calculator.php`` (per test), as transcribed in the spec's
``reference/lms-features.md`` §4; the choices made where they are silent are in ``docs/exams.md``.

Notation: S attempts, P questions, x_i the marks on question i, X = Σ_i x_i the attempt total and
X₋ᵢ = X − x_i the rest of the test. Variances and covariances divide by S − 1.

Every sum is exact: the marks are brought to one common unit (the least common denominator) as
integers, moments are integer sums and ratios are ``Fraction``s, and only the final value becomes
a float. So a constant column has a variance of exactly 0 and the "undefined → None" tests are
exact. Results are
finite floats or ``None``; never NaN or infinity. Nothing is rounded or clamped.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction

Number = numbers.Real | Decimal


@dataclass(frozen=True)
class QuestionStats:
    """Per question, all in percent: facility and SD of the maximum mark, D and DE as Moodle's."""

    name: str
    facility: float | None
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None


@dataclass(frozen=True)
class TestStats:
    """Per test: mean, SD and standard error in raw marks; CIC and error ratio in percent."""

    n: int
    mean: float | None
    sd: float | None
    skewness: float | None
    kurtosis: float | None
    cic: float | None
    error_ratio: float | None
    standard_error: float | None


@dataclass(frozen=True)
class ItemAnalysis:
    questions: tuple[QuestionStats, ...]
    test: TestStats

    def as_dict(self) -> dict:
        return {"questions": [asdict(q) for q in self.questions], "test": asdict(self.test)}


def item_analysis(names: Sequence[str], max_marks: Sequence[Number],
                  attempts: Sequence[Sequence[Number]]) -> ItemAnalysis:
    """Statistics of a mark matrix: one row per attempt, one column per question.

    Raises ``ValueError`` when a row's length differs from the number of questions or a value is
    not a finite number.
    """
    maxima = [_exact(m) for m in max_marks]
    if len(names) != len(maxima):
        raise ValueError("one maximum mark per question name is required")
    rows = [_exact_row(row, len(maxima)) for row in attempts]
    scale = math.lcm(*(v.denominator for v in maxima), *(v.denominator for r in rows for v in r))
    tops = [_scaled(m, scale) for m in maxima]
    columns = [[_scaled(row[i], scale) for row in rows] for i in range(len(maxima))]
    totals = [sum(marks) for marks in zip(*columns, strict=True)] if columns else [0] * len(rows)
    questions = tuple(_question(name, top, column, totals)
                      for name, top, column in zip(names, tops, columns, strict=True))
    item_variances = [_variance(column) for column in columns]
    return ItemAnalysis(questions, _test(totals, item_variances, scale))


def _exact(value: Number) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        return Fraction(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a finite number: {value!r}") from exc


def _exact_row(row: Sequence[Number], width: int) -> list[Fraction]:
    if len(row) != width:
        raise ValueError(f"an attempt has {len(row)} marks for {width} questions")
    return [_exact(x) for x in row]


def _scaled(value: Fraction, scale: int) -> int:
    """*value* × *scale* as an int: all marks share one unit, so the sums below are integer sums."""
    return value.numerator * (scale // value.denominator)


# --- per question (marks in the common unit; every result is a ratio, free of the unit) ---------


def _question(name: str, top: int, marks: list[int], totals: list[int]) -> QuestionStats:
    rest = [total - mark for total, mark in zip(totals, marks, strict=True)]
    return QuestionStats(
        name=name,
        facility=_facility(marks, top),
        sd=_question_sd(marks, top),
        discrimination_index=_discrimination_index(marks, rest),
        discriminative_efficiency=_discriminative_efficiency(marks, rest),
    )


def _facility(marks: list[int], top: int) -> float | None:
    """F = 100 · x̄ / x(max)."""
    if not marks or top == 0:
        return None
    return _float(Fraction(100 * sum(marks), len(marks) * top))


def _question_sd(marks: list[int], top: int) -> float | None:
    """SD = 100 · √V(x) / x(max)."""
    variance = _variance(marks)
    if variance is None or top == 0:
        return None
    return _signed_sqrt(variance * 10_000 / (top * top), top)


def _discrimination_index(marks: list[int], rest: list[int]) -> float | None:
    """D = 100 · C(x, X₋ᵢ) / √(V(x) · V(X₋ᵢ)); None when either variance is 0."""
    covariance = _covariance(marks, rest)
    if covariance is None:
        return None
    spread = _variance(marks) * _variance(rest)
    if spread == 0:
        return None
    return _signed_sqrt(covariance * covariance * 10_000 / spread, covariance)


def _discriminative_efficiency(marks: list[int], rest: list[int]) -> float | None:
    """DE = 100 · C(x, X₋ᵢ) / C_max, C_max being the covariance of both lists sorted."""
    covariance = _covariance(marks, rest)
    if covariance is None:
        return None
    largest = _covariance(sorted(marks), sorted(rest))
    if largest == 0:
        return None
    return _float(100 * covariance / largest)


# --- per test -----------------------------------------------------------------------------------


def _test(totals: list[int], item_variances: list[Fraction | None], scale: int) -> TestStats:
    """Totals and variances in the common unit; mean, SD and SE are converted back to marks."""
    n = len(totals)
    k2 = _variance(totals)
    cic = _cic(k2, item_variances)
    return TestStats(
        n=n,
        mean=_float(Fraction(sum(totals), n * scale)) if n else None,
        sd=_signed_sqrt(k2 / (scale * scale), 1) if k2 is not None else None,
        skewness=_skewness(totals, k2),
        kurtosis=_kurtosis(totals, k2),
        cic=_float(cic) if cic is not None else None,
        error_ratio=_error_ratio(cic),
        standard_error=_standard_error(cic, k2, scale),
    )


def _skewness(totals: list[int], k2: Fraction | None) -> float | None:
    """k₃ / k₂^{3/2}, k₃ = S²·m₃ / ((S−1)(S−2)); needs S ≥ 3 and k₂ ≠ 0."""
    s = len(totals)
    if s < 3 or not k2:
        return None
    k3 = s * s * _central_moment(totals, 3) / ((s - 1) * (s - 2))
    return _signed_sqrt(k3 * k3 / (k2 * k2 * k2), k3)


def _kurtosis(totals: list[int], k2: Fraction | None) -> float | None:
    """k₄ / k₂², k₄ = S²·((S+1)·m₄ − 3(S−1)·m₂²) / ((S−1)(S−2)(S−3)); needs S ≥ 4, k₂ ≠ 0."""
    s = len(totals)
    if s < 4 or not k2:
        return None
    m2 = _central_moment(totals, 2)
    m4 = _central_moment(totals, 4)
    k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
    return _float(k4 / (k2 * k2))


def _cic(k2: Fraction | None, item_variances: list[Fraction | None]) -> Fraction | None:
    """CIC = 100 · P/(P−1) · (1 − Σ V(x_i) / k₂); needs P ≥ 2 and k₂ ≠ 0."""
    p = len(item_variances)
    if p < 2 or not k2:
        return None
    return 100 * Fraction(p, p - 1) * (1 - sum(item_variances, Fraction(0)) / k2)


def _error_ratio(cic: Fraction | None) -> float | None:
    """ER = 100 · √(1 − CIC/100); None when CIC is None or above 100."""
    if cic is None or cic > 100:
        return None
    return _signed_sqrt(10_000 - 100 * cic, 1)


def _standard_error(cic: Fraction | None, k2: Fraction | None, scale: int) -> float | None:
    """SE = ER/100 · SD = √((1 − CIC/100) · k₂), k₂ converted back to marks²."""
    if cic is None or cic > 100 or k2 is None:
        return None
    return _signed_sqrt((1 - cic / 100) * k2 / (scale * scale), 1)


# --- exact moments of integers ------------------------------------------------------------------


def _variance(values: list[int]) -> Fraction | None:
    """Σ(v − v̄)² / (S − 1); None for fewer than two values."""
    return _covariance(values, values)


def _covariance(a: list[int], b: list[int]) -> Fraction | None:
    """Σ(a − ā)(b − b̄) / (S − 1) = (S·Σab − Σa·Σb) / (S(S − 1)); None for fewer than two."""
    s = len(a)
    if s < 2:
        return None
    products = sum(x * y for x, y in zip(a, b, strict=True))
    return Fraction(s * products - sum(a) * sum(b), s * (s - 1))


def _central_moment(values: list[int], power: int) -> Fraction:
    """m_r = Σ(v − v̄)^r / S = Σ(S·v − Σv)^r / S^(r+1)."""
    s, total = len(values), sum(values)
    return Fraction(sum((s * v - total) ** power for v in values), s ** (power + 1))


# --- to float -----------------------------------------------------------------------------------


def _signed_sqrt(square: Fraction, sign: Fraction | int) -> float | None:
    """√square carrying the sign of *sign*: for ratios known exactly only as their square."""
    root = _float(square)
    if root is None:
        return None
    return math.sqrt(root) if sign >= 0 else -math.sqrt(root)


def _float(value: Fraction) -> float | None:
    """The nearest float, or None when it would not be finite (absurdly large marks)."""
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None
