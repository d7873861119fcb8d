"""Configuration: defaults here, overrides from ``instance/config.py`` and ``LMS_*`` variables.

Order (later wins): ``DefaultConfig`` → profile (``LMS_PROFILE=dev|production``) →
``instance/config.py`` → ``LMS_*`` environment variables → the mapping given to ``create_app``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any


class DefaultConfig:
    PROFILE = "dev"
    SECRET_KEY: str | None = None
    #: HMAC key of the audit hash chain; kept outside the database.
    AUDIT_KEY: str | None = None
    #: Key for ID-card numbers (keyed hash for matching, encryption for audited reveal).
    PII_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLITE_BUSY_TIMEOUT_MS = 5000
    UPLOAD_DIR: str | None = None  # default: instance/uploads
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    MAX_IMPORT_ROWS = 100_000
    MAX_IMPORT_BYTES = 20 * 1024 * 1024
    #: Course attachments: a cap per kind (R31). Only the upload route accepts bodies above
    #: MAX_CONTENT_LENGTH, up to the largest cap, and only from users who may upload.
    UPLOAD_MAX_IMAGE_BYTES = 10 * 1024 * 1024
    UPLOAD_MAX_PDF_BYTES = 50 * 1024 * 1024
    UPLOAD_MAX_VIDEO_BYTES = 500 * 1024 * 1024
    #: Larger images are refused before decoding (decompression bombs).
    UPLOAD_MAX_IMAGE_PIXELS = 40_000_000
    #: ClamAV clamd unix socket (e.g. /run/clamav/clamd.ctl); set → every upload is scanned and
    #: refused when the scanner finds something or cannot be reached (R35).
    UPLOAD_CLAMD_SOCKET: str | None = None
    UPLOAD_CLAMD_TIMEOUT = 120

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    WTF_CSRF_TIME_LIMIT = None  # tied to the session: long exams never lose their token
    SESSION_COOKIE_NAME = "lms_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Accounts and sessions (spec decision 15)
    PASSWORD_MIN_LENGTH = 8
    PASSWORD_MAX_LENGTH = 128
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 15
    #: Per-address throttle: this many failed logins from one IP within the window → refused.
    LOGIN_IP_MAX_FAILURES = 30
    LOGIN_IP_WINDOW_MINUTES = 15
    IDLE_TIMEOUT_MINUTES = 30
    ADMIN_IDLE_TIMEOUT_MINUTES = 15
    ABSOLUTE_TIMEOUT_HOURS = 12
    PASSWORD_EXPIRY_DAYS_ADMIN = 180
    PASSWORD_EXPIRY_DAYS_TRAINEE = 0  # 0 = off
    #: argon2id parameters; tests and benchmarks lower them (spec decision 21).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_KIB = 65536
    ARGON2_PARALLELISM = 4

    #: Retention of removed people's personal data, in days (spec decision 22).
    PII_RETENTION_DAYS = 365 * 5
    PAGE_SIZE = 50
    TRUSTED_PROXIES = 0
    #: Minutes per credit hour (学时): 45 by default, some regions count 60 (domain §2.6).
    CREDIT_HOUR_MINUTES = 45
    #: Rotation cycle in years (spec decision 5: 2 or 3); a certificate is valid this long.
    ROTATION_CYCLE_YEARS = 3
    #: The benchmark anchors under /_bench (lms.bench_anchors); never in production.
    BENCH_ANCHORS = False


class DevConfig(DefaultConfig):
    PROFILE = "dev"


class ProductionConfig(DefaultConfig):
    PROFILE = "production"
    SESSION_COOKIE_NAME = "__Host-lms"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    TRUSTED_PROXIES = 1


PROFILES = {"dev": DevConfig, "production": ProductionConfig}

_INT_KEYS = {
    "SQLITE_BUSY_TIMEOUT_MS", "MAX_CONTENT_LENGTH", "LOCKOUT_THRESHOLD", "LOCKOUT_MINUTES",
    "LOGIN_IP_MAX_FAILURES", "LOGIN_IP_WINDOW_MINUTES", "MAX_IMPORT_BYTES", "MAX_IMPORT_ROWS",
    "IDLE_TIMEOUT_MINUTES", "ABSOLUTE_TIMEOUT_HOURS", "ARGON2_TIME_COST", "ARGON2_MEMORY_KIB",
    "ARGON2_PARALLELISM", "PAGE_SIZE", "TRUSTED_PROXIES", "PII_RETENTION_DAYS",
    "UPLOAD_MAX_IMAGE_BYTES", "UPLOAD_MAX_PDF_BYTES", "UPLOAD_MAX_VIDEO_BYTES",
    "UPLOAD_MAX_IMAGE_PIXELS", "CREDIT_HOUR_MINUTES", "ROTATION_CYCLE_YEARS",
    "UPLOAD_CLAMD_TIMEOUT",
}
_BOOL_KEYS = {"BENCH_ANCHORS"}
_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read ``LMS_*`` variables (``LMS_DATABASE_URL`` → ``SQLALCHEMY_DATABASE_URI``)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith("LMS_") or name in ("LMS_PROFILE", "LMS_TEST_DATABASE_URL"):
            continue
        key = _ALIASES.get(name[4:], name[4:])
        if key in _INT_KEYS:
            out[key] = int(raw)
        elif key in _BOOL_KEYS:
            out[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif raw[:1] in "[{":
            out[key] = json.loads(raw)
        else:
            out[key] = raw
    return out


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. production without a real secret)."""


def check_production(config: Any) -> None:
    """Refuse to start a production profile with missing secrets or insecure cookies."""
    if config.get("PROFILE") != "production":
        return
    if config.get("BENCH_ANCHORS"):
        raise ConfigError("production profile refuses BENCH_ANCHORS (benchmark-only routes)")
    for key in ("SECRET_KEY", "AUDIT_KEY", "PII_KEY"):
        value = config.get(key)
        if not value or len(str(value)) < 32 or str(value).startswith("dev-"):
            raise ConfigError(f"production profile needs a real {key} (32+ random characters)")
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigError("production profile needs SESSION_COOKIE_SECURE = True")
