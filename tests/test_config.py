"""Configuration profiles, secrets, SQLite settings and the job lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from lms import create_app
from lms.config import ConfigError, env_overrides
from lms.extensions import db
from lms.jobs import job_lock
from lms.keys import ensure_secrets
from tests.conftest import TEST_CONFIG


def test_production_refuses_missing_or_dev_secrets(monkeypatch):
    monkeypatch.setenv("LMS_PROFILE", "production")
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": None})
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "dev-short",
                    "AUDIT_KEY": "x" * 40, "PII_KEY": "y" * 40})


def test_production_profile_uses_secure_cookies(monkeypatch):
    monkeypatch.setenv("LMS_PROFILE", "production")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "s" * 48,
                      "AUDIT_KEY": "a" * 48, "PII_KEY": "p" * 48})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    resp = app.test_client().get("/auth/login", base_url="https://localhost")
    assert "max-age=31536000" in resp.headers["Strict-Transport-Security"]
    plain = app.test_client().get("/auth/login?next=/org/", base_url="http://localhost")
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://localhost/auth/login?next=/org/"
    assert app.test_client().post("/auth/login", base_url="http://localhost").status_code == 400


def test_env_overrides_map_lms_variables():
    got = env_overrides({"LMS_DATABASE_URL": "postgresql://x/y", "LMS_LOCKOUT_MINUTES": "20",
                         "OTHER": "1", "LMS_TEST_DATABASE_URL": "ignored"})
    assert got == {"SQLALCHEMY_DATABASE_URI": "postgresql://x/y", "LOCKOUT_MINUTES": 20}


def test_ensure_secrets_writes_once(tmp_path):
    path = tmp_path / "config.py"
    assert ensure_secrets(path) == ["SECRET_KEY", "AUDIT_KEY", "PII_KEY"]
    first = path.read_text()
    assert ensure_secrets(path) == []
    assert path.read_text() == first
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_sqlite_file_database_uses_wal_full_sync_and_foreign_keys(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    with app.app_context():
        conn = db.session.connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        db.session.rollback()
        db.engine.dispose()


def test_job_lock_is_exclusive(app):
    with job_lock("nightly") as first:
        assert first is True
        with job_lock("nightly") as second:
            assert second is False
    with job_lock("nightly") as again:
        assert again is True
