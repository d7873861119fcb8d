"""What an import will do: one change per valid row, and every row error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lms.org.importing.columns import RowError

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
#: Progress is reported every this many rows (CLI: a line on stderr).
PROGRESS_EVERY = 500

#: ``progress(stage, done, total)``; stage is "check" or "write".
Progress = Callable[[str, int, int], None]


@dataclass
class Plan:
    """The outcome of checking a file; ``changes`` may be written only when ``errors`` is empty.

    Each change has ``line``, ``action`` (CREATE / UPDATE / UNCHANGED) and ``summary``."""

    rows: int
    #: SHA-256 of the file, recorded in the import's audit entry.
    digest: str = ""
    changes: list[Any] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {"created": self.count(CREATE), "updated": self.count(UPDATE),
                "unchanged": self.count(UNCHANGED), "errors": self.error_rows}

    @property
    def error_rows(self) -> int:
        """Rows with at least one error (a row may have several)."""
        return len({e.line for e in self.errors})

    def sorted_errors(self) -> list[RowError]:
        return sorted(self.errors, key=lambda e: e.line)


class Ticker:
    """Counts rows and calls *progress* each time another ``PROGRESS_EVERY`` rows are done."""

    def __init__(self, progress: Progress | None, stage: str, total: int) -> None:
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0

    def add(self, n: int = 1) -> None:
        before, self.done = self.done, self.done + n
        if self.progress is not None and self.done // PROGRESS_EVERY > before // PROGRESS_EVERY:
            self.progress(self.stage, self.done, self.total)
