"""Figure F20 / R44: static findings on lms/ — ruff's S (flake8-bandit) rules report nothing and
bandit reports no high-severity finding. ``make security-lint`` runs the same plus pip-audit.

S101 (assert) stays off as in pyproject.toml: the asserts in lms/ only narrow types for the type
checker; none guards access or data. Deliberate exceptions carry ``# noqa: S…`` / ``# nosec B…``
with the reason on the line above.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_security_rules_report_nothing() -> None:
    ruff_main = pytest.importorskip("ruff.__main__", reason="ruff is not installed (test extras)")
    done = _run([ruff_main.find_ruff_bin(), "check", "--no-cache", "--select", "S",
                 "--ignore", "S101", "--output-format", "json", "lms"])
    findings = json.loads(done.stdout or "[]")
    assert done.returncode in (0, 1), done.stderr
    assert [f"{f['filename']}:{f['location']['row']} {f['code']} {f['message']}"
            for f in findings] == []


def test_bandit_reports_no_high_severity_finding() -> None:
    pytest.importorskip("bandit", reason="bandit is not installed (test extras)")
    done = _run([sys.executable, "-m", "bandit", "-q", "-r", "lms", "-lll", "-f", "json"])
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    high = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
            for r in report["results"] if r["issue_severity"] == "HIGH"]
    assert high == []
    assert report["errors"] == []
