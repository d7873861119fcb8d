"""Account pages: list inside the subtree, detail, create with a slip, reset, disable, unlock."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth.models import User, UserSession
from lms.db import utcnow
from lms.extensions import db
from tests.conftest import Client
from tests.factories import make_user


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def _usernames(html: str) -> set[str]:
    return set(re.findall(r'href="/admin/accounts/\d+">([^<]+)</a>', html))


def _user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.username == username)).scalar()


# ---------------------------------------------------------------- list


def test_county_admin_lists_only_its_subtree(client, world):
    client.login("a_admin")
    names = _usernames(client.get("/admin/accounts").get_data(as_text=True))
    assert names == {"a_admin", "a_hr", "town_a_admin", "13800000001"}


def test_city_admin_sees_both_counties_but_not_global_admins(client, world):
    client.login("city_admin")
    names = _usernames(client.get("/admin/accounts").get_data(as_text=True))
    assert {"a_admin", "b_admin", "city_admin"} <= names
    assert not names & {"sysadmin", "security", "auditor"}


def test_security_admin_sees_every_account_including_unit_less_ones(client, world):
    client.login("security")
    html = client.get("/admin/accounts").get_data(as_text=True)
    assert {"sysadmin", "security", "auditor", "a_admin", "b_admin"} <= _usernames(html)
    assert "共 9 条" in html


@pytest.mark.parametrize("who", ["sysadmin", "auditor", "a_hr", "13800000001"])
def test_accounts_need_account_management(client, world, who):
    client.login(who)
    assert client.get("/admin/accounts").status_code == 403
    assert client.get(f"/admin/accounts/{world.trainee.id}").status_code == 403


def test_filters(client, world):
    client.login("city_admin")
    html = client.get(f"/admin/accounts?unit={world.county_b.id}").get_data(as_text=True)
    assert _usernames(html) == {"b_admin"}
    html = client.get("/admin/accounts?role=hr").get_data(as_text=True)
    assert _usernames(html) == {"a_hr", "city_admin"}
    html = client.get("/admin/accounts?role=trainee").get_data(as_text=True)
    assert _usernames(html) == {"13800000001"}
    html = client.get("/admin/accounts?q=TOWN").get_data(as_text=True)
    assert _usernames(html) == {"town_a_admin"}
    html = client.get("/admin/accounts?q=1380000").get_data(as_text=True)
    assert _usernames(html) == {"13800000001"}


def test_state_filters(client, world):
    world.a_hr.is_active = False
    world.town_a_admin.locked_until = utcnow() + timedelta(minutes=10)
    world.trainee.must_change_password = True
    db.session.commit()
    client.login("city_admin")
    get = lambda state: _usernames(client.get(f"/admin/accounts?state={state}").get_data(  # noqa: E731
        as_text=True))
    assert get("disabled") == {"a_hr"}
    assert get("locked") == {"town_a_admin"}
    assert get("must_change") == {"13800000001"}
    assert "a_hr" not in get("active") and "town_a_admin" not in get("active")


def test_filter_parameters_cannot_widen_the_scope(client, world):
    client.login("a_admin")
    resp = client.get(f"/admin/accounts?unit={world.county_b.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "b_admin" not in _usernames(html)
    assert "请从列表中选择您管辖范围内的单位" in html
    for bad in ("unit=abc", "role=god", "state=x", "page=-4", "page=abc", "q=" + "x" * 500,
                "q=%00", "q=a%0d%0ab", "unit=%00", "role=hr%00", "page=99999999999999999999"):
        resp = client.get("/admin/accounts?" + bad)
        assert resp.status_code == (400 if "%00" in bad else 200), bad  # NUL: refused up front
        assert "b_admin" not in _usernames(resp.get_data(as_text=True))


def test_list_counts_and_paginates(app, client, world):
    for i in range(7):
        make_user(f"bulk{i:02d}", world.town_a)
    db.session.commit()
    app.config["PAGE_SIZE"] = 5
    client.login("a_admin")
    first = client.get("/admin/accounts").get_data(as_text=True)
    assert "共 11 条" in first and "第 1 / 3 页" in first and len(_usernames(first)) == 5
    last = client.get("/admin/accounts?page=3").get_data(as_text=True)
    assert len(_usernames(last)) == 1


def test_list_escapes_hostile_names(client, world):
    make_user("evil", world.town_a).display_name = "<script>alert(1)</script>"
    db.session.commit()
    client.login("a_admin")
    html = client.get("/admin/accounts").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------- detail


def test_detail_shows_roles_sessions_and_lock_state(app, client, world):
    Client(app).login("a_hr")
    world.a_hr.locked_until = utcnow() + timedelta(minutes=10)
    world.a_hr.failed_logins = 0
    db.session.commit()
    client.login("a_admin")
    html = client.get(f"/admin/accounts/{world.a_hr.id}").get_data(as_text=True)
    assert "人事干部" in html and "兰山区" in html
    assert "当前有效登录" in html and "1 个" in html
    assert "已锁定" in html and "解除锁定" in html
    assert "上次登录" in html


def test_detail_out_of_scope_is_404(client, world):
    client.login("a_admin")
    assert client.get(f"/admin/accounts/{world.b_admin.id}").status_code == 404
    assert client.get(f"/admin/accounts/{world.sysadmin.id}").status_code == 404
    assert client.get("/admin/accounts/999999").status_code == 404


# ---------------------------------------------------------------- create


def _create(client, **fields):  # noqa: ANN001, ANN202
    return client.post("/admin/accounts/new", {"username": "new.staff", "display_name": "赵六",
                                               "phone": "", **fields})


def test_create_staff_account_shows_a_one_time_password_once(client, world):
    client.login("a_admin")
    assert client.get("/admin/accounts/new").status_code == 200
    resp = _create(client, org_unit=world.town_a.id, phone="13911112222")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "登录单" in html and 'class="slip"' in html
    otp = re.search(r'初始密码</dt><dd class="pw">([^<]+)<', html).group(1)
    user = _user("new.staff")
    assert user.org_unit_id == world.town_a.id and user.must_change_password
    assert user.phone == "13911112222" and user.roles == []
    assert otp not in user.password_hash and "data-print" in html
    assert "account.create" in _actions()
    # the password is not shown again anywhere
    assert otp not in client.get(f"/admin/accounts/{user.id}").get_data(as_text=True)
    client.logout()
    assert client.login("new.staff", otp).status_code == 302


def test_create_validation_errors_are_chinese_and_keep_the_input(client, world):
    client.login("a_admin")
    html = _create(client, username="", display_name="赵六", phone="123",
                   org_unit=world.town_a.id).get_data(as_text=True)
    assert "请填写用户名" in html and "手机号应为11位数字" in html
    assert 'value="赵六"' in html and 'value="123"' in html


@pytest.mark.parametrize(("field", "value"), [
    ("username", "a\x00b"), ("username", "a b"), ("username", "<script>"), ("username", "x" * 65),
    ("display_name", "赵\x00六"), ("display_name", "赵\r\n六"), ("display_name", "x" * 51),
    ("phone", "1380000000\x00"), ("phone", "02112345678"), ("phone", "1" * 200),
])
def test_create_refuses_hostile_values(client, world, field, value):
    client.login("a_admin")
    before = db.session.execute(select(User.id)).all()
    resp = client.post("/admin/accounts/new", {"username": "new.staff", "display_name": "赵六",
                                               "org_unit": world.town_a.id, field: value})
    if "\x00" in value:  # NUL is refused before any view runs
        assert resp.status_code == 400
    else:
        assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)
    assert db.session.execute(select(User.id)).all() == before


def test_create_refuses_a_taken_username_or_phone(client, world):
    client.login("a_admin")
    html = _create(client, username=" A_HR ", org_unit=world.town_a.id).get_data(as_text=True)
    assert "已被使用" in html
    html = _create(client, username="Ａ_ＨＲ", org_unit=world.town_a.id).get_data(as_text=True)
    assert "已被使用" in html
    html = _create(client, phone="13800000001", org_unit=world.town_a.id).get_data(as_text=True)
    assert "已绑定其他账号" in html
    assert _user("new.staff") is None


def test_create_at_a_unit_outside_the_scope_is_refused(client, world):
    client.login("a_admin")
    for unit in (world.county_b.id, world.city.id, 0, "abc"):
        resp = _create(client, org_unit=unit)
        assert resp.status_code in (200, 403)
        assert "请从列表中选择您管辖范围内的单位" in resp.get_data(as_text=True)
    assert _create(client, org_unit=world.county_b.id).status_code == 403
    assert _user("new.staff") is None


def test_mass_assignment_is_ignored(client, world):
    client.login("a_admin")
    extra = {"role": "system_admin", "is_active": "0", "org_unit_id": world.county_b.id,
             "must_change_password": "0", "person_id": world.person_b.id, "password_hash": "x",
             "locked_until": "2099-01-01", "roles": "audit_admin"}
    resp = _create(client, org_unit=world.town_a.id, **extra)
    assert resp.status_code == 200
    user = _user("new.staff")
    assert user.org_unit_id == world.town_a.id and user.roles == [] and user.is_active
    assert user.must_change_password and user.person_id is None
    assert user.password_hash.startswith("$argon2id$") and user.locked_until is None


def test_security_admin_may_create_a_global_account(client, world):
    client.login("security")
    resp = _create(client, org_unit=0)
    assert resp.status_code == 200 and _user("new.staff").org_unit_id is None


# ---------------------------------------------------------------- actions


def test_reset_password_shows_a_new_slip_and_is_audited(client, world):
    client.login("a_admin")
    old = world.trainee.password_hash
    resp = client.post(f"/admin/accounts/{world.trainee.id}/reset-password")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'class="slip"' in html and "李四" in html
    otp = re.search(r'初始密码</dt><dd class="pw">([^<]+)<', html).group(1)
    user = _user("13800000001")
    assert user.password_hash != old and user.must_change_password
    assert "account.password_reset" in _actions()
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "account.password_reset")).scalar_one()
    assert otp not in entry.data and entry.object_id == user.id and entry.actor_name == "a_admin"


def test_disable_and_enable(client, world):
    client.login("a_admin")
    resp = client.post(f"/admin/accounts/{world.trainee.id}/disable")
    assert resp.status_code == 302
    assert not _user("13800000001").is_active
    assert "账号已停用" in client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post(f"/admin/accounts/{world.trainee.id}/enable")
    assert _user("13800000001").is_active
    assert _actions()[-2:] == ["account.disable", "account.enable"]


def test_cannot_disable_yourself(client, world):
    client.login("a_admin")
    resp = client.post(f"/admin/accounts/{world.a_admin.id}/disable")
    assert resp.status_code == 403 and "不能停用自己的账号" in resp.get_data(as_text=True)
    assert _user("a_admin").is_active


def test_unlock(client, world):
    world.trainee.locked_until = utcnow() + timedelta(minutes=10)
    world.trainee.failed_logins = 3
    db.session.commit()
    client.login("a_admin")
    assert client.post(f"/admin/accounts/{world.trainee.id}/unlock").status_code == 302
    user = _user("13800000001")
    assert user.locked_until is None and user.failed_logins == 0
    assert "account.unlock" in _actions()


def test_end_sessions_is_audited_with_the_count(app, client, world):
    Client(app).login("13800000001")
    Client(app).login("13800000001")
    client.login("a_admin")
    assert client.post(f"/admin/accounts/{world.trainee.id}/end-sessions").status_code == 302
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "account.sessions_end")).scalar_one()
    assert entry.details["sessions"] == 2
    live = db.session.execute(select(UserSession).where(
        UserSession.user_id == world.trainee.id, UserSession.revoked_at.is_(None))).all()
    assert live == []


def test_town_admin_cannot_act_on_an_account_holding_more(client, world):
    boss = make_user("boss_a", world.town_a, [("unit_admin", world.county_a)])
    db.session.commit()
    client.login("town_a_admin")
    for action in ("reset-password", "disable", "unlock", "end-sessions"):
        resp = client.post(f"/admin/accounts/{boss.id}/{action}")
        assert resp.status_code == 403, action
        assert "超出您权限" in resp.get_data(as_text=True)
    assert _user("boss_a").is_active
    assert not any(a.startswith("account.") for a in _actions())


def test_security_admin_resets_another_admins_password(client, world):
    client.login("security")
    assert client.post(f"/admin/accounts/{world.auditor.id}/reset-password").status_code == 200


# ---------------------------------------------------------------- CSRF on every POST route here


def _post_routes(world, staff_id: int) -> list[str]:
    uid = world.trainee.id
    return ["/admin/accounts/new", f"/admin/accounts/{uid}/reset-password",
            f"/admin/accounts/{uid}/disable", f"/admin/accounts/{uid}/enable",
            f"/admin/accounts/{uid}/unlock", f"/admin/accounts/{uid}/end-sessions",
            f"/admin/accounts/{staff_id}/roles", f"/admin/accounts/{staff_id}/roles/revoke",
            "/admin/accounts/bulk", "/admin/audit/verify"]


@pytest.mark.parametrize("who", ["a_admin", "auditor"])
def test_every_post_route_refuses_a_missing_csrf_token(client, world, who):
    staff = make_user("staff_x", world.town_a, [("trainer", world.town_a)])
    db.session.commit()
    client.login(who)
    before = _actions()
    for url in _post_routes(world, staff.id):
        data = {"username": "x1", "display_name": "x", "org_unit": world.town_a.id,
                "role": "hr", "assignment": staff.roles[0].id}
        resp = client.post(url, data, csrf=False)
        assert resp.status_code == 400, url
        assert "安全校验失败" in resp.get_data(as_text=True)
        resp = client.post(url, {**data, "csrf_token": "forged"}, csrf=False)
        assert resp.status_code == 400, url
    assert _actions() == before
    assert _user("13800000001").is_active and _user("x1") is None
