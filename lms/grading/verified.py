"""Exports skip the integrity walk of counties whose rows have not changed since it passed.

An export of grades or stipends must refuse while a row of its scope fails its integrity code
(``integrity.broken_rows``). The walk computes an HMAC per row in Python: ~0.05 ms a row, 25 s for
the province's 540,000 evaluation and stipend rows, on every download. On PostgreSQL the database
computes a fingerprint of each county's rows instead — SHA-256 over every row's id, sealed fields
and code as JSON, in id order, one statement per table — and the walk runs only for the counties
whose fingerprint differs from the one recorded when their walk last passed. Those fingerprints
are kept in the audit log (action ``integrity.verified``, the whole county → fingerprint map in
its newest entry), whose entries carry an HMAC under the audit key: a fingerprint written into
the database by hand does not verify and is ignored, and an edited row changes its county's
fingerprint, so the walk runs and refuses the export.

SQLite (the embedded, single-county or single-city deployment) and scopes below a county keep
the plain walk: their row counts are small.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by

from lms import audit
from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading import integrity
from lms.grading.models import Evaluation, StipendLine

ACTION = "integrity.verified"


@dataclass
class Verdict:
    ok: bool
    #: The county → fingerprint map to record after the export (counties walked this time added
    #: to the ones known), or None when there is nothing new to record.
    record: dict[str, str] | None = None
    walked: list[int] = field(default_factory=list)


def _cached(where: dict[str, Any]) -> bool:
    return db.session.get_bind().dialect.name == "postgresql" and set(where) <= {"county_id"}


def fingerprints(**where: Any) -> dict[int, str]:
    """County id → SHA-256 (hex) of that county's evaluation and stipend rows in *where*
    (one statement for both tables)."""
    parts = []
    for n, (model, table) in enumerate(((Evaluation, "evaluation"),
                                        (StipendLine, "stipend_line"))):
        c = model.__table__.c
        row_text = cast(func.json_build_array(c.id, *[c[f] for f in integrity.FIELDS[table]],
                                              c.mac), Text)
        digest = func.encode(func.sha256(func.convert_to(
            func.string_agg(row_text, aggregate_order_by(literal("\n"), c.id)), "UTF8")), "hex")
        parts.append(select(literal(n).label("part"), c.county_id, digest.label("fp"))
                     .where(*integrity.scope_clauses(model, where)).group_by(c.county_id))
    found: dict[int, list[str]] = {}
    for part, county_id, fp in db.session.execute(union_all(*parts)):
        found.setdefault(county_id, ["", ""])[part] = fp
    return {county: hashlib.sha256(":".join(fps).encode()).hexdigest()
            for county, fps in found.items()}


def known() -> dict[str, str]:
    """The map of the newest ``integrity.verified`` entry, if its HMAC verifies; else empty."""
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == ACTION)
                              .order_by(AuditEntry.id.desc()).limit(1))
    if entry is None or not hmac.compare_digest(
            entry.hash, audit.entry_mac(entry.prev_hash, entry)):
        return {}
    counties = json.loads(entry.data).get("counties")
    return counties if isinstance(counties, dict) else {}


def check(**where: Any) -> Verdict:
    """Whether the rows of *where* pass their integrity codes (the export check)."""
    if not _cached(where):
        return Verdict(not integrity.broken_rows(**where))
    current = fingerprints(**where)
    seen = known()
    if None in current:  # a row without a county (the column is NOT NULL): walk it all
        return Verdict(not integrity.broken_rows(**where))
    stale = sorted(c for c, fp in current.items() if seen.get(str(c)) != fp)
    if not stale:
        return Verdict(True)
    if integrity.broken_rows(county_id=stale):
        return Verdict(False, walked=stale)
    # Record only what did not change while the walk ran (each statement sees its own snapshot).
    again = fingerprints(county_id=stale)
    fresh = {str(c): current[c] for c in stale if again.get(c) == current[c]}
    return Verdict(True, {**seen, **fresh} if fresh else None, stale)


def record(verdict: Verdict, actor: Any, *, now: Any) -> None:
    """Append the verified map after the export (in the export's write transaction)."""
    if verdict.record:
        audit.record(actor, "integrity.verified", None, now=now, counties=verdict.record,
                     walked=len(verdict.walked))
