"""Time the city-scale evaluation and a year's stipends (issue 6 acceptance; issue 7 records it).

    .venv/bin/python bench/grading_city.py [--size M] [--db sqlite|URL] [--json]

Builds a fresh database (a temporary SQLite file, or the given PostgreSQL URL, which is emptied
first), loads the demo data set of the size without its evaluation, then times, through the same
services the pages use: (1) the year's evaluation in every county — open the round (sheets,
levels, histories, competence from the records), score every sheet (seeded), recompute totals,
grades and the 优秀 cap, publish, confirm; (2) the four quarters' stipends — seeded quarterly
grades, compute and confirm each quarter in every county. It does what ``lms.demo.grading``'s
``evaluate_year``, ``grade_quarter`` and ``pay_quarter`` do (the same seeded draws, so the same
rows), step by step, to time each kind of operation apart: the system's one-click operations
(open, recompute, publish, confirm, compute, confirm payment; the ≤ 2 s target) and the
simulated input (every sheet scored and every quarterly grade entered, as officers would
through the forms). Prints seconds per stage, per part and in all, and the counts; the
integrity of every sealed row is verified at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from lms import create_app  # noqa: E402
from lms.demo import grading as demo_grading  # noqa: E402
from lms.demo import load  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.grading import cycle, integrity, ledger  # noqa: E402
from lms.grading.models import Evaluation, StipendLine  # noqa: E402

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)
YEAR = 2025
#: The stages of the system's one-click operations; the others simulate officers' input.
SYSTEM = ("open", "recompute", "publish", "confirm", "compute", "confirm_pay")
INPUT = ("score", "quarter_grades")


class Clock:
    """Seconds per stage, summed over the counties and quarters."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


def evaluate_year(clock: Clock, rng: random.Random) -> int:
    """``demo_grading.evaluate_year`` with each step timed."""
    at = demo_grading._at  # noqa: SLF001
    total = 0
    for county in demo_grading.counties():
        with clock.stage("open"):
            rnd = cycle.open_round(county, YEAR, actor=None, now=at(date(YEAR, 12, 1)))
        with clock.stage("score"):
            total += demo_grading.score_sheets(rnd, rng)
            db.session.flush()
        with clock.stage("recompute"):
            cycle.recompute(rnd, None)
        with clock.stage("publish"):
            cycle.publish(rnd, actor=None, now=at(date(YEAR, 12, 15)))
        with clock.stage("confirm"):
            cycle.confirm(rnd, actor=None, now=at(date(YEAR + 1, 1, 10)))
    return total


def pay_year(clock: Clock, rng: random.Random) -> int:
    """``demo_grading.grade_quarter`` and ``pay_quarter`` for the four quarters, timed apart;
    returns the year's total in fen."""
    total = 0
    for quarter in ledger.QUARTERS:
        with clock.stage("quarter_grades"):
            demo_grading.grade_quarter(YEAR, quarter, rng)
            db.session.flush()
        last = ledger.quarter_bounds(YEAR, quarter)[1]
        when = min(demo_grading._at(date.fromordinal(last.toordinal() + 5)), NOW)  # noqa: SLF001
        for county in demo_grading.counties():
            with clock.stage("compute"):
                run = ledger.compute_quarter(county, YEAR, quarter, actor=None, now=when)
            with clock.stage("confirm_pay"):
                ledger.confirm_quarter(run, actor=None, now=when)
            total += run.total_fen
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=["S", "M", "L"])
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.db
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "AUDIT_KEY": "bench", "PII_KEY": "bench-pii-key-0123456789abcdef"})
        with app.app_context():
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            load.load(args.size, 3713, now=NOW, with_grading=False)
            db.session.commit()
            loaded = time.perf_counter() - started
            rng = random.Random("bench:grading")  # noqa: S311
            clock = Clock()
            started = time.perf_counter()
            sheets = evaluate_year(clock, rng)
            with clock.stage("commit"):
                db.session.commit()
            evaluate = time.perf_counter() - started
            started = time.perf_counter()
            total_fen = pay_year(clock, rng)
            with clock.stage("commit"):
                db.session.commit()
            pay = time.perf_counter() - started
            lines = db.session.scalar(select(func.count(StipendLine.id)))
            assert db.session.scalar(select(func.count(Evaluation.id))) == sheets
            assert integrity.first_problem() is None
            result = {"size": args.size, "db": db.engine.dialect.name, "assistants": sheets,
                      "evaluate_seconds": round(evaluate, 2), "stipend_lines": lines,
                      "stipends_seconds": round(pay, 2), "year_fen": total_fen,
                      "total_seconds": round(evaluate + pay, 2),
                      "system_seconds": round(sum(clock.seconds[k] for k in SYSTEM), 2),
                      "input_seconds": round(sum(clock.seconds[k] for k in INPUT), 2),
                      "commit_seconds": round(clock.seconds["commit"], 2),
                      **{f"{k}_seconds": round(clock.seconds[k], 2) for k in SYSTEM + INPUT},
                      "demo_load_seconds": round(loaded, 2)}
            db.session.remove()
            if args.db != "sqlite":
                db.drop_all()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
