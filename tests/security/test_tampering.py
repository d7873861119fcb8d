"""Figure F16 (security R37, R41): raw-SQL tampering of audit, grade and stipend rows is detected
at the right row, and clean data raises no alarm.

A small real data set is built through the services and the web (an evaluation round opened,
scored, rescored, published and confirmed; two stipend quarters computed, one confirmed and
corrected through maker-checker; account actions over HTTP). Then ``MUTATIONS`` random mutations
(seed ``SEED``) are applied one at a time behind the application's back — the append-only trigger
is dropped or disabled first, statements go through SQLAlchemy Core on the tables (no ORM, no
service) — and rolled back after each, so every mutation meets the same clean state:

* ``update``: one column of one row gets another value (every column under the hash or code,
  and the hash or code itself);
* ``swap``: two rows exchange one column's values;
* ``delete``: one row is deleted (for the audit log also the newest one);
* ``insert``: a forged row (audit: chained to the head with a guessed key; grade and stipend:
  another row's fields and code for a post that has none);
* ``reorder`` (audit log): two entries exchange places.

The verifier is what ``flask lms audit-verify --head ID:HASH`` runs: the audit chain up to the
exported head, then the row codes, then the row sets against the audit chain. It must name the
mutated row: the entry or row itself (for a deleted entry its id, the first gap), and for a
deleted grade row that no audit entry names or a deleted stipend line, the round or quarter that
lost it.

Not covered, by design (also in docs/testing.md):
* columns outside the code of a grade row — ``comment``, ``evidence``, ``veto_reason``,
  ``scored_at``/``scored_by_id``, ``replacement_case_id`` — and of a stipend quarter
  (``status``, ``lines``, ``total_fen``, timestamps) other than through the line checks below;
* exchanging two grade rows' ids: the code covers the content, not the id (rows are identified by
  post and year/quarter), so the pair still verifies — no grade, amount or person changes;
* deleting a stipend line *and* lowering its quarter's ``lines``/``total_fen`` to match is still
  caught (the last ``stipend.compute``/``stipend.confirm`` audit entry counted the lines), but
  deleting one line and inserting a forged one for the same post is caught only by the forged
  line's code (an attacker without the key cannot make one);
* deleting the newest audit entries is caught only with an exported head (``--head``): without
  one the shorter chain verifies (``test_tail_deletion_needs_the_exported_head``).

CI runs the full 100 mutations on SQLite and PostgreSQL (a few seconds);
``LMS_TAMPER_MUTATIONS`` changes the count.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from lms import audit
from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading import changes, cycle, integrity, ledger
from lms.grading.models import (
    ChangeRequest,
    Evaluation,
    EvaluationRound,
    StipendLine,
    StipendQuarter,
)
from lms.org.models import Post
from tests.grading.cycle_world import OPENED, build, day, score_all

MUTATIONS = int(os.environ.get("LMS_TAMPER_MUTATIONS", "100"))
SEED = 20261126
STIPEND_AT = datetime(2027, 1, 15, 2, tzinfo=UTC)

#: Foreign-key columns get another existing id of the table they point to.
REFERENCES = {"actor_id": "user_account", "org_unit_id": "org_unit", "round_id": "evaluation_round",
              "post_id": "post", "person_id": "person", "township_id": "org_unit",
              "county_id": "org_unit", "run_id": "stipend_quarter"}
AUDIT_COLUMNS = ("at", "actor_id", "actor_name", "action", "object_type", "object_id",
                 "org_unit_id", "data", "ip", "request_id", "prev_hash", "hash")
SEALED = {"evaluation": (*integrity.EVALUATION_FIELDS, "mac"),
          "stipend_line": (*integrity.STIPEND_FIELDS, "mac")}
#: Swapping a unique key's values between two rows would only collide; they are updated instead.
NOT_SWAPPED = {"evaluation": {"round_id", "post_id"},
               "stipend_line": {"post_id", "year", "quarter"}}
DIGESTS = {"prev_hash", "hash", "mac"}


# ---------------------------------------------------------------- the data set


def build_data(world, client) -> tuple[int, str]:
    """Audit entries, evaluation rows and stipend lines made by real actions; returns the
    exported chain head."""
    c = build(world)
    rnd = cycle.open_round(c.county, 2026, actor=c.county_hr, now=OPENED)
    db.session.commit()
    score_all(c, rnd, {i: (30 - i, 12, 8, 12 - i % 3) for i in range(7)})
    score_all(c, rnd, {1: (10, 5, 5, 5)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()
    cycle.confirm(rnd, actor=c.county_hr, now=day(date(2026, 12, 9)))
    db.session.commit()
    for quarter in (1, 2):
        for town, user in ((c.town, c.town_user), (c.town2, c.town2_user)):
            grades = {p.post_id: ("excellent" if p.post_id % 3 == 0 else "competent")
                      for p, _g in ledger.quarter_roster(town, 2026, quarter)}
            ledger.enter_quarter_grades(town, 2026, quarter, grades, actor=user, now=STIPEND_AT)
        db.session.commit()
        run = ledger.compute_quarter(c.county, 2026, quarter, actor=c.county_hr, now=STIPEND_AT)
        db.session.commit()
        if quarter == 1:
            ledger.confirm_quarter(run, actor=c.county_hr, now=STIPEND_AT)
            db.session.commit()
            line = db.session.scalars(select(StipendLine).where(StipendLine.run_id == run.id)
                                      .order_by(StipendLine.id)).first()
            change = changes.propose_quarter(line, "basically_competent", "复核发现迟到早退",
                                             actor=c.county_hr, now=STIPEND_AT)
            db.session.commit()
            changes.approve(change, "同意", actor=c.county_hr2, now=STIPEND_AT)
            db.session.commit()
    client.login("a_admin")
    for action in ("disable", "enable", "unlock"):
        client.post(f"/admin/accounts/{world.trainee.id}/{action}")
    client.logout()
    db.session.rollback()
    head = audit.chain_head()
    assert head is not None
    return head


# ---------------------------------------------------------------- mutations


@dataclass
class Mutation:
    kind: str
    table: str
    what: str
    apply: Callable[[], None]
    expected: tuple[str, int]


def unguard() -> None:
    """What an attacker with the database's owner rights does first (rolled back after)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entry_no_delete"))


