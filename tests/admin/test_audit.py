"""The audit log: only audit admins read it, reading is audited, nobody edits it, the chain
verifies and names the first broken entry (R19, R36, R37)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from lms import audit
from lms.audit import AuditEntry
from lms.db import utcnow
from lms.extensions import db


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars())


def _rows(html: str) -> list[str]:
    body = html[html.find("<tbody>"):html.find("</tbody>")]
    return re.findall(r"<tr>\s*<td>(\d+)</td>", body)


@pytest.fixture
def log(world):
    """A few entries with known actors, actions, objects and times."""
    now = utcnow()
    audit.record(world.a_admin, "account.create", world.trainee, now=now - timedelta(days=3),
                 username="13800000001")
    audit.record(world.security, "role.grant", world.a_hr, now=now - timedelta(days=1),
                 role="hr", unit="371302")
    audit.record(world.a_admin, "account.disable", world.trainee, now=now)
    audit.record(world.town_a, "org.unit_update", world.town_a, now=now,
                 note="<script>alert(1)</script>\r\nforged line\u202e")
    db.session.commit()
    return now


# ---------------------------------------------------------------- who may read


def test_audit_admin_reads_the_log(client, world, log):
    client.login("auditor")
    resp = client.get("/admin/audit")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "审计日志" in html and "校验审计链" in html
    assert "account.create" in html and "role.grant" in html


@pytest.mark.parametrize("who", ["sysadmin", "security", "city_admin", "a_admin", "a_hr",
                                 "13800000001"])
def test_nobody_else_reads_or_verifies_the_log(client, world, log, who):
    client.login(who)
    assert client.get("/admin/audit").status_code == 403
    assert client.post("/admin/audit/verify").status_code == 403
    assert _entries("audit.view") == [] and _entries("audit.verify") == []


def test_anonymous_is_sent_to_login(client, world):
    resp = client.get("/admin/audit")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.post("/admin/audit/verify").status_code == 401


def test_there_is_no_route_that_changes_entries(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/audit"):
            assert rule.methods & {"PUT", "PATCH", "DELETE"} == set(), rule.rule
            assert rule.endpoint in ("admin.audit_log", "admin.verify_audit"), rule.rule


# ---------------------------------------------------------------- reading


def test_viewing_the_log_is_itself_audited(client, world, log):
    client.login("auditor")
    client.get("/admin/audit?action=account.&page=1")
    views = _entries("audit.view")
    assert len(views) == 1
    assert views[0].actor_name == "auditor" and views[0].details["filters"] == {
        "action": "account."}
    assert views[0].ip and views[0].request_id


def test_filters(client, world, log):
    client.login("auditor")
    ids = lambda q: _rows(client.get("/admin/audit?" + q).get_data(as_text=True))  # noqa: E731
    assert len(ids("action=account.")) == 2
    assert len(ids("action=role")) == 1
    assert len(ids("actor=A_ADMIN")) == 2
    assert len(ids("object_type=OrgUnit")) == 1
    today = (log + timedelta(hours=8)).date()  # the deployment's local day
    assert len(ids(f"date_from={today - timedelta(days=2)}&action=account.")) == 1
    assert len(ids(f"date_to={today - timedelta(days=2)}&action=a")) == 1
    assert len(ids(f"date_from={today}&date_to={today}&actor=a_admin")) == 1


def test_bad_filters_are_explained_and_never_500(client, world, log):
    client.login("auditor")
    for q, message in (("date_from=yesterday", "日期格式应为"),
                       ("date_from=2026-02-01&date_to=2026-01-01", "截止日期不能早于起始日期"),
                       ("date_from=0001-01-01", "2000 年至 2999 年"),
                       ("date_to=9999-12-31", "2000 年至 2999 年"),
                       ("action=" + "x" * 80, "不能超过50个字符")):
        resp = client.get("/admin/audit?" + q)
        assert resp.status_code == 200, q
        assert message in resp.get_data(as_text=True), q
    for q in ("page=-1", "page=x", "actor=%00", "object_type=%27;drop"):
        assert client.get("/admin/audit?" + q).status_code == (400 if "%00" in q else 200), q


def test_count_and_pagination(app, client, world, log):
    for i in range(12):
        audit.record(world.a_admin, "test.bulk", None, n=i)
    db.session.commit()
    app.config["PAGE_SIZE"] = 5
    client.login("auditor")
    html = client.get("/admin/audit?action=test.").get_data(as_text=True)
    assert "共 12 条" in html and "第 1 / 3 页" in html and len(_rows(html)) == 5
    html = client.get("/admin/audit?action=test.&page=3").get_data(as_text=True)
    assert len(_rows(html)) == 2


def test_details_are_shown_escaped(client, world, log):
    client.login("auditor")
    html = client.get("/admin/audit?object_type=OrgUnit").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\r\nforged line" not in html and "\\r\\nforged line" in html
    assert "\u202e" not in html and "\\u202e" in html


def test_hostile_login_name_is_stored_escaped(client, world):
    client.login("evil\r\n2026-01-01 admin login ok<script>", "x")
    entry = _entries("auth.login_failed")[0]
    assert "\n" not in entry.data and "\\n" in entry.data


# ---------------------------------------------------------------- verifying


def test_verify_button_reports_ok(client, world, log):
    client.login("auditor")
    resp = client.post("/admin/audit/verify")
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "审计链校验通过" in html
    assert _entries("audit.verify")[0].details["ok"] is True


def _tamper(entry_id: int) -> None:
    """Edit one entry behind the application's back (the trigger has to go first)."""
    if _dialect() == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
    db.session.execute(text("UPDATE audit_entry SET data = :d WHERE id = :i"),
                       {"d": '{"role": "unit_admin"}', "i": entry_id})
    db.session.commit()


