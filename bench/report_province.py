"""Time the HR grade report at province scope on the L template (issue 7 target: aggregation +
chart + XLSX ≤ 10 s and ≤ 500 MB peak memory).

    .venv/bin/python bench/report_province.py [--db URL] [--rounds 3] [--out bench/results]

Runs in-process, through the same functions the views use (``lms.grading.views.reports``):
the years query, the SQL aggregation (``reports.grade_distribution``), the PNG chart
(``charts.grades_chart``), the export's integrity check (``verified.check``: on PostgreSQL the
counties' fingerprints, and the walk over every grade and stipend row of the counties whose
fingerprint is not the one recorded when their walk last passed — all of them in the first
check of a round, ``integrity_walk``, none in the next, ``integrity``; SQLite walks every
time) and the write-only XLSX (``report_export.to_xlsx``). The database is the L template
built by ``bench/templates.py`` (default: PostgreSQL ``lms_bench_tpl_l``), read only (the
recorded fingerprints are rolled back after each round). Writes
``bench/results/<date>-L-<db>-report.md`` and ``.json``: seconds per step (median and min–max
over the rounds; the first round also counts the one-off font registration and imports) and
the process's peak RSS (``getrusage``; tracemalloc is not used, it slows Python several-fold).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench import template  # noqa: E402
from lms.auth.access import Scope  # noqa: E402
from lms.auth.perms import Perm  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.grading import charts, reports, verified  # noqa: E402
from lms.grading import report_export as export  # noqa: E402
from lms.grading.models import Evaluation, StipendLine  # noqa: E402
from lms.org.models import OrgUnit  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_tpl_l"
TARGET_SECONDS = 10.0
TARGET_MB = 500.0
STEPS = ("aggregation", "chart", "integrity", "xlsx")


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _graded_year(scope: Scope, root: OrgUnit) -> int:
    """The latest year with graded sheets (the page defaults to the latest year with any data,
    which is the open year with nothing graded yet in the demo)."""
    for year in reports.years(scope, root):
        if reports.grade_distribution(reports.Frame(scope, root, year))[1].total:
            return year
    raise SystemExit("no graded evaluation year in this database")


def one_round(root: OrgUnit) -> dict[str, float]:
    """One province-scope grade report: page data, chart, and the XLSX export's work."""
    scope = Scope(Perm.GRADING_REPORTS, (root.path,))
    out: dict[str, float] = {}

    def aggregate() -> Any:
        year = _graded_year(scope, root)
        frame = reports.Frame(scope, root, year)
        return frame, reports.grade_distribution(frame)

    (frame, (rows, total)), out["aggregation"] = _timed(aggregate)
    title = f"{frame.year}年度 {root.name} 等次分布"
    png, out["chart"] = _timed(lambda: charts.grades_chart(rows, title))
    # The export's integrity check (lms/grading/verified.py), as the first export after every
    # county changed finds it (the template has no recorded fingerprints: every county walked),
    # then as the next export finds it (fingerprints only). Rolled back after the round.
    first, out["integrity_walk"] = _timed(verified.check)
    assert first.ok, "a grade or stipend row fails its integrity code"
    verified.record(first, None, now=datetime.now(UTC))
    again, out["integrity"] = _timed(verified.check)
    assert again.ok and (db.engine.dialect.name != "postgresql" or not again.walked)
    data, out["xlsx"] = _timed(lambda: export.to_xlsx(export.grades_table(rows, total, title)))
    assert png.startswith(b"\x89PNG") and data.getvalue()[:2] == b"PK"
    assert total.total > 0
    out["total"] = sum(out[s] for s in STEPS)
    out["total_after_change"] = out["total"] - out["integrity"] + out["integrity_walk"]
    out["units"] = len(rows)
    out["graded"] = total.total
    return out


def peak_rss_mb() -> float:
    return template.peak_rss_mb()


def measure(url: str, rounds: int) -> dict[str, Any]:
    app = template.make_app(url)
    with app.app_context(), app.test_request_context():
        root = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None))
                                 .order_by(OrgUnit.id).limit(1))
        assert root is not None
        counts = {"evaluations": db.session.scalar(select(func.count(Evaluation.id))),
                  "stipend_lines": db.session.scalar(select(func.count(StipendLine.id))),
                  "units": db.session.scalar(select(func.count(OrgUnit.id)))}
        rss_before = peak_rss_mb()
        results = []
        for _ in range(rounds):
            results.append(one_round(root))
            db.session.rollback()
        dialect, scope_name = db.engine.dialect.name, root.name
        db.session.remove()
    summary = {}
    for step in (*STEPS, "total", "integrity_walk", "total_after_change"):
        values = [r[step] for r in results]
        summary[step] = {"median": round(statistics.median(values), 2),
                         "min": round(min(values), 2), "max": round(max(values), 2),
                         "first": round(values[0], 2)}
    peak = peak_rss_mb()
    return {"date": date.today().isoformat(), "size": "L", "db": dialect, "scope": scope_name,
            "rounds": rounds, "counts": counts, "steps": summary,
            "grouped_units": results[0]["units"], "graded": results[0]["graded"],
            "peak_rss_mb": round(peak, 1), "rss_before_mb": round(rss_before, 1),
            "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_MB},
            "met": summary["total"]["median"] <= TARGET_SECONDS and peak <= TARGET_MB}


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Province grade report (L, {r['db']}), {r['date']}", "",
             "In-process timing of the HR grade report at province scope "
             "(`bench/report_province.py`): the functions the report page, its chart and its "
             "XLSX export call.", "",
             f"Data: {r['counts']['units']:,} units, {r['counts']['evaluations']:,} evaluation "
             f"rows, {r['counts']['stipend_lines']:,} stipend lines; {r['graded']:,} graded "
             f"sheets in {r['grouped_units']} counties. Rounds: {r['rounds']}.", "",
             "| step | median s | min–max s | first round s |", "|---|---|---|---|"]
    for step, s in r["steps"].items():
        lines.append(f"| {step} | {s['median']} | {s['min']}–{s['max']} | {s['first']} |")
    verdict = "met" if r["met"] else "MISSED"
    after = r["steps"]["total_after_change"]["median"]
    lines += ["", "`total` is the export as it runs when the counties' rows are unchanged since "
              "an earlier export passed (the fingerprints replace the walk); "
              f"`total_after_change` ({after} s) the first export after every county changed "
              "(the walk of every row, `integrity_walk`)."]
    lines += ["", f"Peak RSS of the process: **{r['peak_rss_mb']} MB** (`getrusage` "
                  f"ru_maxrss; after start-up and the data counts: {r['rss_before_mb']} MB).", "",
              f"Target (issue 7): total ≤ {r['targets']['seconds']:.0f} s and ≤ "
              f"{r['targets']['peak_mb']:.0f} MB peak: **{verdict}**.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(template.ROOT / "bench/results"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = measure(args.db, args.rounds)
    text = markdown(result)
    print(text)
    if not args.no_write:
        db_name = "pg" if result["db"] == "postgresql" else result["db"]
        Path(args.out).mkdir(parents=True, exist_ok=True)
        stem = Path(args.out) / f"{result['date']}-L-{db_name}-report"
        stem.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
        stem.with_suffix(".md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
