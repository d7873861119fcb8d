"""Integrity codes of grade and stipend rows (security R41).

Each ``Evaluation`` and ``StipendLine`` row carries ``mac = HMAC-SHA256(AUDIT_KEY, canonical
fields)``. The services reseal a row whenever they change it (in the same transaction as the change
and its audit entry); ``flask lms audit-verify`` walks every row and names the first one whose
fields no longer match, so an edit made outside the application is detected. Exports of grades and
stipends refuse to run while a row of their unit fails (``broken_rows``).

A code cannot show a row that is gone, so the verifier also checks the row sets against the audit
chain (``iter_missing``): rows named by an audit entry must exist, a round must hold as many
evaluation rows as its ``evaluation.open``/``evaluation.refresh`` entries added (the application
never deletes one), and a stipend quarter as many lines as its last ``stipend.compute``/
``stipend.confirm`` entry counted, summing to its total.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any

from flask import current_app
from sqlalchemy import Boolean, Integer, Numeric, String, func, select

from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading.models import Evaluation, EvaluationRound, StipendLine, StipendQuarter
from lms.i18n import _

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
_GET = {table: attrgetter(*fields) for table, fields in FIELDS.items()}
#: ``json.dumps(…, ensure_ascii=False, separators=(",", ":"))`` without building an encoder per
#: row (the services seal and check thousands of rows per click).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def code_key() -> bytes:
    """The key of the codes (pass it to ``mac_of`` when sealing many rows)."""
    return str(current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]).encode()


_AS_IS = frozenset({int, str, type(None)})


def _text(value: Any) -> Any:
    """Decimals as their one-place text (the same for SQLite and PostgreSQL), booleans as 0/1."""
    if type(value) in _AS_IS:  # the common case first: this runs for every field of every row
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    return f"{value:.1f}"


def _canonical_values(table: str, values: Any) -> bytes:
    """The canonical text of *values*, the row's ``FIELDS[table]`` in that order."""
    return _ENCODE([table, *map(_text, values)]).encode()


def _one_place(value: Any) -> Any:
    return None if value is None else f"{value:.1f}"


def _bool(value: Any) -> Any:
    return None if value is None else int(value)


def _converters(model: Any, table: str) -> list[tuple[int, Any]]:
    """(position, converter) for the columns whose database value ``_text`` changes: the walk
    converts only those, chosen by column type, instead of testing every value (same text)."""
    out = []
    for i, name in enumerate(FIELDS[table]):
        kind = model.__table__.c[name].type
        if isinstance(kind, Numeric):
            out.append((i, _one_place))
        elif isinstance(kind, Boolean):
            out.append((i, _bool))
        elif not isinstance(kind, Integer | String):
            out.append((i, _text))
    return out


def canonical(table: str, row: Any) -> bytes:
    return _canonical_values(table, _GET[table](row))


@lru_cache(maxsize=4)
def _keyed(key: bytes) -> Any:
    """An HMAC object already keyed (copied per row: the key is hashed once, not per row)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def mac_of(table: str, row: Any, key: bytes | None = None) -> str:
    return mac_of_values(table, _GET[table](row), key)


def mac_of_values(table: str, values: Any, key: bytes | None = None) -> str:
    """The code of the row whose ``FIELDS[table]`` are *values*, in that order."""
    code = _keyed(key or code_key()).copy()
    code.update(_canonical_values(table, values))
    return code.hexdigest()


def seal(row: Evaluation | StipendLine) -> None:
    """Recompute the row's integrity code after a change (or before inserting it)."""
    row.mac = mac_of(row.__tablename__, row)


@dataclass(frozen=True)
class RowProblem:
    table: str
    row_id: int
    #: "mac": the row's fields do not match its code; "missing": rows were deleted (the row
    #: itself when an audit entry names it, else the round or quarter that lost a row).
    kind: str = "mac"

    def message(self) -> str:
        name = {"evaluation": _("考评结果"), "stipend_line": _("补贴明细"),
                "evaluation_round": _("考评轮次"), "stipend_quarter": _("补贴季度")}[self.table]
        if self.kind == "missing":
            return _("%(table)s第 %(id)s 行校验失败：有记录被绕过系统删除（与审计日志不符）。",
                     table=name, id=self.row_id)
        return _("%(table)s第 %(id)s 行校验失败：内容与完整性校验码不符（可能被绕过系统修改）。",
                 table=name, id=self.row_id)


#: Rows fetched from the cursor at a time by the walk below.
BATCH = 5000


