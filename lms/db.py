"""Declarative base, the one clock, UTC datetimes, SQLite pragmas and write-intent transactions."""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The only clock: an aware UTC datetime."""
    return datetime.now(UTC)


def local_date(now: datetime) -> date:
    """The calendar date at *now* where the users are (the configured time zone), for every
    stored date (a post's start and end, deadlines): 00:30 in Shandong is already tomorrow."""
    from flask import current_app

    return now.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive input (ambiguous)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: Set by the web layer for unsafe methods and by CLI commands: SQLite then opens the
#: transaction with BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, synchronous=FULL, foreign keys, busy timeout; explicit BEGIN (spec decision 13)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
