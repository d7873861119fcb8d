"""Count the SQL statements a block of code runs (query budgets: a page must not grow with data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from lms.extensions import db


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries() -> Iterator[Counter]:
    counter = Counter()

    def before(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                      "RELEASE")):
            counter.statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
