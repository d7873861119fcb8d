"""``make bench-window``: a bounded Locust replay of an exam window (issue 7, B7).

    .venv/bin/python bench/window.py --size S --db sqlite [--users N] [--window 120]
        [--exam-time 180] [--ramp 30] [--period 30]

A fresh copy of the template, gunicorn on 127.0.0.1 (the settings of ``make bench``), then
Locust headless (``bench/locust_window.py``), bounded by ``--run-time`` and a subprocess
timeout, in its own process group, stopped by its PID. N trainees (default: the template's, at
most 2,000) spawn over the ramp and open the home page; at a common start time the exam
starts are spread over the window; each trainee changes one answer per autosave period (30 s,
shortened to a sixth of the exam time for short runs) with think time around it; all submit
together at the end. Reports p50/p95/p99 per step, errors, lost answers (acknowledged saves
the database does not hold) and the sustained autosave writes/s against the capacity target
(3 × 165 writes/s). Writes ``bench/results/<date>-<size>-<db>-window.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LMS_INSTANCE_PATH", str(Path(__file__).resolve().parent / "cache/instance"))

from sqlalchemy import bindparam, create_engine, text  # noqa: E402

from bench import prepare, report, scenario_data, server, templates  # noqa: E402
from bench.template import ROOT  # noqa: E402

PORT = 18766
CITY_WRITES = 165  # every M trainee changing an answer every 30 s (issue 7)
TARGET_WRITES = 3 * CITY_WRITES
MAX_USERS = 2000
LOCUST = ROOT / ".venv/bin/locust"
LAUNCH_DELAY = 8  # Locust's own start-up before it spawns users
STEPS = ("home", "start", "attempt page", "autosave", "submit")


def ensure_locust() -> None:
    if not LOCUST.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",  # noqa: S603
                        "locust>=2.20"], check=True, timeout=900)


def _warm_up(auth: tuple[str, str], seconds: float = 3) -> None:
    """A few home pages and hellos (first requests compile templates, open connections)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path, headers in (("/_bench/hello", {}),
                              ("/", {"Cookie": f"lms_session={auth[0]}"})):
            req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}",  # noqa: S310
                                         headers=headers)
            with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - loopback only
                r.read()


def _stats(prefix: Path) -> dict[str, dict]:
    out = {}
    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["Name"] in STEPS:
                out[row["Name"]] = {"requests": int(row["Request Count"]),
                                    "failures": int(row["Failure Count"]),
                                    **{f"p{q}_ms": float(row[f"{q}%"] or 0)
                                       for q in (50, 95, 99)},
                                    "max_ms": float(row["Max Response Time"] or 0)}
    return out


