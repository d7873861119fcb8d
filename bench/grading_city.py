"""Time the city-scale evaluation and a year's stipends (issue 6 acceptance; issue 7 records it).

    .venv/bin/python bench/grading_city.py [--size M] [--db sqlite|URL] [--json]

Builds a fresh database (a temporary SQLite file, or the given PostgreSQL URL, which is emptied
first), loads the demo data set of the size without its evaluation, then times, through the same
services the pages use: (1) the year's evaluation in every county — open the round (sheets,
levels, histories, competence from the records), score every sheet (seeded), recompute totals,
grades and the 优秀 cap, publish, confirm; (2) the four quarters' stipends — seeded quarterly
grades, compute and confirm each quarter in every county. Prints seconds per stage and the
counts; the integrity of every sealed row is verified at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from lms import create_app  # noqa: E402
from lms.demo import grading as demo_grading  # noqa: E402
from lms.demo import load  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.grading import integrity  # noqa: E402
from lms.grading.models import Evaluation, StipendLine  # noqa: E402

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)
YEAR = 2025


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
            started = time.perf_counter()
            sheets = demo_grading.evaluate_year(YEAR, rng)
            db.session.commit()
            evaluate = time.perf_counter() - started
            started = time.perf_counter()
            total_fen = 0
            for quarter in (1, 2, 3, 4):
                demo_grading.grade_quarter(YEAR, quarter, rng)
                total_fen += demo_grading.pay_quarter(YEAR, quarter, confirm=True, now=NOW)
            db.session.commit()
            pay = time.perf_counter() - started
            lines = db.session.scalar(select(func.count(StipendLine.id)))
            assert db.session.scalar(select(func.count(Evaluation.id))) == sheets
            assert integrity.first_problem() is None
            result = {"size": args.size, "db": db.engine.dialect.name, "assistants": sheets,
                      "evaluate_seconds": round(evaluate, 2), "stipend_lines": lines,
                      "stipends_seconds": round(pay, 2), "year_fen": total_fen,
                      "total_seconds": round(evaluate + pay, 2),
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
