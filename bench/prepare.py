"""Per-run preparation: a fresh copy of the template database, live sessions, and the request
files the wrk script replays (one request per line: method, path, cookie, CSRF token,
content type, body, separated by tabs)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.template import make_app

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def fresh_copy(db_kind: str, template: str, run_url: str) -> None:
    """SQLite: online backup of the template file; PostgreSQL: CREATE DATABASE … TEMPLATE."""
    if db_kind == "sqlite":
        target = Path(make_url(run_url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        src, dst = sqlite3.connect(template), sqlite3.connect(target)
        with dst:
            src.backup(dst)  # consistent whatever is still in the template's WAL
        src.close()
        dst.close()
    else:
        run_db = make_url(run_url).database
        admin = create_engine(make_url(run_url).set(database="postgres"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{run_db}" TEMPLATE "{template}"'))
        admin.dispose()
    engine = create_engine(run_url)
    with engine.begin() as conn:  # sessions live 12 h from creation: restart their clocks
        now = datetime.now(UTC)
        conn.execute(text("UPDATE user_session SET created_at = :n, last_seen_at = :n"),
                     {"n": now.replace(tzinfo=None) if db_kind == "sqlite" else now})
    engine.dispose()


def drop_pg(run_url: str) -> None:
    admin = create_engine(make_url(run_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(run_url).database}" WITH (FORCE)'))
    admin.dispose()


def cookies(tokens: list[str]) -> list[tuple[str, str]]:
    """(session cookie, CSRF token) per session token, signed with the bench secret key (valid
    for the session lifetime, 12 h, so they are made for each run)."""
    app = make_app("sqlite://")
    signer = app.session_interface.get_signing_serializer(app)
    out = []
    for token in tokens:
        with app.test_request_context():
            session["_user_id"] = token
            session["_fresh"] = True
            csrf = generate_csrf()
            out.append((signer.dumps(dict(session)), csrf))
    return out


def _line(method: str, path: str, auth: tuple[str, str] | None = None, ctype: str = "",
          body: str = "") -> str:
    cookie, csrf = auth or ("", "")
    return "\t".join((method, path, cookie, csrf, ctype, body))


def request_files(meta: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write one request file per anchor and scenario; return name → path."""
    trainees = cookies(meta["trainee_tokens"])
    staff = dict(zip(meta["staff_tokens"], cookies(list(meta["staff_tokens"].values())),
                     strict=True))
    n = len(trainees)
    # each (attempt, position) once, position-major; the plain autosave run takes the first
    # half of the positions, the run beside the export the second half (never the same slot)
    autosave = [_line("POST", f"/exams/attempts/{aid}/save", trainees[u], JSON, json.dumps(
        {"answers": [{"position": pos, "seq": pos, "response": resp}]}))
        for aid, u, pos, resp in meta["autosave_plan"]]
    positions = max(p[2] for p in meta["autosave_plan"])
    half = sum(1 for p in meta["autosave_plan"] if p[2] <= positions // 2)
    lines: dict[str, list[str]] = {
        "hello": [_line("GET", "/_bench/hello")],
        "select": [_line("GET", f"/_bench/select?id={i}")
                   for i in range(1, meta["max_unit_id"] + 1)],
        "insert": [_line("POST", "/_bench/insert", None, "text/plain", "x")],
        "home": [_line("GET", "/", t) for t in trainees],
        "start": [_line("POST", f"/exams/{exam}/start", trainees[i % n], FORM, "passcode=")
                  for exam in meta["start_exam_ids"] for i in range(n)],
        "autosave": autosave[:half],
        "autosave_export": autosave[half:],
        "submit": [_line("POST", f"/exams/attempts/{aid}/submit", trainees[u], JSON, "{}")
                   for aid, u in meta["submit_plan"]],
        "results": [_line("GET", f"/exams/{meta['results_exam_id']}/results",
                          staff["town_trainer"])],
        "report": [_line("GET", "/grading/reports/grades", staff["city_hr"])],
        "report_png": [_line("GET", "/grading/reports/grades.png", staff["city_hr"])],
        "report_xlsx": [_line("GET", "/grading/reports/grades.xlsx", staff["city_hr"])],
    }
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in lines.items():
        paths[name] = out / f"{name}.tsv"
        paths[name].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return paths
