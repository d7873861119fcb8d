"""Migrations build the schema the models describe (no drift), on SQLite and PostgreSQL."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lms import create_app
from lms.extensions import db
from tests.conftest import TEST_CONFIG


def _empty_database_url(tmp_path, worker_id: str) -> str:
    url = os.environ.get("LMS_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    base = make_url(url)
    name = f"{base.database}_migrations_{worker_id}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def test_upgrade_from_empty_matches_models(tmp_path, worker_id):
    url = _empty_database_url(tmp_path, worker_id)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={
                "compare_type": True, "render_as_batch": True}), db.metadata)
        assert diffs == []
        with db.engine.connect() as conn:
            names = {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type='trigger'"
                if db.engine.dialect.name == "sqlite" else
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
        assert any(n.startswith("audit_entry_no") for n in names), "audit log must be append-only"
        db.engine.dispose()