def verify(head: tuple[int, str] | None) -> tuple[str, int] | None:
    """What ``flask lms audit-verify --head`` reports first, as (table, row id)."""
    chain = audit.verify_chain(head)
    if chain is not None:
        return ("audit_entry", chain.entry_id)
    row = integrity.first_problem()
    return (row.table, row.row_id) if row is not None else None


def _table(name: str) -> Table:
    return db.metadata.tables[name]


def _rows(name: str) -> list[Any]:
    t = _table(name)
    return list(db.session.execute(select(t).order_by(t.c.id)).all())


def _set(name: str, row_id: int, **values: Any) -> None:
    t = _table(name)
    db.session.execute(t.update().where(t.c.id == row_id).values(**values))


def _other(rng: random.Random, table: str, column: str, current: Any) -> Any:
    """A different value for *column* that a raw UPDATE could write."""
    col = _table(table).c[column]
    if column in REFERENCES:
        ids = [i for i in db.session.scalars(text(f"SELECT id FROM {REFERENCES[column]}"))  # noqa: S608
               if i != current]
        return rng.choice(ids + ([None] if col.nullable and current is not None else []))
    if column in DIGESTS:
        return (current or "0" * 64)[:-1] + ("1" if (current or "0")[-1] == "0" else "0")
    if column == "data":
        return json.dumps({**json.loads(current), "forged": True}, sort_keys=True)
    if isinstance(current, bool):
        return not current
    if isinstance(current, datetime):
        return current + timedelta(seconds=1)
    if isinstance(current, Decimal):
        return current + Decimal("0.5")
    if isinstance(current, int):
        return current + rng.choice((1, -1))
    if isinstance(current, str):
        return current + "x"
    python_type = col.type.python_type
    return {Decimal: Decimal("1.0"), int: 1, str: "203.0.113.9", bool: True}[python_type]


def _named_by_audit(object_type: str, object_id: int) -> bool:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)) > 0


