"""Benchmark anchors (issue 7, performance.md §4.1 B0): the machine's own limits, measured in the
same server, settings and database as the scenarios they normalise.

- ``GET /_bench/hello``: no database;
- ``GET /_bench/select?id=N``: one primary-key select through Flask-SQLAlchemy (an org unit);
- ``POST /_bench/insert``: one durable insert and commit into ``bench_row``.

Registered only when ``BENCH_ANCHORS`` is true, which the production profile refuses
(``lms.config.check_production``). ``bench_row`` lives in its own metadata, outside the models
and migrations: ``bench/run.py`` creates it in the benchmark's template database
(``ensure_table``). The routes are public and CSRF-exempt; none writes an audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, jsonify, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert
from sqlalchemy.engine import Engine

from lms.auth.access import public
from lms.db import utcnow
from lms.extensions import csrf, db
from lms.org.models import OrgUnit

bp = Blueprint("bench", __name__, url_prefix="/_bench")

metadata = MetaData()
bench_row = Table(
    "bench_row", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("payload", String(64), nullable=False),
)


def ensure_table(engine: Engine) -> None:
    """Create ``bench_row`` when it is missing (benchmark databases only)."""
    metadata.create_all(engine, checkfirst=True)


def register(app: Flask) -> None:
    """Add the anchors to *app* when ``BENCH_ANCHORS`` is set."""
    if app.config.get("BENCH_ANCHORS"):
        csrf.exempt(bp)
        app.register_blueprint(bp)


@bp.get("/hello")
@public
def hello() -> Any:
    return "ok"


@bp.get("/select")
@public
def select_one() -> Any:
    unit = db.session.get(OrgUnit, request.args.get("id", 1, type=int))
    if unit is None:
        abort(404)
    return jsonify(id=unit.id, code=unit.code)


@bp.post("/insert")
@public
def insert_one() -> Any:
    payload = (request.get_data(as_text=True) or "x")[:64]
    db.session.execute(insert(bench_row).values(created_at=utcnow(), payload=payload))
    db.session.commit()
    return jsonify(ok=True), 201
