"""The evaluation and stipends of the demo data set (flush only), through the grading services.

Last year: every county's round opened, scored (seeded scores: the competence of a year before
go-live cannot come from records, so it is seeded too), published and confirmed, so this year's
levels and histories are real; its four quarters graded, computed and confirmed. This year: the
quarters that have ended graded and computed (all but the latest confirmed), and the demo county's
round opened so the demo township staff can enter scores. The same functions time the city-scale
evaluation in ``bench/grading_city.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import insert, select

from lms.demo.divisions import COUNTY_CODE
from lms.extensions import db
from lms.grading import cycle, ledger
from lms.grading.models import EvaluationRound, QuarterGrade
from lms.grading.policy import Grade
from lms.org.models import Level, OrgUnit

QUARTER_GRADES = ((Grade.EXCELLENT, 20), (Grade.COMPETENT, 64), (Grade.BASICALLY_COMPETENT, 13),
                  (Grade.INCOMPETENT, 3))
VETO_SHARE = 0.003
HALF = Decimal("0.5")
#: (stage, done, total), as in ``lms.demo.load``.
Progress = Callable[[str, int, int], None]


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def _at(day: date) -> datetime:
    return datetime.combine(day, time(2, 0), tzinfo=UTC)


def counties() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.level == Level.COUNTY.value)
                                   .order_by(OrgUnit.code)))


def _score(rng: random.Random, mean: float, sd: float, top: int) -> Decimal:
    value = min(max(rng.gauss(mean, sd), 0), top)
    return (Decimal(str(value)) / HALF).to_integral_value() * HALF


def score_sheets(rnd: EvaluationRound, rng: random.Random) -> int:
    """Seeded scores on every sheet of the round, as the township forms would enter them (one
    satisfaction score per village, a veto now and then); returns the sheets scored."""
    rows = cycle.rows_of(rnd)
    satisfaction: dict[int, Decimal] = {}
    for row in rows:
        row.work = _score(rng, 33, 4, 40)
        row.diligence = _score(rng, 12.5, 1.5, 15)
        row.integrity = _score(rng, 8.8, 1, 10)
        row.competence = _score(rng, 15.5, 2.5, 20)
        row.satisfaction = satisfaction.setdefault(row.org_unit_id, _score(rng, 12.5, 1.5, 15))
        if rng.random() < VETO_SHARE:
            row.veto, row.veto_reason = True, "经查实存在优亲厚友问题（演示）"
    return len(rows)


def evaluate_year(year: int, rng: random.Random, progress: Progress = _quiet) -> int:
    """Open, score, publish and confirm *year* in every county; returns the sheets evaluated."""
    total = 0
    every = counties()
    for done, county in enumerate(every):
        progress("evaluation", done, len(every))
        rnd = cycle.open_round(county, year, actor=None, now=_at(date(year, 12, 1)))
        scored = score_sheets(rnd, rng)
        cycle.recompute(rnd, None)
        cycle.publish(rnd, actor=None, now=_at(date(year, 12, 15)))
        cycle.confirm(rnd, actor=None, now=_at(date(year + 1, 1, 10)))
        total += scored
    progress("evaluation", len(every), len(every))
    return total


def grade_quarter(year: int, quarter: int, rng: random.Random) -> int:
    """A seeded quarterly grade for every assistant in post in the quarter, in every county."""
    first, last = ledger.quarter_bounds(year, quarter)
    rows = []
    for county in counties():
        for p in ledger.roster.assistant_posts(county, first, last):
            grade = rng.choices([g for g, _w in QUARTER_GRADES],
                                weights=[w for _g, w in QUARTER_GRADES])[0]
            rows.append({"post_id": p.post_id, "person_id": p.person_id,
                         "org_unit_id": p.village_id, "township_id": p.township_id, "year": year,
                         "quarter": quarter, "grade": grade.value,
                         "entered_at": _at(last), "entered_by_id": None})
    if rows:
        db.session.execute(insert(QuarterGrade), rows)
    return len(rows)


def pay_quarter(year: int, quarter: int, *, confirm: bool, now: datetime) -> int:
    """Compute (and confirm) the quarter in every county a few days after it ended (not after
    *now*); returns the total in fen."""
    last = ledger.quarter_bounds(year, quarter)[1]
    when = min(_at(date.fromordinal(last.toordinal() + 5)), now)
    total = 0
    for county in counties():
        run = ledger.compute_quarter(county, year, quarter, actor=None, now=when)
        if confirm:
            ledger.confirm_quarter(run, actor=None, now=when)
        total += run.total_fen
    return total


def load_grading(seed: int, now: datetime, progress: Progress = _quiet) -> None:
    rng = random.Random(f"{seed}:grading")  # noqa: S311 - seeded synthetic data
    today = now.date()
    last = today.year - 1
    evaluate_year(last, rng, progress)
    ended = [q for q in ledger.QUARTERS if ledger.quarter_bounds(today.year, q)[1] < today]
    quarters = len(ledger.QUARTERS) + len(ended)
    for done, quarter in enumerate(ledger.QUARTERS):
        progress("stipends", done, quarters)
        grade_quarter(last, quarter, rng)
        pay_quarter(last, quarter, confirm=True, now=now)
    for done, quarter in enumerate(ended, len(ledger.QUARTERS)):
        progress("stipends", done, quarters)
        grade_quarter(today.year, quarter, rng)
        pay_quarter(today.year, quarter, confirm=quarter != ended[-1], now=now)
    progress("stipends", quarters, quarters)
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == COUNTY_CODE))
    if county is not None:
        cycle.open_round(county, today.year, actor=None, now=now)