def _draw(rng: random.Random, head: tuple[int, str], stranger_post: Post) -> Mutation:
    table = rng.choice(("audit_entry", "evaluation", "stipend_line"))
    kinds = ["update", "update", "swap", "delete", "insert"]
    if table == "audit_entry":
        kinds.append("reorder")
    kind = rng.choice(kinds)
    rows = _rows(table)
    columns = AUDIT_COLUMNS if table == "audit_entry" else SEALED[table]

    if kind == "update":
        row, column = rng.choice(rows), rng.choice(columns)
        value = _other(rng, table, column, getattr(row, column))
        return Mutation(kind, table, f"#{row.id}.{column}={value!r}",
                        lambda: _set(table, row.id, **{column: value}), (table, row.id))

    if kind == "swap":
        swappable = [c for c in columns if c not in NOT_SWAPPED.get(table, ())]
        for _ in range(50):
            column = rng.choice(swappable)
            a, b = sorted(rng.sample(rows, 2), key=lambda r: r.id)
            if getattr(a, column) != getattr(b, column):
                break
        else:
            raise AssertionError("no two rows differ")

        def swap() -> None:
            if column in DIGESTS:  # unique: through a placeholder
                _set(table, a.id, **{column: "f" * 64})
            _set(table, b.id, **{column: getattr(a, column)})
            _set(table, a.id, **{column: getattr(b, column)})
        return Mutation(kind, table, f"#{a.id}<->#{b.id}.{column}", swap, (table, a.id))

    if kind == "delete":
        row = rows[-1] if table == "audit_entry" and rng.random() < 0.25 else rng.choice(rows)
        t = _table(table)
        expected: tuple[str, int] = (table, row.id)
        if table == "evaluation" and not _named_by_audit("Evaluation", row.id):
            expected = ("evaluation_round", row.round_id)
        elif table == "stipend_line":
            expected = ("stipend_quarter", row.run_id)
        return Mutation(kind, table, f"#{row.id}{' (newest)' if row is rows[-1] else ''}",
                        lambda: db.session.execute(t.delete().where(t.c.id == row.id)), expected)

    if kind == "insert":
        model = rng.choice(rows)
        values = {k: v for k, v in model._mapping.items()}
        new_id = rows[-1].id + 1
        values["id"] = new_id
        if table == "audit_entry":
            values.update(prev_hash=head[1], action=rng.choice(("role.grant", "account.enable")),
                          at=datetime.now(UTC).replace(microsecond=0))
            forged = AuditEntry(**{k: values[k] for k in ("id", "at", *AUDIT_COLUMNS[1:-2])})
            values["hash"] = hmac.new(b"a guessed key", head[1].encode() + audit.canonical(forged),
                                      hashlib.sha256).hexdigest()
        else:  # another row's fields and code, for a post that has none here
            values.update(post_id=stranger_post.id, person_id=stranger_post.person_id)
        t = _table(table)
        return Mutation(kind, table, f"#{new_id} like #{model.id}",
                        lambda: db.session.execute(t.insert().values(**values)), (table, new_id))

    # reorder: two audit entries exchange places
    a, b = sorted(rng.sample(rows, 2), key=lambda r: r.id)
    fields = {c: getattr(a, c) for c in AUDIT_COLUMNS}, {c: getattr(b, c) for c in AUDIT_COLUMNS}

    def reorder() -> None:
        _set(table, a.id, hash="f" * 64)
        _set(table, b.id, **fields[0])
        _set(table, a.id, **fields[1])
    return Mutation(kind, table, f"#{a.id}<->#{b.id}", reorder, (table, a.id))


