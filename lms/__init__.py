"""minzheng-lms: training and assessment for grassroots civil-affairs workers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import extensions as ext
from lms.config import PROFILES, check_production, env_overrides


def _select_locale() -> str:
    from flask import current_app, has_request_context

    langs = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    if session.get("lang") in langs:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    profile = os.environ.get("LMS_PROFILE") or (config or {}).get("PROFILE") or "dev"
    app.config.from_object(PROFILES[profile])
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(env_overrides())
    if config:
        app.config.update(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "lms.sqlite3")
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(Path(app.instance_path) / "uploads")
    if not app.config.get("SECRET_KEY") and profile == "dev":
        # Dev profile only; check_production refuses a missing or weak key in production.
        app.config["SECRET_KEY"] = "dev-insecure-run-make-run-to-generate-keys"  # noqa: S105
    check_production(app.config)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Wire the application: config, extensions, blueprints, CLI, and the startup route check."""
    app = Flask(__name__, instance_path=os.environ.get("LMS_INSTANCE_PATH") or str(
        Path(__file__).resolve().parent.parent / "instance"), instance_relative_config=True)
    _configure(app, config)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=_select_locale)
    ext.login_manager.init_app(app)
    _import_models()
    _wire_engine(app)
    _wire_web(app)
    _register_blueprints(app)
    _register_cli(app)

    from lms.auth.access import check_routes

    check_routes(app)
    return app


def _import_models() -> None:
    """Every table is known to the metadata (create_all in tests, migration autogenerate)."""
    import lms.audit
    import lms.auth.models
    import lms.courses.models
    import lms.exams.models
    import lms.grading.models
    import lms.jobs
    import lms.onboarding.filings
    import lms.onboarding.gate
    import lms.onboarding.models
    import lms.org.models
    import lms.training.exam_link
    import lms.training.exam_outcomes
    import lms.training.models  # noqa: F401


def _wire_engine(app: Flask) -> None:
    from lms.db import install_sqlite_pragmas

    with app.app_context():
        install_sqlite_pragmas(ext.db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _wire_web(app: Flask) -> None:
    from lms.auth.services import resolve_session
    from lms.db import utcnow
    from lms.web import errors, templating
    from lms.web.guard import enforce_access, start_request, touch_after_read
    from lms.web.headers import add_security_headers, require_https

    ext.login_manager.login_view = "auth.login"
    ext.login_manager.session_protection = None  # the server-side session row is the protection

    @ext.login_manager.user_loader
    def _load(token: str):  # noqa: ANN202
        return resolve_session(token, now=utcnow())

    app.before_request(require_https)
    app.before_request(start_request)
    app.before_request(enforce_access)
    app.after_request(add_security_headers)

    @app.after_request
    def _touch_session(response):  # noqa: ANN001, ANN202
        touch_after_read()  # a read request's last_seen_at refresh, in its own transaction
        return response

    errors.register(app)
    templating.register(app)


def _register_blueprints(app: Flask) -> None:
    from lms.admin.views import bp as admin_bp
    from lms.auth.views import bp as auth_bp
    from lms.courses.views import bp as courses_bp
    from lms.exams.views import bp as exams_bp
    from lms.grading.views import bp as grading_bp
    from lms.onboarding.views import bp as onboarding_bp
    from lms.org.views import bp as org_bp
    from lms.training.views import bp as training_bp
    from lms.web.views import bp as web_bp

    for bp in (web_bp, auth_bp, org_bp, admin_bp, courses_bp, exams_bp, training_bp,
               onboarding_bp, grading_bp):
        app.register_blueprint(bp)
    from lms import bench_anchors

    bench_anchors.register(app)


def _register_cli(app: Flask) -> None:
    from lms.cli import lms_cli
    from lms.courses.cli import courses_cli
    from lms.exams.cli import exams_cli
    from lms.grading.cli import grading_cli
    from lms.org.cli import org_cli

    for group in (lms_cli, org_cli, courses_cli, exams_cli, grading_cli):
        app.cli.add_command(group)
