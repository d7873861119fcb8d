"""``make bench``: anchors and scenarios, interleaved rounds, checked, written to bench/results.

    .venv/bin/python bench/run.py --size S --db sqlite|pg [--rounds 3] [--duration 10]

Each round: a fresh copy of the template database, a fresh gunicorn (``bench/server.py``),
a short warm-up, then every anchor → scenario pair back to back under wrk. Writes are counted
in the database around each run (rows written = successful responses, give or take the
requests in flight when wrk stops); any other status or socket error fails the check.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LMS_INSTANCE_PATH", str(Path(__file__).resolve().parent / "cache/instance"))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import loadgen, prepare, report, scenario_data, server, templates  # noqa: E402
from bench.template import ROOT  # noqa: E402

#: (anchor, scenario) run back to back. An anchor of None: the scenario is compared with an
#: earlier run of the round (autosave beside the export ↔ the plain autosave, see BESIDE).
PAIRS = [("hello", None), ("select", "home"), ("insert", "autosave"), (None, "autosave_export"),
         ("insert", "start"), ("insert", "submit"), ("select", "results"), ("select", "report"),
         ("select", "report_png"), ("select", "report_xlsx")]
#: Scenario → (the request file run beside it on one connection, in a loop; its baseline run).
BESIDE = {"autosave_export": ("report_xlsx", "autosave")}
SEQUENTIAL = {"autosave", "autosave_export", "start", "submit"}
#: Scenarios whose success is a redirect (exam start answers 302 to the attempt page).
REDIRECTS = {"start"}
WARM_UP = ("hello", "select", "home", "report")
PORT = 18765


def _counters(meta: dict) -> dict[str, tuple[str, dict]]:
    """Row counts of what each write run adds."""
    saved = ("SELECT count(*) FROM attempt_item ai JOIN exam_attempt a ON a.id = ai.attempt_id"
             " WHERE a.exam_id = :e AND ai.client_seq > 0", {"e": meta["autosave_exam_id"]})
    return {
        "insert": ("SELECT count(*) FROM bench_row", {}),
        "autosave": saved,
        "autosave_export": saved,
        # graded = finished (submission marks the objective items in the same transaction)
        "submit": ("SELECT count(*) FROM exam_attempt WHERE exam_id >= :lo AND exam_id <= :hi"
                   " AND state IN ('submitted', 'auto_submitted') AND score IS NOT NULL",
                   {"lo": min(meta["submit_exam_ids"]), "hi": max(meta["submit_exam_ids"])}),
        "start": ("SELECT count(*) FROM exam_attempt WHERE exam_id >= :lo AND exam_id <= :hi",
                  {"lo": min(meta["start_exam_ids"]), "hi": max(meta["start_exam_ids"])}),
    }


def _check(name: str, res: dict, written: int | None) -> list[str]:
    ok = res["s3xx"] if name in REDIRECTS else res["s2xx"]
    problems = []
    if ok != res["requests"] or any(res[k] for k in ("err_connect", "err_read", "err_write",
                                                        "err_timeout")):
        problems.append(f"{name}: {res['requests'] - ok} unexpected responses "
                        f"(2xx {res['s2xx']}, 3xx {res['s3xx']}, 4xx {res['s4xx']}, "
                        f"5xx {res['s5xx']}), socket errors {res['err_connect']}/"
                        f"{res['err_read']}/{res['err_write']}/{res['err_timeout']}")
    if written is not None and not 0 <= written - ok <= loadgen.CONNECTIONS:
        problems.append(f"{name}: {written} rows written for {ok} successful responses")
    if not res["requests"]:
        problems.append(f"{name}: no request finished within the run")
    if name in SEQUENTIAL and res["wrapped"]:
        problems.append(f"{name}: ran out of distinct requests ({res['wrapped']} wraps)")
    return problems


def _settled(engine, count: tuple[str, dict]) -> int:  # noqa: ANN001
    """The row count once the requests still in the server when wrk stopped have finished:
    unchanged for a second (at most 30 s), so they are not counted in the next run."""
    deadline, last = time.monotonic() + 30, None
    while True:
        with engine.connect() as conn:
            now = conn.execute(text(count[0]), count[1]).scalar()
        if now == last or time.monotonic() > deadline:
            return now
        last = now
        time.sleep(1)


def _measure(name: str, files: dict, engine, counters: dict, seconds: int) -> dict:
    count = counters.get(name)
    if count:
        with engine.connect() as conn:
            before = conn.execute(text(count[0]), count[1]).scalar()
    mode = "seq" if name in SEQUENTIAL else "random"
    if name in BESIDE:
        res, side = loadgen.run_beside(PORT, (files[name], mode), files[BESIDE[name][0]],
                                       seconds)
        res["beside"] = {"name": BESIDE[name][0], **side}
    else:
        res = loadgen.run(PORT, files[name], mode, seconds)
    if count:
        res["written"] = _settled(engine, count) - before
    res["problems"] = _check(name, res, res.get("written"))
    if "beside" in res:
        side = res["beside"]
        if not side["requests"] or side["errors"]:
            res["problems"].append(f"{name}: the {side['name']} beside it answered "
                                   f"{side['s2xx']} 2xx of {side['requests']}")
        print(f"  {'  beside':<12} {side['requests']:5d} × {side['name']}  p50 "
              f"{side['p50_ms']:.0f} ms  p99 {side['p99_ms']:.0f} ms", flush=True)
    print(f"  {name:<12} {res['rps']:8.1f} rps  p99 {res['p99_ms']:8.1f} ms"
          f"{'  ' + '; '.join(res['problems']) if res['problems'] else ''}", flush=True)
    return res


def _round(n: int, setup: templates.Setup, files: dict, args, log: Path) -> list[dict]:
    prepare.fresh_copy(args.db, setup.template, setup.run_url)
    engine = create_engine(setup.run_url)
    proc = None
    runs = []
    try:
        proc = server.start(setup.run_url, PORT, ROOT / "bench/cache/instance", log)
        server.wait_ready(proc, PORT)
        for name in WARM_UP:
            loadgen.run(PORT, files[name], "random", 2)
        for anchor, scenario in PAIRS:
            for role, name in (("anchor", anchor), ("scenario", scenario)):
                if name is None:
                    continue
                res = _measure(name, files, engine, _counters(setup.meta), args.duration)
                pair = f"{anchor or BESIDE[scenario][1]}>{scenario or ''}"
                runs.append({"round": n, "pair": pair, "role": role,
                             "name": name, **res})
    finally:
        server.stop(proc)
        engine.dispose()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "pg"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--results", default=str(ROOT / "bench/results"),
                        help="where to write the .md and .json (e.g. /tmp for a trial run)")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    machine = report.machine_info(args)
    loadgen.ensure_wrk()
    started = time.time()
    setup = templates.ensure(args.size, args.db, args.pg_url)
    scenario_data.ensure(setup, args.size, args.db)
    files = prepare.request_files(setup.meta, ROOT / "bench/cache" / f"requests-{args.db}")
    log = ROOT / "bench/cache" / f"gunicorn-{args.size}-{args.db}.log"
    runs = []
    try:
        for n in range(1, args.rounds + 1):
            print(f"round {n}/{args.rounds}", flush=True)
            runs += _round(n, setup, files, args, log)
    finally:
        if args.db == "pg":
            prepare.drop_pg(setup.run_url)
    md, js = report.write(args, machine, setup, runs, time.time() - started)
    print(f"wrote {md} and {js}")
    failed = [p for r in runs for p in r["problems"]]
    for p in failed:
        print("CHECK FAILED:", p, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
