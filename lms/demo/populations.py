"""Synthetic resident and registered populations (domain.md §4.2), a pure function of the seed.

County totals: Linyi's from the synthetic table of domain.md §4.2; other cities' 7th-census
totals (2020) split over their counties. Each total is split over the children by weight (1,000 per
village, 3,000 per community) times a lognormal jitter clamped to ±20%, then scaled back so the
children add up to the parent exactly. Registered population = resident × U(0.95, 1.15) at village
level; every level above is the sum of its children, so totals always agree.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from lms.demo.divisions import CITY_CODE, Division
from lms.org.models import Level, UnitKind

#: Synthetic Linyi county resident populations (domain.md §4.2).
LINYI_COUNTIES = {
    "371302": 1_844_089, "371311": 656_516, "371312": 811_949, "371321": 786_011,
    "371322": 832_819, "371323": 992_128, "371324": 1_104_391, "371325": 752_320,
    "371326": 971_059, "371327": 1_041_124, "371328": 486_474, "371329": 613_285,
    "371371": 126_215,
}

#: City resident populations, 7th census (2020-11-01), used for size L.
CITY_TOTALS = {
    "3701": 9_202_432, "3702": 10_071_722, "3703": 4_704_138, "3704": 3_855_601,
    "3705": 2_193_518, "3706": 7_102_116, "3707": 9_386_705, "3708": 8_357_897,
    "3709": 5_472_217, "3710": 2_906_548, "3711": 2_968_365, "3713": 11_018_365,
    "3714": 5_611_194, "3715": 5_952_128, "3716": 3_928_568, "3717": 8_795_939,
}

VILLAGE_WEIGHT = 1_000
COMMUNITY_WEIGHT = 3_000
JITTER_SIGMA = 0.1
JITTER_LIMIT = 0.2
REGISTERED_RANGE = (0.95, 1.15)
#: Fallback for a city missing from CITY_TOTALS: people per weight unit (about Linyi's ratio).
FALLBACK_PER_WEIGHT = 1.9


@dataclass(frozen=True, slots=True)
class Population:
    resident: int
    registered: int


def jitter(rng: random.Random) -> float:
    """A lognormal factor around 1, clamped to ±20%."""
    factor = rng.lognormvariate(0.0, JITTER_SIGMA)
    return min(max(factor, 1.0 - JITTER_LIMIT), 1.0 + JITTER_LIMIT)


def split(total: int, weights: list[int], rng: random.Random) -> list[int]:
    """Split *total* over jittered weights; the parts add up to *total* exactly."""
    if not weights:
        return []
    jittered = [max(w, 1) * jitter(rng) for w in weights]
    scale = total / sum(jittered)
    raw = [j * scale for j in jittered]
    parts = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _weights(divisions: list[Division], children: dict[str, list[Division]]) -> dict[str, int]:
    weight: dict[str, int] = {}
    for d in sorted(divisions, key=lambda d: -d.level.rank):
        if d.level == Level.VILLAGE:
            weight[d.code] = COMMUNITY_WEIGHT if d.kind == UnitKind.COMMUNITY else VILLAGE_WEIGHT
        else:
            weight[d.code] = sum(weight[c.code] for c in children[d.code])
    return weight


def _city_total(city: Division, weight: dict[str, int]) -> int:
    return CITY_TOTALS.get(city.code) or round(weight[city.code] * FALLBACK_PER_WEIGHT)


def _split_children(parent: Division, total: int | None, kids: list[Division],
                    weight: dict[str, int], rng: random.Random) -> dict[str, int]:
    """Totals of the children of *parent*: fixed figures where known, else a weighted split."""
    if parent.level == Level.PROVINCE:
        return {c.code: _city_total(c, weight) for c in kids}
    if parent.code == CITY_CODE:
        return {c.code: LINYI_COUNTIES[c.code] for c in kids}
    if total is None:  # a city root other than Linyi (not a shipped size, but handled)
        total = _city_total(parent, weight)
    return dict(zip((c.code for c in kids), split(total, [weight[c.code] for c in kids], rng),
                    strict=True))


def synthesise(divisions: list[Division], rng: random.Random) -> dict[str, Population]:
    """Resident and registered population of every division."""
    children: dict[str, list[Division]] = defaultdict(list)
    for d in divisions:
        if d.parent_code:
            children[d.parent_code].append(d)
    weight = _weights(divisions, children)
    resident: dict[str, int] = {}
    for d in sorted(divisions, key=lambda d: d.level.rank):
        if children[d.code]:
            resident.update(_split_children(d, resident.get(d.code), children[d.code], weight,
                                            rng))
    return _with_registered(divisions, children, resident, rng)


def _with_registered(divisions: list[Division], children: dict[str, list[Division]],
                     resident: dict[str, int], rng: random.Random) -> dict[str, Population]:
    out: dict[str, Population] = {}
    for d in sorted(divisions, key=lambda d: -d.level.rank):
        kids = children[d.code]
        if not kids:
            res = resident[d.code]
            out[d.code] = Population(res, round(res * rng.uniform(*REGISTERED_RANGE)))
        else:
            res = resident[d.code] if d.level in (Level.COUNTY, Level.TOWNSHIP) else sum(
                out[c.code].resident for c in kids)
            out[d.code] = Population(res, sum(out[c.code].registered for c in kids))
    return out
