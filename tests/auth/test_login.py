"""Login: username or phone, generic failures, lockout, forced first password change (R01, R04)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth import services
from lms.auth.models import User
from lms.db import utcnow
from lms.extensions import db
from tests.conftest import PASSWORD


def _logged_in(client) -> bool:  # noqa: ANN001
    return client.get("/").status_code == 200


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_login_by_username_and_by_phone(client, world):
    assert client.login("a_admin").status_code == 302
    assert _logged_in(client)
    client.logout()
    assert client.login("13800000001").status_code == 302  # the trainee's phone
    assert _logged_in(client)


def test_username_is_normalised_at_login(client, world):
    assert client.login("  A_ADMIN ").status_code == 302
    assert _logged_in(client)


def test_phone_login_works_when_username_differs(client, world):
    from tests.factories import make_user

    make_user("zhang.san", world.town_a, phone="13900000009")
    db.session.commit()
    assert client.login("13900000009").status_code == 302
    assert _logged_in(client)


def _normalise(html: str) -> str:
    html = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]*"', "csrf", html)
    html = re.sub(r'value="[^"]*"', 'value=""', html)  # the login name typed in is echoed back
    return html


def test_unknown_user_and_wrong_password_get_identical_pages(client, world):
    wrong = client.login("a_admin", "Wrong-pass-2026")
    unknown = client.login("nobody-here", "Wrong-pass-2026")
    assert wrong.status_code == unknown.status_code == 200
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert _normalise(wrong.get_data(as_text=True)) == _normalise(unknown.get_data(as_text=True))


def test_disabled_account_gets_the_same_generic_message(client, world):
    world.a_hr.is_active = False
    db.session.commit()
    resp = client.login("a_hr")
    assert resp.status_code == 200 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert not _logged_in(client)


def test_five_failures_lock_for_fifteen_minutes(client, world, monkeypatch):
    for _i in range(5):
        assert client.login("a_admin", "Wrong-pass-2026").status_code == 200
    db.session.refresh(world.a_admin)
    assert world.a_admin.locked_until is not None
    # the 6th attempt, with the right password, is refused and looks like any failure
    resp = client.login("a_admin")
    assert resp.status_code == 200 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert not _logged_in(client)
    assert len(_actions("auth.lockout")) == 1
    # 14 minutes later: still locked
    later = utcnow() + timedelta(minutes=14)
    monkeypatch.setattr("lms.auth.views.utcnow", lambda: later)
    assert client.login("a_admin").status_code == 200
    # 15 minutes later: the right password works again
    after = utcnow() + timedelta(minutes=15, seconds=5)
    monkeypatch.setattr("lms.auth.views.utcnow", lambda: after)
    assert client.login("a_admin").status_code == 302
    assert _logged_in(client)


def test_four_failures_then_success_resets_the_counter(client, world):
    for _i in range(4):
        client.login("a_admin", "Wrong-pass-2026")
    assert client.login("a_admin").status_code == 302
    db.session.refresh(world.a_admin)
    assert world.a_admin.failed_logins == 0 and world.a_admin.locked_until is None


def test_lock_is_counted_in_the_database_across_clients(app, client, world):
    from tests.conftest import Client

    other = Client(app)
    for i in range(5):
        (client if i % 2 else other).login("a_admin", "Wrong-pass-2026")
    assert client.login("a_admin").status_code == 200
    db.session.refresh(world.a_admin)
    assert world.a_admin.locked_until > utcnow()


def test_failures_and_logins_are_audited(client, world):
    client.login("a_admin", "Wrong-pass-2026")
    client.login("nobody", "Wrong-pass-2026")
    client.login("a_admin")
    failed = _actions("auth.login_failed")
    assert [e.details.get("reason") for e in failed] == ["password", "unknown"]
    assert _actions("auth.login")[0].actor_name == "a_admin"
    assert all(PASSWORD not in e.data and "Wrong-pass" not in e.data for e in failed)


def test_admin_unlock_lets_the_user_in_and_is_audited(app, client, world):
    from tests.conftest import Client

    for _i in range(5):
        client.login("13800000001", "Wrong-pass-2026")
    admin = Client(app)
    admin.login("a_admin")
    resp = admin.post(f"/admin/accounts/{world.trainee.id}/unlock")
    assert resp.status_code == 302
    assert client.login("13800000001").status_code == 302
    assert len(_actions("account.unlock")) == 1


# ---------------------------------------------------------------- first login


@pytest.fixture
def fresh_account(world):
    """A staff account just created by an admin: one-time password, must change it."""
    user, otp = services.create_user("new.staff", "新同事", org_unit=world.town_a,
                                     actor=world.a_admin, now=utcnow())
    db.session.commit()
    return user, otp


def test_first_login_forces_the_password_change_everywhere(client, world, fresh_account):
    user, otp = fresh_account
    assert client.login("new.staff", otp).status_code == 302
    for url in ("/", "/auth/account", "/org/", "/org/people", "/admin/accounts"):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert resp.headers["Location"].endswith("/auth/password"), url
    assert client.get("/auth/password").status_code == 200
    # a POST elsewhere is redirected too, never performed
    resp = client.post(f"/admin/accounts/{world.trainee.id}/disable")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
    db.session.refresh(world.trainee)
    assert world.trainee.is_active


def test_logout_is_allowed_during_the_forced_change(client, world, fresh_account):
    user, otp = fresh_account
    client.login("new.staff", otp)
    resp = client.logout()
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.get("/").status_code == 302


def test_after_the_change_pages_open_and_the_old_password_is_dead(client, world, fresh_account):
    user, otp = fresh_account
    client.login("new.staff", otp)
    resp = client.post("/auth/password", {"current": otp, "new": "Neuer-Weg-77", "confirm":
                                          "Neuer-Weg-77"})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    client.logout()
    assert client.login("new.staff", otp).status_code == 200
    assert client.login("new.staff", "Neuer-Weg-77").status_code == 302


def test_expired_admin_password_forces_a_change(client, world):
    world.security.password_changed_at = utcnow() - timedelta(days=181)
    db.session.commit()
    client.login("security")
    resp = client.get("/admin/accounts")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")


def test_trainee_password_does_not_expire_by_default(client, world):
    world.trainee.password_changed_at = utcnow() - timedelta(days=1000)
    db.session.commit()
    client.login("13800000001")
    assert client.get("/").status_code == 200


def test_no_default_admin_account(client, app):
    for name, pw in (("admin", "admin"), ("admin", "123456"), ("root", "root")):
        assert client.login(name, pw).status_code == 200
    assert db.session.execute(select(User)).first() is None


def test_create_admin_prints_a_one_time_password(runner, client):
    result = runner.invoke(args=["lms", "create-admin", "secadmin", "--role", "security_admin"])
    assert result.exit_code == 0
    otp = result.stdout.strip().splitlines()[-1]
    assert client.login("secadmin", otp).status_code == 302
    assert client.get("/").headers["Location"].endswith("/auth/password")


def test_rehash_on_login_when_parameters_change(app, client, world):
    old = world.a_admin.password_hash
    app.config["ARGON2_TIME_COST"] = 2
    assert client.login("a_admin").status_code == 302
    db.session.refresh(world.a_admin)
    assert world.a_admin.password_hash != old and "t=2" in world.a_admin.password_hash


@pytest.mark.parametrize("login", ["a\x00b", "a_admin\x00", "\r\n", "x" * 65, "‮nimda_a", ""])
def test_hostile_login_names_fail_quietly(client, world, login):
    resp = client.login(login, "Wrong-pass")
    assert resp.status_code == (400 if "\x00" in login else 200)  # NUL: refused before any view
    assert client.get("/").status_code == 302
    assert client.login(login, "Wrong\x00pass").status_code == 400


def test_one_address_with_many_failures_is_throttled(app, client, world):
    """R04: besides the per-account lockout, an address that keeps failing is refused, even
    with a right password, until the window has passed."""
    app.config["LOGIN_IP_MAX_FAILURES"] = 3
    for name in ("nobody1", "nobody2", "nobody3"):
        client.login(name, "Wrong-pass-1")
    html = client.login("a_admin").get_data(as_text=True)
    assert "用户名或密码错误" in html
    assert client.get("/").status_code == 302
    db.session.refresh(world.a_admin)
    assert world.a_admin.failed_logins == 0  # the account itself is not punished
    app.config["LOGIN_IP_MAX_FAILURES"] = 0
    assert client.login("a_admin").status_code == 302