def run_mutations(head: tuple[int, str], count: int, seed: int) -> list[tuple[Mutation, Any]]:
    """Apply *count* mutations, each alone on the clean state; (mutation, what the verifier
    reported). A mutation that the database itself refuses (a foreign key, a unique key) is
    drawn again: it changed nothing."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
    stranger_post = db.session.scalar(select(Post).where(
        Post.id.not_in(select(Evaluation.post_id)), Post.id.not_in(select(StipendLine.post_id)))
        .order_by(Post.id))
    assert stranger_post is not None
    results: list[tuple[Mutation, Any]] = []
    refused = 0
    while len(results) < count:
        db.session.rollback()
        m = _draw(rng, head, stranger_post)
        try:
            unguard()
            m.apply()
            db.session.flush()
        except (IntegrityError, DBAPIError):
            refused += 1
            assert refused < count, "the database refuses nearly every mutation"
            continue
        results.append((m, verify(head)))
        db.session.rollback()
    db.session.rollback()
    return results


# ---------------------------------------------------------------- tests


@pytest.fixture
def head(world, client) -> tuple[int, str]:
    return build_data(world, client)


def test_clean_data_verifies(head, runner):
    assert verify(head) is None
    assert verify(None) is None
    counts = {m: db.session.scalar(select(func.count()).select_from(m))
              for m in (AuditEntry, Evaluation, StipendLine, StipendQuarter, ChangeRequest)}
    assert counts[AuditEntry] > 40 and counts[Evaluation] == 7 and counts[StipendLine] == 14
    result = runner.invoke(args=["lms", "audit-verify", "--head", f"{head[0]}:{head[1]}"])
    assert result.exit_code == 0, result.output + (result.stderr or "")


def test_random_tampering_is_detected_at_the_right_row(head):
    results = run_mutations(head, MUTATIONS, SEED)
    wrong = [(m.kind, m.table, m.what, m.expected, got) for m, got in results
             if got != m.expected]
    assert wrong == []
    kinds = Counter((m.table, m.kind) for m, _got in results)
    assert len(results) == MUTATIONS
    if MUTATIONS >= 100:  # every kind on every table was drawn
        assert len(kinds) == 5 + 4 + 4, kinds
    print(f"F16: {len(results)} mutations, {len(results) - len(wrong)} detected at the right row:",
          dict(sorted(kinds.items())))
    # Clean again after the last rollback: no false positive.
    assert verify(head) is None


def test_tail_deletion_needs_the_exported_head(head, runner):
    unguard()
    db.session.execute(text("DELETE FROM audit_entry WHERE id = :i"), {"i": head[0]})
    db.session.commit()
    assert audit.verify_chain() is None  # a shorter chain verifies by itself
    problem = audit.verify_chain(head)
    assert problem is not None and problem.entry_id == head[0]
    result = runner.invoke(args=["lms", "audit-verify", "--head", f"{head[0]}:{head[1]}"])
    assert result.exit_code == 1
    assert f"第 {head[0]} 条" in result.output + (result.stderr or "")
    bad = runner.invoke(args=["lms", "audit-verify", "--head", "12"])
    assert bad.exit_code == 2


def test_audit_head_prints_the_newest_entry(head, runner):
    result = runner.invoke(args=["lms", "audit-head"])
    assert result.exit_code == 0 and result.output.strip() == f"{head[0]}:{head[1]}"


def test_a_replaced_head_entry_is_named(head):
    unguard()
    forged = {"hash": "0" * 64}
    _set("audit_entry", head[0], **forged)
    assert audit.verify_chain(head).entry_id == head[0]
    db.session.rollback()


def test_deleted_rows_are_named_by_id_round_or_quarter(world):
    """Regression: a per-row code cannot show a deleted row; the set checks do."""
    c = build(world)
    rnd = cycle.open_round(c.county, 2026, actor=c.county_hr, now=OPENED)
    db.session.commit()
    rows = cycle.rows_of(rnd)
    score_all(c, rnd, {0: (30, 12, 8, 12)})
    scored = next(r.id for r in rows if r.person_id == c.people[0].id)
    unscored = next(r.id for r in rows if r.person_id == c.people[3].id)
    round_id = rnd.id
    assert integrity.first_problem() is None
    for row_id, expected in ((scored, ("evaluation", scored)),
                             (unscored, ("evaluation_round", round_id))):
        db.session.execute(text("DELETE FROM evaluation WHERE id = :i"), {"i": row_id})
        problem = integrity.first_problem()
        assert (problem.table, problem.row_id, problem.kind) == (*expected, "missing")
        assert "删除" in problem.message()
        db.session.rollback()
    # A deleted round (with its rows) is named through the audit entries about it.
    db.session.execute(text("DELETE FROM evaluation WHERE round_id = :i"), {"i": round_id})
    db.session.execute(text("DELETE FROM evaluation_round WHERE id = :i"), {"i": round_id})
    problem = integrity.first_problem()
    assert (problem.table, problem.row_id) == ("evaluation", scored)
    db.session.rollback()
    assert integrity.first_problem() is None


def test_a_deleted_line_with_matching_quarter_totals_is_still_caught(world):
    c = build(world)
    for town, user in ((c.town, c.town_user), (c.town2, c.town2_user)):
        grades = {p.post_id: "competent" for p, _g in ledger.quarter_roster(town, 2026, 1)}
        ledger.enter_quarter_grades(town, 2026, 1, grades, actor=user, now=STIPEND_AT)
    run = ledger.compute_quarter(c.county, 2026, 1, actor=c.county_hr, now=STIPEND_AT)
    db.session.commit()
    line = db.session.scalars(select(StipendLine).where(StipendLine.run_id == run.id)).first()
    db.session.execute(text("DELETE FROM stipend_line WHERE id = :i"), {"i": line.id})
    db.session.execute(text("UPDATE stipend_quarter SET lines = lines - 1, "
                            "total_fen = total_fen - :a WHERE id = :r"),
                       {"a": line.amount_fen, "r": run.id})
    problem = integrity.first_problem()
    assert (problem.table, problem.row_id) == ("stipend_quarter", run.id)
    db.session.rollback()
    assert db.session.get(EvaluationRound, 1) is None and integrity.first_problem() is None
