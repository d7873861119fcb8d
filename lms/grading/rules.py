"""The evaluation and stipend rules as pure functions (shared/spec/README.md decisions 6–7,
shared/spec/cli.md ``flask grading``).

No Flask, no database, no floats: scores are ``Decimal``, money is integer fen. Inputs are assumed
valid (the callers validate and word the errors); a violated precondition raises ``RuleError``.
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache

from lms.grading.policy import COMPONENTS, ENTRY_LEVEL, TOP_LEVEL, Grade, Policy

TENTH = Decimal("0.1")
#: Grades that count as "≥ competent" for promotion.
AT_LEAST_COMPETENT = frozenset({Grade.EXCELLENT, Grade.COMPETENT})


class RuleError(ValueError):
    """A rule was called with input it does not define (a caller's bug, not a user's error)."""


def total(scores: Mapping[str, Decimal]) -> Decimal:
    """The score-sheet total: the exact sum of the components, rounded half up to 0.1."""
    return sum((scores[c] for c in COMPONENTS), Decimal(0)).quantize(TENTH, ROUND_HALF_UP)


def in_range(component: str, score: Decimal, policy: Policy) -> bool:
    """Whether a component's score lies between 0 and the component's maximum (both included)."""
    return Decimal(0) <= score <= policy.component_max[component]


def grade(score_total: Decimal, veto: bool, policy: Policy) -> Grade:
    """The grade a total earns; a veto item forces ``incompetent`` whatever the total."""
    if veto or score_total < policy.basically_competent_min:
        return Grade.INCOMPETENT
    if score_total >= policy.excellent_min:
        return Grade.EXCELLENT
    if score_total >= policy.competent_min:
        return Grade.COMPETENT
    return Grade.BASICALLY_COMPETENT


@dataclass(frozen=True)
class Standing:
    """One evaluated assistant as the 优秀 cap sees them; ``rank_id`` comes from ``id_key``."""

    township: str
    rank_id: tuple
    total: Decimal
    competence: Decimal
    grade: Grade


def id_key(value: int | str) -> tuple:
    """Sort key for ids: integers numerically, then any text ids in code-point order."""
    return (0, value, "") if isinstance(value, int) else (1, 0, value)


def excellent_cap(evaluated: int, policy: Policy) -> int:
    """How many 优秀 a township may have: ceil(share × everyone evaluated there)."""
    return int((policy.excellent_cap_share * evaluated).to_integral_value(ROUND_CEILING))


def apply_excellent_cap(standings: Sequence[Standing], policy: Policy) -> list[Grade]:
    """The grades after the 优秀 cap, in input order. Per township, every row counts towards n
    (vetoed ones too); 优秀 rank by total desc, competence desc, id asc; those past the cap become
    ``competent``."""
    by_township: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(standings):
        by_township[s.township].append(i)
    grades = [s.grade for s in standings]
    for members in by_township.values():
        excellent = [i for i in members if grades[i] is Grade.EXCELLENT]
        excellent.sort(key=lambda i: (-standings[i].total, -standings[i].competence,
                                      standings[i].rank_id))
        for i in excellent[excellent_cap(len(members), policy):]:
            grades[i] = Grade.COMPETENT
    return grades


@dataclass(frozen=True)
class LevelOutcome:
    new_level: int
    replace: bool


def _promotes(at_level: Sequence[Grade], policy: Policy) -> bool:
    normal = at_level[-policy.promote_after:]
    early = at_level[-policy.early_promote_after:]
    return (len(normal) == policy.promote_after and set(normal) <= AT_LEAST_COMPETENT) or (
        len(early) == policy.early_promote_after and set(early) <= AT_LEAST_COMPETENT
        and Grade.EXCELLENT in early)


def level_outcome(level: int, prior_grades: Sequence[Grade], since_change: int, this_year: Grade,
                  policy: Policy) -> LevelOutcome:
    """New level (effective 1 January next year) and the replacement flag.

    *this_year* is the grade after veto and cap. The grades at the current level are the last
    *since_change* of *prior_grades* (oldest first) plus *this_year*. Promotion: one level up if
    the last ``promote_after`` are all ≥ competent, or the last ``early_promote_after`` are with at
    least one excellent (not beyond level 1). ``basically_competent`` demotes one level (not below
    3). Replacement: ``incompetent`` (a veto always is), or ``basically_competent`` this year and
    in the year before (the last prior grade, whatever the level then). Both may apply."""
    if level not in policy.level_base_fen or not 0 <= since_change <= len(prior_grades):
        raise RuleError("level or since_change out of range")
    at_level = [*prior_grades[len(prior_grades) - since_change:], this_year]
    new_level = level
    if this_year is Grade.BASICALLY_COMPETENT:
        new_level = min(level + 1, ENTRY_LEVEL)
    elif level > TOP_LEVEL and _promotes(at_level, policy):
        new_level = level - 1
    twice_basic = this_year is Grade.BASICALLY_COMPETENT and bool(prior_grades) and (
        prior_grades[-1] is Grade.BASICALLY_COMPETENT)
    return LevelOutcome(new_level, this_year is Grade.INCOMPETENT or twice_basic)


def quarter_fen(level: int, months: int, quarter_grade: Grade | None, policy: Policy) -> int:
    """One quarter's stipend in fen, at the level held in the evaluated year.

    base × months + base × months × top-up share × coefficient of the quarterly grade, rounded
    half up to the fen, never below the floor × months. The grade may be None only with 0 months."""
    if not 0 <= months <= 3 or level not in policy.level_base_fen:
        raise RuleError("months or level out of range")
    if quarter_grade is None:
        if months:
            raise RuleError("a quarter with months in post needs a quarterly grade")
        return 0
    base = Decimal(policy.level_base_fen[level]) * months
    coefficient = policy.quarterly_coefficient[quarter_grade]
    amount = (base + base * policy.topup_share * coefficient).to_integral_value(ROUND_HALF_UP)
    return max(int(amount), policy.floor_fen_per_month * months)


def adjusted_bases(bases: Mapping[int, int], index: Decimal, policy: Policy) -> dict[int, int]:
    """The annual price adjustment: each base × (1 + index), rounded up to the next price step
    (5 yuan; a base already on a step stays), never below the monthly floor. Fen in, fen out."""
    step = Decimal(policy.price_step_fen)
    out = {}
    for level, base in bases.items():
        steps = (Decimal(base) * (1 + index) / step).to_integral_value(ROUND_CEILING)
        out[level] = max(int(steps * policy.price_step_fen), policy.floor_fen_per_month)
    return out


#: Annual in-service credit hours a village assistant should reach (reference/domain.md §2.6).
HOURS_TARGET = Decimal(24)
HALF = Decimal("0.5")


def competence(hours: Decimal, exam_fraction: Decimal | None, maximum: Decimal,
               target: Decimal = HOURS_TARGET) -> Decimal:
    """The competence component filled from the system (docs/grading.md): half for credit hours
    against the target (capped at the target), half for the best exam result of the year as a
    fraction of its maximum (0 without an exam), × the component's maximum, half up to 0.1."""
    hours_part = min(Decimal(1), max(hours, Decimal(0)) / target) if target > 0 else Decimal(1)
    exam_part = min(Decimal(1), max(exam_fraction or Decimal(0), Decimal(0)))
    return (maximum * (HALF * hours_part + HALF * exam_part)).quantize(TENTH, ROUND_HALF_UP)


