"""wrk: installed from Debian when missing, run bounded in time against 127.0.0.1 only."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench.template import ROOT

SCRIPT = ROOT / "bench/wrk/replay.lua"
THREADS, CONNECTIONS = 2, 32


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"],  # noqa: S603 - fixed args
                   check=True, env=env, timeout=600)
    return shutil.which("wrk") or "wrk"


def command(port: int, requests: Path, mode: str, seconds: int, threads: int = THREADS,
            connections: int = CONNECTIONS) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "-s", str(SCRIPT), f"http://127.0.0.1:{port}", "--", str(requests), mode,
            str(threads)]


def _parse(out: str) -> dict:
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    result = json.loads(line.removeprefix("BENCHJSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def run(port: int, requests: Path, mode: str, seconds: int) -> dict:
    """One wrk run; its BENCHJSON line plus rps."""
    out = subprocess.run(command(port, requests, mode, seconds),  # noqa: S603 - our own args
                         capture_output=True, text=True, timeout=seconds + 90,
                         check=True).stdout
    return _parse(out)


def _loop(port: int, line: str, stop: threading.Event, out: list[dict]) -> None:
    """Send one request line again and again until *stop* is set; finish the one in flight
    (bounded by its timeout), record status and latency of each."""
    method, path, cookie, csrf, ctype, body = line.rstrip("\n").split("\t")
    headers = {k: v for k, v in (("Cookie", cookie and f"lms_session={cookie}"),
                                 ("X-CSRFToken", csrf), ("Content-Type", ctype)) if v}
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            size = len(resp.read())
            out.append({"status": resp.status, "bytes": size,
                        "ms": (time.perf_counter() - started) * 1000})
        except OSError as exc:
            out.append({"status": 0, "error": str(exc),
                        "ms": (time.perf_counter() - started) * 1000})
        finally:
            conn.close()


def _side_stats(name: str, calls: list[dict]) -> dict:
    ms = sorted(c["ms"] for c in calls)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))] if ms else 0.0

    return {"name": name, "requests": len(calls),
            "s2xx": sum(200 <= c["status"] < 300 for c in calls),
            "errors": sum(not 200 <= c["status"] < 300 for c in calls),
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": ms[-1] if ms else 0.0}


def run_beside(port: int, main: tuple[Path, str], side: Path, seconds: int) -> tuple[dict, dict]:
    """The main wrk run (-t2 -c32, bounded by ``-d``) while one thread sends the first request
    of *side* in a loop, on one connection at a time (an export requested again as soon as it
    is done). The loop starts before wrk and stops when wrk has finished; the request in flight
    then is completed (at most its 120-s timeout), so every export is measured."""
    calls: list[dict] = []
    stop = threading.Event()
    line = side.read_text(encoding="utf-8").splitlines()[0]
    thread = threading.Thread(target=_loop, args=(port, line, stop, calls), daemon=True)
    thread.start()
    try:
        main_res = run(port, main[0], main[1], seconds)
    finally:
        stop.set()
        thread.join(timeout=130)
    return main_res, _side_stats(side.stem, calls)
