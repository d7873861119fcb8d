"""The benchmark anchors (lms.bench_anchors): absent by default, present with BENCH_ANCHORS,
refused by the production profile, CSRF-exempt, and the insert is durable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms import bench_anchors, create_app
from lms.config import ConfigError
from lms.extensions import db
from lms.org.models import Level, OrgUnit
from tests.conftest import TEST_CONFIG


def _rules(app) -> set[str]:  # noqa: ANN001
    return {r.rule for r in app.url_map.iter_rules()}


def test_absent_by_default(app):
    assert not any(rule.startswith("/_bench") for rule in _rules(app))
    assert app.test_client().get("/_bench/hello").status_code == 404


@pytest.fixture
def bench_app(tmp_path):
    app = create_app({**TEST_CONFIG, "BENCH_ANCHORS": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/bench.db"})
    with app.app_context():
        db.create_all()
        bench_anchors.ensure_table(db.engine)
        yield app
        db.session.remove()
        db.engine.dispose()


def test_present_with_the_setting(bench_app):
    assert {"/_bench/hello", "/_bench/select", "/_bench/insert"} <= _rules(bench_app)
    http = bench_app.test_client()
    assert http.get("/_bench/hello").get_data(as_text=True) == "ok"
    unit = OrgUnit(code="370000000000", name="山东省", level=Level.PROVINCE.value, path="/")
    db.session.add(unit)
    db.session.flush()
    unit.path = f"/{unit.id}/"
    db.session.commit()
    assert http.get(f"/_bench/select?id={unit.id}").get_json()["id"] == unit.id
    assert http.get("/_bench/select?id=999999").status_code == 404


def test_insert_needs_no_csrf_token_and_commits(bench_app):
    http = bench_app.test_client()
    for _ in range(3):
        assert http.post("/_bench/insert", data="x").status_code == 201
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(bench_anchors.bench_row)) == 3


def test_env_switch_and_production_refusal(monkeypatch):
    monkeypatch.setenv("LMS_BENCH_ANCHORS", "1")
    monkeypatch.setenv("LMS_PROFILE", "production")
    secrets = {k: "x" * 40 for k in ("SECRET_KEY", "AUDIT_KEY", "PII_KEY")}
    with pytest.raises(ConfigError, match="BENCH_ANCHORS"):
        create_app({**secrets, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("LMS_BENCH_ANCHORS", "0")
    app = create_app({**secrets, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not any(rule.startswith("/_bench") for rule in _rules(app))