def level_held(history: Sequence[tuple[int, int]]) -> int:
    """The level held this year: last year's new level, or the entry level without history.
    *history* is ``(level held, new level)`` of the earlier evaluated years, oldest first."""
    return history[-1][1] if history else ENTRY_LEVEL


def since_change(history: Sequence[tuple[int, int]]) -> int:
    """How many of the most recent earlier years were earned at the level held this year (0 when
    the level changed at the start of this year)."""
    if not history or history[-1][0] != history[-1][1]:
        return 0
    level, n = history[-1][1], 0
    for held, _new in reversed(history):
        if held != level:
            break
        n += 1
    return n


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


@lru_cache(maxsize=4096)  # pure; a county's quarter asks it for every post
def months_in_post(in_post_on: date | None, ended_on: date | None, year: int,
                   quarter: int) -> int:
    """Months of *quarter* that count for pay: a month counts if the person was in post on at
    least 15 of its days; a removal takes effect at the end of its month, so that month is served
    to its end. ``in_post_on`` None (never in post) → 0."""
    if in_post_on is None or not 1 <= quarter <= 4:
        return 0
    last = _month_end(ended_on.year, ended_on.month) if ended_on else date.max
    months = 0
    for month in range(3 * quarter - 2, 3 * quarter + 1):
        first, end = date(year, month, 1), _month_end(year, month)
        start, stop = max(first, in_post_on), min(end, last)
        if stop >= start and (stop - start).days + 1 >= MIN_DAYS_IN_MONTH:
            months += 1
    return months


MIN_DAYS_IN_MONTH = 15
