"""R28: nothing is marked safe except the nh3-sanitised Markdown output (lms/courses/content.py)."""

from __future__ import annotations

import re
from pathlib import Path

LMS = Path(__file__).resolve().parents[2] / "lms"
ALLOWED = {LMS / "courses" / "content.py"}
PATTERN = re.compile(r"\|\s*safe\b|Markup\(|render_template_string|autoescape\s+false")


def test_no_safe_marking_outside_the_sanitiser():
    hits = []
    for path in sorted(LMS.rglob("*")):
        if path.suffix not in (".py", ".html") or path in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PATTERN.search(line):
                hits.append(f"{path.relative_to(LMS)}:{n}: {line.strip()}")
    assert hits == []
