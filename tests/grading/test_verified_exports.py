"""The export's integrity check remembers which counties passed (lms/grading/verified.py): on
PostgreSQL a county whose rows are unchanged is not walked again; a row edited outside the
application changes its county's fingerprint, so the walk runs and the export is refused, also
after an earlier export passed; a fingerprint entry forged into the audit log is ignored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from lms.audit import GENESIS, AuditEntry
from lms.extensions import db
from lms.grading import integrity, verified
from lms.grading.models import Evaluation, StipendLine
from tests.grading.report_world import build_reports

BLOCKED = "完整性校验未通过"


@pytest.fixture
def rw(world):
    return build_reports(world)


@pytest.fixture
def walks(monkeypatch):
    """The scopes the integrity walk ran for, in order."""
    seen: list[dict] = []
    real = integrity.broken_rows

    def spy(**where):
        seen.append(where)
        return real(**where)

    monkeypatch.setattr(integrity, "broken_rows", spy)
    return seen


def _pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def _entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == verified.ACTION).order_by(AuditEntry.id)))


def test_an_unchanged_county_is_walked_once(client, rw, world, walks):
    client.login("city_admin")
    assert client.get("/grading/reports/grades.xlsx?year=2026").status_code == 200
    assert client.get("/grading/reports/stipends.csv?year=2026").status_code == 200
    if not _pg():  # SQLite: the plain walk on every export, nothing recorded
        assert len(walks) == 2 and _entries() == []
        return
    assert len(walks) == 1  # the second export found every county's fingerprint known
    entries = _entries()
    assert len(entries) == 1
    counties = entries[0].details["counties"]
    assert {int(c) for c in counties} == {world.county_a.id, world.county_b.id}


def test_a_row_edited_after_a_passing_export_blocks_the_next(client, rw, world, walks):
    client.login("city_admin")
    assert client.get("/grading/reports/grades.xlsx?year=2026").status_code == 200
    row = db.session.scalar(select(Evaluation.id).where(
        Evaluation.person_id == world.person_b.id))
    db.session.execute(text("UPDATE evaluation SET total = 99 WHERE id = :id"), {"id": row})
    db.session.commit()
    resp = client.get("/grading/reports/grades.xlsx?year=2026")
    assert resp.status_code == 302
    assert BLOCKED in client.get(resp.location).get_data(as_text=True)
    if _pg():  # only county B was walked again
        assert walks[-1] == {"county_id": [world.county_b.id]}
    client.logout()
    client.login("a_hr")  # county A's rows did not change: its export still runs
    assert client.get("/grading/reports/grades.xlsx?year=2026").status_code == 200


def test_a_stipend_line_edited_after_a_passing_export_blocks_the_county(client, rw, world):
    client.login("a_hr")
    assert client.get("/grading/reports/stipends.xlsx?year=2026").status_code == 200
    line = db.session.scalar(select(StipendLine.id).where(
        StipendLine.county_id == world.county_a.id))
    db.session.execute(text("UPDATE stipend_line SET amount_fen = amount_fen + 1 WHERE id = :id"),
                       {"id": line})
    db.session.commit()
    assert client.get("/grading/reports/stipends.xlsx?year=2026").status_code == 302


def test_a_forged_fingerprint_entry_is_ignored(client, rw, world):
    if not _pg():
        pytest.skip("the fingerprints are kept on PostgreSQL only")
    row = db.session.scalar(select(Evaluation.id).where(
        Evaluation.person_id == world.person_b.id))
    db.session.execute(text("UPDATE evaluation SET total = 99 WHERE id = :id"), {"id": row})
    db.session.commit()
    forged = {str(c): fp for c, fp in verified.fingerprints().items()}  # the tampered state
    last = db.session.execute(select(AuditEntry.id, AuditEntry.hash)
                              .order_by(AuditEntry.id.desc()).limit(1)).first()
    last_id, prev = (last.id, last.hash) if last else (0, GENESIS)
    db.session.execute(text(
        "INSERT INTO audit_entry (id, at, actor_name, action, data, prev_hash, hash) "
        "VALUES (:id, now(), 'system', :action, :data, :prev, :hash)"),
        {"id": last_id + 1, "action": verified.ACTION, "prev": prev, "hash": "0" * 64,
         "data": json.dumps({"counties": forged, "walked": 0}, sort_keys=True)})
    db.session.commit()
    assert verified.known() == {}
    client.login("city_admin")
    assert client.get("/grading/reports/grades.xlsx?year=2026").status_code == 302


def test_the_fingerprint_covers_every_sealed_field_and_the_code(rw, world):
    if not _pg():
        pytest.skip("the fingerprints are computed by PostgreSQL")
    before = verified.fingerprints(county_id=world.county_a.id)
    assert set(before) == {world.county_a.id}
    row = db.session.scalar(select(func.min(Evaluation.id)).where(
        Evaluation.county_id == world.county_a.id))
    for column, value in (("mac", "'x'"), ("grade", "'优秀'"), ("hours", "hours + 1"),
                          ("veto", "NOT veto"), ("prior_grades", "prior_grades || '|'")):
        db.session.execute(text("SAVEPOINT s"))
        edit = f"UPDATE evaluation SET {column} = {value} WHERE id = :id"  # noqa: S608
        db.session.execute(text(edit), {"id": row})
        assert verified.fingerprints(county_id=world.county_a.id) != before, column
        db.session.execute(text("ROLLBACK TO SAVEPOINT s"))
    assert verified.fingerprints(county_id=world.county_a.id) == before
