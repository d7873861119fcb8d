"""Fixtures: a fresh database per test (SQLite in memory, or PostgreSQL when
``LMS_TEST_DATABASE_URL`` is set), a client with CSRF-aware helpers, and a small org world."""

from __future__ import annotations

import os
import re
import socket

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lms import create_app
from lms.extensions import db
from tests import factories

PASSWORD = factories.PASSWORD
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-test-secret-key-0123456789",
    "AUDIT_KEY": "test-audit-key-test-audit-key-0123456789",
    "PII_KEY": "test-pii-key-test-pii-key-0123456789",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_KIB": 8,
    "ARGON2_PARALLELISM": 1,
    "SERVER_NAME": "localhost",
}


def _database_url(worker: str) -> str:
    url = os.environ.get("LMS_TEST_DATABASE_URL", "sqlite://")
    if not url.startswith("postgresql") or worker == "master":
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> str:
    return _database_url(worker_id)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may call out: only loopback and unix sockets."""
    real = socket.socket.connect

    def guarded(self, address):  # noqa: ANN001, ANN202
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")
                                          or host.startswith("/")):
            raise RuntimeError(f"network access in tests: {address}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def app(database_url: str):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


class Client:
    """Test client that finds the CSRF token like a browser would."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.http = app.test_client()

    @staticmethod
    def _fresh_g() -> None:
        """The test holds one app context open, so requests would share ``g`` (and Flask-Login's
        cached user, Flask-WTF's cached token) — clear it as a new context would."""
        from flask import g

        g.__dict__.clear()

    def get(self, url: str, **kw):  # noqa: ANN201
        self._fresh_g()
        return self.http.get(url, **kw)

    def csrf(self) -> str:
        html = self.get("/privacy").get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw):  # noqa: ANN201
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        self._fresh_g()
        return self.http.post(url, data=data, **kw)

    def login(self, username: str, password: str = PASSWORD):  # noqa: ANN201
        return self.post("/auth/login", {"login": username, "password": password})

    def logout(self):  # noqa: ANN201
        return self.post("/auth/logout")


@pytest.fixture
def client(app) -> Client:  # noqa: ANN001
    return Client(app)


@pytest.fixture
def runner(app):  # noqa: ANN001, ANN201
    return app.test_cli_runner(mix_stderr=False) if _runner_has_mix_stderr() else app.test_cli_runner()


def _runner_has_mix_stderr() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


@pytest.fixture
def world(app) -> factories.World:  # noqa: ANN001
    w = factories.build_world()
    db.session.commit()
    return w
