"""Every audit action the code records has a name in words for the audit-log page."""

from __future__ import annotations

import ast
from pathlib import Path

from lms.labels import AUDIT_ACTIONS

LMS = Path(__file__).resolve().parents[1] / "lms"


def _recorded_actions() -> set[str]:
    found = set()
    for path in LMS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "record_many") and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)):
                found.add(node.args[1].value)
    return found


def test_every_recorded_audit_action_has_a_label():
    actions = _recorded_actions()
    assert len(actions) > 20
    assert sorted(actions - set(AUDIT_ACTIONS)) == []