def scope_clauses(model: Any, where: dict[str, Any]) -> list[Any]:
    """``column == value`` per item of *where* (``IN`` for a list of values, e.g. county ids)."""
    c = model.__table__.c
    return [c[name].in_(value) if isinstance(value, list | tuple) else c[name] == value
            for name, value in where.items()]


def iter_problems(batch: int | None = None, **where: Any) -> Iterator[RowProblem]:
    """Every evaluation and stipend row whose code does not match, in id order per table.
    *where* narrows the walk (``county_id=…``) for the export check. One statement per table
    whatever the number of rows (an export's statement count must not grow with the city); the
    rows are streamed *batch* at a time (a server-side cursor on PostgreSQL), so memory does not
    grow either."""
    keyed = _keyed(code_key())
    for model, table in ((Evaluation, "evaluation"), (StipendLine, "stipend_line")):
        columns = [model.__table__.c[f] for f in FIELDS[table]]
        convert = _converters(model, table)
        query = select(model.id, *columns, model.mac).where(*scope_clauses(model, where))
        rows = db.session.execute(query.order_by(model.id)
                                  .execution_options(yield_per=batch or BATCH))
        try:
            for r in rows:  # (id, *fields, mac) read by position: the walk's hot loop
                row_id, *values, mac = r
                for i, fn in convert:
                    values[i] = fn(values[i])
                code = keyed.copy()
                code.update(_ENCODE([table, *values]).encode())
                if not hmac.compare_digest(mac or "", code.hexdigest()):
                    yield RowProblem(table, row_id)
        finally:
            rows.close()


#: Objects the application never deletes once an audit entry names them.
_NAMED = (("Evaluation", Evaluation, "evaluation"),
          ("EvaluationRound", EvaluationRound, "evaluation_round"),
          ("StipendQuarter", StipendQuarter, "stipend_quarter"))


def iter_missing() -> Iterator[RowProblem]:
    """Rows deleted outside the application, found against the audit chain (verify that first).
    A few aggregate statements, whatever the number of rows."""
    for object_type, model, table in _NAMED:
        gone = db.session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.object_type == object_type, AuditEntry.object_id.is_not(None),
                AuditEntry.object_id.not_in(select(model.id)))
            .distinct().order_by(AuditEntry.object_id))
        for row_id in gone:
            yield RowProblem(table, row_id, "missing")
    added: dict[int, int] = defaultdict(int)
    counted: dict[int, int] = {}
    for object_id, action, data in db.session.execute(
            select(AuditEntry.object_id, AuditEntry.action, AuditEntry.data)
            .where(AuditEntry.action.in_(_SET_ACTIONS), AuditEntry.object_id.is_not(None))
            .order_by(AuditEntry.id)):
        details = json.loads(data)
        if action == "evaluation.open":
            added[object_id] += int(details.get("assistants", 0))
        elif action == "evaluation.refresh":
            added[object_id] += int(details.get("added", 0))
        else:  # the last computation or confirmation of a quarter counts
            counted[object_id] = int(details.get("lines", 0))
    rows = dict(db.session.execute(select(Evaluation.round_id, func.count(Evaluation.id))
                                   .group_by(Evaluation.round_id)).all())
    for round_id in db.session.scalars(select(EvaluationRound.id).order_by(EvaluationRound.id)):
        if rows.get(round_id, 0) != added.get(round_id, 0):
            yield RowProblem("evaluation_round", round_id, "missing")
    lines = {r.run_id: (r.n, int(r.total)) for r in db.session.execute(
        select(StipendLine.run_id, func.count(StipendLine.id).label("n"),
               func.coalesce(func.sum(StipendLine.amount_fen), 0).label("total"))
        .group_by(StipendLine.run_id))}
    for run in db.session.execute(select(StipendQuarter.id, StipendQuarter.lines,
                                         StipendQuarter.total_fen).order_by(StipendQuarter.id)):
        n, total = lines.get(run.id, (0, 0))
        if (n, total) != (run.lines, run.total_fen) or n != counted.get(run.id, 0):
            yield RowProblem("stipend_quarter", run.id, "missing")


_SET_ACTIONS = ("evaluation.open", "evaluation.refresh", "stipend.compute", "stipend.confirm")


def first_problem() -> RowProblem | None:
    """The first row whose code fails, else the first sign of a deleted row."""
    return next(iter_problems(), None) or next(iter_missing(), None)


def broken_rows(**where: Any) -> bool:
    """Whether any row matching *where* fails (exports are blocked then)."""
    return next(iter_problems(**where), None) is not None
