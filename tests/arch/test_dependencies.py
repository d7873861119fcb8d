"""The dependency rule, checked on the import statements of every module (see docs/architecture.md).

- Infrastructure (db, extensions, errors, i18n, config, keys) imports no domain.
- Domains form a one-way order; a module may import its own and earlier domains only.
  ``lms.auth.access`` and ``lms.auth.perms`` are the sanctioned cross-cutting imports.
- Nothing imports a views module except the app factory and the views package itself.
- Models, rules, queries and services never touch the request (request, session, g, current_user).
- Services never commit.
"""

from __future__ import annotations

import ast
from pathlib import Path

LMS = Path(__file__).resolve().parents[2] / "lms"
INFRA = {"db", "extensions", "errors", "i18n", "config", "keys"}
DOMAIN_ORDER = ["org", "auth", "admin", "courses", "exams", "training", "onboarding", "grading",
                "reports", "demo"]
CROSS_CUTTING = {"lms.auth.access", "lms.auth.perms", "lms.auth.models"}
REQUEST_GLOBALS = {"request", "session", "g", "current_user"}


def _modules():
    for path in sorted(LMS.rglob("*.py")):
        rel = path.relative_to(LMS.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAIN_ORDER else None


def test_infrastructure_imports_no_domain():
    bad = []
    for name, _path, tree in _modules():
        if name.split(".")[-1] in INFRA and name.count(".") == 1:
            bad += [f"{name} -> {m}" for m, _ in _imports(tree) if _domain(m)]
    assert bad == []


def test_domains_import_only_earlier_domains():
    bad = []
    for name, _path, tree in _modules():
        own = _domain(name)
        if own is None:
            continue
        for module, _names in _imports(tree):
            other = _domain(module)
            if other and module not in CROSS_CUTTING and (
                    DOMAIN_ORDER.index(other) > DOMAIN_ORDER.index(own)):
                bad.append(f"{name} -> {module}")
    assert bad == []


def test_only_the_factory_imports_views():
    bad = []
    for name, _path, tree in _modules():
        for module, names in _imports(tree):
            targets = [module] + [f"{module}.{n}" for n in names]
            if any(".views" in t for t in targets) and name != "lms" and not (
                    name.startswith(module) or module.startswith(name.rsplit(".", 1)[0])):
                bad.append(f"{name} -> {module}")
    assert bad == []


def test_business_modules_never_touch_the_request():
    bad = []
    for name, _path, tree in _modules():
        parts = set(name.split("."))
        if not parts & {"models", "services", "rules", "queries", "pii", "importing"}:
            continue
        for module, names in _imports(tree):
            if module in ("flask", "flask_login") and REQUEST_GLOBALS & set(names):
                bad.append(f"{name} imports {sorted(REQUEST_GLOBALS & set(names))}")
    assert bad == []


def test_services_never_commit():
    bad = []
    for name, path, tree in _modules():
        if not set(name.split(".")) & {"services", "importing"}:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "commit":
                bad.append(f"{path.name}:{node.lineno}")
    assert bad == []
