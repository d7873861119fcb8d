"""The evaluation and stipend policy of one year (defaults: shared/spec/README.md decisions 6–7).

Pure data: no Flask, no database. Scores and shares are ``Decimal``; money is integer fen.
The optional rules of ``reference/domain.md`` that decision 6 leaves out are switches, all off by
default; the pure rules in ``lms.grading.rules`` implement the default semantics only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType


class Grade(StrEnum):
    """Annual or quarterly grade, best first."""

    EXCELLENT = "excellent"                      # 优秀
    COMPETENT = "competent"                      # 称职
    BASICALLY_COMPETENT = "basically_competent"  # 基本称职
    INCOMPETENT = "incompetent"                  # 不称职


#: Score-sheet components, in the order of the score sheet.
COMPONENTS = ("work", "competence", "diligence", "satisfaction", "integrity")
#: Levels, lowest (entry) first: 3 三级 → 2 二级 → 1 一级.
LEVELS = (3, 2, 1)
ENTRY_LEVEL = 3
TOP_LEVEL = 1


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def _default_component_max() -> Mapping[str, Decimal]:
    return _frozen({"work": Decimal(40), "competence": Decimal(20), "diligence": Decimal(15),
                    "satisfaction": Decimal(15), "integrity": Decimal(10)})


def _default_level_base() -> Mapping[int, int]:
    return _frozen({3: 6000, 2: 8000, 1: 10000})


def _default_coefficients() -> Mapping[Grade, Decimal]:
    return _frozen({Grade.EXCELLENT: Decimal("1.2"), Grade.COMPETENT: Decimal("1.0"),
                    Grade.BASICALLY_COMPETENT: Decimal("0.5"), Grade.INCOMPETENT: Decimal(0)})


@dataclass(frozen=True)
class Policy:
    """Every number the evaluation and the stipend depend on, for one year."""

    year: int
    component_max: Mapping[str, Decimal] = field(default_factory=_default_component_max)
    excellent_min: Decimal = Decimal(90)
    competent_min: Decimal = Decimal(75)
    basically_competent_min: Decimal = Decimal(60)
    excellent_cap_share: Decimal = Decimal("0.20")
    promote_after: int = 3          # consecutive years ≥ competent at the current level
    early_promote_after: int = 2    # … of which at least one excellent
    level_base_fen: Mapping[int, int] = field(default_factory=_default_level_base)
    topup_share: Decimal = Decimal("0.20")
    quarterly_coefficient: Mapping[Grade, Decimal] = field(default_factory=_default_coefficients)
    floor_fen_per_month: int = 6000
    price_step_fen: int = 500
    # Optional rules (reference/domain.md §2.3–2.4), off by default.
    probation_year_ungraded: bool = False
    early_promotion_limit: bool = False
    certificate_uplift: bool = False
    certificate_allowance: bool = False
    training_hours_prerequisite: bool = False
    competence_cap_unrotated: bool = False

    def __post_init__(self) -> None:
        if not self.excellent_min > self.competent_min > self.basically_competent_min >= 0:
            raise ValueError("grade thresholds must strictly decrease")
        if set(self.component_max) != set(COMPONENTS) or set(self.level_base_fen) != set(LEVELS):
            raise ValueError("components and levels must be complete")
        if set(self.quarterly_coefficient) != set(Grade):
            raise ValueError("every grade needs a quarterly coefficient")
        if not (0 <= self.excellent_cap_share <= 1 and 0 <= self.topup_share <= 1):
            raise ValueError("shares must lie between 0 and 1")
        object.__setattr__(self, "component_max", _frozen(self.component_max))
        object.__setattr__(self, "level_base_fen", _frozen(self.level_base_fen))
        object.__setattr__(self, "quarterly_coefficient", _frozen(self.quarterly_coefficient))


def default_policy(year: int) -> Policy:
    """The policy of decisions 6–7, for *year* (used when no policy is stored for the year)."""
    return Policy(year=year)
