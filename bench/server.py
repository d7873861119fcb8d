"""gunicorn for one round: started in its own process group on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.template import KEYS, ROOT

WORKERS = ["-w", "2", "-k", "gthread", "--threads", "4"]


def command(port: int) -> list[str]:
    return [str(ROOT / ".venv/bin/gunicorn"), *WORKERS, "-b", f"127.0.0.1:{port}",
            "--timeout", "120", "--log-level", "warning", "wsgi:app"]


def start(url: str, port: int, instance: Path, log: Path) -> subprocess.Popen:
    instance.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LMS_PROFILE": "dev", "LMS_DATABASE_URL": url,
           "LMS_BENCH_ANCHORS": "1", "LMS_INSTANCE_PATH": str(instance),
           **{f"LMS_{k}": v for k, v in KEYS.items()}}
    with log.open("ab") as out:
        return subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} (see its log)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_bench/hello", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn not ready within {timeout:.0f} s")


def stop(proc: subprocess.Popen | None) -> None:
    """TERM the process group, KILL it after 15 s."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