def test_verify_button_names_the_first_broken_entry(client, world, log):
    target = _entries("role.grant")[0].id
    _tamper(target)
    client.login("auditor")
    resp = client.post("/admin/audit/verify")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"第 {target} 条记录起链条断裂" in html
    assert _entries("audit.verify")[0].details == {"broken_entry": target, "ok": False}


def test_raw_update_is_refused_by_the_database(world, log):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("UPDATE audit_entry SET action = 'x' WHERE id = 1"))
        db.session.flush()
    db.session.rollback()
    assert audit.verify_chain() is None


def test_raw_delete_is_refused_by_the_database(world, log):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_entry WHERE id = 2"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_entry"))
    db.session.rollback()
    assert db.session.execute(select(AuditEntry.id).where(AuditEntry.id == 2)).first()


def test_cli_verify_ok_on_a_clean_chain(runner, world, log):
    result = runner.invoke(args=["lms", "audit-verify"])
    assert result.exit_code == 0
    assert "审计日志、考评结果和补贴明细校验通过" in result.output + (result.stderr or "")


def test_cli_verify_names_the_tampered_entry(runner, world, log):
    target = _entries("account.disable")[0].id
    _tamper(target)
    result = runner.invoke(args=["lms", "audit-verify"])
    assert result.exit_code == 1
    assert f"第 {target} 条" in result.output + (result.stderr or "")


def test_every_account_change_writes_an_entry_with_actor_and_object(client, world):
    client.login("a_admin")
    uid = world.trainee.id
    for action in ("disable", "enable", "unlock", "end-sessions", "reset-password"):
        client.post(f"/admin/accounts/{uid}/{action}")
    client.post(f"/admin/accounts/{world.a_hr.id}/roles", {"role": "trainer",
                                                           "org_unit": world.town_a.id})
    client.post("/admin/accounts/new", {"username": "x.y", "display_name": "某人",
                                        "org_unit": world.town_a.id})
    wanted = ["account.disable", "account.enable", "account.unlock", "account.sessions_end",
              "account.password_reset", "role.grant", "account.create"]
    for action in wanted:
        entries = _entries(action)
        assert len(entries) == 1, action
        e = entries[0]
        assert e.actor_id == world.a_admin.id and e.object_type == "User" and e.object_id, action
        assert e.org_unit_id and e.ip and e.request_id, action
    assert audit.verify_chain() is None


def test_a_long_list_or_map_is_shown_by_its_size(client, world, log):
    """The fingerprints of an export's integrity check (one per county) would fill a phone."""
    audit.record(None, "integrity.verified", None, now=utcnow(),
                 counties={str(n): "ab" * 32 for n in range(151)}, walked=3)
    audit.record(None, "integrity.verified", None, now=utcnow(), counties={"1": "cd" * 32})
    db.session.commit()
    client.login("auditor")
    html = client.get("/admin/audit?action=integrity.verified").get_data(as_text=True)
    assert "counties=（151 项，从略）" in html and "ab" * 32 not in html
    assert "cd" * 32 in html and "walked=3" in html
