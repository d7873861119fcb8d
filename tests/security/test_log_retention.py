"""Figure F17 (security R38): audit rows are kept at least 180 days.

The project has no audit archiving: the log is never pruned (docs/operations.md, "Logs:
retention ≥ 180 days"), and the only periodic deletion job, ``flask lms housekeeping``, deletes
ended sessions only. This test writes entries dated 181, 179 and 0 days back, runs housekeeping
"today", and finds every entry still there and the chain verifying across them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from lms import audit
from lms.audit import AuditEntry
from lms.db import utcnow
from lms.extensions import db


def test_entries_older_than_180_days_are_kept_and_verify(world, runner):
    now = utcnow()
    for days in (400, 181, 180, 179, 1, 0):
        audit.record(world.a_admin, "account.disable", world.trainee,
                     now=now - timedelta(days=days), days=days)
    db.session.commit()
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    result = runner.invoke(args=["lms", "housekeeping"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before
    ages = sorted(e.details["days"] for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "account.disable")))
    assert ages == [0, 1, 179, 180, 181, 400]
    assert audit.verify_chain(audit.chain_head()) is None
    verified = runner.invoke(args=["lms", "audit-verify"])
    assert verified.exit_code == 0
