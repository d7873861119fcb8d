"""Periodic work safe to start concurrently on several machines: one database lock per job."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class JobLock(db.Model):
    """A row per running job (SQLite); PostgreSQL uses a session advisory lock instead."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


@contextmanager
def job_lock(name: str, *, stale_after: timedelta = timedelta(hours=6)) -> Iterator[bool]:
    """Yield True when this process holds the lock for *name*, False when another one does."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())
        with db.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    now = utcnow()
    db.session.execute(delete(JobLock).where(JobLock.name == name,
                                             JobLock.taken_at < now - stale_after))
    try:
        db.session.add(JobLock(name=name, taken_at=now))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        yield False
        return
    try:
        yield True
    finally:
        db.session.rollback()
        db.session.execute(delete(JobLock).where(JobLock.name == name))
        db.session.commit()


def is_locked(name: str) -> bool:
    return db.session.execute(select(JobLock.name).where(JobLock.name == name)).first() is not None
