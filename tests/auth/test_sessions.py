"""Server-side sessions: timeouts, revocation, new session at login (R10, R11, R12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.auth.models import User, UserSession
from lms.db import utcnow
from lms.extensions import db
from tests.conftest import Client

COOKIE = "lms_session"


def _logged_in(client: Client) -> bool:
    resp = client.get("/")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def _cookie(client: Client) -> str:
    return client.http.get_cookie(COOKIE).value


def _replay(client: Client, value: str) -> None:
    client.http.set_cookie(COOKIE, value)


def _latest_session(user: User) -> UserSession:
    return db.session.execute(select(UserSession).where(UserSession.user_id == user.id)
                              .order_by(UserSession.id.desc()).limit(1)).scalar_one()


def _age(user: User, *, idle: timedelta | None = None, age: timedelta | None = None) -> None:
    row = _latest_session(user)
    now = utcnow()
    if idle is not None:
        row.last_seen_at = now - idle
    if age is not None:
        row.created_at = now - age
    db.session.commit()


@pytest.fixture
def admin(app, world) -> Client:
    c = Client(app)
    assert c.login("a_admin").status_code == 302
    return c


# ---------------------------------------------------------------- timeouts


@pytest.mark.parametrize(("username", "minutes", "alive"), [
    ("13800000001", 29, True),    # trainee: 30 min idle
    ("13800000001", 31, False),
    ("a_admin", 29, True),        # unit admins are not one of the three admin roles
    ("security", 14, True),       # system / security / audit admin: 15 min
    ("security", 16, False),
    ("auditor", 16, False),
    ("sysadmin", 16, False),
])
def test_idle_timeout(client, world, username, minutes, alive):
    client.login(username)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    _age(user, idle=timedelta(minutes=minutes))
    assert _logged_in(client) is alive


def test_idle_timeout_redirects_to_login(client, world):
    client.login("13800000001")
    _age(world.trainee, idle=timedelta(minutes=31))
    resp = client.get("/auth/account")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_activity_keeps_the_session_alive(client, world):
    client.login("13800000001")
    _age(world.trainee, idle=timedelta(minutes=25))
    assert _logged_in(client)
    _age(world.trainee, idle=timedelta(minutes=25))  # 50 min since login, 25 since last request
    assert _logged_in(client)


def test_absolute_timeout_even_when_active(client, world):
    client.login("13800000001")
    _age(world.trainee, idle=timedelta(minutes=1), age=timedelta(hours=12, seconds=1))
    assert not _logged_in(client)


def test_just_under_the_absolute_limit_is_alive(client, world):
    client.login("13800000001")
    _age(world.trainee, idle=timedelta(minutes=1), age=timedelta(hours=11, minutes=59))
    assert _logged_in(client)


# ---------------------------------------------------------------- revocation on the server


def test_logout_revokes_the_session_on_the_server(client, world):
    client.login("13800000001")
    stolen = _cookie(client)
    client.logout()
    _replay(client, stolen)
    assert not _logged_in(client)
    assert _latest_session(world.trainee).revoked_at is not None


def test_disable_revokes_every_session(app, client, world, admin):
    client.login("13800000001")
    stolen = _cookie(client)
    assert admin.post(f"/admin/accounts/{world.trainee.id}/disable").status_code == 302
    assert not _logged_in(client)
    _replay(client, stolen)
    assert not _logged_in(client)
    assert client.login("13800000001").status_code == 200  # cannot log in again


def test_enable_lets_the_user_log_in_again(client, world, admin):
    admin.post(f"/admin/accounts/{world.trainee.id}/disable")
    admin.post(f"/admin/accounts/{world.trainee.id}/enable")
    assert client.login("13800000001").status_code == 302


def test_password_reset_revokes_every_session(client, world, admin):
    client.login("13800000001")
    stolen = _cookie(client)
    assert admin.post(f"/admin/accounts/{world.trainee.id}/reset-password").status_code == 200
    _replay(client, stolen)
    assert not _logged_in(client)
    assert client.login("13800000001").status_code == 200  # the old password is dead too


def test_end_all_sessions_revokes_every_device(app, world, admin):
    phone, pc = Client(app), Client(app)
    phone.login("13800000001")
    pc.login("13800000001")
    resp = admin.post(f"/admin/accounts/{world.trainee.id}/end-sessions")
    assert resp.status_code == 302
    assert not _logged_in(phone) and not _logged_in(pc)
    assert pc.login("13800000001").status_code == 302  # the password still works


def test_password_change_ends_other_sessions_but_keeps_this_one(app, world):
    here, elsewhere = Client(app), Client(app)
    here.login("13800000001")
    elsewhere.login("13800000001")
    resp = here.post("/auth/password", {"current": "Test-pass-2026", "new": "Andere-Wahl-58",
                                        "confirm": "Andere-Wahl-58"})
    assert resp.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)


# ---------------------------------------------------------------- new session id at login


def test_pre_login_cookie_is_dead_after_login(client, world):
    client.get("/auth/login")
    client.csrf()
    before = _cookie(client)
    client.login("13800000001")
    after = _cookie(client)
    assert after != before
    _replay(client, before)
    assert not _logged_in(client)


def test_each_login_gets_a_new_server_session(client, world):
    client.login("13800000001")
    first = _cookie(client)
    client.logout()
    client.login("13800000001")
    assert _cookie(client) != first
    rows = db.session.execute(select(UserSession).where(
        UserSession.user_id == world.trainee.id)).scalars().all()
    assert len(rows) == 2 and len({r.token_hash for r in rows}) == 2


def test_session_row_holds_only_a_hash_of_the_token(client, world):
    client.login("13800000001")
    row = _latest_session(world.trainee)
    cookie = _cookie(client)
    assert len(row.token_hash) == 64 and row.token_hash not in cookie


def test_session_cookie_flags(client, world):
    resp = client.login("13800000001")
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_browsing_keeps_the_session_alive(admin, world):
    """Regression: a GET refreshes last_seen_at even when a later query autoflushed the refresh
    (the write used to be rolled back, so someone only reading pages was signed out)."""
    _age(world.a_admin, idle=timedelta(minutes=2))
    assert admin.get("/").status_code == 200
    db.session.rollback()  # the test shares the app's session: drop what was not committed
    assert utcnow() - _latest_session(world.a_admin).last_seen_at < timedelta(seconds=30)
