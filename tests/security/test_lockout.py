"""F11 — lockout on every authentication path.

The paths that check a password (found by reading every view that calls ``passwords.verify``):
``/auth/login`` by user name, ``/auth/login`` by mobile number (the same form, another lookup),
and the current password asked by ``/auth/password`` (the first-login and expiry change, and the
re-authentication before a voluntary change). There is no JSON/API login, no self-service reset
(resets are done by an administrator) and no other re-authentication prompt; exam room passcodes
are not account credentials. Each path: no lock after 4 failures, lock at exactly the 5th, 0
logins during the lock even with the right password (also from a second client: the lock lives
in the ``user`` row), still locked at 15 min − 1 s, open at 15 min + 1 s.

Measured: 3 of 3 paths covered (100 %), lock at 5 on each, 0 logins during the lock, unlock
between 14:59 and 15:01. Defect found and fixed: a wrong current password on ``/auth/password``
was never counted (unlimited guesses from a hijacked session); it now counts, the 5th locks the
account and ends all its sessions.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.auth.models import User, UserSession
from lms.db import utcnow
from lms.extensions import db
from tests.conftest import PASSWORD, Client

WRONG = "Wrong-pass-2026"
NEW = "Brand-new-Pass-77"


class Clock:
    """One clock for every module that imported ``utcnow`` (the guard, views, services)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = utcnow()
        original = utcnow
        for name, module in list(sys.modules.items()):
            if name.startswith("lms") and getattr(module, "utcnow", None) is original:
                monkeypatch.setattr(module, "utcnow", self)

    def __call__(self):  # noqa: ANN204
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now = self.now + delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def _logs_in(app, login: str, password: str = PASSWORD) -> bool:  # noqa: ANN001
    """A fresh client (another browser, another app process): did the login succeed?"""
    fresh = Client(app)
    ok = fresh.login(login, password).status_code == 302
    if ok:
        fresh.logout()
    return ok


def _fail_by_login(app, login: str) -> None:  # noqa: ANN001
    Client(app).login(login, WRONG)


def _assert_lock_cycle(app, clock: Clock, username: str, login: str, fail) -> None:  # noqa: ANN001
    for _i in range(4):
        fail()
    assert _user(username).locked_until is None, "locked before the 5th failure"
    fail()
    locked_at = clock.now
    assert _user(username).locked_until == locked_at + timedelta(minutes=15)
    for at in (timedelta(0), timedelta(minutes=7), timedelta(minutes=15, seconds=-1)):
        clock.now = locked_at + at
        assert not _logs_in(app, login), f"logged in {at} into the lock"
        assert not _logs_in(app, username), f"logged in {at} into the lock (user name)"
    clock.now = locked_at + timedelta(minutes=15, seconds=1)
    assert _logs_in(app, login)


@pytest.mark.parametrize("login", ["a_hr", "13800000001"], ids=["username", "mobile"])
def test_login_form_locks_at_five_for_fifteen_minutes(app, world, clock, login):
    username = world.a_hr.username if login == "a_hr" else world.trainee.username
    if login != "a_hr":
        world.trainee.username = "trainee_by_phone"  # the mobile number is a second lookup
        db.session.commit()
        username = "trainee_by_phone"
    _assert_lock_cycle(app, clock, username, login, lambda: _fail_by_login(app, login))


def test_current_password_on_the_change_page_locks_too(app, world, clock):
    holder = Client(app)
    assert holder.login("a_hr").status_code == 302

    def fail() -> None:
        resp = holder.post("/auth/password", {"current": WRONG, "new": NEW, "confirm": NEW})
        assert resp.status_code in (200, 302)

    for _i in range(4):
        fail()
    assert _user("a_hr").locked_until is None
    assert holder.get("/auth/account").status_code == 200  # still signed in
    holder._fresh_g()
    fifth = holder.http.post("/auth/password", data={
        "current": WRONG, "new": NEW, "confirm": NEW, "csrf_token": holder.csrf()},
        follow_redirects=True)
    assert "连续输错5次将锁定15分钟" in fifth.get_data(as_text=True)  # told why, on the login page
    locked_at = clock.now
    assert _user("a_hr").locked_until == locked_at + timedelta(minutes=15)
    # the lock ends every session: the hijacked one cannot go on guessing
    assert holder.get("/auth/account").status_code == 302
    assert db.session.scalar(select(UserSession).where(
        UserSession.user_id == world.a_hr.id, UserSession.revoked_at.is_(None))) is None
    for at in (timedelta(0), timedelta(minutes=15, seconds=-1)):
        clock.now = locked_at + at
        assert not _logs_in(app, "a_hr")
    clock.now = locked_at + timedelta(minutes=15, seconds=1)
    again = Client(app)
    assert again.login("a_hr").status_code == 302
    resp = again.post("/auth/password", {"current": PASSWORD, "new": NEW, "confirm": NEW})
    assert resp.status_code == 302 and _logs_in(app, "a_hr", NEW)


def test_first_login_change_counts_failures(app, world, clock):
    world.trainee.must_change_password = True
    db.session.commit()
    holder = Client(app)
    assert holder.login(world.trainee.username).status_code == 302
    for _i in range(5):
        holder.post("/auth/password", {"current": WRONG, "new": NEW, "confirm": NEW})
    assert _user(world.trainee.username).locked_until == clock.now + timedelta(minutes=15)
    assert not _logs_in(app, world.trainee.username)
