"""Append-only, hash-chained audit log (security R36–R38).

Each entry stores ``hash = HMAC(AUDIT_KEY, prev_hash ‖ canonical(row))``. The key lives outside
the database, database triggers refuse UPDATE and DELETE, and ``verify_chain`` names the first
entry whose content or link no longer matches. Services call ``record``; nobody edits entries.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import DDL, ForeignKey, String, Text, event, select, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditContext:
    request_id: str | None = None
    ip: str | None = None


#: Set by the web layer per request (request id, client IP); CLI leaves the default.
audit_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context", default=AuditContext()
)


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: Username at the time (kept even if the account is renamed).
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[int | None]
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Canonical JSON of the details (sorted keys).
    data: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.data)


_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
]
_PG_GUARDS = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
]
#: Also run by the migration that creates the table.
APPEND_ONLY_DDL = {"sqlite": _SQLITE_GUARDS, "postgresql": _PG_GUARDS}

for _dialect, _stmts in APPEND_ONLY_DDL.items():
    for _stmt in _stmts:
        event.listen(AuditEntry.__table__, "after_create", DDL(_stmt).execute_if(dialect=_dialect))


def canonical(entry: Any) -> bytes:
    fields = [
        entry.id, entry.at.isoformat(), entry.actor_id, entry.actor_name, entry.action,
        entry.object_type, entry.object_id, entry.org_unit_id, entry.data, entry.ip,
        entry.request_id,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _mac(key: str, prev_hash: str, entry: Any) -> str:
    return hmac.new(key.encode(), prev_hash.encode() + canonical(entry), hashlib.sha256).hexdigest()


def entry_mac(prev_hash: str, entry: Any) -> str:
    """The HMAC an entry with this content and predecessor must carry (checks one entry)."""
    return _mac(_key(), prev_hash, entry)


def _key() -> str:
    key = current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]
    return str(key)


def _lock_chain() -> None:
    """Serialise appenders: PostgreSQL advisory lock; SQLite writers already hold the write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(734201)"))


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    org_unit_id: int | None = None,
    now: datetime | None = None,
    **data: Any,
) -> AuditEntry:
    """Append one entry in the caller's transaction (flush only)."""
    _lock_chain()
    entry = _entry(_last(), actor, action, obj, org_unit_id, now, data)
    db.session.add(entry)
    db.session.flush()
    return entry


def record_many(actor: Any, action: str, items: list[tuple[Any, dict[str, Any]]], *,
                now: datetime | None = None) -> int:
    """Append one entry per ``(obj, data)`` pair with a single flush (bulk imports).

    The chain is the same as ``record`` called once per item, in order.
    """
    if not items:
        return 0
    _lock_chain()
    last = _last()
    entries = []
    for obj, data in items:
        entry = _entry(last, actor, action, obj, None, now, data)
        entries.append(entry)
        last = entry
    db.session.add_all(entries)
    db.session.flush()
    return len(entries)


def _last() -> Any:
    return db.session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()


def _entry(last: Any, actor: Any, action: str, obj: Any, org_unit_id: int | None,
           now: datetime | None, data: dict[str, Any]) -> AuditEntry:
    """A new entry chained after *last* (a row or entry with ``id`` and ``hash``, or None)."""
    ctx = audit_context.get()
    if org_unit_id is None and obj is not None:
        org_unit_id = getattr(obj, "org_unit_id", None)
        if org_unit_id is None and obj.__class__.__name__ == "OrgUnit":
            org_unit_id = obj.id
    entry = AuditEntry(
        id=(last.id + 1) if last else 1,
        at=(now or utcnow()).replace(microsecond=0),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or "system",
        action=action,
        object_type=obj.__class__.__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None) if obj is not None else None,
        org_unit_id=org_unit_id,
        data=json.dumps(data, ensure_ascii=False, sort_keys=True, default=str),
        ip=ctx.ip,
        request_id=ctx.request_id,
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = _mac(_key(), entry.prev_hash, entry)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    reason: str


def iter_problems(batch: int = 2000, *, head: tuple[int, str] | None = None
                  ) -> Iterator[ChainProblem]:
    """Walk the chain in id order; yield every entry whose link or content is wrong.

    A deleted entry is named by its own id (the first id missing from the sequence). Deleting
    the newest entries leaves a shorter chain that still verifies by itself; *head* — an
    ``(id, hash)`` exported off the box earlier (``flask lms audit-head``) — catches that: the
    chain must still reach that entry with that hash."""
    key = _key()
    prev_hash, expected_id, last_id = GENESIS, 1, 0
    head_hash: str | None = None
    table = AuditEntry.__table__
    while True:
        rows = db.session.execute(
            select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.id != expected_id:
                gone = (f"#{expected_id}" if e.id == expected_id + 1
                        else f"#{expected_id}–#{e.id - 1}")
                yield ChainProblem(expected_id, f"entry {gone} is missing")
            elif e.prev_hash != prev_hash:
                yield ChainProblem(e.id, "link to the previous entry is broken")
            elif not hmac.compare_digest(e.hash, _mac(key, e.prev_hash, e)):
                yield ChainProblem(e.id, "content does not match its hash")
            if head is not None and e.id == head[0]:
                head_hash = e.hash
            prev_hash, expected_id, last_id = e.hash, e.id + 1, e.id
    if head is None:
        return
    if last_id < head[0]:
        yield ChainProblem(last_id + 1, f"entries #{last_id + 1}–#{head[0]} are missing "
                                        f"(the exported chain head is #{head[0]})")
    elif not hmac.compare_digest(head_hash or "", head[1]):
        yield ChainProblem(head[0], "differs from the exported chain head")


def verify_chain(head: tuple[int, str] | None = None) -> ChainProblem | None:
    """The first broken entry, or None when the whole chain verifies (and reaches *head*)."""
    return next(iter_problems(head=head), None)


def chain_head() -> tuple[int, str] | None:
    """The newest entry's ``(id, hash)``, to be exported off the box (R37)."""
    last = _last()
    return (last.id, last.hash) if last else None