def _check_db(url: str, outcome: dict) -> dict:
    """Every acknowledged save is in the database (the stored seq is at least the acknowledged
    one, and the same response when equal); every acknowledged submit is graded."""
    latest: dict[tuple[int, int], tuple[int, int]] = {}
    for aid, pos, seq, alt, _t in outcome["acks"]:
        if seq > latest.get((aid, pos), (0, 0))[0]:
            latest[(aid, pos)] = (seq, alt)
    plan = json.loads(Path(outcome["plan"]).read_text(encoding="utf-8"))
    engine = create_engine(url)
    lost, stale = 0, 0
    with engine.connect() as conn:
        attempts = sorted({a for a, _p in latest})
        stored = {}
        for chunk in range(0, len(attempts), 500):
            ids = attempts[chunk:chunk + 500]
            rows = conn.execute(text(
                "SELECT attempt_id, position, client_seq, response FROM attempt_item"
                " WHERE attempt_id IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"ids": ids})
            stored.update({(r[0], r[1]): (r[2], r[3]) for r in rows})
        for key, (seq, alt) in latest.items():
            db_seq, response = stored.get(key, (0, None))
            if isinstance(response, str):
                response = json.loads(response)
            if db_seq < seq:
                lost += 1
            elif db_seq == seq and response != plan["responses"][key[1] - 1][alt]:
                stale += 1
        submitted = outcome["submitted"]
        graded = 0
        for chunk in range(0, len(submitted), 500):
            graded += conn.execute(text(
                "SELECT count(*) FROM exam_attempt WHERE id IN :ids"
                " AND state IN ('submitted', 'auto_submitted') AND score IS NOT NULL")
                .bindparams(bindparam("ids", expanding=True)),
                {"ids": submitted[chunk:chunk + 500]}).scalar()
    engine.dispose()
    return {"acknowledged_saves": len(outcome["acks"]), "answers_checked": len(latest),
            "lost_answers": lost, "wrong_answers": stale, "submitted_2xx": len(submitted),
            "graded": graded}


def _writes(acks: list, start: float, end: float) -> dict:
    """Autosave 2xx per second over the steady phase (everyone started, before the submit)."""
    inside = [a[4] for a in acks if start <= a[4] < end]
    seconds = max(end - start, 1e-9)
    per_second: dict[int, int] = {}
    for t in inside:
        per_second[int(t - start)] = per_second.get(int(t - start), 0) + 1
    counts = sorted(per_second.get(s, 0) for s in range(int(seconds)))
    return {"steady_seconds": round(seconds, 1), "sustained": round(len(inside) / seconds, 1),
            "per_second_median": counts[len(counts) // 2] if counts else 0,
            "per_second_max": counts[-1] if counts else 0}


def _md(args: argparse.Namespace, machine: dict, res: dict) -> str:
    load = machine["load_at_start"]
    w, db_check, o = res["writes"], res["db"], res["outcome"]
    lines = [f"# Exam-window replay {machine['date'][:10]} — size {args.size}, {args.db}", ""]
    if load[0] > 1:
        lines += [f"> **Provisional — shared machine:** load average {load[0]:.2f} at start.", ""]
    lines += [f"{res['users']} trainees; ramp {args.ramp} s (home page), then starts spread over "
              f"{args.window} s from a common start time, autosave every {res['period']:.0f} s "
              f"(think time 0.5–1.5 × that), exam time {args.exam_time} s after the last start, "
              f"all submit together; {machine.get('locust', '?')} headless, "
              f"run time bound {res['run_time']} s; gunicorn `{' '.join(server.WORKERS)}`.", "",
              "| step | requests | failures | p50 ms | p95 ms | p99 ms | max ms |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for name in STEPS:
        s = res["steps"].get(name)
        if s:
            lines.append(f"| {name} | {s['requests']} | {s['failures']} | {s['p50_ms']:.0f} | "
                         f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {s['max_ms']:.0f} |")
    offered = res["users"] / res["period"]
    if w["sustained"] >= TARGET_WRITES:
        verdict = "met"
    elif offered < TARGET_WRITES * 0.95:
        hint = (f"`PERIOD={res['users'] / TARGET_WRITES:.1f}`" if res["users"] >= TARGET_WRITES
                else f"{TARGET_WRITES} or more users (e.g. `USERS=2000 PERIOD=4` at M)")
        verdict = (f"not tested: the replay offered only {offered:.0f} writes/s (users ÷ "
                   f"period); it needs {hint}")
    else:
        verdict = f"**missed** by {TARGET_WRITES - w['sustained']:.0f} writes/s"
    lines += ["", "## Writes and correctness", "",
              f"- autosave writes/s over the steady phase ({w['steady_seconds']} s, everyone "
              f"started, before the submit): **{w['sustained']}** sustained (per second: median "
              f"{w['per_second_median']}, max {w['per_second_max']}); offered {offered:.0f}; "
              f"target ≥ 3 × {CITY_WRITES} = {TARGET_WRITES}: {verdict}",
              f"- failed requests: {res['errors']}; given up after the retries: start "
              f"{o['start_failed']}, autosave {o['save_failed']}, submit {o['submit_failed']}; "
              f"{o['retries']} retries after a 503",
              f"- lost answers: {db_check['lost_answers']} of {db_check['answers_checked']} "
              f"answers acknowledged ({db_check['acknowledged_saves']} saves with 200); "
              f"stored with another response: {db_check['wrong_answers']}",
              f"- submits answered 200: {db_check['submitted_2xx']}, graded in the database: "
              f"{db_check['graded']}"]
    lines += ["", f"Checks: {'passed' if not res['problems'] else 'FAILED'}"]
    lines += [f"- {p}" for p in res["problems"]]
    lines += ["", f"Command: `make bench-window SIZE={args.size} DB={args.db} USERS={res['users']} "
              f"WINDOW={args.window} EXAM={args.exam_time} RAMP={args.ramp} "
              f"PERIOD={res['period']:g}`; commit {machine['git']}; {machine['cpu']}, "
              f"{machine['cores']} cores."]
    return "\n".join(lines) + "\n"


def main() -> int:  # noqa: PLR0915 - one linear procedure
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="S", choices=["S", "M", "L"])
    p.add_argument("--db", default="sqlite", choices=["sqlite", "pg"])
    p.add_argument("--users", type=int, default=0, help="default: the template's trainees")
    p.add_argument("--window", type=int, default=120, help="exam starts spread over (s)")
    p.add_argument("--exam-time", type=int, default=180, help="answering after the last start")
    p.add_argument("--ramp", type=int, default=30, help="spawning the users (s)")
    p.add_argument("--period", type=float, default=0,
                   help="autosave period (s); default 30, at most a sixth of the exam time")
    p.add_argument("--results", default=str(ROOT / "bench/results"),
                   help="where to write the .md and .json (e.g. /tmp for a trial run)")
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    args = p.parse_args()
    machine = report.machine_info(args)
    ensure_locust()
    machine["locust"] = " ".join(report._cmd([str(LOCUST), "--version"]).split()[:2])
    setup = templates.ensure(args.size, args.db, args.pg_url)
    scenario_data.ensure(setup, args.size, args.db)
    tokens = setup.meta["trainee_tokens"]
    users = min(args.users or len(tokens), len(tokens), MAX_USERS)
    period = args.period or min(30.0, args.exam_time / 6)
    work = ROOT / "bench/cache/window"
    work.mkdir(parents=True, exist_ok=True)
    prepare.fresh_copy(args.db, setup.template, setup.run_url)
    plan_path, acks_path, prefix = work / "plan.json", work / "acks.json", work / "locust"
    acks_path.unlink(missing_ok=True)
    cookies = prepare.cookies(tokens[:users])
    log = ROOT / "bench/cache" / f"gunicorn-window-{args.size}-{args.db}.log"
    proc = locust = None
    try:
        proc = server.start(setup.run_url, PORT, ROOT / "bench/cache/instance", log)
        server.wait_ready(proc, PORT)
        _warm_up(cookies[0])
        # the common start time, once the server answers: Locust's start-up, the ramp, 5 s
        t0 = time.time() + LAUNCH_DELAY + args.ramp + 5
        plan_path.write_text(json.dumps({
            "users": cookies, "exam_id": setup.meta["window_exam_id"],
            "responses": setup.meta["window_responses"], "t0": t0, "window": args.window,
            "exam_time": args.exam_time, "period": period, "acks": str(acks_path)}),
            encoding="utf-8")
        run_time = int(t0 - time.time()) + args.window + args.exam_time + 90
        print(f"locust: {users} trainees, ramp {args.ramp} s, window {args.window} s, exam "
              f"{args.exam_time} s, autosave every {period:g} s; at most {run_time} s",
              flush=True)
        with (work / "locust.log").open("wb") as out:
            locust = subprocess.Popen(  # noqa: S603 - our own arguments
                [str(LOCUST), "-f", str(ROOT / "bench/locust_window.py"), "--headless",
                 "-u", str(users), "-r", f"{max(users / max(args.ramp, 1), 1):.2f}",
                 "--run-time", f"{run_time}s", "--stop-timeout", "30",
                 "--host", f"http://127.0.0.1:{PORT}", "--csv", str(prefix), "--only-summary",
                 "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                cwd=ROOT, env={**os.environ, "BENCH_WINDOW_PLAN": str(plan_path)},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                locust.wait(timeout=run_time + 120)
            except subprocess.TimeoutExpired:
                print("locust overran its bound: stopped", file=sys.stderr)
        if not acks_path.exists():
            raise RuntimeError(f"Locust wrote no results (see {work / 'locust.log'})")
        outcome = {**json.loads(acks_path.read_text(encoding="utf-8")), "plan": str(plan_path)}
        db_check = _check_db(setup.run_url, outcome)
    finally:
        if locust is not None:
            server.stop(locust)
        server.stop(proc)
        if args.db == "pg":
            prepare.drop_pg(setup.run_url)
    steps = _stats(prefix)
    failures = sum(s["failures"] for s in steps.values())
    res = {"users": users, "period": period, "run_time": run_time, "steps": steps,
           "errors": failures, "outcome": {
               k: v if isinstance(v, int) else len(v) for k, v in outcome.items()
               if k not in ("acks", "plan")},
           "writes": _writes(outcome["acks"], t0 + args.window, t0 + args.window
                             + args.exam_time), "db": db_check}
    res["outcome"].update({k: outcome[k] for k in ("start_failed", "save_failed",
                                                   "submit_failed", "retries")})
    problems = []
    if failures:
        problems.append(f"{failures} failed requests")
    if db_check["lost_answers"] or db_check["wrong_answers"]:
        problems.append(f"{db_check['lost_answers']} acknowledged answers lost, "
                        f"{db_check['wrong_answers']} stored with another response")
    if db_check["graded"] != db_check["submitted_2xx"]:
        problems.append(f"{db_check['submitted_2xx']} submits answered 200 but "
                        f"{db_check['graded']} attempts graded")
    if len(outcome["submitted"]) + outcome["submit_failed"] + outcome["start_failed"] < users:
        problems.append(f"only {outcome['finished']} of {users} trainees finished within "
                        "the run time")
    res["problems"] = problems
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{machine['date'][:10]}-{args.size}-{args.db}-window"
    Path(f"{stem}.md").write_text(_md(args, machine, res), encoding="utf-8")
    Path(f"{stem}.json").write_text(json.dumps({"args": vars(args), "machine": machine, **res},
                                               ensure_ascii=False, indent=1), encoding="utf-8")
    print(Path(f"{stem}.md").read_text(encoding="utf-8"))
    for problem in problems:
        print("CHECK FAILED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
