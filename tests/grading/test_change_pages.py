"""Maker-checker through HTTP (security R20): a correction proposed on a confirmed sheet, the
county's list (both kinds, pending first), the proposer's own approval is 403 and changes
nothing, another county user's approval applies it with both user ids in the audit log; bad
input is 400; another county gets 404; the list keeps its query count."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.extensions import db
from lms.grading import changes, cycle
from lms.grading.models import ChangeRequest, ChangeStatus, Evaluation
from tests.grading.cycle_world import OPENED, day, score_all
from tests.grading.round_pages_support import as_user, html, open_round, sheets_of
from tests.querycount import count_queries

pytest_plugins = ["tests.grading.round_pages_fixtures"]
D = Decimal
CHANGE = {"work": "40", "diligence": "14", "integrity": "9", "satisfaction": "13",
          "reason": "走访记录漏算，经核实补记"}


def _confirmed(c):
    rnd = open_round(c)
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(7)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    cycle.confirm(rnd, actor=c.county_hr, now=day(date(2026, 12, 9)))
    db.session.commit()
    return rnd


@pytest.fixture
def confirmed(c, clock):
    clock.now = day(date(2026, 12, 10))
    return _confirmed(c)


def test_propose_then_self_approval_is_403_and_another_person_approves(client, c, confirmed):
    row = sheets_of(confirmed)[c.people[0].id]
    as_user(client, c.county_hr)
    page = html(client.get(f"/grading/sheets/{row.id}"))
    assert "提出更正" in page and 'name="reason"' in page
    resp = client.post(f"/grading/sheets/{row.id}/change", CHANGE)
    assert resp.status_code == 302, html(resp)
    change = db.session.scalar(select(ChangeRequest))
    assert change.status == ChangeStatus.PROPOSED and change.proposed_by_id == c.county_hr.id

    page = html(client.get("/grading/changes"))
    assert "李四" in page and "30.0 → 40" in page and "待审核" in page and "a_hr" in page
    page = html(client.get(f"/grading/changes/{change.id}"))
    assert "须由县级另一名工作人员审核" in page and "批准" not in page.split("更正内容")[-1]
    assert client.post(f"/grading/changes/{change.id}/approve", {"note": ""}).status_code == 403
    assert client.post(f"/grading/changes/{change.id}/reject", {"note": "x"}).status_code == 403
    db.session.refresh(change)
    assert change.status == ChangeStatus.PROPOSED
    assert db.session.get(Evaluation, row.id).work == D("30.0")

    as_user(client, c.county_hr2)
    resp = client.post(f"/grading/changes/{change.id}/approve", {"note": "同意"})
    assert resp.status_code == 302
    db.session.expire_all()
    change = db.session.get(ChangeRequest, change.id)
    row = db.session.get(Evaluation, row.id)
    assert change.status == ChangeStatus.APPROVED and change.decided_by_id == c.county_hr2.id
    assert row.work == D("40.0") and row.total == D("76.0") and row.grade == "competent"
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "grading.change_approve"))
    data = json.loads(entry.data)
    assert data["proposed_by_id"] == c.county_hr.id and data["approved_by_id"] == c.county_hr2.id
    page = html(client.get(f"/grading/changes/{change.id}"))
    assert "已批准" in page and "a_hr2" in page


def test_reject_needs_a_note(client, c, confirmed):
    row = sheets_of(confirmed)[c.people[0].id]
    as_user(client, c.town_user)
    assert client.post(f"/grading/sheets/{row.id}/change", CHANGE).status_code == 302
    change = db.session.scalar(select(ChangeRequest))
    as_user(client, c.county_hr)
    resp = client.post(f"/grading/changes/{change.id}/reject", {"note": " "})
    assert resp.status_code == 400 and "驳回的理由" in html(resp)
    db.session.refresh(change)
    assert change.status == ChangeStatus.PROPOSED
    assert client.post(f"/grading/changes/{change.id}/reject",
                       {"note": "依据不足"}).status_code == 302
    db.session.refresh(change)
    assert change.status == ChangeStatus.REJECTED and change.note == "依据不足"


@pytest.mark.parametrize(("values", "words"), [
    ({"work": "41"}, "0 到 40"),
    ({"satisfaction": "abc"}, "分数应为数字"),
    ({"reason": ""}, "更正的理由"),
    ({"veto": "y", "veto_reason": ""}, "一票否决"),
    ({"work": "30", "diligence": "12", "integrity": "8", "satisfaction": "12"}, "相同"),
])
def test_bad_proposals_give_400_and_create_nothing(client, c, confirmed, values, words):
    row = sheets_of(confirmed)[c.people[0].id]
    as_user(client, c.town_user)
    resp = client.post(f"/grading/sheets/{row.id}/change", {**CHANGE, **values})
    assert resp.status_code == 400 and words in html(resp)
    assert db.session.scalar(select(ChangeRequest)) is None


def test_no_proposal_before_confirmation(client, c, clock):
    rnd = open_round(c)
    row = sheets_of(rnd)[c.people[0].id]
    as_user(client, c.town_user)
    assert "提出更正" not in html(client.get(f"/grading/sheets/{row.id}"))
    resp = client.post(f"/grading/sheets/{row.id}/change", CHANGE)
    assert resp.status_code == 400 and "尚未审定" in html(resp)


def test_another_county_gets_404(client, c, world, confirmed):
    row = sheets_of(confirmed)[c.people[0].id]
    change = changes.propose_evaluation(row, cycle.ScoreSheet(38, 14, 9), 13, "补记",
                                        actor=c.county_hr, now=OPENED)
    db.session.commit()
    as_user(client, world.b_admin)
    assert client.get(f"/grading/changes/{change.id}").status_code == 404
    assert client.post(f"/grading/changes/{change.id}/approve").status_code == 404
    assert client.post(f"/grading/sheets/{row.id}/change", CHANGE).status_code == 404
    assert "李四" not in html(client.get("/grading/changes"))


def _quarter_change(row, proposer_id: int) -> None:
    """A quarterly-grade request shown in the same list (the ledger pages create them)."""
    db.session.add(ChangeRequest(kind="quarter", org_unit_id=row.org_unit_id,
                                 county_id=row.county_id, person_id=row.person_id,
                                 before={"grade": "competent", "amount_fen": 21600},
                                 after={"grade": "excellent", "amount_fen": 22320},
                                 reason="季度更正", proposed_at=OPENED,
                                 proposed_by_id=proposer_id, status="rejected", note="不同意"))


def test_list_shows_both_kinds_pending_first_with_a_constant_query_count(client, c, confirmed):
    rows = list(sheets_of(confirmed).values())
    _quarter_change(rows[0], c.town_user.id)
    changes.propose_evaluation(rows[1], cycle.ScoreSheet(38, 14, 9), 13, "补记",
                               actor=c.town_user if rows[1].township_id == c.town.id
                               else c.town2_user, now=OPENED)
    db.session.commit()
    as_user(client, c.county_hr)
    page = html(client.get("/grading/changes"))
    assert "季度等次" in page and "称职 → 优秀" in page and "216.00 元 → 223.20 元" in page
    assert page.index("待审核") < page.index("已驳回")
    db.session.expire_all()
    with count_queries() as q:
        client.get("/grading/changes")
    few = q.count
    for row in rows[2:]:
        _quarter_change(row, c.town_user.id)
        user = c.town_user if row.township_id == c.town.id else c.town2_user
        changes.propose_evaluation(row, cycle.ScoreSheet(38, 14, 9), 13, "补记", actor=user,
                                   now=OPENED)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as q:
        assert client.get("/grading/changes").status_code == 200
    assert q.count == few
