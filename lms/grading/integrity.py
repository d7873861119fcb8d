"""Integrity codes of grade and stipend rows (security R41).

Each ``Evaluation`` and ``StipendLine`` row carries ``mac = HMAC-SHA256(AUDIT_KEY, canonical
fields)``. The services reseal a row whenever they change it (in the same transaction as the change
and its audit entry); ``flask lms audit-verify`` walks every row and names the first one whose
fields no longer match, so an edit made outside the application is detected. Exports of grades and
stipends refuse to run while a row of their unit fails (``broken_rows``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from lms.extensions import db
from lms.grading.models import Evaluation, StipendLine

#: The fields under the code. The row id is not among them: each row is identified by its
#: content (post and year, or post, year and quarter are unique), so a row can be sealed before
#: it is inserted and a copy of another row's fields still fails on the post or person.
EVALUATION_FIELDS = ("round_id", "year", "post_id", "person_id", "org_unit_id", "township_id",
                     "county_id", "level", "prior_grades", "since_change", "work", "diligence",
                     "integrity", "satisfaction", "competence", "hours", "exam_percent", "veto",
                     "total", "grade", "new_level", "replace")
STIPEND_FIELDS = ("run_id", "year", "quarter", "post_id", "person_id", "org_unit_id", "township_id",
                  "county_id", "level", "months", "grade", "amount_fen")
FIELDS = {"evaluation": EVALUATION_FIELDS, "stipend_line": STIPEND_FIELDS}


def _key() -> bytes:
    return str(current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]).encode()


def _text(value: Any) -> Any:
    """Decimals as their one-place text (the same for SQLite and PostgreSQL), booleans as 0/1."""
    if value is None or isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    return f"{value:.1f}"


def canonical(table: str, row: Any) -> bytes:
    values = [table, *(_text(getattr(row, f)) for f in FIELDS[table])]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def mac_of(table: str, row: Any, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), canonical(table, row), hashlib.sha256).hexdigest()


def seal(row: Evaluation | StipendLine) -> None:
    """Recompute the row's integrity code after a change (or before inserting it)."""
    row.mac = mac_of(row.__tablename__, row)


@dataclass(frozen=True)
class RowProblem:
    table: str
    row_id: int


#: Rows fetched from the cursor at a time by the walk below.
BATCH = 5000


def iter_problems(batch: int | None = None, **where: Any) -> Iterator[RowProblem]:
    """Every evaluation and stipend row whose code does not match, in id order per table.
    *where* narrows the walk (``county_id=…``) for the export check. One statement per table
    whatever the number of rows (an export's statement count must not grow with the city); the
    rows are streamed *batch* at a time (a server-side cursor on PostgreSQL), so memory does not
    grow either."""
    key = _key()
    for model, table in ((Evaluation, "evaluation"), (StipendLine, "stipend_line")):
        columns = [model.__table__.c[f] for f in FIELDS[table]]
        query = select(model.id, *columns, model.mac)
        for name, value in where.items():
            query = query.where(model.__table__.c[name] == value)
        rows = db.session.execute(query.order_by(model.id)
                                  .execution_options(yield_per=batch or BATCH))
        try:
            for r in rows:
                if not hmac.compare_digest(r.mac or "", mac_of(table, r, key)):
                    yield RowProblem(table, r.id)
        finally:
            rows.close()


def first_problem() -> RowProblem | None:
    return next(iter_problems(), None)


def broken_rows(**where: Any) -> bool:
    """Whether any row matching *where* fails (exports are blocked then)."""
    return next(iter_problems(**where), None) is not None
