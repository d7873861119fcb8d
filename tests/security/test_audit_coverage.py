"""Figure F15 (security R36): the audit rows that the main workflows write — an evaluation round
from opening to confirmation, stipend quarters computed, confirmed and corrected through
maker-checker, account actions over HTTP — all carry their mandatory fields and an action and
object type that the audit-log page can name. (tests/test_labels.py checks statically that every
action recorded anywhere in lms/ has a label.)"""

from __future__ import annotations

from sqlalchemy import select

from lms.audit import AuditEntry
from lms.extensions import db
from lms.labels import AUDIT_ACTIONS, OBJECT_TYPES
from tests.security.test_tampering import build_data

MANDATORY = ("at", "actor_name", "action", "data", "prev_hash", "hash")


def test_every_entry_of_the_main_workflows_is_complete_and_named(world, client):
    build_data(world, client)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert len(entries) > 40
    incomplete = [(e.id, e.action, f) for e in entries for f in MANDATORY
                  if getattr(e, f) in (None, "")]
    assert incomplete == []
    assert sorted({e.action for e in entries} - set(AUDIT_ACTIONS)) == []
    assert sorted({e.object_type for e in entries if e.object_type} - set(OBJECT_TYPES)) == []
    assert [e.id for e in entries if e.object_type and e.object_id is None] == []
    # A named person or service did it: only jobs without a user write "system".
    assert [e.id for e in entries if e.actor_id is None and e.actor_name != "system"] == []
    # Entries written by a web request carry the request id and the client address.
    web = [e for e in entries if e.request_id is not None]
    assert len(web) >= 4 and all(e.ip for e in web)
    assert {"account.disable", "account.enable", "evaluation.open", "evaluation.score",
            "evaluation.publish", "evaluation.confirm", "stipend.compute", "stipend.confirm",
            "grading.change_propose", "grading.change_approve"} <= {e.action for e in entries}
