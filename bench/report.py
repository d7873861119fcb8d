"""Results of a ``make bench`` run: medians and min–max per anchor and scenario, the ratios
of issue 7 per round, machine information; written as Markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from bench import loadgen, server
from bench.template import ROOT

#: (scenario, anchor, target rps ratio or None[, p99 ratio target]).
RATIOS = [("autosave", "insert", 0.6), ("start", "insert", 0.3), ("submit", "insert", None),
          ("home", "select", 0.35), ("results", "select", None), ("report", "select", None),
          ("report_png", "select", None), ("report_xlsx", "select", None),
          ("autosave_export", "autosave", None, 1.5)]
P99_FACTOR = 2.5


def _cmd(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True,  # noqa: S603 - fixed args
                             timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine_info(args: Any) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    mem = next((ln.split()[1] for ln in meminfo if ln.startswith("MemTotal")), "0")
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu,
            "cores": os.cpu_count(), "mem_gib": round(int(mem) / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "load_at_start": os.getloadavg(),
            "gunicorn": _cmd([str(ROOT / ".venv/bin/gunicorn"), "--version"]),
            "wrk": _cmd(["wrk", "-v"]), "postgres": _cmd(["psql", "--version"])
            if args.db == "pg" else None, "git": _cmd(["git", "-C", str(ROOT), "rev-parse",
                                                       "--short", "HEAD"])}


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": round(median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)} if values else {}


def summarise(runs: list[dict]) -> dict[str, Any]:
    names = list(dict.fromkeys(r["name"] for r in runs))
    per_name = {n: {"rps": _stats([r["rps"] for r in runs if r["name"] == n]),
                    "p50_ms": _stats([r["p50_ms"] for r in runs if r["name"] == n]),
                    "p99_ms": _stats([r["p99_ms"] for r in runs if r["name"] == n])}
                for n in names}
    ratios = []
    for scenario, anchor, target, *p99_target in RATIOS:
        p99_factor = p99_target[0] if p99_target else P99_FACTOR
        pairs = [(a, s) for s in runs if s["name"] == scenario
                 for a in runs if a["round"] == s["round"] and a["name"] == anchor
                 and (a["pair"] == s["pair"] and a["role"] == "anchor"
                      or a["role"] == "scenario" and s["pair"].startswith(anchor + ">"))]
        if not pairs:
            continue
        failed = sum(bool(s["problems"]) for _a, s in pairs)
        pairs = [(a, s) for a, s in pairs if a["rps"] and a["p99_ms"]]  # 0: nothing finished
        if not pairs:
            continue
        rps = _stats([s["rps"] / a["rps"] for a, s in pairs])
        p99 = _stats([s["p99_ms"] / a["p99_ms"] for a, s in pairs])
        ratios.append({"scenario": scenario, "anchor": anchor, "rps_ratio": rps,
                       "target": target, "meets": None if target is None or failed
                       else rps["median"] >= target, "p99_ratio": p99,
                       "p99_target": p99_factor, "p99_meets": p99["median"] <= p99_factor,
                       "failed_rounds": failed})
    interference = {}
    for name in dict.fromkeys(r["name"] for r in runs if r.get("beside")):
        sides = [r["beside"] for r in runs if r["name"] == name]
        interference[name] = {"with": sides[0]["name"],
                              "requests": sum(b["requests"] for b in sides),
                              **{k: _stats([b[k] for b in sides])
                                 for k in ("p50_ms", "p99_ms", "max_ms")}}
    return {"per_name": per_name, "ratios": ratios, "beside": interference}


def _md(args: Any, machine: dict, setup: Any, summary: dict, runs: list[dict],
        seconds: float) -> str:
    load = machine["load_at_start"]
    lines = [f"# Benchmark {machine['date'][:10]} — size {args.size}, {args.db}", ""]
    lines += [f"> Load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at start: nothing "
              "else ran on the 2 cores." if load[0] <= 1 else
              f"> **Provisional — shared machine:** load average {load[0]:.2f} / {load[1]:.2f} / "
              f"{load[2]:.2f} at start (> 1: other work was running on the same 2 cores). Ratios "
              "within a round are more trustworthy than absolute numbers.", ""]
    lines += ["## Throughput and latency (median of rounds, min–max)", "",
              "| run | rps median | rps min–max | p50 ms | p99 ms median | p99 min–max |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, s in summary["per_name"].items():
        lines.append(f"| {name} | {s['rps']['median']:,.0f} | {s['rps']['min']:,.0f}–"
                     f"{s['rps']['max']:,.0f} | {s['p50_ms']['median']:.1f} | "
                     f"{s['p99_ms']['median']:.1f} | {s['p99_ms']['min']:.1f}–"
                     f"{s['p99_ms']['max']:.1f} |")
    lines += ["", "## Ratios (scenario ÷ its anchor, same round, back to back)", "",
              "| scenario ÷ anchor | rps ratio median (min–max) | target | p99 ÷ anchor p99 "
              f"(target ≤ {P99_FACTOR}; ≤ 1.5 beside an export) |", "|---|---:|---|---:|"]
    for r in summary["ratios"]:
        verdict = "—" if r["target"] is None else \
            f"≥ {r['target']} {'met' if r['meets'] else '**missed**'}"
        if r.get("failed_rounds"):
            verdict = ("" if r["target"] is None else verdict + " — ") + \
                f"**invalid: check failed in {r['failed_rounds']} round(s)**"
        p = r["p99_ratio"]
        lines.append(f"| {r['scenario']} ÷ {r['anchor']} | {r['rps_ratio']['median']:.2f} "
                     f"({r['rps_ratio']['min']:.2f}–{r['rps_ratio']['max']:.2f}) | {verdict} | "
                     f"{p['median']:.2f} ({p['min']:.2f}–{p['max']:.2f})"
                     f"{'' if r['p99_meets'] else ' **missed**'} |")
    if summary.get("beside"):
        lines += ["", "## Autosave while an export runs", "",
                  "wrk on autosave (-t2 -c32) while one thread of the harness requests the city "
                  "HR XLSX export again as soon as the previous one is done; the ratio row "
                  "`autosave_export ÷ autosave` above compares it with the plain autosave of "
                  "the same round (target p99 ≤ 1.5×).",
                  "", "| run | beside | exports done | export p50 ms | export p99 ms "
                  "(min–max) | export max ms |", "|---|---|---:|---:|---:|---:|"]
        for name, b in summary["beside"].items():
            lines.append(f"| {name} | {b['with']} | {b['requests']} | {b['p50_ms']['median']:.0f}"
                         f" | {b['p99_ms']['median']:.0f} ({b['p99_ms']['min']:.0f}–"
                         f"{b['p99_ms']['max']:.0f}) | {b['max_ms']['max']:.0f} |")
    problems = [p for r in runs for p in r["problems"]]
    lines += ["", "## Correctness checks", ""]
    lines += [f"- FAILED: {p}" for p in problems] or [
        "- every response had the expected status (2xx; 302 for exam start), no socket errors;",
        "- rows written = successful responses (at most the in-flight requests more) for the "
        "insert anchor, autosave (also beside the export), exam start and submit (graded "
        "attempts); no request file ran out; every export beside autosave answered 200."]
    writes = [(r["name"], r["round"], r.get("written"), r["s2xx"] + r["s3xx"]) for r in runs
              if r.get("written") is not None]
    lines += ["", "| write run | round | rows written | 2xx+3xx |", "|---|---:|---:|---:|"]
    lines += [f"| {n} | {rd} | {w} | {ok} |" for n, rd, w, ok in writes]
    lines += ["", "## Setup", "",
              f"- command: `make bench SIZE={args.size} DB={args.db} ROUNDS={args.rounds} "
              f"DURATION={args.duration}` ("
              + (f"{seconds / 60:.1f} min including the template)" if seconds
                 else "run time not recorded)"),
              f"- server: `{' '.join(server.command(18765)[1:])}` (gunicorn {machine['gunicorn']})",
              f"- load: `{' '.join(loadgen.command(18765, 'FILE', 'MODE', args.duration))}` "
              f"({machine['wrk']}); 2-s warm-up runs after each server start",
              f"- {args.rounds} interleaved rounds; each round a fresh copy of the template "
              f"(built in {setup.meta.get('build_seconds', '?')} s, version "
              f"{setup.meta['version']}) and a fresh server",
              f"- data: demo size {args.size} (seed 3713), {len(setup.meta['trainee_tokens'])} "
              f"trainee accounts, {len(setup.meta['start_exam_ids'])} start exams, "
              f"{len(setup.meta['autosave_plan'])} autosave slots (half for the plain run, half "
              f"beside the export), {len(setup.meta.get('submit_plan', []))} answered attempts "
              "to submit",
              f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['mem_gib']} GiB, "
              f"kernel {machine['kernel']}, Python {machine['python']}, SQLite "
              f"{machine['sqlite']}" + (f", {machine['postgres']}" if machine["postgres"] else "")
              + f"; commit {machine['git']}"]
    return "\n".join(lines) + "\n"


def write(args: Any, machine: dict, setup: Any, runs: list[dict], seconds: float):  # noqa: ANN201
    out = Path(getattr(args, "results", None) or ROOT / "bench/results")
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{machine['date'][:10]}-{args.size}-{args.db}"
    summary = summarise(runs)
    md, js = out / f"{stem}.md", out / f"{stem}.json"
    md.write_text(_md(args, machine, setup, summary, runs, seconds), encoding="utf-8")
    meta = {k: v for k, v in setup.meta.items() if not isinstance(v, list | dict)}
    js.write_text(json.dumps({"size": args.size, "db": args.db, "rounds": args.rounds,
                              "duration_s": args.duration, "machine": machine,
                              "template": meta, "seconds": round(seconds),
                              "summary": summary, "runs": runs},
                             ensure_ascii=False, indent=1), encoding="utf-8")
    return md, js


def rewrite(path: str) -> None:
    """Rebuild the Markdown of a results JSON (after a change to this module)."""
    from types import SimpleNamespace

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    args = SimpleNamespace(size=data["size"], db=data["db"], rounds=data["rounds"],
                           duration=data["duration_s"])
    cached = ROOT / "bench/cache" / f"{data['size']}-{data['db']}.json"
    meta = json.loads(cached.read_text(encoding="utf-8")) if cached.exists() else data["template"]
    setup = SimpleNamespace(meta=meta)
    seconds = data.get("seconds", 0)
    Path(path).with_suffix(".md").write_text(
        _md(args, data["machine"], setup, summarise(data["runs"]), data["runs"], seconds),
        encoding="utf-8")


if __name__ == "__main__":
    import sys

    rewrite(sys.argv[1])
