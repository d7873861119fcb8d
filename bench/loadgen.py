"""wrk: installed from Debian when missing, run bounded in time against 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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


def command(port: int, requests: Path, mode: str, seconds: int) -> list[str]:
    return ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s",
            "-s", str(SCRIPT), f"http://127.0.0.1:{port}", "--", str(requests), mode,
            str(THREADS)]


def run(port: int, requests: Path, mode: str, seconds: int) -> dict:
    """One wrk run; its BENCHJSON line plus rps."""
    out = subprocess.run(command(port, requests, mode, seconds),  # noqa: S603 - our own args
                         capture_output=True, text=True, timeout=seconds + 90,
                         check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    result = json.loads(line.removeprefix("BENCHJSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result
